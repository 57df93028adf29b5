"""The review loop on the zoo's report half: find wrong labels, have them checked,
refit, and again.

A simulated reviewer checks 2% of the training rows in each of 5 rounds and gives them
their true labels; a refit follows every round. Three ways to choose the rows (arms):

- ``sknoisy``: the recommended estimator (``zoo.RECOMMENDED``), refitted with every
  reviewed row passed as ``fit(X, y, trusted=mask)``; the next rows are
  :func:`sknoisy.quality.rows_to_review` of its ``label_quality_``;
- ``cleanlab``: cleanlab's ``CleanLearning`` around ``RobustLossClassifier()`` (the
  same default network), refitted on the corrected labels; the next rows are those
  its ``find_label_issues`` flags, least label quality first, then the other rows by
  label quality (for when the flagged ones run out);
- ``random``: rows drawn at random, refitting the recommended estimator as ``sknoisy``
  does.

Each cell (problem x noise kind ``sym40``, ``inst40``, ``real40`` x seed) has a row per
arm and round (round 0: the fit before any review) in ``OUTPUT/review_loop.csv``:
the rows reviewed so far, the wrong labels found among them, the clean-test accuracy
and the fit's seconds. An arm's rows are written when it finishes; ``--resume`` skips
the arms already there. :func:`write_report` turns the CSV into ``review_loop.md`` (the
table after the last round and the checks) and ``review_loop.png``, after every arm.

    python -m benchmarks.review_loop [--seeds 0] [--datasets segment,...] [--jobs 2]
        [--resume]
"""

from __future__ import annotations

import argparse
import csv
import datetime
import os
import time
from pathlib import Path

import numpy as np

from . import report, zoo
from .run import read_rows

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "zoo" / "review"
CSV_NAME = "review_loop.csv"
NOISE = ("sym40", "inst40", "real40")
ARMS = ("sknoisy", "cleanlab", "random")
ROUNDS = 5
SHARE_PER_ROUND = 0.02
FIELDS = (
    "dataset", "noise", "seed", "arm", "round", "reviewed", "found", "wrong_left",
    "accuracy", "fit_s", "status", "error", "finished", "commit",
)  # fmt: skip


def _fit(arm, X, labels, trusted, seed):
    """The arm's model fitted on ``labels`` (with the reviewed rows, for sknoisy's
    estimator, as ``trusted``), its classes where it predicts class indices, and each
    row's priority for review (lowest first): sknoisy's label quality, or cleanlab's
    label quality minus 1 on the rows it flags."""
    import sknoisy

    if arm == "cleanlab":
        from cleanlab.classification import CleanLearning

        classes, codes = np.unique(labels, return_inverse=True)
        model = CleanLearning(
            clf=sknoisy.RobustLossClassifier(random_state=seed), seed=seed,
            find_label_issues_kwargs={"n_jobs": 1},
        )  # fmt: skip
        model.fit(X, codes)
        issues = model.get_label_issues()
        quality = issues["label_quality"].to_numpy()
        # Flagged rows first, by label quality; then the others.
        priority = quality - issues["is_label_issue"].to_numpy()
        return model, classes, priority
    model = getattr(sknoisy, zoo.RECOMMENDED)(random_state=seed)
    model.fit(X, labels, trusted=trusted)
    return model, None, model.label_quality_


def run_arm(dataset, noise, seed, arm, threads):
    """All rounds of one arm in one cell, as CSV rows."""
    import torch

    from sknoisy.quality import rows_to_review

    from .run import make_cell_data

    torch.set_num_threads(threads)
    X_train, X_test, y_train, y_noisy, y_test = make_cell_data(dataset, noise, seed)
    labels = np.array(y_noisy, copy=True)
    wrong = labels != y_train
    trusted = np.zeros(len(labels), dtype=bool)
    per_round = max(1, round(SHARE_PER_ROUND * len(labels)))
    rng = np.random.default_rng([seed, 2])
    rows, found = [], 0
    for round_ in range(ROUNDS + 1):
        base = dict(dataset=dataset, noise=noise, seed=seed, arm=arm, round=round_)
        try:
            start = time.perf_counter()
            model, classes, priority = _fit(arm, X_train, labels, trusted, seed)
            fit_s = time.perf_counter() - start
            predicted = model.predict(X_test)
            if classes is not None:
                predicted = classes[predicted]
            rows.append(dict(
                base, reviewed=int(trusted.sum()), found=found,
                wrong_left=int((labels != y_train).sum()),
                accuracy=float(np.mean(predicted == y_test)), fit_s=fit_s, status="ok",
                error="",
            ))  # fmt: skip
        except Exception as exc:  # a failure becomes a row, and the arm stops
            rows.append(dict(base, status="error", error=f"{type(exc).__name__}: {exc}"[:300]))
            break
        if round_ == ROUNDS:
            break
        if arm == "random":
            unchecked = np.flatnonzero(~trusted)
            chosen = rng.choice(unchecked, min(per_round, len(unchecked)), replace=False)
        elif arm == "cleanlab":
            order = np.argsort(priority, kind="stable")
            chosen = order[~trusted[order]][:per_round]
        else:
            chosen = rows_to_review(priority, per_round, trusted=trusted)
        found += int(wrong[chosen].sum())
        labels[chosen] = y_train[chosen]
        trusted[chosen] = True
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    commit = report.commit()
    return [dict(row, finished=stamp, commit=commit) for row in rows]


def append_rows(path, rows):
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in FIELDS})


def arms_to_run(datasets, seeds):
    arms = []
    for dataset in datasets:
        problem = zoo.PROBLEMS[dataset]
        plan_seeds = [s for s in problem.seeds if seeds is None or s in seeds]
        for seed in plan_seeds:
            for noise in NOISE:
                if noise in problem.noise_kinds:
                    arms.extend((dataset, noise, seed, arm) for arm in ARMS)
    return arms


# ------------------------------------------------------------------------------ report


def _last_round(rows):
    """``{(dataset, noise, seed): {arm: row of the last round}}`` over complete arms."""
    out = {}
    for row in rows:
        if row["status"] == "ok" and int(row["round"]) == ROUNDS:
            key = (row["dataset"], row["noise"], int(row["seed"]))
            out.setdefault(key, {})[row["arm"]] = row
    return {key: arms for key, arms in out.items() if set(arms) == set(ARMS)}


def report_markdown(rows, provenance=""):
    last = _last_round(rows)
    lines = [
        "# The review loop",
        "",
        provenance,
        "",
        f"{ROUNDS} rounds of review, {SHARE_PER_ROUND:.0%} of the training rows each, a refit "
        f"after each. Wrong labels found among the {ROUNDS * SHARE_PER_ROUND:.0%} reviewed, "
        "and clean-test accuracy after the last refit (round 0: before any review), by arm: "
        f"`sknoisy` (`{zoo.RECOMMENDED}`, reviewed rows as `trusted`), `cleanlab` "
        "(`CleanLearning` around the same network, refitted on the corrected labels), "
        "`random` (random rows, the recommended estimator).",
        "",
        "| cell | wrong labels | found: sknoisy | cleanlab | random | accuracy round 0: "
        "sknoisy | cleanlab | after: sknoisy | cleanlab | random |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    first = {}
    for row in rows:
        if row["status"] == "ok" and int(row["round"]) == 0:
            first[(row["dataset"], row["noise"], int(row["seed"]), row["arm"])] = row
    found_ok, found_more, acc_ok = [], [], []
    for key, arms in sorted(last.items()):
        found = {arm: int(arms[arm]["found"]) for arm in ARMS}
        acc = {arm: float(arms[arm]["accuracy"]) for arm in ARMS}
        start = {arm: float(first[(*key, arm)]["accuracy"]) for arm in ("sknoisy", "cleanlab")}
        total = int(arms["sknoisy"]["wrong_left"]) + found["sknoisy"]
        found_ok.append(found["sknoisy"] >= found["cleanlab"])
        found_more.append(found["sknoisy"] > found["cleanlab"])
        acc_ok.append(acc["sknoisy"] > acc["cleanlab"])
        name = f"{key[0]} {key[1]} seed {key[2]}"
        lines.append(
            f"| {name} | {total} | {found['sknoisy']} | {found['cleanlab']} | "
            f"{found['random']} | {start['sknoisy']:.3f} | {start['cleanlab']:.3f} | "
            f"{acc['sknoisy']:.3f} | {acc['cleanlab']:.3f} | {acc['random']:.3f} |"
        )
    n = len(last)
    if n:
        lines += [
            "",
            f"- sknoisy's loop finds at least as many wrong labels as cleanlab's ranking in "
            f"{sum(found_ok)} of {n} cells ({'holds' if all(found_ok) else 'fails'}: every "
            f"cell), more in {sum(found_more)} "
            f"({'holds' if sum(found_more) >= n / 2 else 'fails'}: at least half).",
            f"- its accuracy after the loop is above CleanLearning's in {sum(acc_ok)} of {n} "
            f"cells ({'holds' if sum(acc_ok) >= 0.9 * n else 'fails'}: at least 90%).",
        ]
    if not n:
        lines += ["", "No cell has finished every arm yet.", ""]
        return "\n".join(lines)
    lines += ["", "![found and accuracy by round](review_loop.png)", ""]
    return "\n".join(lines)


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    last = sorted(_last_round(rows))
    if not last:
        return
    fig, axes = plt.subplots(2, len(last), figsize=(2.6 * len(last), 5), squeeze=False)
    for column, key in enumerate(last):
        for arm in ARMS:
            arm_rows = sorted(
                (r for r in rows if (r["dataset"], r["noise"], int(r["seed"]), r["arm"])
                 == (*key, arm) and r["status"] == "ok"),
                key=lambda r: int(r["round"]),
            )  # fmt: skip
            rounds = [int(r["round"]) for r in arm_rows]
            axes[0, column].plot(rounds, [int(r["found"]) for r in arm_rows], marker=".",
                                 label=arm)  # fmt: skip
            axes[1, column].plot(rounds, [float(r["accuracy"]) for r in arm_rows], marker=".",
                                 label=arm)  # fmt: skip
        axes[0, column].set_title(f"{key[0]} {key[1]}\nseed {key[2]}", fontsize=8)
        axes[1, column].set_xlabel("round")
    axes[0, 0].set_ylabel("wrong labels found")
    axes[1, 0].set_ylabel("test accuracy")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def write_report(output):
    rows = read_rows(output / CSV_NAME)
    commits = sorted({r["commit"] for r in rows if r.get("commit")})
    minutes = sum(float(r["fit_s"]) for r in rows if r.get("fit_s")) / 60
    provenance = (
        f"`make review-loop` (`python -m benchmarks.review_loop --resume`); runs at "
        f"commit(s) {', '.join(commits) or '–'}; {minutes:.0f} fit-minutes."
    )
    (output / "review_loop.md").write_text(report_markdown(rows, provenance))
    plot(rows, output / "review_loop.png")


def main(argv=None):
    parser = argparse.ArgumentParser(description="The review loop (see the module docstring).")
    parser.add_argument("--datasets", help="comma-separated; default: the report half")
    parser.add_argument("--seeds", help="comma-separated; default: 0")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--resume", action="store_true", help="skip the arms already run")
    args = parser.parse_args(argv)
    datasets = args.datasets.split(",") if args.datasets else list(zoo.HALVES["report"])
    seeds = [int(s) for s in (args.seeds or "0").split(",")]
    args.output.mkdir(parents=True, exist_ok=True)
    path = args.output / CSV_NAME
    if not args.resume and path.exists():
        path.unlink()
    done = {
        (r["dataset"], r["noise"], int(r["seed"]), r["arm"])
        for r in read_rows(path) if r["status"] == "ok" and int(r["round"]) == ROUNDS
    }  # fmt: skip
    todo = [arm for arm in arms_to_run(datasets, seeds) if arm not in done]
    print(f"{len(todo)} arm(s) to run, {args.jobs} job(s); results in {path}", flush=True)
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    from joblib import Parallel, delayed

    from . import review_loop

    start = time.perf_counter()
    parallel = Parallel(n_jobs=args.jobs, return_as="generator_unordered")
    for i, rows in enumerate(
        parallel(delayed(review_loop.run_arm)(*arm, threads) for arm in todo), 1
    ):
        append_rows(path, rows)
        write_report(args.output)  # a stopped run leaves its report up to date
        last = rows[-1]
        print(
            f"[{i}/{len(todo)} {(time.perf_counter() - start) / 60:.1f} min] {last['dataset']} "
            f"{last['noise']} seed {last['seed']} {last['arm']}: found {last.get('found')}, "
            f"accuracy {last.get('accuracy')} ({last['status']})",
            flush=True,
        )
    write_report(args.output)  # also when every arm was done already
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
