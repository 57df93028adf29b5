"""Model selection under label noise: what each scorer picks in GridSearchCV.

For every estimator, dataset (``digits``, ``synthetic``) and noise kind (40% symmetric,
40% pair-flip), ``GridSearchCV`` searches the estimator's main noise hyperparameter on
the noisy training labels, once, scoring every candidate with each scorer:

- ``accuracy``: plain accuracy on the noisy held-out folds;
- ``trusted``: :func:`sknoisy.model_selection.make_trusted_scorer`, on the 10% of the
  training rows marked trusted (drawn at random; their labels are the clean ones, for
  training too, as a user's checked rows would be);
- ``noise_corrected``: :func:`sknoisy.model_selection.make_noise_corrected_scorer`
  with a transition matrix estimated once per cell by a detector (below);
- ``label_quality``: :func:`sknoisy.model_selection.make_label_quality_scorer` with
  the detector's ``label_quality_`` (threshold 0.5).

The detector is ``DualEMClassifier(random_state=seed)`` fitted once per cell on the
training rows; its ``corrected_labels_`` against the given labels estimate the
transition matrix (``transition_error`` in the CSV is that estimate's largest absolute
error per entry against the realised noise). Every candidate is also fitted on the
whole training set and scored on the clean test split: ``clean_accuracy``. A scorer's
pick is the candidate GridSearchCV would refit (the first of the best mean CV score);
the report compares each pick's clean-test accuracy with the best in the grid.

Usage::

    python -m benchmarks.model_selection                  # the full benchmark, --jobs 2
    python -m benchmarks.model_selection --report-only    # rewrite the Markdown only

Rows go to ``OUTPUT/model_selection.csv`` as cells finish (a cell is one estimator on one
dataset and noise kind); a re-run skips the cells already there unless ``--fresh``.
``OUTPUT/model_selection.md`` is the report, ``OUTPUT/model_selection_summary.md`` its
summary.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from .run import make_cell_data

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results"
DATASETS = ("digits", "synthetic")
NOISES = ("sym40", "pair40")
SCORERS = ("accuracy", "trusted", "noise_corrected", "label_quality")
TRUSTED_FRACTION = 0.1
CV_FOLDS = 3
# A pick within this much clean-test accuracy of the grid's best counts as a good pick.
TOLERANCE = 0.01

# Each estimator's main noise-handling hyperparameter and the values searched.
GRIDS = {
    "RobustLossClassifier": ({"loss": "gce"}, "q", [0.1, 0.4, 0.7, 1.0]),
    "CoTeachingClassifier": ({}, "forget_rate", [0.1, 0.3, 0.5, 0.7]),
    "DualEMClassifier": ({}, "noise_rate", [0.1, 0.3, 0.5, 0.7]),
    "NeighborMixClassifier": ({}, "momentum", [0.0, 0.5, 0.9, 0.99]),
    "DivideMixClassifier": ({}, "lambda_u", [0, 5, 25, 50]),
    "LossCorrectionClassifier": ({}, "correction", ["forward", "backward", "adaptation_layer"]),
    "MentorNetClassifier": ({}, "percentile", [30, 50, 70, 90]),
    # Around its default HistGradientBoostingClassifier, as in the benchmark grid.
    "FilterClassifier": ({}, "noise_rate", [0.1, 0.3, 0.5, 0.7]),
}

COLUMNS = (
    "dataset", "noise", "seed", "estimator", "param", "value", "clean_accuracy",
    *(f"cv_{name}" for name in SCORERS),
    "detector_auroc", "transition_error", "fit_s",
)  # fmt: skip
# fit_s: the cell's wall seconds (the search and the refit of every candidate).


def build_estimator(name, seed, max_epochs=None):
    """The estimator of a grid row with its fixed parameters, seeded."""
    import sknoisy

    fixed, _, _ = GRIDS[name]
    params = dict(fixed, random_state=seed)
    if max_epochs is not None and name != "FilterClassifier":
        params["max_epochs"] = max_epochs
    estimator = getattr(sknoisy, name)(**params)
    # Every estimator's fit takes `trusted` too; here the trusted rows are for scoring
    # only, so that each scorer judges the same models.
    return estimator.set_fit_request(trusted=False)


def detect(dataset, noise, seed, max_epochs, threads):
    """Fit the detector once per cell: its label quality and estimated transition matrix."""
    import torch
    from sklearn.metrics import roc_auc_score

    from sknoisy import DualEMClassifier
    from sknoisy.noise import transition_matrix

    X_train, _, y_train, y_noisy, _ = make_cell_data(dataset, noise, seed)
    rng = np.random.default_rng(seed)
    trusted = rng.random(len(y_train)) < TRUSTED_FRACTION
    y_fit = np.where(trusted, y_train, y_noisy)
    torch.set_num_threads(threads)
    epochs = {} if max_epochs is None else {"max_epochs": max_epochs}
    detector = DualEMClassifier(random_state=seed, **epochs).fit(X_train, y_fit)
    classes = detector.classes_
    T_hat = transition_matrix(detector.corrected_labels_, y_fit, classes=classes)
    T_true = transition_matrix(y_train, y_fit, classes=classes)
    return {
        "trusted": trusted,
        "y_fit": y_fit,
        "label_quality": detector.label_quality_,
        "transition_matrix": T_hat,
        "detector_auroc": roc_auc_score(y_fit == y_train, detector.label_quality_),
        "transition_error": float(np.abs(T_hat - T_true).max()),
    }


def run_cell(dataset, noise, seed, name, detection, max_epochs, threads):
    """Search one estimator's grid with every scorer; one CSV row per candidate."""
    import sklearn
    import torch
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    from sknoisy.model_selection import (
        make_label_quality_scorer,
        make_noise_corrected_scorer,
        make_trusted_scorer,
    )

    torch.set_num_threads(threads)
    X_train, X_test, _, _, y_test = make_cell_data(dataset, noise, seed)
    y_fit = detection["y_fit"]
    _, param, values = GRIDS[name]
    scoring = {
        "accuracy": "accuracy",
        "trusted": make_trusted_scorer(),
        "noise_corrected": make_noise_corrected_scorer(detection["transition_matrix"]),
        "label_quality": make_label_quality_scorer(),
    }
    cv = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed)
    start = time.perf_counter()
    with sklearn.config_context(enable_metadata_routing=True):
        estimator = build_estimator(name, seed, max_epochs)
        search = GridSearchCV(
            estimator, {param: values}, scoring=scoring, cv=cv, refit=False,
            error_score="raise",
        )
        search.fit(
            X_train, y_fit,
            trusted=detection["trusted"], label_quality=detection["label_quality"],
        )  # fmt: skip
    clean = [
        clone(estimator).set_params(**{param: value}).fit(X_train, y_fit).score(X_test, y_test)
        for value in values
    ]
    seconds = time.perf_counter() - start
    return [
        {
            "dataset": dataset, "noise": noise, "seed": seed, "estimator": name,
            "param": param, "value": json.dumps(value), "clean_accuracy": clean[i],
            **{f"cv_{s}": search.cv_results_[f"mean_test_{s}"][i] for s in SCORERS},
            "detector_auroc": detection["detector_auroc"],
            "transition_error": detection["transition_error"],
            "fit_s": seconds,
        }
        for i, value in enumerate(values)
    ]  # fmt: skip


def picks(frame):
    """Per cell: the best clean accuracy in the grid and each scorer's pick."""
    out = []
    for (dataset, noise, seed, name), cell in frame.groupby(
        ["dataset", "noise", "seed", "estimator"], sort=False
    ):
        cell = cell.reset_index(drop=True)
        best = cell["clean_accuracy"].max()
        row = {"dataset": dataset, "noise": noise, "seed": seed, "estimator": name,
               "param": cell["param"][0], "best": best,
               "best_value": cell["value"][cell["clean_accuracy"].idxmax()]}  # fmt: skip
        for scorer in SCORERS:
            # GridSearchCV's choice: the first candidate with the best mean score.
            chosen = int(np.argmax(cell[f"cv_{scorer}"].to_numpy()))
            row[scorer] = cell["clean_accuracy"][chosen]
            row[f"{scorer}_value"] = cell["value"][chosen]
        out.append(row)
    import pandas as pd

    return pd.DataFrame(out)


def write_report(output):
    """``model_selection.md`` from the CSV."""
    import pandas as pd

    frame = pd.read_csv(output / "model_selection.csv")
    chosen = picks(frame)
    lines = [
        "# Model selection under label noise",
        "",
        "Written by `benchmarks/model_selection.py` (`make bench-model-selection`) from "
        "`model_selection.csv`. GridSearchCV "
        f"({CV_FOLDS}-fold, on the noisy training labels) over each estimator's main noise "
        "hyperparameter; each cell gives the clean-test accuracy of the candidate each "
        "scorer picks (the value picked in brackets), against the best clean-test "
        f"accuracy in the grid. ✓: within {TOLERANCE * 100:.0f} point of the best. "
        f"Trusted rows: a random {TRUSTED_FRACTION:.0%} of the training rows. Detector "
        "for the transition matrix and label quality: DualEMClassifier.",
        "",
    ]
    for (dataset, noise), group in chosen.groupby(["dataset", "noise"], sort=False):
        seeds = ", ".join(str(s) for s in sorted(group["seed"].unique()))
        cell = frame[(frame.dataset == dataset) & (frame.noise == noise)]
        lines += [
            f"## {dataset}, {noise} (seed {seeds})",
            "",
            f"Detector label-quality AUROC {cell['detector_auroc'].mean():.3f}; "
            f"transition-matrix error {cell['transition_error'].mean():.3f} "
            "(largest absolute error per entry).",
            "",
            "| estimator | parameter | best in grid | " + " | ".join(SCORERS) + " |",
            "|---|---|---|" + "---|" * len(SCORERS),
        ]
        for _, row in group.iterrows():
            cells = [
                f"{row[s]:.3f} ({row[f'{s}_value']})"
                + (" ✓" if row[s] >= row["best"] - TOLERANCE else "")
                for s in SCORERS
            ]
            lines.append(
                f"| {row['estimator']} | `{row['param']}` | {row['best']:.3f} "
                f"({row['best_value']}) | " + " | ".join(cells) + " |"
            )
        lines.append("")
    summary = [f"Cells (estimator × dataset × noise kind) whose pick is within "
               f"{TOLERANCE * 100:.0f} point of the best in the grid, of {len(chosen)}:", ""]
    for scorer in SCORERS:
        good = (chosen[scorer] >= chosen["best"] - TOLERANCE).sum()
        gap = (chosen["best"] - chosen[scorer]).mean()
        summary.append(f"- `{scorer}`: {good}; mean shortfall {gap * 100:.2f} points.")
    noise_aware = [s for s in SCORERS if s != "accuracy"]
    any_good = (
        chosen[noise_aware].ge(chosen["best"] - TOLERANCE, axis=0).any(axis=1).sum()
    )
    summary += [f"- at least one noise-aware scorer: {any_good}.", ""]
    lines += ["## Summary", "", *summary]
    # The summary alone, for the docs page to embed.
    (output / "model_selection_summary.md").write_text("\n".join(summary))
    (output / "model_selection.md").write_text("\n".join(lines))
    print("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--noises", default=",".join(NOISES))
    parser.add_argument("--estimators", default=",".join(GRIDS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--max-epochs", type=int, default=None,
        help="override the networks' max_epochs (smoke runs; default: their own)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--fresh", action="store_true", help="discard earlier rows")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)

    import pandas as pd
    from joblib import Parallel, delayed

    csv = args.output / "model_selection.csv"
    if args.report_only:
        write_report(args.output)
        return 0
    args.output.mkdir(parents=True, exist_ok=True)
    if args.fresh and csv.exists():
        csv.unlink()
    done = set()
    if csv.exists():
        old = pd.read_csv(csv)
        done = set(zip(old.dataset, old.noise, old.seed, old.estimator, strict=True))
    names = [n for n in args.estimators.split(",") if n]
    unknown = sorted(set(names) - set(GRIDS))
    if unknown:
        parser.error(f"unknown estimators {unknown}; known: {sorted(GRIDS)}")
    pairs = [(d, n) for d in args.datasets.split(",") for n in args.noises.split(",")]
    todo = [(d, n, name) for d, n in pairs for name in names
            if (d, n, args.seed, name) not in done]  # fmt: skip
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    parallel = Parallel(n_jobs=args.jobs, return_as="generator_unordered")
    needed = sorted({(d, n) for d, n, _ in todo})
    print(f"fitting the detector on {len(needed)} dataset/noise pairs ...", flush=True)
    detections = dict(zip(needed, Parallel(n_jobs=args.jobs)(
        delayed(detect)(d, n, args.seed, args.max_epochs, threads) for d, n in needed
    ), strict=True))
    print(f"searching {len(todo)} cells ...", flush=True)
    for rows in parallel(
        delayed(run_cell)(d, n, args.seed, name, detections[d, n], args.max_epochs, threads)
        for d, n, name in todo
    ):
        frame = pd.DataFrame(rows, columns=COLUMNS)
        frame.to_csv(csv, mode="a", header=not csv.exists(), index=False)
        print(f"{rows[0]['dataset']} {rows[0]['noise']} {rows[0]['estimator']}: "
              f"{rows[-1]['fit_s']:.0f} s", flush=True)  # fmt: skip
    write_report(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
