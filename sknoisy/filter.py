"""Model-agnostic label cleaning: find the label issues, then refit any classifier.

Out-of-sample predicted probabilities (cross-validation), optionally averaged over
several models (multiple-model agreement, Brodley & Friedl, JAIR 1999), or the
``label_quality_`` of any sknoisy estimator, score every training label; the label
issues are pruned, or every row is weighted by its label quality, and the final
estimator is refitted.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, has_fit_parameter, validate_data

from ._base import check_sample_weight
from ._issues import LabelIssuesMixin, row_index
from ._validation import check_auto_or_rate, check_number, check_option, checked_rows
from .quality import (
    LABEL_QUALITY_METHODS,
    find_label_issues,
    label_quality_scores,
    prune_by_noise_rate,
)

__all__ = ["FilterClassifier"]

HANDLINGS = ("prune", "weight")


def _estimator_has(attribute):
    """For ``available_if``: whether the fitted (or else the given) estimator has it."""

    def check(self):
        estimator = getattr(self, "estimator_", None) or self._final_template()
        return hasattr(estimator, attribute)

    return check


class FilterClassifier(LabelIssuesMixin, MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Clean the training labels for any scikit-learn classifier, then refit it.

    Each training label is scored by how well out-of-sample predictions agree with it:
    probabilities from ``cv``-fold cross-validation of ``estimator`` (or, with a list
    of ``detectors``, their average: multiple-model agreement), or the
    ``label_quality_`` of a sknoisy estimator given as the detector. The rows flagged as
    label issues are then dropped (``handling="prune"``), or every row is weighted by
    its label quality (``"weight"``), and ``estimator`` is refitted on the result.

    Parameters
    ----------
    estimator : classifier or None, default=None
        The model to clean the data for, refitted on the cleaned data. None:
        ``HistGradientBoostingClassifier(random_state=random_state)``.
    detectors : classifier, list of classifiers or None, default=None
        What scores the labels. None: ``estimator`` itself, by cross-validation. A
        classifier or list of classifiers with ``predict_proba``: their cross-validated
        probabilities, averaged. A sknoisy estimator (any classifier whose fit sets
        ``label_quality_``), alone: fitted once on all rows, its ``label_quality_`` and
        ``noise_rate_`` are used as they are.
    cv : int, cross-validation splitter or iterable, default=5
        Folds of the cross-validation: an int is stratified, shuffled folds (fewer when a
        class has fewer rows, at least 2); anything else is passed to
        :func:`~sklearn.model_selection.cross_val_predict` as it is.
    handling : {"prune", "weight"}, default="prune"
        ``"prune"``: refit without the label issues (a class all of whose rows are
        flagged keeps them). ``"weight"``: refit on every row
        with ``sample_weight`` multiplied by its label quality.
    quality_method : str, default="self_confidence"
        Score of :func:`~sknoisy.quality.label_quality_scores` computed from the
        probabilities.
    noise_rate : "auto" or float in [0, 1), default="auto"
        A float: that fraction of rows, the lowest-quality ones, are the issues.
        ``"auto"``: with probabilities, the rows confident learning's "prune by noise
        rate" rule flags (:func:`~sknoisy.quality.prune_by_noise_rate`; ``noise_rate_``
        is their share); with a sknoisy detector, its ``noise_rate_`` lowest-quality
        rows.
    n_jobs : int or None, default=None
        Parallel fits of the cross-validation (joblib).
    random_state : int, RandomState instance or None, default=None
        Seeds the folds' shuffling and the default estimator.

    Attributes
    ----------
    estimator_ : classifier
        ``estimator`` refitted on the cleaned data.
    detectors_ : list of classifiers
        The fitted sknoisy detector, when one was given; empty otherwise (the
        cross-validation's models are not kept).
    pred_probs_ : ndarray of shape (n_samples, n_classes) or None
        The out-of-sample probabilities the labels were scored with (None with a
        sknoisy detector).
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    label_quality_ : ndarray of shape (n_samples,)
        Per training row, in [0, 1]: higher means the given label is more likely right.
    label_issues_ : ndarray of bool, shape (n_samples,)
        Rows whose label is probably wrong.
    noise_rate_ : float
        Estimated (or given) fraction of wrong labels.

    See Also
    --------
    sknoisy.quality.label_quality_scores : the scores, for probabilities you have.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sknoisy import FilterClassifier, make_label_noise
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy = make_label_noise(y, "symmetric", 0.3, random_state=0)
    >>> clf = FilterClassifier(LogisticRegression(max_iter=500), random_state=0)
    >>> clf.fit(X / 16, y_noisy).label_issues_.mean().round(1)
    np.float64(0.3)
    """

    def __init__(
        self,
        estimator=None,
        *,
        detectors=None,
        cv=5,
        handling="prune",
        quality_method="self_confidence",
        noise_rate="auto",
        n_jobs=None,
        random_state=None,
    ):
        self.estimator = estimator
        self.detectors = detectors
        self.cv = cv
        self.handling = handling
        self.quality_method = quality_method
        self.noise_rate = noise_rate
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _final_template(self):
        if self.estimator is None:
            return HistGradientBoostingClassifier(random_state=self.random_state)
        return _check_classifier(self.estimator, "estimator")

    def _detector_list(self):
        if self.detectors is None:
            return [self._final_template()]
        if isinstance(self.detectors, (list, tuple)):
            if not self.detectors:
                raise ValueError("detectors must not be an empty list")
            return [_check_classifier(d, "detectors") for d in self.detectors]
        return [_check_classifier(self.detectors, "detectors")]

    def _folds(self, y):
        if not isinstance(self.cv, numbers.Integral):
            return self.cv  # a splitter or an iterable of (train, test) indices
        check_number(self.cv, "cv", low=2, integer=True)
        smallest = np.bincount(y).min()
        if smallest >= 2:
            n_splits = min(self.cv, smallest)
            return StratifiedKFold(n_splits, shuffle=True, random_state=self.random_state)
        # A class of one row cannot be stratified; that row is scored by models that
        # never saw its class, so it is flagged (a single example is suspicious).
        folds = KFold(min(self.cv, len(y)), shuffle=True, random_state=self.random_state)
        splits = list(folds.split(y))
        if any(len(np.unique(y[train])) < 2 for train, _ in splits):
            raise ValueError(
                f"cross-validation with {len(splits)} folds over {len(y)} rows leaves a fold "
                "whose training rows hold a single class, which no classifier can learn "
                "from; give more rows per class"
            )
        return splits

    def fit(self, X, y, sample_weight=None, trusted=None):
        """Score the labels, clean the data and refit ``estimator``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Given (noisy) labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the final fit (multiplied by label quality with ``"weight"``).
        trusted : array-like of bool, shape (n_samples,), default=None
            Rows whose label was checked and is right. They are never flagged nor
            pruned (their ``label_quality_`` is 1), and they are passed on to a sknoisy
            detector's fit and to the final estimator's where its fit takes
            ``trusted``. A mask that marks no row is the same as None.

        Returns
        -------
        self : object
        """
        check_option(self.handling, "handling", HANDLINGS)
        check_option(self.quality_method, "quality_method", LABEL_QUALITY_METHODS)
        check_auto_or_rate(self.noise_rate, "noise_rate")
        self._forget_fit()
        index = row_index(X)
        X, y = validate_data(self, X, y, accept_sparse=("csr", "csc"), ensure_all_finite=False)
        check_classification_targets(y)
        self.classes_, y_encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"FilterClassifier needs samples of at least 2 classes; got 1 class: "
                f"{self.classes_[0]!r}"
            )
        weight = check_sample_weight(sample_weight, len(y))
        trusted = checked_rows(trusted, len(y))
        given_trusted = {} if trusted is None else {"trusted": trusted}

        detectors = self._detector_list()
        # Only a detector given alone scores by its own label_quality_; the estimator
        # itself (detectors=None) and a list are always cross-validated.
        sknoisy_detector = (
            self.detectors is not None
            and not isinstance(self.detectors, (list, tuple))
            and _scores_labels(detectors[0])
        )
        if sknoisy_detector:
            detector = clone(detectors[0]).fit(X, y_encoded, **given_trusted)
            self.detectors_ = [detector]
            self.pred_probs_ = None
            self.label_quality_ = np.asarray(detector.label_quality_, dtype=np.float64)
        else:
            folds = self._folds(y_encoded)
            self.pred_probs_ = np.mean(
                [
                    cross_val_predict(
                        clone(d), X, y_encoded, cv=folds, method="predict_proba",
                        n_jobs=self.n_jobs,
                    )  # fmt: skip
                    for d in detectors
                ],
                axis=0,
            )
            self.detectors_ = []
            self.label_quality_ = label_quality_scores(
                y_encoded, self.pred_probs_, method=self.quality_method
            )
        if trusted is not None:  # checked labels are right
            self.label_quality_[trusted] = 1.0
        pruned_by_counts = self.noise_rate == "auto" and not sknoisy_detector
        if pruned_by_counts:
            self.label_issues_ = prune_by_noise_rate(y_encoded, self.pred_probs_)
        else:
            auto = self.noise_rate == "auto"
            self.noise_rate_ = float(self.detectors_[0].noise_rate_ if auto else self.noise_rate)
            self.label_issues_ = find_label_issues(
                self.label_quality_, noise_rate=self.noise_rate_
            )
        if trusted is not None:
            self.label_issues_[trusted] = False
        if pruned_by_counts:
            self.noise_rate_ = float(self.label_issues_.mean())

        final = clone(self._final_template())
        if self.handling == "prune":
            keep = ~self.label_issues_
            # A class whose every row is flagged keeps its rows: pruning it away would
            # leave the refitted model unable to predict it at all.
            lost = np.setdiff1d(np.arange(len(self.classes_)), y_encoded[keep])
            keep |= np.isin(y_encoded, lost)
            X_fit, y_fit = X[keep], y[keep]
        else:
            keep, X_fit, y_fit = slice(None), X, y
        fit_params = {}
        if self.handling == "weight":
            fit_params["sample_weight"] = self.label_quality_ * (1.0 if weight is None else weight)
        elif weight is not None:
            fit_params["sample_weight"] = weight[keep]
        if trusted is not None and has_fit_parameter(final, "trusted"):
            fit_params["trusted"] = trusted[keep]
        final.fit(X_fit, y_fit, **fit_params)
        self.estimator_ = final
        if sknoisy_detector:
            rows = self.detectors_[0]._issue_rows
            predicted, suggested = rows["predicted"], rows["suggested"]
        else:
            predicted = suggested = self.pred_probs_.argmax(axis=1)
        if trusted is not None:
            suggested = np.where(trusted, y_encoded, suggested)
        self._record_label_issue_rows(y_encoded, predicted, suggested, index)
        return self

    def predict(self, X):
        """Predicted labels of the refitted estimator."""
        check_is_fitted(self)
        validate_data(self, X, accept_sparse=("csr", "csc"), ensure_all_finite=False, reset=False)
        return self.estimator_.predict(X)

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of the refitted estimator."""
        check_is_fitted(self)
        validate_data(self, X, accept_sparse=("csr", "csc"), ensure_all_finite=False, reset=False)
        return self.estimator_.predict_proba(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        template = self._final_template()
        tags.input_tags.sparse = template.__sklearn_tags__().input_tags.sparse
        tags.input_tags.allow_nan = template.__sklearn_tags__().input_tags.allow_nan
        return tags


def _check_classifier(estimator, name):
    """``estimator`` if it is a scikit-learn estimator instance that can fit and predict."""
    if isinstance(estimator, type) or not all(
        hasattr(estimator, method) for method in ("fit", "predict", "get_params")
    ):
        raise TypeError(
            f"{name} must be a scikit-learn classifier instance (with fit, predict and "
            f"get_params), got {estimator!r}"
        )
    return estimator


def _scores_labels(detector):
    """Whether a detector is a sknoisy estimator: one whose fit sets ``label_quality_``."""
    from ._base import BaseNoisyClassifier

    return isinstance(detector, BaseNoisyClassifier)
