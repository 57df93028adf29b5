"""Pick the noise-handling method for the data at hand: fit several, keep the one that
predicts held-out labels best, refit it on all rows.

No method is best on every data set: on images and embeddings the semi-supervised
DivideMix is usually the most accurate, on tables with overlapping classes the loss
correction by a transition matrix, where a network memorises its rows at once (many
features for the rows) label cleaning by cross-validation, and plain cross-entropy is
sometimes as good as any.
:class:`AutoClassifier` makes that choice from the data, as ``GridSearchCV`` would over
methods: every candidate is fitted on the same stratified part of the training rows (on
small data, on the folds of a cross-validation) and scored on the rest, and the first one
(in the candidates' order) whose score is within one standard error of the best is
refitted on all of them.

The held-out labels are as noisy as the training labels. Under symmetric noise below
``1 - 1/K`` their accuracy still ranks models right: a model's noisy accuracy grows with
its clean accuracy. Where the noise depends on the class or on the features, a model
that predicts the classes labels are flipped to loses less noisy accuracy than one that
errs elsewhere, and can be chosen over a better one (:mod:`sknoisy.model_selection` has
scorers that need checked rows or a transition matrix instead).

Checked rows (``fit(X, y, trusted=mask)``) have labels that are right: once at least
``MIN_TRUSTED_TO_SCORE`` (50) of them are held out, a candidate more accurate on them
than the one chosen, by more than one standard error there, is chosen instead. The few
checked rows overrule the many noisy ones only with evidence: on a small sample the
one-standard-error rule alone would favour the candidates that come first.

The one-standard-error rule (as in the choice of a tree's size by cross-validation,
Breiman et al., 1984) reads the held-out accuracy as the estimate it is: a candidate
whose lead over an earlier one is within the noise of a few hundred held-out rows has not
shown that it is better. The default candidates come in the order of preference, plain
cross-entropy, the one that fits wrong labels most, last.
"""

from __future__ import annotations

import numbers
import time

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, has_fit_parameter, validate_data

from ._base import check_sample_weight
from ._issues import LabelIssuesMixin, row_index
from ._validation import check_number, checked_rows
from .correction import LossCorrectionClassifier
from .dividemix import DivideMixClassifier
from .filter import FilterClassifier
from .neighbormix import NeighborMixClassifier
from .robust import RobustLossClassifier

__all__ = ["AutoClassifier", "default_candidates"]

# Below this many rows the candidates are scored by CV_FOLDS-fold cross-validation, every
# row held out once: a fifth of a small data set is too few rows to tell them apart.
CV_BELOW_ROWS = 2000
CV_FOLDS = 5
# From this many held-out checked (trusted) rows on, their accuracy can overrule the
# choice made on the held-out labels. Their labels are right, so it measures the clean
# accuracy that noisy labels only stand in for, and that noise following the features
# misleads; with fewer, its standard error (about 4 points for 50 rows at 90% accuracy)
# is too wide to choose on.
MIN_TRUSTED_TO_SCORE = 50


def default_candidates(random_state=None, *, sparse=False, **params):
    """The methods :class:`AutoClassifier` chooses from when given none, as
    ``(name, estimator)`` pairs, in the order that breaks ties.

    DivideMix is the most accurate on images and embeddings, loss correction on tables
    with overlapping classes and on class-dependent noise, NeighborMix in between. Label
    cleaning (:class:`~sknoisy.FilterClassifier` around plain cross-entropy: the label
    issues found by 5-fold cross-validation are dropped before the final fit) is the one
    that holds where a network memorises every training row within a few epochs, as with
    many features for the rows: there the other methods, which read the noise from the
    network's predictions on the rows it trains on, see almost none of it. Plain
    cross-entropy is the fallback that keeps the choice from ever being clearly worse
    than plain training.

    For sparse input (TF-IDF or hashed text, one-hot codes), a last candidate is the same
    label cleaning around a logistic regression. On such rows, with many more features
    than the network can learn from without memorising the wrong labels, the
    regularised linear model is often far more accurate at heavy noise; last in the
    order, it is chosen only where its held-out lead is beyond one standard error.

    Parameters
    ----------
    random_state : int or None, default=None
        Given to every candidate.
    sparse : bool, default=False
        Whether the training data are sparse: adds the linear label cleaning.
    **params
        Parameters every sknoisy estimator shares (``max_epochs``, ``device``,
        ``hidden_layer_sizes``, ``module``, ...), given to every network candidate.

    Returns
    -------
    candidates : list of (str, estimator)

    Examples
    --------
    >>> [name for name, _ in default_candidates()]
    ['dividemix', 'losscorrection', 'neighbormix', 'filter', 'ce']
    >>> [name for name, _ in default_candidates(sparse=True)][-1]
    'filter_logreg'
    >>> AutoClassifier(default_candidates(random_state=0, device="cpu"), random_state=0)
    AutoClassifier(...)
    """
    params = {"random_state": random_state, **params}
    candidates = [
        ("dividemix", DivideMixClassifier(**params)),
        ("losscorrection", LossCorrectionClassifier(**params)),
        ("neighbormix", NeighborMixClassifier(**params)),
        (
            "filter",
            FilterClassifier(RobustLossClassifier("ce", **params), random_state=random_state),
        ),
        ("ce", RobustLossClassifier("ce", **params)),
    ]
    if sparse:
        linear = LogisticRegression(max_iter=1000)
        candidates.append(("filter_logreg", FilterClassifier(linear, random_state=random_state)))
    return candidates


def _standard_error(differences, weight):
    """Standard error of the weighted mean of per-row differences (effective number of
    rows ``sum(w) ** 2 / sum(w ** 2)``); 0 for fewer than two rows."""
    total = weight.sum()
    n_effective = total**2 / np.square(weight).sum() if total > 0 else 0.0
    if n_effective < 2:
        return 0.0
    mean = np.average(differences, weights=weight)
    variance = np.average(np.square(differences - mean), weights=weight)
    return float(np.sqrt(variance / (n_effective - 1)))


def _one_standard_error_choice(scores, correct, weight):
    """Each candidate's standard error of its gap to the best, and the first candidate
    (in the candidates' order) within one of them of the best."""
    leader = max(scores, key=scores.get)
    errors = {
        name: _standard_error(correct[leader] - correct[name], weight) for name in correct
    }
    chosen = next(name for name in correct if scores[name] >= scores[leader] - errors[name])
    return errors, chosen


def _best_has(attribute):
    """For ``available_if``: whether the chosen candidate (once fitted) has it."""

    def check(self):
        best = getattr(self, "best_estimator_", None)
        return best is None or hasattr(best, attribute)

    return check


class AutoClassifier(LabelIssuesMixin, MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """The noise-robust method that suits the data, chosen on held-out rows.

    Every candidate is fitted on the same stratified ``1 - validation_fraction`` of the
    training rows and scored by its accuracy on the rest (whose labels are as noisy as
    the others: see the module docstring for when that ranks models right). Below
    ``CV_BELOW_ROWS`` (2,000) rows, ``CV_FOLDS`` (5)-fold cross-validation scores them
    instead, every row held out once. The first candidate whose score is within one
    standard error of the best one's (the standard error of the mean of the rows'
    differences in correctness between the two) is refitted on all the rows: a lead
    smaller than that is noise, and the candidates come in the order of preference.

    Where at least ``MIN_TRUSTED_TO_SCORE`` (50) of the held-out rows are ``trusted``
    (checked, so their labels are right), the candidate most accurate on them replaces
    that choice if it leads it there by more than one standard error.

    It costs the candidates' fits (five each on small data) plus one more fit of the
    chosen one.

    Parameters
    ----------
    candidates : list of (str, estimator) or None, default=None
        The classifiers to choose from, as ``(name, estimator)`` pairs with distinct
        names, in the order of preference: the first within one standard error of the
        best is chosen. Each is cloned. Any classifier will do;
        ``label_quality_``, ``label_issues_`` and ``noise_rate_`` come from the chosen
        one and exist when it has them. None: :func:`default_candidates` (DivideMix,
        loss correction, NeighborMix, label cleaning and plain cross-entropy; for sparse
        input, label cleaning around a logistic regression too).
    validation_fraction : float in (0, 1), default=0.2
        Share of the training rows held out to score the candidates, from 2,000 rows
        on (cross-validation below).
    random_state : int or None, default=None
        Seeds the split and, with ``candidates=None``, every candidate.
    verbose : int, default=0
        0 is silent; 1 prints each candidate's held-out accuracy and fit time as it is
        scored, then the choice.

    Attributes
    ----------
    best_name_ : str
        Name of the chosen candidate.
    best_estimator_ : estimator
        The chosen candidate, refitted on all the training rows.
    validation_scores_ : dict of str to float
        Each candidate's accuracy on the held-out labels.
    trusted_scores_ : dict of str to float or None
        Each candidate's accuracy on the held-out trusted rows; None with fewer than
        ``MIN_TRUSTED_TO_SCORE`` of them.
    chosen_by_trusted_ : bool
        Whether the held-out trusted rows overruled the choice made on the held-out
        labels.
    validation_errors_ : dict of str to float
        Each candidate's standard error of its difference in held-out accuracy from the
        best candidate (0 for the best).
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    label_quality_, label_issues_, noise_rate_
        Those of ``best_estimator_`` (when it has them).

    See Also
    --------
    sknoisy.model_selection : noise-aware scorers, for ``GridSearchCV`` over a single
        method's hyperparameters.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknoisy import AutoClassifier, RobustLossClassifier, make_label_noise
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy = make_label_noise(y, "symmetric", 0.3, random_state=0)
    >>> candidates = [
    ...     ("gce", RobustLossClassifier("gce", max_epochs=5)),
    ...     ("ce", RobustLossClassifier("ce", max_epochs=5)),
    ... ]
    >>> clf = AutoClassifier(candidates, random_state=0).fit(X / 16, y_noisy)
    >>> clf.best_name_ in ("gce", "ce"), sorted(clf.validation_scores_)
    (True, ['ce', 'gce'])
    """

    def __init__(
        self, candidates=None, *, validation_fraction=0.2, random_state=None, verbose=0
    ):
        self.candidates = candidates
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.verbose = verbose

    def _candidates(self, sparse=False):
        if self.candidates is None:
            seed = self.random_state
            if seed is not None and not isinstance(seed, numbers.Integral):
                raise TypeError(
                    "random_state must be an int or None with candidates=None (it is "
                    f"given to every candidate), got {seed!r}"
                )
            return default_candidates(seed, sparse=sparse)
        pairs = list(self.candidates)
        if not pairs:
            raise ValueError("candidates must not be empty")
        for pair in pairs:
            if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)):
                raise TypeError(
                    f"candidates must be (name, estimator) pairs, got {pair!r}"
                )
            if not hasattr(pair[1], "fit"):
                raise TypeError(f"candidate {pair[0]!r} has no fit method: {pair[1]!r}")
        names = [name for name, _ in pairs]
        if len(set(names)) != len(names):
            raise ValueError(f"candidate names must be distinct, got {names}")
        return [(name, clone(estimator)) for name, estimator in pairs]

    def _splits(self, y):
        """``(fitting rows, held-out rows)`` index pairs: the folds of a cross-validation
        on small data, else one split; stratified where every class can be."""
        smallest = np.bincount(np.unique(y, return_inverse=True)[1]).min()
        rows = np.zeros(len(y))
        if len(y) < CV_BELOW_ROWS:
            folds = min(CV_FOLDS, len(y))
            arguments = dict(n_splits=folds, shuffle=True, random_state=self.random_state)
            splitter = StratifiedKFold(**arguments) if smallest >= folds else KFold(**arguments)
            return list(splitter.split(rows, y))
        arguments = dict(test_size=self.validation_fraction, random_state=self.random_state)
        n_classes = len(np.unique(y))
        n_held_out = int(np.ceil(self.validation_fraction * len(y)))
        stratify = smallest >= 2 and n_classes <= n_held_out <= len(y) - n_classes
        splitter = StratifiedShuffleSplit(**arguments) if stratify else ShuffleSplit(**arguments)
        return [next(splitter.split(rows, y))]

    def _overrule_by_trusted(self, correct, weight, held_trusted):
        """Set ``trusted_scores_`` and ``chosen_by_trusted_``; switch ``best_name_`` to
        the candidate most accurate on the held-out trusted rows when there are at least
        MIN_TRUSTED_TO_SCORE of them and its lead over the choice exceeds one standard
        error there."""
        self.trusted_scores_, self.chosen_by_trusted_ = None, False
        if held_trusted is None or held_trusted.sum() < MIN_TRUSTED_TO_SCORE:
            return
        weight = weight[held_trusted]
        if weight.sum() <= 0:
            return
        right = {name: rows[held_trusted] for name, rows in correct.items()}
        self.trusted_scores_ = {
            name: float(np.average(rows, weights=weight)) for name, rows in right.items()
        }
        leader = max(self.trusted_scores_, key=self.trusted_scores_.get)
        lead = self.trusted_scores_[leader] - self.trusted_scores_[self.best_name_]
        if lead > _standard_error(right[leader] - right[self.best_name_], weight):
            self.best_name_, self.chosen_by_trusted_ = leader, True
        if self.verbose:
            scores = ", ".join(f"{n} {v:.3f}" for n, v in self.trusted_scores_.items())
            print(f"[AutoClassifier] held-out trusted rows' accuracy: {scores}", flush=True)

    def fit(self, X, y, sample_weight=None, trusted=None):
        """Fit every candidate on part of the rows, choose, refit the best on all.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, ...)
        y : array-like of shape (n_samples,)
            Noisy labels.
        sample_weight : array-like of shape (n_samples,) or None, default=None
            Passed to every candidate's ``fit`` (each must accept it) and to the
            held-out accuracy.
        trusted : array-like of bool, shape (n_samples,), default=None
            Rows whose label was checked and is right, passed to every candidate's
            ``fit`` (each must accept it; every sknoisy estimator does). Where at least
            ``MIN_TRUSTED_TO_SCORE`` (50) of them are held out, their accuracy can
            overrule the choice. A mask that marks no row is the same as None.

        Returns
        -------
        self : AutoClassifier
        """
        self._forget_fit()
        check_number(
            self.validation_fraction, "validation_fraction", low=0, high=1, low_open=True,
            high_open=True,
        )  # fmt: skip
        index = row_index(X)
        X, y = validate_data(
            self, X, y, allow_nd=True, ensure_min_samples=4, accept_sparse=("csr", "csc")
        )
        candidates = self._candidates(sparse=sp.issparse(X))
        if sp.issparse(X):  # the candidates take rows of it
            X = X.tocsr()
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                "AutoClassifier needs samples of at least 2 classes in the data; got 1 "
                f"class: {self.classes_[0]!r}"
            )
        weight = check_sample_weight(sample_weight, X.shape[0])
        trusted = checked_rows(trusted, X.shape[0])
        if trusted is not None:
            for name, candidate in candidates:
                if not has_fit_parameter(candidate, "trusted"):
                    raise TypeError(
                        f"candidate {name!r} ({type(candidate).__name__}) does not take "
                        "trusted in its fit; give candidates that do, or leave trusted out"
                    )
        splits = self._splits(y)

        def fit_params(rows):
            params = {} if weight is None else {"sample_weight": weight[rows]}
            if trusted is not None:
                params["trusted"] = trusted[rows]
            return params

        held_out_rows = np.concatenate([held_out for _, held_out in splits])
        held_weight = np.ones(len(held_out_rows)) if weight is None else weight[held_out_rows]
        self.validation_scores_ = {}
        correct = {}
        for name, template in candidates:
            start = time.perf_counter()
            right = []
            for fit_rows, held_out in splits:
                estimator = clone(template).fit(X[fit_rows], y[fit_rows], **fit_params(fit_rows))
                right.append(estimator.predict(X[held_out]) == y[held_out])
                # One fitted candidate at a time: a network's weights and optimizer
                # state can be as large as the data.
                del estimator
            correct[name] = np.concatenate(right).astype(np.float64)
            self.validation_scores_[name] = float(np.average(correct[name], weights=held_weight))
            if self.verbose:
                print(
                    f"[AutoClassifier] {name}: held-out accuracy "
                    f"{self.validation_scores_[name]:.3f} ({time.perf_counter() - start:.1f} s)",
                    flush=True,
                )
        self.validation_errors_, self.best_name_ = _one_standard_error_choice(
            self.validation_scores_, correct, held_weight
        )
        self._overrule_by_trusted(
            correct, held_weight, None if trusted is None else trusted[held_out_rows]
        )
        if self.verbose:
            print(f"[AutoClassifier] refitting {self.best_name_} on all rows", flush=True)
        best = dict(candidates)[self.best_name_]
        self.best_estimator_ = clone(best).fit(X, y, **fit_params(slice(None)))
        for attribute in ("label_quality_", "label_issues_", "noise_rate_"):
            if hasattr(self.best_estimator_, attribute):
                setattr(self, attribute, getattr(self.best_estimator_, attribute))
        if hasattr(self.best_estimator_, "_issue_rows"):
            # The same classes_, in the same order: the candidate saw the same labels.
            rows = self.best_estimator_._issue_rows
            self._record_label_issue_rows(
                rows["given"], rows["predicted"], rows["suggested"], index
            )
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            candidates = self._candidates()
        except (TypeError, ValueError):  # reported by fit
            candidates = []
        tags.input_tags.sparse = bool(candidates) and all(
            get_tags(estimator).input_tags.sparse for _, estimator in candidates
        )
        return tags

    def predict(self, X):
        """Labels predicted by the chosen candidate.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, ...)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_data(self, X, allow_nd=True, reset=False, accept_sparse=("csr", "csc"))
        return self.best_estimator_.predict(X)

    @available_if(_best_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of the chosen candidate, columns in ``classes_`` order.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, ...)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = validate_data(self, X, allow_nd=True, reset=False, accept_sparse=("csr", "csc"))
        return self.best_estimator_.predict_proba(X)
