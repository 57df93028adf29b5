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

Hashed text (``--hashing``)
---------------------------
The same measurement on sparse rows: ``n x 2^18`` float32 CSR rows with about 100 stored
values each, as ``HashingVectorizer`` gives for short documents (10 classes, 40%
symmetric label noise), for ``HASHING_ESTIMATORS``: ``AutoClassifier`` (the estimator to
start with, whose candidates include label cleaning around a logistic regression for
sparse input), and plain cross-entropy and DivideMix alone. Its bound adds what the
networks themselves take, which here is no constant: the first layer has 2^18 x 256
weights::

    peak <= 2 x the sparse data + 64 B x n_samples x n_classes
            + 16 B x the parameters of the networks trained at once + 256 MiB

(each parameter, its gradient and Adam's two moments in float32; two networks for
DivideMix, and for AutoClassifier, whose largest candidate is DivideMix).
``--hashing`` writes ``scale_hashing.md`` and ``scale_hashing.csv``; its default size is
200,000 rows.

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
# The hashed-text problem (--hashing).
HASHING_FEATURES = 2**18
HASHING_NNZ = 100
# Terms drawn a row: with Zipf's repeats, about HASHING_NNZ distinct ones.
HASHING_DRAWS = 160
HASHING_SIZES = (200_000,)
HASHING_ESTIMATORS = ("AutoClassifier", "RobustLossClassifier", "DivideMixClassifier")
HASHING_CONSTANT_MB = 256
# Bytes per parameter while it trains: the value, its gradient and Adam's two moments.
BYTES_PER_PARAMETER = 16
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

    if name == "AutoClassifier":
        from sknoisy.auto import default_candidates

        candidates = default_candidates(
            random_state=0, sparse=True, max_epochs=MAX_EPOCHS, batch_size=BATCH_SIZE,
            device="cpu",
        )  # fmt: skip
        return sknoisy.AutoClassifier(candidates, random_state=0)
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


def make_hashing_data(n_samples, seed=0, chunk=50_000):
    """``n_samples x 2^18`` float32 CSR rows like ``HashingVectorizer``'s of short
    documents, and noisy labels of 10 classes (40% symmetric noise).

    Each row draws ``HASHING_DRAWS`` terms, about ``HASHING_NNZ`` distinct ones: 30%
    from its class's 1,000 and the others Zipf-distributed over every bucket (a few
    common terms, a long tail); the counts become ``1 + log(count)`` and each row has
    unit L2 norm.
    """
    import scipy.sparse as sp

    from sknoisy import make_label_noise

    rng = np.random.default_rng(seed)
    buckets = rng.permutation(HASHING_FEATURES)
    topics = rng.integers(HASHING_FEATURES, size=(N_CLASSES, 1000))
    y = rng.integers(N_CLASSES, size=n_samples)
    blocks = []
    for start in range(0, n_samples, chunk):
        labels = y[start : start + chunk]
        rank = np.minimum(rng.zipf(1.3, size=(len(labels), HASHING_DRAWS)), HASHING_FEATURES)
        columns = buckets[rank - 1]
        on_topic = rng.random(columns.shape) < 0.3
        topic_terms = topics[labels[:, None], rng.integers(1000, size=columns.shape)]
        columns = np.where(on_topic, topic_terms, columns)
        rows = np.repeat(np.arange(len(labels)), HASHING_DRAWS)
        block = sp.csr_matrix(
            (np.ones(columns.size, np.float32), (rows, columns.ravel())),
            shape=(len(labels), HASHING_FEATURES),
        )
        block.sum_duplicates()
        block.data = 1 + np.log(block.data)
        norms = np.sqrt(np.asarray(block.multiply(block).sum(axis=1)).ravel())
        block.data /= np.repeat(norms, np.diff(block.indptr)).astype(np.float32)
        blocks.append(block)
    X = sp.vstack(blocks, format="csr", dtype=np.float32)
    y_noisy = make_label_noise(y, "symmetric", NOISE_RATE, random_state=seed)
    return X, np.asarray(y_noisy, dtype=np.int64)


def sparse_nbytes(X):
    """Bytes a CSR matrix holds: values, column indices and row pointers."""
    return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes


def network_parameters(n_features, n_classes):
    """Parameters of the default network (``MLP``, hidden layers 256 and 256)."""
    sizes = [n_features, 256, 256, n_classes]
    return sum(a * b + b for a, b in zip(sizes, sizes[1:], strict=False))


def hashing_files(data_dir, n_samples):
    """The hashed-text size's ``.npz`` and ``.npy`` files, generated on first use."""
    import scipy.sparse as sp

    data_dir.mkdir(parents=True, exist_ok=True)
    X_file = data_dir / f"hashing_X_{n_samples}.npz"
    y_file = data_dir / f"hashing_y_{n_samples}.npy"
    if not (X_file.exists() and y_file.exists()):
        X, y = make_hashing_data(n_samples)
        sp.save_npz(X_file, X, compressed=False)
        np.save(y_file, y)
    return X_file, y_file


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


def measure(name, n_samples, data_dir, hashing=False):
    """Fit one estimator on one size in this process; returns a result row (dict)."""
    if hashing:
        import scipy.sparse as sp

        X_file, y_file = hashing_files(data_dir, n_samples)
        warmup_X, warmup_y = make_hashing_data(256, seed=1)
    else:
        X_file, y_file = data_files(data_dir, n_samples)
        warmup_X, warmup_y = make_data(256, seed=1)
    make_estimator(name).fit(warmup_X, warmup_y)
    del warmup_X, warmup_y
    gc.collect()
    base_kb = _status_kb("VmRSS")

    X = sp.load_npz(X_file) if hashing else np.load(X_file)
    y = np.load(y_file)
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

    data_bytes = sparse_nbytes(X) if hashing else X.nbytes
    bound = 2 * data_bytes + BYTES_PER_ROW_CLASS * n_samples * N_CLASSES
    if hashing:
        networks = 1 if name == "RobustLossClassifier" else 2
        parameters = network_parameters(HASHING_FEATURES, N_CLASSES)
        bound += BYTES_PER_PARAMETER * parameters * networks + HASHING_CONSTANT_MB * 2**20
    else:
        bound += CONSTANT_MB * 2**20
    row = {
        "estimator": name,
        "n_samples": n_samples,
        "status": "ok",
        "fit_s": round(fit_s, 2),
        "data_mb": round(data_bytes / 2**20, 1),
        "fit_peak_mb": round(fit_peak_kb / 1024, 1),
        "bound_mb": round(bound / 2**20, 1),
        "within_bound": fit_peak_kb * 1024 <= bound,
        "predict_s": round(predict_s, 2),
        "predict_peak_mb": round(predict_peak_kb / 1024, 1),
        "error": "",
    }
    if hashing:
        row["chosen"] = getattr(estimator, "best_name_", "")
    return row


def run_in_subprocess(name, n_samples, data_dir, hashing=False):
    """:func:`measure` in a fresh interpreter; a crash becomes an ``error`` row."""
    command = [sys.executable, "-m", "benchmarks.scale", "--worker", name, str(n_samples),
               "--data-dir", str(data_dir)] + (["--hashing"] if hashing else [])  # fmt: skip
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


def table_row(row, extra=()):
    """A report's table row for one measurement, with ``extra`` cells after the
    measured ones."""
    name, n = row["estimator"], int(row["n_samples"])
    if row["status"] != "ok":
        return f"| `{name}` | {n:,} | error: {row['error']} |" + "|" * (6 + len(extra))
    within = "yes" if str(row["within_bound"]) == "True" else "**no**"
    cells = [
        f"{float(row['fit_s']):.1f}", row["data_mb"], row["fit_peak_mb"], row["bound_mb"],
        within, f"{float(row['predict_s']):.2f}", row["predict_peak_mb"], *extra,
    ]  # fmt: skip
    return f"| `{name}` | {n:,} | " + " | ".join(str(cell) for cell in cells) + " |"


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
            if row is not None:
                lines.append(table_row(row))
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


HASHING_FIELDS = [*FIELDS[:-1], "chosen", "error"]


def hashing_report(rows, command):
    """scale_hashing.md: the hashed-text fits against their bound."""
    import torch

    parameters = network_parameters(HASHING_FEATURES, N_CLASSES)
    lines = [
        "# Fit time and peak memory on hashed text",
        "",
        "Measured with `benchmarks/scale.py --hashing`:",
        "",
        "```",
        command,
        "```",
        "",
        f"- CPU, {os.cpu_count()} cores; torch {torch.__version__}",
        f"- data: n x 2^18 float32 CSR, about {HASHING_NNZ} stored values a row, "
        f"{N_CLASSES} classes, {NOISE_RATE:.0%} symmetric label noise; never made dense",
        f"- networks: defaults (the first layer alone {HASHING_FEATURES:,} x 256 weights; "
        f"{parameters:,} parameters a network), max_epochs={MAX_EPOCHS}, "
        f"batch_size={BATCH_SIZE}, device='cpu'",
        f"- bound = 2 x the sparse data + {BYTES_PER_ROW_CLASS} B x n_samples x n_classes + "
        f"{BYTES_PER_PARAMETER} B x the parameters of the networks trained at once (two for "
        f"DivideMix and AutoClassifier) + {HASHING_CONSTANT_MB} MiB",
        "",
        "| estimator | n | fit (s) | data (MiB) | fit peak (MiB) | bound (MiB) | "
        "within bound | predict_proba (s) | predict_proba peak (MiB) | chosen |",
        "|---|---:|---:|---:|---:|---:|:---:|---:|---:|---|",
    ]
    lines += [table_row(row, extra=(row.get("chosen", ""),)) for row in rows]
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
    parser.add_argument(
        "--hashing", action="store_true", help="the hashed-text problem (sparse rows)"
    )
    parser.add_argument("--worker", nargs=2, metavar=("ESTIMATOR", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        row = measure(args.worker[0], int(args.worker[1]), args.data_dir, args.hashing)
        print(json.dumps(row))
        return 0
    if args.hashing:
        return hashing_main(args, argv)
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


def hashing_main(args, argv):
    """``--hashing``: each row is appended to scale_hashing.csv as it is measured, and
    the (estimator, size) pairs already there are not measured again."""
    given = argv if argv is not None else sys.argv[1:]
    names = HASHING_ESTIMATORS if "--estimators" not in given else args.estimators.split(",")
    unknown = sorted(set(names) - set(HASHING_ESTIMATORS))
    if unknown:
        raise SystemExit(f"unknown estimators {unknown}; choose from {list(HASHING_ESTIMATORS)}")
    sizes = HASHING_SIZES if "--sizes" not in given else [int(n) for n in args.sizes.split(",")]
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / "scale_hashing.csv"
    rows = read_rows(path) if path.exists() else []
    done = {(row["estimator"], row["n_samples"]) for row in rows}
    command = shlex.join([".venv/bin/python", "-m", "benchmarks.scale", *given])
    for n in sizes:
        for name in names:
            if (name, n) in done:
                continue
            row = run_in_subprocess(name, n, args.data_dir, hashing=True)
            rows.append(row)
            print(json.dumps(row), flush=True)
            # Row by row, so that an interrupted run leaves its results behind.
            with open(path, "w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=HASHING_FIELDS, extrasaction="ignore")
                writer.writeheader()
                writer.writerows(rows)
            (args.output / "scale_hashing.md").write_text(hashing_report(rows, command))
    (args.output / "scale_hashing.md").write_text(hashing_report(rows, command))
    failed = [r for r in rows if r["status"] != "ok" or str(r["within_bound"]) != "True"]
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
