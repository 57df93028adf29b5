"""Model-agnostic label quality: arrays in, arrays out.

The functions in this module work with *out-of-sample* predicted class
probabilities from any model, for example::

    pred_probs = cross_val_predict(clf, X, y, cv=5, method="predict_proba")

Using in-sample probabilities (from a model fitted on the very rows being
scored) makes every label look right, because the model has memorised it.

Conventions
-----------
* ``labels`` are integer class indices ``0 .. K-1`` that index the columns of
  ``pred_probs`` (shape ``(n, K)``, rows summing to one).
* Label quality scores lie in ``[0, 1]``; **higher means the given label is
  more likely to be right**.  This is the same direction as cleanlab's label
  quality scores, so the lowest-scoring rows are the most suspicious.

Functions
---------
label_quality_scores
    One score per row (``"self_confidence"``, ``"normalized_margin"`` or
    ``"confidence_weighted_entropy"``).
confident_joint
    The ``(K, K)`` confident joint of confident learning: counts of rows by
    (given label, confidently predicted class).
estimate_noise_rate
    Fraction of wrong labels, estimated from the calibrated confident joint.
estimate_transition_matrix
    The noise transition matrix ``T[i, j] = P(given j | true i)``, from anchor points
    or from the confident joint.
find_label_issues
    Boolean mask of suspicious rows, by expected noise rate or by threshold.
rank_label_issues
    Row indices ordered from most to least suspicious.
rows_to_review
    The rows to send to a reviewer next, given the rows already checked.
"""

from __future__ import annotations

import numpy as np
from scipy.special import entr

from ._validation import check_number, check_trusted

__all__ = [
    "LABEL_QUALITY_METHODS",
    "confident_joint",
    "estimate_noise_rate",
    "estimate_transition_matrix",
    "find_label_issues",
    "label_quality_scores",
    "prune_by_noise_rate",
    "rank_label_issues",
    "rows_to_review",
]

#: Names accepted by the ``method`` argument of :func:`label_quality_scores`.
LABEL_QUALITY_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
#: Names accepted by the ``method`` argument of :func:`estimate_transition_matrix`.
TRANSITION_METHODS = ("anchor", "confident_joint")

_ROW_SUM_ATOL = 1e-4
_ENTROPY_FLOOR = 1e-12
# Slack when comparing a probability with a per-class threshold: a threshold is
# a mean, and floating-point rounding can push the mean of identical values a
# hair above each of them.
_THRESHOLD_SLACK = 1e-9


# --------------------------------------------------------------------------- #
# Validation helpers
# --------------------------------------------------------------------------- #
def _real_array(values, name):
    """``values`` as a float array; ``ValueError`` naming ``name`` for anything that is
    not real numbers (strings, complex numbers, ragged lists)."""
    try:
        array = np.asarray(values)
        if np.iscomplexobj(array):
            raise ValueError("complex numbers are not supported")
        return array.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array of real values; got {exc}") from exc


def _check_pred_probs(pred_probs):
    """Return ``pred_probs`` as a 2-D float array, or raise ``ValueError``."""
    p = _real_array(pred_probs, "pred_probs")
    if p.ndim != 2:
        raise ValueError(
            f"pred_probs must be 2-D with shape (n_samples, n_classes); got ndim={p.ndim}"
        )
    if p.shape[1] < 1:
        raise ValueError("pred_probs must have at least one column (class)")
    if not np.all(np.isfinite(p)):
        raise ValueError("pred_probs must be finite (found NaN or inf)")
    if np.any(p < 0):
        raise ValueError("pred_probs must be non-negative (found negative entries)")
    if p.shape[0] > 0:
        sums = p.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > _ROW_SUM_ATOL)
        if bad.size:
            raise ValueError(
                f"pred_probs rows must sum to 1 (atol={_ROW_SUM_ATOL}); "
                f"{bad.size} row(s) do not, e.g. row {bad[0]} sums to {sums[bad[0]]:.6g}"
            )
    return p


def _check_labels(labels, pred_probs):
    """Return ``labels`` as a 1-D int64 array consistent with ``pred_probs``."""
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D; got ndim={y.ndim}")
    if y.size == 0:
        y = y.astype(np.int64)
    if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices; got dtype {y.dtype}")
    n, k = pred_probs.shape
    if y.shape[0] != n:
        raise ValueError(
            f"labels and pred_probs must have the same length; got {y.shape[0]} labels "
            f"and {n} rows of pred_probs"
        )
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(
            f"labels must lie in [0, {k}) (the columns of pred_probs); "
            f"got values in [{y.min()}, {y.max()}]"
        )
    return y.astype(np.int64, copy=False)


def _check_label_quality(label_quality):
    """Return ``label_quality`` as a 1-D float array of finite values in [0, 1]."""
    q = _real_array(label_quality, "label_quality")
    if q.ndim != 1:
        raise ValueError(f"label_quality must be 1-D; got ndim={q.ndim}")
    if not np.all(np.isfinite(q)):
        raise ValueError("label_quality must be finite (found NaN or inf)")
    if np.any((q < 0) | (q > 1)):
        raise ValueError("label_quality must lie in [0, 1]")
    return q


# --------------------------------------------------------------------------- #
# Scores
# --------------------------------------------------------------------------- #
def label_quality_scores(labels, pred_probs, *, method="self_confidence"):
    """Score how likely each given label is to be correct.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        Given (possibly noisy) labels as class indices ``0 .. K-1``.
    pred_probs : array-like of float, shape (n_samples, K)
        Out-of-sample predicted class probabilities; finite, non-negative,
        each row summing to 1 (within ``1e-4``).
    method : {"self_confidence", "normalized_margin", \
"confidence_weighted_entropy"}, default="self_confidence"
        How to score row ``i`` with given label ``y = labels[i]`` and
        probabilities ``p = pred_probs[i]``:

        ``"self_confidence"``
            ``p[y]``.
        ``"normalized_margin"``
            ``(p[y] - max_{k != y} p[k] + 1) / 2``.  With a single class the
            competing probability is taken as 0.
        ``"confidence_weighted_entropy"``
            ``s / (1 + s)`` with ``s = p[y] / H``, where
            ``H = max(entropy(p) / log(K), 1e-12)`` is the normalised entropy
            of the row (natural log, ``0 log 0 = 0``; ``H = 1e-12`` when
            ``K == 1``).  The map ``s -> s / (1 + s)`` is strictly increasing,
            so the ranking is that of ``p[y] / H``.  This *differs from
            cleanlab's scaling* of its score of the same name, so the values
            (not the idea) are specific to sknoisy.

    Returns
    -------
    scores : ndarray of float, shape (n_samples,)
        Scores in ``[0, 1]``; higher means the given label is more likely
        right.  Values are clipped to ``[0, 1]`` to absorb the allowed
        row-sum tolerance.

    Raises
    ------
    ValueError
        If ``pred_probs`` is not 2-D, not finite, has negative entries or rows
        that do not sum to 1; if ``labels`` is not a 1-D integer array of
        values in ``[0, K)`` with one entry per row; or if ``method`` is
        unknown.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[0.7, 0.2, 0.1],
    ...               [0.1, 0.3, 0.6]])
    >>> y = np.array([0, 1])
    >>> label_quality_scores(y, p).tolist()
    [0.7, 0.3]
    >>> label_quality_scores(y, p, method="normalized_margin").round(3).tolist()
    [0.75, 0.35]
    >>> s = label_quality_scores(y, p, method="confidence_weighted_entropy")
    >>> bool(s[0] > s[1])
    True
    """
    p = _check_pred_probs(pred_probs)
    y = _check_labels(labels, p)
    if method not in LABEL_QUALITY_METHODS:
        raise ValueError(
            f"unknown method {method!r}; valid methods are "
            + ", ".join(repr(m) for m in LABEL_QUALITY_METHODS)
        )
    n, k = p.shape
    rows = np.arange(n)
    p_y = p[rows, y]

    if method == "self_confidence":
        scores = p_y
    elif method == "normalized_margin":
        others = p.copy()
        others[rows, y] = -np.inf
        best_other = others.max(axis=1) if k > 1 else np.zeros(n)
        scores = (p_y - best_other + 1.0) / 2.0
    else:  # confidence_weighted_entropy
        if k > 1:
            h_norm = entr(p).sum(axis=1) / np.log(k)
        else:
            h_norm = np.zeros(n)
        h_norm = np.maximum(h_norm, _ENTROPY_FLOOR)
        s = p_y / h_norm
        scores = s / (1.0 + s)
    return np.clip(scores, 0.0, 1.0).astype(float, copy=False)


# --------------------------------------------------------------------------- #
# Confident learning
# --------------------------------------------------------------------------- #
def confident_joint(labels, pred_probs, calibrate=True):
    """Count rows by (given label, confidently predicted class).

    For each class ``k`` the threshold ``t_k`` is the mean of
    ``pred_probs[i, k]`` over the rows whose given label is ``k``.  Row ``i``
    is *confidently class j* when ``pred_probs[i, j] >= t_j``; if several
    classes qualify, the one with the largest probability is used (lowest
    index on ties).  Rows confident in no class are left out.  A class with no
    labelled rows has no threshold, so no row is ever confidently that class
    and its row of the joint is all zeros.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        Given (possibly noisy) labels as class indices ``0 .. K-1``.
    pred_probs : array-like of float, shape (n_samples, K)
        Out-of-sample predicted class probabilities (validated as in
        :func:`label_quality_scores`).
    calibrate : bool, default=True
        If True, rescale each row so that it sums to the number of rows
        carrying that given label (rows whose class has no labelled rows stay
        zero).  The calibrated joint then sums to ``n_samples``.

    Returns
    -------
    joint : ndarray, shape (K, K)
        ``joint[given, confident]``.  Integer counts (``int64``) when
        ``calibrate=False``; ``float64`` when ``calibrate=True``.  Never
        contains NaN.

    Notes
    -----
    Comparisons with a threshold allow a slack of ``1e-9`` so that floating
    point rounding in the mean cannot exclude rows whose probability equals
    the threshold.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[0.9, 0.1],
    ...               [0.9, 0.1],
    ...               [0.2, 0.8],
    ...               [0.9, 0.1]])
    >>> y = np.array([0, 0, 1, 1])
    >>> confident_joint(y, p, calibrate=False).tolist()
    [[2, 0], [1, 1]]
    >>> confident_joint(y, p).tolist()
    [[2.0, 0.0], [1.0, 1.0]]
    """
    p = _check_pred_probs(pred_probs)
    y = _check_labels(labels, p)
    n, k = p.shape
    counts = np.bincount(y, minlength=k)

    # Per-class thresholds; classes with no labelled rows get +inf, so they
    # can never be chosen.
    sums = np.bincount(y, weights=p[np.arange(n), y], minlength=k)
    has_rows = counts > 0
    thresholds = np.full(k, np.inf)
    thresholds[has_rows] = sums[has_rows] / counts[has_rows]

    confident = p >= thresholds - _THRESHOLD_SLACK
    any_conf = confident.any(axis=1)
    masked = np.where(confident, p, -np.inf)
    pred = masked.argmax(axis=1)

    joint = np.bincount(y[any_conf] * k + pred[any_conf], minlength=k * k).reshape(k, k)
    if not calibrate:
        return joint

    row_sums = joint.sum(axis=1)
    cal = np.zeros((k, k), dtype=float)
    ok = row_sums > 0
    cal[ok] = joint[ok] / row_sums[ok, None] * counts[ok, None]
    return cal


def estimate_noise_rate(labels, pred_probs):
    """Estimate the fraction of wrong labels by confident learning.

    The estimate is the off-diagonal mass of the calibrated confident joint
    (see :func:`confident_joint`) divided by its total.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        Given (possibly noisy) labels as class indices ``0 .. K-1``.
    pred_probs : array-like of float, shape (n_samples, K)
        Out-of-sample predicted class probabilities.

    Returns
    -------
    noise_rate : float
        Estimated fraction of rows whose given label is wrong, in ``[0, 1]``.
        ``0.0`` for empty input.

    Examples
    --------
    The third row is labelled 1 but confidently predicted as class 0: one of five.

    >>> import numpy as np
    >>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.9, 0.1], [0.2, 0.8], [0.1, 0.9]])
    >>> estimate_noise_rate(np.array([0, 0, 1, 1, 1]), p)
    0.2
    """
    joint = confident_joint(labels, pred_probs, calibrate=True)
    total = joint.sum()
    if total <= 0:
        return 0.0
    off_diagonal = total - np.trace(joint)
    return float(np.clip(off_diagonal / total, 0.0, 1.0))


# --------------------------------------------------------------------------- #
# Finding and ranking issues
# --------------------------------------------------------------------------- #
def estimate_transition_matrix(labels, pred_probs, *, method="anchor", percentile=97.0):
    """Estimate the noise transition matrix ``T[i, j] = P(given label j | true class i)``.

    The convention of :mod:`sknoisy.noise`: rows are true classes and sum to one.

    - ``"anchor"`` (Patrini et al., CVPR 2017): ``pred_probs`` estimate ``P(given | x)``.
      For each class ``i`` an anchor point is a row that almost surely belongs to class
      ``i``; there ``P(given | x)`` is row ``i`` of ``T``. The anchor is the row with the
      highest ``pred_probs[:, i]`` below that column's ``percentile``-th percentile
      rather than at its maximum: the very highest values are often outliers of an
      overconfident model. (When the percentile is the maximum itself, as with ties at
      the top, a row at the maximum.)
    - ``"confident_joint"``: the calibrated :func:`confident_joint` counts rows by (given
      label, confidently predicted class); transposed and normalised per row, it
      estimates ``P(given | true)``. A class no row is confidently predicted as gets the
      identity row.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        Given labels as class indices ``0 .. K-1``.
    pred_probs : array-like of float, shape (n_samples, K)
        Predicted probabilities of the *given* labels, e.g. from a model trained on them
        and stopped before it memorises them, or out of sample.
    method : {"anchor", "confident_joint"}, default="anchor"
    percentile : float in [0, 100], default=97.0
        Only for ``"anchor"``; 100 takes the row of the highest probability itself.

    Returns
    -------
    T : ndarray of shape (K, K)
        Row-stochastic.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[0.8, 0.2], [0.7, 0.3], [0.1, 0.9], [0.2, 0.8]])
    >>> estimate_transition_matrix([0, 0, 1, 1], p, percentile=100).tolist()
    [[0.8, 0.2], [0.1, 0.9]]
    """
    p = _check_pred_probs(pred_probs)
    y = _check_labels(labels, p)
    if method not in TRANSITION_METHODS:
        raise ValueError(f"method must be one of {list(TRANSITION_METHODS)}, got {method!r}")
    k = p.shape[1]
    if len(y) == 0:
        raise ValueError("estimating a transition matrix needs at least one row of pred_probs")
    if method == "confident_joint":
        counts = confident_joint(y, p).T
        totals = counts.sum(axis=1, keepdims=True)
        T = np.where(totals > 0, counts / np.where(totals > 0, totals, 1.0), np.eye(k))
    else:
        check_number(percentile, "percentile", low=0, high=100)
        T = np.empty((k, k))
        for i in range(k):
            column = p[:, i]
            cut = np.percentile(column, percentile, method="higher")
            # The highest value below the percentile; when the percentile is the
            # maximum itself (ties at the top, or percentile=100), a row at the maximum.
            candidates = np.flatnonzero(column < cut)
            if cut >= column.max() or not candidates.size:
                candidates = np.flatnonzero(column >= cut)
            T[i] = p[candidates[np.argmax(column[candidates])]]
    return T / T.sum(axis=1, keepdims=True)


def prune_by_noise_rate(labels, pred_probs):
    """Flag label issues by confident learning's "prune by noise rate" rule.

    Northcutt, Jiang & Chuang, "Confident Learning: Estimating Uncertainty in Dataset
    Labels", JAIR 2021 (the rule cleanlab applies by default). The calibrated
    :func:`confident_joint` estimates how many rows of each given label ``i`` truly
    belong to each other class ``j``; that many rows of label ``i``, those with the
    largest margin ``pred_probs[:, j] - pred_probs[:, i]``, are flagged for each pair.
    Rows whose predicted class is their given label are then unflagged. A row flagged
    for several pairs counts once, so fewer rows are flagged than the joint's
    off-diagonal mass (:func:`estimate_noise_rate`), and each pair's count goes to the
    rows that most look like that pair's mistake rather than to the lowest scores
    overall.

    Parameters
    ----------
    labels : array-like of int, shape (n_samples,)
        Given labels as class indices ``0 .. K-1``.
    pred_probs : array-like of float, shape (n_samples, K)
        Out-of-sample predicted class probabilities.

    Returns
    -------
    is_issue : ndarray of bool, shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.9, 0.1], [0.2, 0.8]])
    >>> prune_by_noise_rate([0, 0, 1, 1, 1], p).tolist()
    [False, False, False, True, False]
    """
    p = _check_pred_probs(pred_probs)
    y = _check_labels(labels, p)
    joint = confident_joint(y, p, calibrate=True)  # joint[given, true]
    is_issue = np.zeros(len(y), dtype=bool)
    for given in range(p.shape[1]):
        rows = np.flatnonzero(y == given)
        for true in range(p.shape[1]):
            count = min(int(round(joint[given, true])), rows.size)
            if true == given or count == 0:
                continue
            margin = p[rows, true] - p[rows, given]
            is_issue[rows[np.argsort(-margin, kind="stable")[:count]]] = True
    return is_issue & (p.argmax(axis=1) != y)


def find_label_issues(label_quality, noise_rate=None, *, threshold=None):
    """Flag the rows whose labels look wrong.

    Exactly one of ``noise_rate`` and ``threshold`` must be given.

    Parameters
    ----------
    label_quality : array-like of float, shape (n_samples,)
        Label quality scores in ``[0, 1]`` (higher = label more likely
        right), e.g. from :func:`label_quality_scores`.
    noise_rate : float in [0, 1], optional
        Flag the ``round(noise_rate * n_samples)`` rows with the lowest
        quality (Python's ``round``, i.e. halves go to the even integer).
        Ties are broken by a stable sort: among equal scores the lower index
        is flagged first.  :func:`estimate_noise_rate` gives a data-driven
        value.
    threshold : float in [0, 1], keyword-only, optional
        Flag the rows with ``label_quality < threshold``.

    Returns
    -------
    is_issue : ndarray of bool, shape (n_samples,)
        True for the flagged rows.

    Raises
    ------
    ValueError
        If both or neither of ``noise_rate`` and ``threshold`` are given, if
        either is not a real number in ``[0, 1]``, or if ``label_quality`` is
        not a 1-D array of finite values in ``[0, 1]``.

    Examples
    --------
    >>> q = [0.9, 0.2, 0.5, 0.2]
    >>> find_label_issues(q, 0.25).tolist()
    [False, True, False, False]
    >>> find_label_issues(q, threshold=0.6).tolist()
    [False, True, True, True]
    """
    q = _check_label_quality(label_quality)
    if (noise_rate is None) == (threshold is None):
        raise ValueError("give exactly one of noise_rate and threshold")
    is_issue = np.zeros(q.shape[0], dtype=bool)
    if threshold is not None:
        t = check_number(threshold, "threshold", low=0, high=1, to_float=True)
        is_issue[q < t] = True
        return is_issue
    rate = check_number(noise_rate, "noise_rate", low=0, high=1, to_float=True)
    n_issues = min(int(round(rate * q.shape[0])), q.shape[0])
    is_issue[np.argsort(q, kind="stable")[:n_issues]] = True
    return is_issue


def rank_label_issues(label_quality):
    """Order rows from most to least suspicious.

    Parameters
    ----------
    label_quality : array-like of float, shape (n_samples,)
        Label quality scores in ``[0, 1]`` (higher = label more likely right).

    Returns
    -------
    order : ndarray of int, shape (n_samples,)
        Row indices sorted by increasing quality; ties keep index order
        (stable sort).

    Examples
    --------
    >>> rank_label_issues([0.9, 0.2, 0.5, 0.2]).tolist()
    [1, 3, 2, 0]
    """
    q = _check_label_quality(label_quality)
    return np.argsort(q, kind="stable")


def rows_to_review(label_quality, n_rows, *, trusted=None):
    """The rows to send to a reviewer next: the ``n_rows`` least likely right among
    those not checked yet.

    One round of a review loop: fit, review these rows, fix their labels, refit with
    every reviewed row passed as ``fit(X, y, trusted=mask)``, and ask again. An
    estimator refitted so counts the reviewed rows as clean, and its label quality of
    the other rows improves from round to round.

    Parameters
    ----------
    label_quality : array-like of float, shape (n_samples,)
        Label quality scores in ``[0, 1]`` (higher = label more likely right), e.g. an
        estimator's ``label_quality_``.
    n_rows : int
        Rows to review in this round (fewer when fewer are left unchecked).
    trusted : array-like of bool, shape (n_samples,), default=None
        The rows already checked; they are never returned.

    Returns
    -------
    rows : ndarray of int, shape (min(n_rows, n_unchecked),)
        Row indices, the most suspicious first; ties keep index order.

    Examples
    --------
    >>> rows_to_review([0.9, 0.2, 0.5, 0.1], 2, trusted=[False, False, False, True])
    array([1, 2])
    """
    q = _check_label_quality(label_quality)
    n_rows = check_number(n_rows, "n_rows", low=0, integer=True)
    order = np.argsort(q, kind="stable")
    if trusted is not None:
        checked = check_trusted(trusted, q.shape[0])
        order = order[~checked[order]]
    return order[:n_rows]
