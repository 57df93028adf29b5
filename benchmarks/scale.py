"""How do fit time and peak memory grow with the number of rows?

For each estimator and each size ``n`` (10^4, 10^5 and 10^6 rows by default) this script
fits the estimator on ``n x 128`` float32 rows of 10 classes with 40% symmetric label
noise, on the CPU, and measures the wall time of ``fit`` and the peak memory the fit
adds to the process. It then reports how each grows with ``n`` (the slope of
log(time) and log(memory) against log(n)) and checks the memory bound sknoisy promises:

    peak memory of fit <= 2 x the data + 64 bytes x n_samples x n_classes + 64 MiB

where "the data" is ``X`` (``n x 128 x 4`` bytes): the fit may hold the data and one
more copy of it, plus eight float64 arrays of shape (n_samples, n_classes) (per-row
probabilities, logits, soft targets, ...), plus a constant that does not grow with
``n`` (the networks, their optimizer state, per-batch buffers). Nothing of shape
(n_samples, n_samples) fits in that bound at 10^6 rows.

What is measured
----------------
Each (estimator, n) runs in a fresh Python process, so one fit's memory never counts
against another's. The process imports sknoisy, fits the estimator once on 256 rows
(library start-up costs, e.g. torch's thread pools, are not the fit's), reads its
resident memory (``VmRSS``), then loads the data (generated once per size into
``--data-dir`` and loaded from ``.npy``), resets the kernel's peak-RSS counter
(``/proc/self/clear_refs``) and fits. The fit's peak memory is the peak resident memory
during the fit (``VmHWM``) minus the resident memory before the data was loaded; it
includes the data itself. ``predict_proba`` on the training rows is measured the same
way, after the fit.

Settings: every network estimator at its defaults except ``max_epochs=3`` (the
post-warm-up steps of every method run at least once: E-steps, mixture models,
neighbour mixing), ``batch_size=512``, ``device="cpu"`` and ``random_state=0``.
``FilterClassifier`` with ``cv=3``, twice: around that ``RobustLossClassifier``, and
around its default HistGradientBoostingClassifier. The latter converts the data to
float64 (twice their size) before it fits, so it cannot meet the bound, and it is
measured up to 10^5 rows only (``MAX_SIZE``).

Running it
----------
``make scale`` (``.venv/bin/python -m benchmarks.scale``) runs every estimator at every
size (about 40 minutes on 2 CPU cores, most of it at 10^6 rows) and writes
``benchmarks/results/scale.md``, ``scale.csv`` and README's table, ``scale_summary.md``.
Options::

    --sizes 10000,100000     row counts
    --estimators A,B          a subset (names as in ESTIMATORS)
    --output DIR              where scale.md and scale.csv go
    --data-dir DIR            where the generated data are kept
    --check                   exit with status 1 if any fit exceeds the memory bound
    --report-only             rewrite the reports from the output's scale.csv
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import ctypes
import datetime
import gc
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

N_FEATURES = 128
N_CLASSES = 10
NOISE_RATE = 0.4
MAX_EPOCHS = 3
BATCH_SIZE = 512
# The O(n_samples x n_classes) allowance of the bound, in bytes per (row, class):
# eight float64 arrays; and its constant part, which does not grow with the rows.
BYTES_PER_ROW_CLASS = 64
CONSTANT_MB = 64
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
ESTIMATORS = (
    "RobustLossClassifier",
    "CoTeachingClassifier",
    "DualEMClassifier",
    "NeighborMixClassifier",
    "DivideMixClassifier",
    "LossCorrectionClassifier",
    "MentorNetClassifier",
    "FilterClassifier(RobustLossClassifier)",
    "FilterClassifier(HGB)",
)
# HistGradientBoosting converts float32 data to float64 (a copy twice the data's size),
# so FilterClassifier around it cannot meet the bound; it is measured up to this size
# only (at 10^6 rows its cross-validation alone takes about a quarter of an hour).
MAX_SIZE = {"FilterClassifier(HGB)": 100_000}
HERE = Path(__file__).resolve().parent
FIELDS = [
    "estimator", "n_samples", "status", "fit_s", "data_mb", "fit_peak_mb", "bound_mb",
    "within_bound", "predict_s", "predict_peak_mb", "error",
]  # fmt: skip


def make_estimator(name):
    """The estimator as the benchmark fits it (module docstring: Settings)."""
    import sknoisy

    def network(cls_name):
        return getattr(sknoisy, cls_name)(
            max_epochs=MAX_EPOCHS, batch_size=BATCH_SIZE, device="cpu", random_state=0
        )

    if name == "FilterClassifier(HGB)":
        return sknoisy.FilterClassifier(cv=3, random_state=0)
    if name == "FilterClassifier(RobustLossClassifier)":
        return sknoisy.FilterClassifier(network("RobustLossClassifier"), cv=3, random_state=0)
    return network(name)


def make_data(n_samples, seed=0, chunk=100_000):
    """``n_samples x 128`` float32 rows of 10 Gaussian classes and 40% symmetric noise.

    Generated in float32 chunks, so that making the data never needs more memory than
    the data itself.
    """
    from sknoisy import make_label_noise

    rng = np.random.default_rng(seed)
    means = rng.normal(scale=0.35, size=(N_CLASSES, N_FEATURES)).astype(np.float32)
    y = rng.integers(N_CLASSES, size=n_samples)
    X = np.empty((n_samples, N_FEATURES), dtype=np.float32)
    for start in range(0, n_samples, chunk):
        rows = slice(start, start + chunk)
        X[rows] = rng.standard_normal((len(y[rows]), N_FEATURES), dtype=np.float32)
        X[rows] += means[y[rows]]
    y_noisy = make_label_noise(y, "symmetric", NOISE_RATE, random_state=seed)
    return X, np.asarray(y_noisy, dtype=np.int64)


def data_files(data_dir, n_samples):
    """The size's ``.npy`` files, generated on first use."""
    data_dir.mkdir(parents=True, exist_ok=True)
    X_file, y_file = data_dir / f"X_{n_samples}.npy", data_dir / f"y_{n_samples}.npy"
    if not (X_file.exists() and y_file.exists()):
        X, y = make_data(n_samples)
        np.save(X_file, X)
        np.save(y_file, y)
    return X_file, y_file


def _status_kb(field):
    """A field of /proc/self/status in KiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak():
    """Set the process's peak resident memory (VmHWM) to its current resident memory,
    after handing freed heap memory back to the system (glibc keeps some otherwise)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")


def measure(name, n_samples, data_dir):
    """Fit one estimator on one size in this process; returns a result row (dict)."""
    X_file, y_file = data_files(data_dir, n_samples)
    warmup_X, warmup_y = make_data(256, seed=1)
    make_estimator(name).fit(warmup_X, warmup_y)
    del warmup_X, warmup_y
    gc.collect()
    base_kb = _status_kb("VmRSS")

    X, y = np.load(X_file), np.load(y_file)
    estimator = make_estimator(name)
    _reset_peak()
    start = time.perf_counter()
    estimator.fit(X, y)
    fit_s = time.perf_counter() - start
    fit_peak_kb = _status_kb("VmHWM") - base_kb

    _reset_peak()
    start = time.perf_counter()
    proba = estimator.predict_proba(X)
    predict_s = time.perf_counter() - start
    predict_peak_kb = _status_kb("VmHWM") - base_kb
    if not np.all(np.isfinite(proba)):
        raise FloatingPointError("predict_proba returned non-finite values")

    bound = 2 * X.nbytes + BYTES_PER_ROW_CLASS * n_samples * N_CLASSES + CONSTANT_MB * 2**20
    return {
        "estimator": name,
        "n_samples": n_samples,
        "status": "ok",
        "fit_s": round(fit_s, 2),
        "data_mb": round(X.nbytes / 2**20, 1),
        "fit_peak_mb": round(fit_peak_kb / 1024, 1),
        "bound_mb": round(bound / 2**20, 1),
        "within_bound": fit_peak_kb * 1024 <= bound,
        "predict_s": round(predict_s, 2),
        "predict_peak_mb": round(predict_peak_kb / 1024, 1),
        "error": "",
    }


def run_in_subprocess(name, n_samples, data_dir):
    """:func:`measure` in a fresh interpreter; a crash becomes an ``error`` row."""
    command = [sys.executable, "-m", "benchmarks.scale", "--worker", name, str(n_samples),
               "--data-dir", str(data_dir)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=HERE.parent)
    if done.returncode == 0:
        return json.loads(done.stdout.strip().splitlines()[-1])
    error = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
    return {"estimator": name, "n_samples": n_samples, "status": "error", "error": error}


def growth(rows, key):
    """Slopes of log(key) against log(n) between consecutive sizes, per estimator."""
    slopes = {}
    for name in {row["estimator"] for row in rows}:
        points = sorted(
            (row["n_samples"], float(row[key]))
            for row in rows
            if row["estimator"] == name and row["status"] == "ok" and float(row[key]) > 0
        )
        slopes[name] = [
            math.log(v2 / v1) / math.log(n2 / n1)
            for (n1, v1), (n2, v2) in zip(points, points[1:], strict=False)
        ]
    return slopes


def report(rows, command):
    import torch

    sizes = sorted({row["n_samples"] for row in rows})
    names = [name for name in ESTIMATORS if any(row["estimator"] == name for row in rows)]
    by_key = {(row["estimator"], row["n_samples"]): row for row in rows}
    time_slopes, memory_slopes = growth(rows, "fit_s"), growth(rows, "fit_peak_mb")
    steps = " / ".join(f"{a:,}→{b:,}" for a, b in zip(sizes, sizes[1:], strict=False))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Fit time and peak memory against the number of rows",
        "",
        f"Measured {now} with `benchmarks/scale.py`:",
        "",
        "```",
        command,
        "```",
        "",
        f"- CPU, {os.cpu_count()} cores ({platform.processor() or platform.machine()}); "
        f"torch {torch.__version__}",
        f"- data: n x {N_FEATURES} float32, {N_CLASSES} classes, "
        f"{NOISE_RATE:.0%} symmetric label noise",
        f"- networks: defaults, max_epochs={MAX_EPOCHS}, batch_size={BATCH_SIZE}, "
        "device='cpu'; FilterClassifier(cv=3) around that RobustLossClassifier and around "
        "its default HistGradientBoosting (which copies the data to float64; up to "
        f"{MAX_SIZE['FilterClassifier(HGB)']:,} rows)",
        f"- peak = the fit's peak resident memory, data included; bound = 2 x data + "
        f"{BYTES_PER_ROW_CLASS} B x n_samples x n_classes + {CONSTANT_MB} MiB",
        "",
        "| estimator | n | fit (s) | data (MiB) | fit peak (MiB) | bound (MiB) | "
        "within bound | predict_proba (s) | predict_proba peak (MiB) |",
        "|---|---:|---:|---:|---:|---:|:---:|---:|---:|",
    ]
    for name in names:
        for n in sizes:
            row = by_key.get((name, n))
            if row is None:
                continue
            if row["status"] != "ok":
                lines.append(f"| `{name}` | {n:,} | error: {row['error']} |||||||")
                continue
            within = "yes" if str(row["within_bound"]) == "True" else "**no**"
            lines.append(
                f"| `{name}` | {n:,} | {float(row['fit_s']):.1f} | {row['data_mb']} | "
                f"{row['fit_peak_mb']} | {row['bound_mb']} | {within} | "
                f"{float(row['predict_s']):.2f} | {row['predict_peak_mb']} |"
            )
    lines += [
        "",
        "Growth: the slope of log(value) against log(n) between consecutive sizes "
        "(1 = linear, 2 = quadratic). Each time is one fit on a shared 2-core virtual "
        "machine, whose speed varied several-fold between runs (the hypervisor took up to a "
        "third of the CPU time); slopes "
        "below 1 come from that and from fixed per-fit costs, not from a cost that "
        "grows more slowly than the rows (every epoch passes over every row). The "
        "memory is exact.",
        "",
        f"| estimator | fit time, {steps} | fit peak memory, same steps |",
        "|---|---|---|",
    ]
    for name in names:
        lines.append(
            f"| `{name}` | {' / '.join(f'{s:.2f}' for s in time_slopes[name])} | "
            f"{' / '.join(f'{s:.2f}' for s in memory_slopes[name])} |"
        )
    return "\n".join(lines) + "\n"


def summary(rows):
    """README's table: fit time per size, the fit's peak memory at the largest size
    against the bound, and the growth of the fit time over the last step."""
    sizes = sorted({row["n_samples"] for row in rows})
    largest = sizes[-1]
    by_key = {(row["estimator"], row["n_samples"]): row for row in rows}
    time_slopes = growth(rows, "fit_s")
    lines = [
        "| estimator | " + " | ".join(f"fit, {n:,} rows (s)" for n in sizes)
        + f" | time growth | peak / bound at {largest:,} rows (MiB) |",
        "|---|" + "---:|" * len(sizes) + "---:|---|",
    ]
    for name in [n for n in ESTIMATORS if any(r["estimator"] == n for r in rows)]:
        cells = []
        for n in sizes:
            row = by_key.get((name, n))
            ok = row is not None and row["status"] == "ok"
            cells.append(f"{float(row['fit_s']):.1f}" if ok else ("error" if row else "–"))
        slope = f"n^{time_slopes[name][-1]:.2f}" if time_slopes[name] else ""
        top = by_key.get((name, largest))
        if top is not None and top["status"] == "ok":
            within = "within" if str(top["within_bound"]) == "True" else "**over**"
            memory = f"{top['fit_peak_mb']} / {top['bound_mb']}: {within}"
        else:
            memory = f"not run at {largest:,} rows"
        lines.append(f"| `{name}` | {' | '.join(cells)} | {slope} | {memory} |")
    return "\n".join(lines) + "\n"


def write_reports(rows, output, command):
    (output / "scale.md").write_text(report(rows, command))
    (output / "scale_summary.md").write_text(summary(rows))


def read_rows(path):
    """The rows of a scale.csv, typed as :func:`measure` returns them."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["n_samples"] = int(row["n_samples"])
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(str(n) for n in DEFAULT_SIZES))
    parser.add_argument("--estimators", default=",".join(ESTIMATORS))
    parser.add_argument("--output", type=Path, default=HERE / "results")
    parser.add_argument("--data-dir", type=Path, default=HERE / "output" / "scale_data")
    parser.add_argument("--check", action="store_true")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite scale.md and scale_summary.md from the output's scale.csv",
    )
    parser.add_argument("--worker", nargs=2, metavar=("ESTIMATOR", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(measure(args.worker[0], int(args.worker[1]), args.data_dir)))
        return 0
    if args.report_only:
        # The measuring command, as the existing report gives it.
        previous = (args.output / "scale.md").read_text().split("```")[1].strip()
        write_reports(read_rows(args.output / "scale.csv"), args.output, previous)
        return 0
    names = [name for name in args.estimators.split(",") if name]
    unknown = sorted(set(names) - set(ESTIMATORS))
    if unknown:
        parser.error(f"unknown estimators {unknown}; choose from {list(ESTIMATORS)}")
    sizes = [int(n) for n in args.sizes.split(",")]
    rows = []
    for n in sizes:
        for name in names:
            if n > MAX_SIZE.get(name, n):
                continue
            row = run_in_subprocess(name, n, args.data_dir)
            rows.append(row)
            print(json.dumps(row), flush=True)
    args.output.mkdir(parents=True, exist_ok=True)
    with open(args.output / "scale.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    command = shlex.join([".venv/bin/python", "-m", "benchmarks.scale", *(argv or sys.argv[1:])])
    write_reports(rows, args.output, command)
    failed = [r for r in rows if r["status"] != "ok" or not r["within_bound"]]
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
