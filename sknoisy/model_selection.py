"""Noise-aware scorers for ``GridSearchCV`` and ``cross_val_score``.

Cross-validation scores a model on held-out folds whose labels are as noisy as the
training labels. Under symmetric noise the noisy accuracy is an increasing affine function
of the clean accuracy, so plain accuracy still ranks models right (only noisier); under
class-dependent noise it does not: a model that predicts the classes labels are flipped
*to* loses less noisy accuracy than one that errs elsewhere, so plain accuracy can
reward learning the noise. Each scorer here scores against a better stand-in for the
clean labels, under its own assumption:

make_trusted_scorer
    Scores only the rows you have checked (``trusted``). Assumes their labels are right
    and that they are a fair sample of the data; needs enough of them in every fold.
make_noise_corrected_scorer
    Estimates clean accuracy from the noisy labels through a noise transition matrix
    ``T`` estimated beforehand. Assumes class-conditional noise (whether a label is
    flipped depends on its true class only, not on the row), and an accurate,
    well-conditioned ``T``.
make_label_quality_scorer
    Scores only the rows whose ``label_quality`` (from a detector fitted on the training
    data, e.g. any sknoisy estimator's ``label_quality_``) is high. Assumes the detector
    ranks labels well; the rows it keeps are the easier ones, so the score is above the
    clean accuracy, but it ranks models alike.

The trusted and label-quality scorers take per-row metadata (``trusted=``,
``label_quality=``) that scikit-learn routes into each fold, so metadata routing must be
enabled::

    import sklearn
    sklearn.set_config(enable_metadata_routing=True)
    est.set_fit_request(trusted=True)  # train on the checked rows as clean; False: score only
    search = GridSearchCV(est, grid, scoring=make_trusted_scorer())
    search.fit(X, y, trusted=mask)
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.utils.metadata_routing import MetadataRequest

from ._validation import check_number, check_stochastic_matrix, check_trusted

__all__ = [
    "make_label_quality_scorer",
    "make_noise_corrected_scorer",
    "make_trusted_scorer",
]

# Largest condition number of T that the correction inverts: beyond it the estimate is
# dominated by the amplified sampling noise of the observed confusion counts.
_MAX_SCORER_CONDITION = 1e6
_ROW_SUM_ATOL = 1e-4


class _RowSubsetScorer:
    """Score ``score_func`` on the rows of a fold that per-row metadata selects."""

    # Name of the routed per-row metadata; set by subclasses.
    metadata = None

    def __init__(self, score_func, kwargs):
        if not callable(score_func):
            raise TypeError(f"score_func must be callable, got {score_func!r}")
        self.score_func = score_func
        self.kwargs = kwargs

    def get_metadata_routing(self):
        """Request the per-row metadata in ``score`` (scikit-learn's routing protocol)."""
        request = MetadataRequest(owner=type(self).__name__)
        request.score.add_request(param=self.metadata, alias=True)
        return request

    def _rows(self, values, n_samples):
        """Boolean mask of the fold's rows to score; subclasses define the rule."""
        raise NotImplementedError

    def __call__(self, estimator, X, y, sample_weight=None, **metadata):
        values = metadata.pop(self.metadata, None)
        if metadata:
            raise TypeError(f"unexpected metadata {sorted(metadata)} for {self!r}")
        if values is None:
            raise ValueError(
                f"{self!r} needs the per-row `{self.metadata}` of the scored rows. Pass "
                f"`{self.metadata}=...` to the search's or cross_val_score's fit, with "
                "metadata routing enabled: sklearn.set_config(enable_metadata_routing=True)."
            )
        y = np.asarray(y)
        rows = self._rows(np.asarray(values), len(y))
        if not rows.any():
            raise ValueError(
                f"{self!r} found no row to score in this fold of {len(y)} rows; "
                f"{self._empty_hint}"
            )
        kwargs = dict(self.kwargs)
        if sample_weight is not None:
            kwargs["sample_weight"] = np.asarray(sample_weight)[rows]
        X_rows = X.iloc[rows] if hasattr(X, "iloc") else X[rows]
        return float(self.score_func(y[rows], estimator.predict(X_rows), **kwargs))

    def _check_length(self, values, n_samples):
        if values.ndim != 1 or len(values) != n_samples:
            raise ValueError(
                f"`{self.metadata}` must be 1-D with one value per scored row "
                f"({n_samples}), got shape {values.shape}."
            )


class _TrustedScorer(_RowSubsetScorer):
    metadata = "trusted"
    _empty_hint = (
        "mark more rows as trusted, or use StratifiedGroupKFold / fewer folds so that "
        "every fold holds some."
    )

    def _rows(self, values, n_samples):
        self._check_length(values, n_samples)
        return check_trusted(values, n_samples)

    def __repr__(self):
        return f"make_trusted_scorer({getattr(self.score_func, '__name__', self.score_func)})"


class _LabelQualityScorer(_RowSubsetScorer):
    metadata = "label_quality"
    _empty_hint = "lower `threshold`, or check that `label_quality` is on a [0, 1] scale."

    def __init__(self, score_func, threshold, kwargs):
        super().__init__(score_func, kwargs)
        self.threshold = threshold

    def _rows(self, values, n_samples):
        self._check_length(values, n_samples)
        if not np.issubdtype(values.dtype, np.number) or values.dtype == bool:
            raise ValueError(f"`label_quality` must be numeric, got dtype {values.dtype}.")
        if not np.isfinite(values).all():
            raise ValueError("`label_quality` contains NaN or infinity.")
        return values >= self.threshold

    def __repr__(self):
        name = getattr(self.score_func, "__name__", self.score_func)
        return f"make_label_quality_scorer({name}, threshold={self.threshold})"


def make_trusted_scorer(score_func=accuracy_score, **kwargs):
    """Make a scorer that scores only the rows whose labels you have checked.

    Pass a boolean mask ``trusted`` (one value per row of ``X``) to the fit of
    ``GridSearchCV`` or ``cross_val_score``'s ``params``; scikit-learn's metadata routing
    (which must be enabled) splits it with the folds, and each fold is scored by
    ``score_func(y[trusted], estimator.predict(X[trusted]))``. Every row still trains the
    models; only the scoring is restricted.

    Assumptions: the trusted labels are right, and the trusted rows are a fair sample of
    the data (checked at random, not the easy rows). With few of them the score is noisy:
    with ``m`` trusted rows per fold and accuracy ``a`` its standard error is about
    ``sqrt(a (1 - a) / m)``.

    Parameters
    ----------
    score_func : callable, default=sklearn.metrics.accuracy_score
        ``score_func(y_true, y_pred, **kwargs)``, higher is better.
    **kwargs
        Passed on to ``score_func``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, trusted=mask)``, usable as ``scoring=`` (alone or in a
        dict of scorers). It requests ``trusted`` for ``score`` in scikit-learn's routing.

    See Also
    --------
    make_label_quality_scorer : score the rows a detector finds clean.
    make_noise_corrected_scorer : estimate clean accuracy through a transition matrix.

    Examples
    --------
    >>> import numpy as np, sklearn
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_val_score
    >>> from sknoisy.model_selection import make_trusted_scorer
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> trusted = np.arange(200) % 4 == 0  # the rows whose labels were checked
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     scores = cross_val_score(LogisticRegression(), X, y, cv=3,
    ...                              scoring=make_trusted_scorer(),
    ...                              params={"trusted": trusted})
    >>> scores.shape
    (3,)
    """
    return _TrustedScorer(score_func, kwargs)


def make_label_quality_scorer(score_func=accuracy_score, *, threshold=0.5, **kwargs):
    """Make a scorer that scores only the rows whose label quality is high.

    Fit a label-noise detector once on the training data, for example any sknoisy
    estimator, and pass its per-row ``label_quality_`` as ``label_quality`` to the fit of
    ``GridSearchCV`` or ``cross_val_score``'s ``params`` (metadata routing enabled).
    Each fold is scored by ``score_func`` on its rows with
    ``label_quality >= threshold``; rows whose label is probably wrong are not scored.

    Assumptions: the detector separates right from wrong labels well (its
    ``label_quality_`` AUROC is high). The rows kept are also the easier ones, so the
    score is higher than the clean accuracy; it is meant for ranking candidates, not as
    an estimate of clean accuracy. A detector that shares the candidates' blind spots
    (for example the same network class as them, fitted with the same defaults) can
    favour them; any fixed detector is used alike for every candidate.

    Parameters
    ----------
    score_func : callable, default=sklearn.metrics.accuracy_score
        ``score_func(y_true, y_pred, **kwargs)``, higher is better.
    threshold : float in [0, 1], default=0.5
        Rows whose ``label_quality`` is at least this are scored. 0.5 suits the
        posterior probability of a clean label that sknoisy estimators report.
    **kwargs
        Passed on to ``score_func``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y, label_quality=scores)``, usable as ``scoring=``. It
        requests ``label_quality`` for ``score`` in scikit-learn's routing.

    See Also
    --------
    make_trusted_scorer : score rows whose labels were checked by hand.

    Examples
    --------
    >>> import numpy as np, sklearn
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import cross_val_score
    >>> from sknoisy import RobustLossClassifier
    >>> from sknoisy.model_selection import make_label_quality_scorer
    >>> X, y = make_classification(n_samples=200, random_state=0)
    >>> detector = RobustLossClassifier("gce", max_epochs=5, random_state=0).fit(X, y)
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     scores = cross_val_score(
    ...         LogisticRegression(), X, y, cv=3, scoring=make_label_quality_scorer(),
    ...         params={"label_quality": detector.label_quality_})
    >>> bool(np.all((0 <= scores) & (scores <= 1)))
    True
    """
    threshold = check_number(threshold, "threshold", low=0, high=1, to_float=True)
    return _LabelQualityScorer(score_func, threshold, kwargs)


class _NoiseCorrectedScorer:
    def __init__(self, transition_matrix, classes):
        self.transition_matrix = transition_matrix
        self.classes = classes

    def __call__(self, estimator, X, y, sample_weight=None):
        classes = np.asarray(estimator.classes_ if self.classes is None else self.classes)
        T = self.transition_matrix
        if T.shape != (len(classes), len(classes)):
            source = "estimator.classes_" if self.classes is None else "classes"
            raise ValueError(
                f"transition_matrix is {T.shape[0]}x{T.shape[1]} but {source} has "
                f"{len(classes)} classes."
            )
        true_index = _class_index(classes, np.asarray(y), "y")
        pred_index = _class_index(classes, np.asarray(estimator.predict(X)), "predictions")
        weights = np.ones(len(true_index)) if sample_weight is None else np.asarray(
            sample_weight, dtype=float
        )
        k = len(classes)
        # observed[p, l] = P(prediction p, noisy label l) = sum_j P(p, true j) T[j, l],
        # since the noise depends on the true class only; solve for P(p, true j).
        observed = np.bincount(
            pred_index * k + true_index, weights=weights, minlength=k * k
        ).reshape(k, k) / weights.sum()
        joint = observed @ np.linalg.inv(T)
        return float(np.clip(np.trace(joint), 0.0, 1.0))

    def __repr__(self):
        k = len(self.transition_matrix)
        return f"make_noise_corrected_scorer(<{k}x{k} transition matrix>)"


def _class_index(classes, values, what):
    """Positions of ``values`` in ``classes``; a value not among them is an error."""
    order = np.argsort(classes, kind="stable")
    positions = np.searchsorted(classes, values, sorter=order)
    positions = np.clip(positions, 0, len(classes) - 1)
    found = classes[order[positions]] == values
    if not found.all():
        unknown = np.unique(values[~found])[:5].tolist()
        raise ValueError(f"{what} contain labels not among the classes: {unknown}")
    return order[positions]


def make_noise_corrected_scorer(transition_matrix, *, classes=None):
    """Make a scorer that estimates clean accuracy from noisy labels through ``T``.

    With ``T[i, j] = P(noisy label j | true class i)`` (the convention of
    :mod:`sknoisy.noise`), the observed joint frequencies of (prediction, noisy label) in a
    fold are ``C = M T``, where ``M`` is the unknown joint of (prediction, true class).
    The scorer returns ``trace(C T^-1)``, the estimated accuracy against the true
    classes, clipped to ``[0, 1]``.

    Assumptions: the noise is class-conditional (a label's chance of being flipped, and
    to what, depends only on its true class: symmetric and pair-flip noise, not
    instance-dependent noise), so that predictions and noise are independent given the
    true class; and ``T`` is accurate. Estimate it once on the training data, for
    example ``LossCorrectionClassifier().fit(X, y).transition_matrix_``, or
    :func:`sknoisy.quality.estimate_transition_matrix` on out-of-sample probabilities.
    Inverting ``T`` amplifies sampling noise, more so the closer the noise is to making
    classes indistinguishable. Under symmetric noise the correction is an increasing
    affine map of plain accuracy, so it ranks candidates as plain accuracy does; it
    changes the ranking under class-dependent noise such as pair flips.

    Parameters
    ----------
    transition_matrix : array-like of shape (n_classes, n_classes)
        Row-stochastic estimate of ``T``, rows and columns in the order of ``classes``.
    classes : array-like of shape (n_classes,) or None, default=None
        The class labels that index ``transition_matrix``. None: the scored estimator's
        ``classes_`` (sorted labels, scikit-learn's convention).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``, usable as ``scoring=``.

    Raises
    ------
    ValueError
        If ``transition_matrix`` is not square, finite and row-stochastic, or is too
        ill-conditioned to invert (condition number above 1e6).

    See Also
    --------
    make_trusted_scorer : score rows whose labels were checked by hand.
    sknoisy.quality.estimate_transition_matrix : estimate ``T`` from probabilities.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from sknoisy.model_selection import make_noise_corrected_scorer
    >>> from sknoisy.noise import pairflip_transition_matrix
    >>> T = pairflip_transition_matrix(2, 0.25)
    >>> y_true = np.array([0, 1] * 200)
    >>> y_noisy = np.where(np.arange(400) % 4 == 0, 1 - y_true, y_true)  # 25% flipped
    >>> X = y_true.reshape(-1, 1)
    >>> oracle = DecisionTreeClassifier().fit(X, y_true)  # always right
    >>> float(oracle.score(X, y_noisy))  # plain accuracy on the noisy labels
    0.75
    >>> make_noise_corrected_scorer(T)(oracle, X, y_noisy)
    1.0
    """
    # Rows are true classes, columns given labels.
    T = check_stochastic_matrix(transition_matrix, "transition_matrix", atol=_ROW_SUM_ATOL,
                                rtol=1e-5)  # fmt: skip
    if T.shape[0] < 2:
        raise ValueError(f"transition_matrix must be at least 2 x 2, got shape {T.shape}")
    condition = np.linalg.cond(T)
    if not condition <= _MAX_SCORER_CONDITION:
        raise ValueError(
            f"transition_matrix is too ill-conditioned to invert (condition number "
            f"{condition:.3g}): the noise makes some classes indistinguishable, so clean "
            "accuracy cannot be recovered from the noisy labels."
        )
    if classes is not None:
        classes = np.asarray(classes)
        if classes.ndim != 1 or len(np.unique(classes)) != len(classes):
            raise ValueError("classes must be a 1-D array of distinct labels")
        if len(classes) != len(T):
            raise ValueError(
                f"classes has {len(classes)} labels but transition_matrix is {len(T)}x{len(T)}"
            )
    return _NoiseCorrectedScorer(T, classes)
