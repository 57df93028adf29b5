"""Command line of sknoisy: ``python -m sknoisy demo``.

The demo corrupts the training labels of scikit-learn's digits data and fits, on them,
the plain cross-entropy baseline, the recommended estimator, cleanlab's
``CleanLearning`` around the same network as the baseline (when cleanlab is installed)
and every other sknoisy estimator. It compares them on clean test accuracy and on how
well they find the wrong labels.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
from functools import partial

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import (
    AutoClassifier,
    CoTeachingClassifier,
    DivideMixClassifier,
    DualEMClassifier,
    LossCorrectionClassifier,
    MentorNetClassifier,
    NeighborMixClassifier,
    RobustLossClassifier,
)
from .auto import default_candidates
from .noise import KINDS, make_label_noise


def _auto(random_state, **params):
    """AutoClassifier, with the demo's shared parameters given to every candidate."""
    candidates = default_candidates(random_state, **params) if params else None
    return AutoClassifier(candidates, random_state=random_state)


# The estimator docs/choosing.md recommends starting with.
RECOMMENDED = ("auto", _auto)


def _clean_learning(random_state, **params):
    """cleanlab's CleanLearning (its defaults) around the baseline's network."""
    from cleanlab.classification import CleanLearning

    return _CleanLearningScores(
        CleanLearning(
            clf=RobustLossClassifier("ce", random_state=random_state, **params),
            seed=random_state,
            find_label_issues_kwargs={"n_jobs": 1},
        )
    )


class _CleanLearningScores(ClassifierMixin, BaseEstimator):
    """CleanLearning with the ``label_quality_``, ``label_issues_`` and
    ``noise_rate_`` of a sknoisy estimator, for the demo's table."""

    def __init__(self, clean_learning):
        self.clean_learning = clean_learning

    def fit(self, X, y):
        self.clean_learning.fit(X, y)
        issues = self.clean_learning.get_label_issues()
        self.label_quality_ = issues["label_quality"].to_numpy()
        self.label_issues_ = issues["is_label_issue"].to_numpy()
        self.noise_rate_ = float(self.label_issues_.mean())
        return self

    def predict(self, X):
        return self.clean_learning.predict(X)


# The methods the demo compares, as (name, factory) pairs. Each factory is called with
# keyword arguments only (``random_state`` and, when given, ``max_epochs``) and returns
# an unfitted estimator. The first entry is the plain baseline the others are compared
# with, the second the recommended estimator; a new estimator joins the demo by adding
# a line here.
METHODS = [
    ("ce", partial(RobustLossClassifier, "ce")),
    RECOMMENDED,
    ("cleanlab", _clean_learning),
    *[
        (name, factory)
        for name, factory in [
            ("coteaching", CoTeachingClassifier),
            ("dividemix", DivideMixClassifier),
            ("dualem", DualEMClassifier),
            ("neighbormix", NeighborMixClassifier),
            ("losscorrection", LossCorrectionClassifier),
            ("mentornet", MentorNetClassifier),
            ("gce", partial(RobustLossClassifier, "gce")),
        ]
        if name != RECOMMENDED[0]
    ],
]


def available_methods():
    """:data:`METHODS` without cleanlab when it is not installed."""
    if importlib.util.find_spec("cleanlab") is not None:
        return METHODS
    return [(name, factory) for name, factory in METHODS if name != "cleanlab"]


# Noise kinds that need nothing beyond a rate (and X): "asymmetric" needs a mapping
# and "matrix" a transition matrix.
DEMO_KINDS = tuple(kind for kind in KINDS if kind not in ("asymmetric", "matrix"))

TEST_SIZE = 0.3


def _noise_rate(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < 1:  # also rejects NaN
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def build_parser():
    """The argument parser of ``python -m sknoisy``."""
    parser = argparse.ArgumentParser(
        prog="python -m sknoisy",
        description="sknoisy: scikit-learn classifiers that learn from noisy labels.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="compare the estimators on the digits data with noisy training labels",
        description=(
            "Corrupt the training labels of scikit-learn's digits data, fit the plain "
            "cross-entropy baseline and every other sknoisy estimator on them, and "
            "compare clean test accuracy and how well each finds the wrong labels."
        ),
    )
    demo.add_argument(
        "--noise-rate", type=_noise_rate, default=0.4, metavar="RATE",
        help="fraction of training labels to corrupt, in [0, 1) (default: %(default)s)",
    )
    demo.add_argument(
        "--noise-kind", choices=DEMO_KINDS, default="symmetric",
        help="kind of label noise (default: %(default)s)",
    )
    demo.add_argument(
        "--seed", type=int, default=0,
        help="seed of the split, the noise and the estimators (default: %(default)s)",
    )
    demo.add_argument(
        "--max-epochs", type=_positive_int, default=None, metavar="N",
        help="training epochs of every estimator (default: each estimator's own default)",
    )
    return parser


def _fmt(value, digits=3):
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _format_table(header, rows):
    """A Markdown-style table; the first column is left-aligned, the others right."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells):
        padded = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(
        "-" * (w + 1) + ":" if i else ":" + "-" * (w + 1) for i, w in enumerate(widths)
    ) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def _issue_scores(estimator, flipped):
    """Precision and recall of ``label_issues_`` and AUROC of ``label_quality_``."""
    issues = np.asarray(estimator.label_issues_, dtype=bool)
    hits = np.sum(issues & flipped)
    precision = hits / issues.sum() if issues.any() else float("nan")
    recall = hits / flipped.sum() if flipped.any() else float("nan")
    if flipped.all() or not flipped.any():
        auroc = float("nan")  # one class only: undefined
    else:
        # positive class: the given label is right
        auroc = roc_auc_score(~flipped, estimator.label_quality_)
    return float(precision), float(recall), float(auroc)


def run_demo(noise_rate=0.4, noise_kind="symmetric", seed=0, max_epochs=None):
    """Run the demo, printing progress and the results table to stdout."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=TEST_SIZE, stratify=y, random_state=seed
    )
    y_noisy = make_label_noise(y_train, noise_kind, noise_rate, X=X_train, random_state=seed)
    flipped = y_noisy != y_train

    epochs = (
        f"max_epochs={max_epochs} for every estimator" if max_epochs is not None
        else "each estimator's default max_epochs"
    )
    print(
        f"Digits (sklearn load_digits): {len(y)} images of 8x8 pixels in "
        f"{len(np.unique(y))} classes, split stratified into {len(y_train)} training "
        f"and {len(y_test)} test rows (seed {seed}). The training labels get "
        f"{noise_kind} noise at rate {noise_rate:g}: {int(flipped.sum())} of "
        f"{len(y_train)} labels are wrong (realised noise rate {flipped.mean():.3f}); "
        f"the test labels stay clean. Each method is StandardScaler + the estimator, "
        f"{epochs}.",
        flush=True,
    )
    print(flush=True)

    extra = {} if max_epochs is None else {"max_epochs": max_epochs}
    methods = available_methods()
    if len(methods) < len(METHODS):
        print("cleanlab is not installed (pip install cleanlab): its row is left out.\n")
    results = []
    for name, factory in methods:
        pipe = make_pipeline(StandardScaler(), factory(random_state=seed, **extra))
        print(f"fitting {name} ...", end=" ", flush=True)
        start = time.perf_counter()
        pipe.fit(X_train, y_noisy)
        seconds = time.perf_counter() - start
        print(f"{seconds:.1f} s", flush=True)
        estimator = pipe[-1]
        accuracy = pipe.score(X_test, y_test)
        precision, recall, auroc = _issue_scores(estimator, flipped)
        results.append(
            (name, accuracy, precision, recall, auroc, estimator.noise_rate_, seconds)
        )

    header = (
        "method", "test acc", "issue precision", "issue recall", "quality AUROC",
        "est. noise rate", "fit s",
    )
    rows = [
        (name, _fmt(acc), _fmt(prec), _fmt(rec), _fmt(auc), _fmt(rate), f"{sec:.1f}")
        for name, acc, prec, rec, auc, rate, sec in results
    ]
    print()
    print(_format_table(header, rows))
    print()

    base_name, base_acc = results[0][0], results[0][1]
    accuracy = {r[0]: r[1] for r in results}
    recommended = RECOMMENDED[0]
    gain = 100 * (accuracy[recommended] - base_acc)
    against = f"{gain:+.1f} points against plain {base_name}"
    if "cleanlab" in accuracy:
        gain = 100 * (accuracy[recommended] - accuracy["cleanlab"])
        against += f", {gain:+.1f} against cleanlab"
    print(
        f"Recommended: {recommended} with {accuracy[recommended]:.3f}, {against} "
        "(docs/choosing.md says why)."
    )
    best_name, best_acc = max(((r[0], r[1]) for r in results), key=lambda r: r[1])
    if best_name == base_name:
        print(
            f"Best accuracy: {base_name} (the plain baseline) with {base_acc:.3f}; "
            "no other method beat it."
        )
    else:
        print(
            f"Best accuracy: {best_name} with {best_acc:.3f}, "
            f"{100 * (best_acc - base_acc):+.1f} points over plain {base_name} "
            f"({base_acc:.3f})."
        )
    sys.stdout.flush()
    return results


def main(argv=None):
    """Entry point of ``python -m sknoisy``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    run_demo(
        noise_rate=args.noise_rate,
        noise_kind=args.noise_kind,
        seed=args.seed,
        max_epochs=args.max_epochs,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
