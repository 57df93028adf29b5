"""The benchmark zoo's runner: problems x noise kinds x seeds x methods.

Every cell trains one method on one problem of the zoo (``zoo.py``) whose training
labels were corrupted with one kind of noise, then measures

- ``accuracy``: accuracy on the clean 30% test split;
- ``quality_auroc``: AUROC of the method's per-row label quality for telling the
  training rows whose label is right from those whose label was flipped;
- ``issue_precision`` / ``issue_recall`` / ``issue_f1``: of the method's label-issue mask
  against the flipped rows;
- ``noise_rate_est``: the method's estimate of the noise rate, where it has one;
- ``transition_error``: for a method with a ``transition_matrix_``, its largest
  absolute error per entry against the realised matrix of the cell's noise;
- ``fit_s``: wall seconds of ``fit``.

Rows are appended to ``OUTPUT/bench.csv`` as cells finish; ``benchmarks/report.py``
turns the CSV into ``OUTPUT/bench.md`` and the plots, ``benchmarks/zoo_report.py`` into
the win-rate summary. A cell that raises is recorded with ``status=error`` and the
message, and the run goes on.

Data
----
A problem is split 70/30, stratified, by the seed; the training labels are corrupted by
the noise kind (``zoo.corrupt``, same seed); the test labels stay clean. The features
are standardised with the mean and scale of the training split, as a user's
``StandardScaler`` would (the text problems' TF-IDF rows are left as they are); a
dataset named ``PROBLEM@raw`` is fitted on the raw features instead (the unscaled-input
check: every network estimator at ``sym20`` on each tabular problem of the half).

Methods
-------
A method is named ``Name`` or ``Name:param=value:param=value``. ``Name`` is any
estimator class exported by :mod:`sknoisy` (new estimators join the zoo without a
change here), built with its default parameters and ``random_state=seed``; the
``param=value`` parts set parameters (values are Python literals, else strings; for
``oracle`` and ``cleanlab`` those of the wrapped network). One part is not a
parameter: ``trusted=F`` checks a share ``F`` of the training rows, drawn at random
(``trusted_rows``): they get their true labels and are passed as ``fit(...,
trusted=mask)``, as after a review. The peers:

- ``oracle``: ``RobustLossClassifier()`` (the default network, cross-entropy) trained on
  the true labels: the network oracle. ``oracle_hgb``: ``HistGradientBoostingClassifier``
  on the true labels. Neither depends on the noise, so each runs once per problem and
  seed (recorded as noise ``none``).
- ``HistGradientBoostingClassifier`` (defaults) on the noisy labels, without label
  quality (on sparse features, made dense for it); on request ``LogisticRegression``
  (``max_iter=1000``), ``MLPClassifier`` (defaults), ``cleanlab_logreg`` (cleanlab's
  ``CleanLearning`` around that logistic regression) and ``filter_logreg``
  (sknoisy's ``FilterClassifier`` around it): the text problems' peers; and
  ``auto_linear``, ``AutoClassifier`` with that ``filter_logreg`` as a last candidate
  after the default ones (an ablation).
- ``cleanlab``: cleanlab's ``CleanLearning`` (its defaults: 5-fold cross-validated
  probabilities, prune, refit; issue search in one process) wrapping
  ``RobustLossClassifier()``, the same default network; its label quality and issues
  are those of ``get_label_issues()``.
- ``cleanlab_hgb``: the same around ``HistGradientBoostingClassifier`` (defaults).

A default run has every sknoisy estimator (plain cross-entropy is
``RobustLossClassifier``) and every peer.

Running it
----------
::

    python -m benchmarks.run [--half tuning|report] [--datasets wine,segment]
        [--noise sym40,pair40] [--seeds 0,1] [--methods CoTeachingClassifier,cleanlab]
        [--jobs 2] [--output DIR] [--fresh | --resume] [--quick] [--max-epochs N]
        [--no-raw]

``--half`` picks the half's problems (default ``tuning``); ``--datasets`` any problems.
Each problem runs its own noise kinds and seeds (``zoo.Problem``); ``--noise`` and
``--seeds`` narrow them. Without ``--output`` the results go to ``benchmarks/output/``
(not committed), so a partial run never mixes with committed results. Rows are appended,
and the reports take each cell's last ok row, from the rows with this run's
``--max-epochs`` only. ``--resume`` skips cells already in the CSV with status ``ok``;
``--fresh`` starts a new CSV. ``--quick`` is a smoke run: wine and breast_cancer, seed
0, ``sym20`` and ``real40``, 3 epochs per network. ``--jobs N`` runs cells in N worker
processes, each with ``cores // N`` torch threads.
"""

from __future__ import annotations

import argparse
import ast
import csv
import datetime
import math
import os
import shlex
import sys
import time
import traceback
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from . import report, zoo, zoo_report
from .grid import (
    BASELINES,
    CLEAN,
    CLEANLAB,
    DEFAULT_HALF,
    EXTRA_METHODS,
    HALF_NAMES,
    HGB_BASED,
    KEY,
    NOISE,
    ORACLES,
    RAW,
)

HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "output"
CSV_NAME = "bench.csv"

QUICK = {
    "datasets": ("wine", "breast_cancer"), "seeds": (0,), "noise": ("sym20", "real40"),
    "max_epochs": 3,
}  # fmt: skip

FIELDS = (
    "dataset", "noise", "seed", "method", "max_epochs", "status", "accuracy",
    "quality_auroc", "issue_precision", "issue_recall", "issue_f1", "noise_rate_true",
    "noise_rate_est", "transition_error", "n_train", "fit_s", "threads", "finished",
    "commit", "error",
)  # fmt: skip


# --------------------------------------------------------------------------- datasets


def problem_name(dataset):
    """The zoo problem of a dataset name (``PROBLEM`` or ``PROBLEM@raw``)."""
    return dataset.removesuffix(RAW)


@lru_cache(maxsize=8)
def make_cell_data(dataset, noise, seed):
    """Train/test split with noisy training labels for one cell, standardised unless
    the dataset is ``PROBLEM@raw``."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    name = problem_name(dataset)
    X, y = zoo.load(name)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=zoo.TEST_SIZE, stratify=y, random_state=seed
    )
    if zoo.PROBLEMS[name].text:  # TF-IDF rows, left as the vectoriser gives them
        y_noisy = y_train if noise == CLEAN else zoo.corrupt(X_train, y_train, noise, seed, name)
        return X_train, X_test, y_train, y_noisy, y_test
    scaler = StandardScaler().fit(X_train)
    X_scaled = scaler.transform(X_train).astype(np.float32)
    # The noise sees the same features whether the cell is fitted on raw ones or not.
    y_noisy = y_train if noise == CLEAN else zoo.corrupt(X_scaled, y_train, noise, seed)
    if not dataset.endswith(RAW):
        X_train, X_test = X_scaled, scaler.transform(X_test).astype(np.float32)
    return X_train, X_test, y_train, y_noisy, y_test


# ---------------------------------------------------------------------------- methods


def sknoisy_estimators():
    """``{name: class}`` of every classifier sknoisy ships."""
    from sknoisy.discovery import all_estimators

    return dict(all_estimators())


def default_methods():
    """The zoo's methods: every sknoisy estimator with its defaults, and the peers."""
    return list(sknoisy_estimators()) + list(BASELINES)


def _literal(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


@dataclass(frozen=True)
class Method:
    """A parsed method name: an estimator class name or baseline, plus parameters."""

    name: str
    base: str
    params: tuple

    @property
    def is_oracle(self):
        return self.base in ORACLES

    @property
    def trusted_fraction(self):
        """The share of training rows checked before the fit (``trusted=F``), else 0."""
        return float(dict(self.params).get("trusted", 0.0))

    @property
    def densify(self):
        """Whether the method needs dense features (HistGradientBoosting takes no
        sparse matrix)."""
        return self.base in HGB_BASED

    @property
    def is_network(self):
        """Whether this is a sknoisy network estimator (the unscaled-input check's)."""
        from sknoisy.discovery import all_estimators

        return self.base in dict(all_estimators("network"))

    @classmethod
    def parse(cls, name):
        base, *settings = name.split(":")
        params = []
        for setting in settings:
            key, sep, value = setting.partition("=")
            if not sep or not key:
                raise ValueError(f"method {name!r}: expected Name:param=value, got {setting!r}")
            params.append((key, _literal(value)))
        # One spelling per method, so that loss=gce and loss='gce' are the same cell.
        spelled = [f"{k}={v if isinstance(v, str) else repr(v)}" for k, v in params]
        name = ":".join([base, *spelled])
        known = set(sknoisy_estimators()) | set(BASELINES) | set(EXTRA_METHODS)
        if base not in known:
            raise ValueError(f"unknown method {base!r}; known: {', '.join(sorted(known))}")
        method = cls(name, base, tuple(params))
        method.build(seed=0, max_epochs=None)  # unknown parameters fail here, not per cell
        if method.trusted_fraction and (method.is_oracle or base in CLEANLAB):
            raise ValueError(f"method {name!r}: trusted= is for estimators that take it")
        if not 0 <= method.trusted_fraction < 1:
            raise ValueError(f"method {name!r}: trusted= must be a share in [0, 1)")
        return method

    def build(self, seed, max_epochs):
        """A fresh estimator for one cell."""
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression

        if self.base in ("LogisticRegression", "cleanlab_logreg", "filter_logreg"):
            estimator = LogisticRegression(max_iter=1000)
        elif self.base == "MLPClassifier":
            from sklearn.neural_network import MLPClassifier

            estimator = MLPClassifier(random_state=seed)
        elif self.base in HGB_BASED:
            estimator = HistGradientBoostingClassifier(random_state=seed)
        elif self.base == "auto_linear":
            from sknoisy.auto import default_candidates

            linear = Method.parse("filter_logreg").build(seed, max_epochs)
            candidates = [*default_candidates(random_state=seed), ("linear", linear)]
            estimator = sknoisy_estimators()["AutoClassifier"](candidates, random_state=seed)
        elif self.base in ("oracle", "cleanlab"):
            estimator = sknoisy_estimators()["RobustLossClassifier"](random_state=seed)
        else:
            estimator = sknoisy_estimators()[self.base](random_state=seed)
        if max_epochs is not None and "max_epochs" in estimator.get_params():
            estimator.set_params(max_epochs=max_epochs)
        estimator.set_params(**{k: v for k, v in self.params if k != "trusted"})
        if self.base == "filter_logreg":
            estimator = sknoisy_estimators()["FilterClassifier"](estimator, random_state=seed)
        if self.base in CLEANLAB:
            from cleanlab.classification import CleanLearning

            # n_jobs=1: cleanlab's process pool relies on globals inherited by fork and
            # fails inside joblib's workers; this step is cheap next to the training.
            estimator = CleanLearning(
                clf=estimator, seed=seed, find_label_issues_kwargs={"n_jobs": 1}
            )
        return estimator


# ------------------------------------------------------------------------------ cells


def _nan_metrics():
    return dict.fromkeys(
        ("quality_auroc", "issue_precision", "issue_recall", "issue_f1", "noise_rate_est",
         "transition_error"),
        math.nan,
    )


def label_metrics(wrong, quality, issues, noise_rate_est=math.nan):
    """How well per-row quality scores and an issue mask find the wrong labels."""
    from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

    metrics = _nan_metrics()
    metrics["noise_rate_est"] = float(noise_rate_est)
    if quality is not None and 0 < wrong.sum() < len(wrong):
        metrics["quality_auroc"] = roc_auc_score(~wrong, np.asarray(quality, dtype=float))
    if issues is not None and wrong.any():
        precision, recall, f1, _ = precision_recall_fscore_support(
            wrong, np.asarray(issues, dtype=bool), average="binary", zero_division=0.0
        )
        metrics.update(issue_precision=precision, issue_recall=recall, issue_f1=f1)
    return metrics


@cache
def _warm_up(threads):
    """Set the torch threads and pay torch's one-off start-up cost outside any timing."""
    import torch

    from sknoisy import RobustLossClassifier

    torch.set_num_threads(threads)
    X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    RobustLossClassifier(max_epochs=1, random_state=0).fit(X, np.arange(64) % 2)


def trusted_rows(n_samples, fraction, seed):
    """The ``round(fraction * n_samples)`` training rows a simulated reviewer checked,
    drawn at random by the cell's seed (independently of its noise)."""
    rng = np.random.default_rng([seed, 1])
    mask = np.zeros(n_samples, dtype=bool)
    mask[rng.permutation(n_samples)[: round(fraction * n_samples)]] = True
    return mask


def run_cell(cell, threads):
    """Fit and score one cell; never raises an Exception (a failure becomes a row)."""
    from sknoisy.noise import transition_matrix

    dataset, noise, seed, name, max_epochs = cell
    row = dict(zip(KEY, cell, strict=True), threads=threads, **_nan_metrics())
    row.update(accuracy=math.nan, noise_rate_true=math.nan, n_train=0, fit_s=math.nan)
    try:
        _warm_up(threads)
        method = Method.parse(name)
        X_train, X_test, y_train, y_noisy, y_test = make_cell_data(dataset, noise, seed)
        fit_params = {}
        if method.trusted_fraction:
            trusted = trusted_rows(len(y_train), method.trusted_fraction, seed)
            y_noisy = np.where(trusted, y_train, y_noisy)
            fit_params["trusted"] = trusted
        wrong = np.asarray(y_noisy != y_train)
        row.update(n_train=len(y_train), noise_rate_true=float(wrong.mean()))
        labels = y_train if method.is_oracle else y_noisy
        is_cleanlab = method.base in CLEANLAB
        if method.densify and sp.issparse(X_train):
            X_train, X_test = X_train.toarray(), X_test.toarray()
        # CleanLearning takes class indices 0..K-1 only; the others take the labels as
        # they are (segment's are strings).
        classes, codes = np.unique(labels, return_inverse=True)
        estimator = method.build(seed, max_epochs)
        start = time.perf_counter()
        estimator.fit(X_train, codes if is_cleanlab else labels, **fit_params)
        row["fit_s"] = time.perf_counter() - start
        predicted = estimator.predict(X_test)
        predicted = classes[predicted] if is_cleanlab else predicted
        row["accuracy"] = float(np.mean(predicted == y_test))
        if is_cleanlab:
            issues = estimator.get_label_issues()
            row.update(label_metrics(wrong, issues["label_quality"], issues["is_label_issue"]))
        elif not method.is_oracle:
            row.update(
                label_metrics(
                    wrong,
                    getattr(estimator, "label_quality_", None),
                    getattr(estimator, "label_issues_", None),
                    getattr(estimator, "noise_rate_", math.nan),
                )
            )
            if getattr(estimator, "transition_matrix_", None) is not None:
                true = transition_matrix(y_train, y_noisy, classes=estimator.classes_)
                error = np.abs(estimator.transition_matrix_ - true).max()
                row["transition_error"] = float(error)
        row.update(status="ok", error="")
    except Exception as exc:
        row.update(status="error", error=f"{type(exc).__name__}: {exc}"[:500])
        traceback.print_exc()
    row["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    row["commit"] = report.commit()
    return row


def grid_cells(datasets, noises, seeds, methods, max_epochs):
    """The cells to run, in order. Each problem runs its own noise kinds and seeds
    (``noises`` / ``seeds``, when given, narrow them); the oracles once per problem and
    seed; a ``PROBLEM@raw`` dataset only the network estimators at ``sym20``."""
    cells = []
    for dataset in datasets:
        problem = zoo.PROBLEMS[problem_name(dataset)]
        plan_noises = [n for n in problem.noise_kinds if noises is None or n in noises]
        plan_seeds = [s for s in problem.seeds if seeds is None or s in seeds]
        if dataset.endswith(RAW):
            plan_noises = [n for n in plan_noises if n == "sym20"]
        for seed in plan_seeds:
            for name in methods:
                method = Method.parse(name)
                if dataset.endswith(RAW) and not method.is_network:
                    continue
                for noise in [CLEAN] if method.is_oracle else plan_noises:
                    cells.append((dataset, noise, seed, method.name, max_epochs))
    return cells


def with_raw(datasets):
    """The datasets and, after each tabular problem, its raw-feature variant."""
    out = []
    for dataset in datasets:
        out.append(dataset)
        if not dataset.endswith(RAW) and zoo.PROBLEMS[problem_name(dataset)].tabular:
            out.append(dataset + RAW)
    return out


# -------------------------------------------------------------------------------- csv


def cell_key(row):
    max_epochs = row["max_epochs"]
    max_epochs = None if max_epochs in ("", None) else int(max_epochs)
    return (row["dataset"], row["noise"], int(row["seed"]), row["method"], max_epochs)


def _header(path):
    """The CSV's column names, or None when there is no CSV yet."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    with path.open(newline="") as f:
        return next(csv.reader(f), None)


def read_rows(path):
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def append_row(path, row):
    if _header(path) not in (None, list(FIELDS)):
        # A CSV from before a column was added: rewrite it with the current columns.
        rows = read_rows(path)
        path.unlink()
        for old in rows:
            append_row(path, old)
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in FIELDS})


# ------------------------------------------------------------------------------- main


def _names(text):
    return [part for part in text.split(",") if part]


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Run the sknoisy benchmark zoo (see the module docstring).",
    )
    parser.add_argument(
        "--half", choices=HALF_NAMES, help=f"the zoo half to run (default {DEFAULT_HALF})"
    )
    parser.add_argument("--datasets", type=_names, help="comma-separated problem names")
    parser.add_argument("--noise", type=_names, help=f"comma-separated, from {list(NOISE)}")
    parser.add_argument("--seeds", type=_names, help="comma-separated integers")
    parser.add_argument("--methods", type=_names, help="comma-separated method names")
    parser.add_argument(
        "--max-epochs", type=int, help="epochs of every network (default: its own)"
    )
    parser.add_argument(
        "--no-raw", action="store_true", help="skip the raw-feature cells of tabular problems"
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--output", type=Path, help=f"default: {DEFAULT_OUTPUT}")
    parser.add_argument("--quick", action="store_true", help="smoke run (see docstring)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--fresh", action="store_true", help="start a new CSV")
    group.add_argument("--resume", action="store_true", help="skip cells already done")
    args = parser.parse_args(argv)

    quick = QUICK if args.quick else {}
    if args.half and args.datasets:
        parser.error("give --half or --datasets, not both")
    args.datasets = (
        args.datasets or list(quick.get("datasets", zoo.HALVES[args.half or DEFAULT_HALF]))
    )
    args.noise = args.noise or quick.get("noise")
    args.seeds = args.seeds or quick.get("seeds")
    if args.max_epochs is None:
        args.max_epochs = quick.get("max_epochs")
    args.output = args.output or DEFAULT_OUTPUT
    try:
        if args.seeds is not None:
            args.seeds = list(dict.fromkeys(int(seed) for seed in args.seeds))
        methods = args.methods or default_methods()
        args.methods = list(dict.fromkeys(Method.parse(name).name for name in methods))
    except ValueError as exc:
        parser.error(str(exc))
    unknown = [n for n in args.noise or () if n not in NOISE]
    if unknown:
        parser.error(f"unknown noise {unknown}; known: {list(NOISE)}")
    unknown = [d for d in args.datasets if problem_name(d) not in zoo.PROBLEMS]
    if unknown:
        parser.error(f"unknown problem {unknown}; known: {list(zoo.PROBLEMS)}")
    if not args.no_raw:
        args.datasets = with_raw(args.datasets)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.max_epochs is not None and args.max_epochs < 1:
        parser.error("--max-epochs must be at least 1")
    return args


def execute(cells, jobs, on_row):
    """Run the cells, ``jobs`` at a time, calling ``on_row`` as each finishes."""
    threads = max(1, (os.cpu_count() or 1) // jobs)
    if jobs == 1:
        for cell in cells:
            on_row(run_cell(cell, threads))
        return
    # Workers unpickle run_cell by module name; as __main__ it would not be importable.
    from joblib import Parallel, delayed

    from . import run

    parallel = Parallel(n_jobs=jobs, return_as="generator_unordered")
    for row in parallel(delayed(run.run_cell)(cell, threads) for cell in cells):
        on_row(row)


def main(argv=None):
    args = parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    csv_path = args.output / CSV_NAME
    if args.fresh and csv_path.exists():
        csv_path.unlink()

    datasets = args.datasets
    requested = grid_cells(datasets, args.noise, args.seeds, args.methods, args.max_epochs)
    cells = requested
    if args.resume:
        done = {cell_key(row) for row in read_rows(csv_path) if row["status"] == "ok"}
        cells = [cell for cell in requested if cell not in done]
        print(f"--resume: {len(requested) - len(cells)} cell(s) already in {csv_path}", flush=True)
    print(
        f"{len(cells)} cell(s): problems {datasets}, noise {args.noise or 'per problem'}, "
        f"seeds {args.seeds or 'per problem'}, "
        f"{len(args.methods)} methods, {args.jobs} job(s); results in {csv_path}",
        flush=True,
    )

    start, rows = time.perf_counter(), []

    def on_row(row):
        rows.append(row)
        append_row(csv_path, row)
        elapsed = time.perf_counter() - start
        left = elapsed / len(rows) * (len(cells) - len(rows))
        outcome = (
            f"acc {row['accuracy']:.3f}, auroc {row['quality_auroc']:.3f}, "
            f"F1 {row['issue_f1']:.3f}, {row['fit_s']:.1f} s"
            if row["status"] == "ok"
            else f"ERROR {row['error']}"
        )
        print(
            f"[{len(rows)}/{len(cells)} {elapsed / 60:.1f} min, ~{left / 60:.1f} min left] "
            f"{row['dataset']} {row['noise']} seed {row['seed']} {row['method']}: {outcome}",
            flush=True,
        )

    execute(cells, args.jobs, on_row)

    command = shlex.join(
        ["python", "-m", "benchmarks.run", *(sys.argv[1:] if argv is None else argv)]
    )
    # Reports list rows in the zoo's order (problems, seeds, methods, noise kinds), then
    # whatever else the CSV holds, whatever order the cells ran in.
    csv_rows = read_rows(csv_path)
    order = grid_cells(
        with_raw(zoo.PROBLEMS), None, None,
        list(dict.fromkeys([*default_methods(), *args.methods])), args.max_epochs,
    )  # fmt: skip
    position = {cell: i for i, cell in enumerate(order)}
    all_rows = sorted(csv_rows, key=lambda row: position.get(cell_key(row), math.inf))
    # Tables never average runs of different lengths: only rows with this run's epochs.
    same_epochs = [row for row in all_rows if cell_key(row)[-1] == args.max_epochs]
    report.write(same_epochs, args.output, command=command, jobs=args.jobs)
    zoo_report.write(
        same_epochs, args.output,
        provenance=report.provenance(report.frame(same_epochs), command, args.jobs),
    )  # fmt: skip
    print()
    requested_keys = set(requested)
    print(report.run_summary([row for row in all_rows if cell_key(row) in requested_keys]))
    failed = [row for row in rows if row["status"] != "ok"]
    if failed:
        print(f"\n{len(failed)} cell(s) failed; see the 'error' column of {csv_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
