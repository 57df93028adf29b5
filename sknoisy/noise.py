"""Simulate label noise, and measure it.

Convention
----------
Every transition matrix in sknoisy is **row-stochastic**::

    T[i, j] = P(noisy label = classes[j] | true label = classes[i])

so each row sums to one. Rows and columns are indexed by the classes in
sorted order (the order of ``np.unique(y)``), or in the order of ``classes``
when that argument is given.

cleanlab uses the transpose: its ``noise_matrix`` is column-stochastic,
``noise_matrix[j][i] = P(given=j | true=i)``. Convert between the two with
:func:`to_cleanlab_noise_matrix` and :func:`from_cleanlab_noise_matrix`.

Where a count is "exactly ``round(rate * n)``", the rounding is
round-half-to-even (as Python's ``round`` and ``np.round`` do).
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.stats import truncnorm
from sklearn.utils import check_array, check_random_state

from ._validation import check_number, check_stochastic_matrix
from .quality import _real_array

__all__ = [
    "KINDS",
    "make_label_noise",
    "transition_matrix",
    "symmetric_transition_matrix",
    "pairflip_transition_matrix",
    "to_cleanlab_noise_matrix",
    "from_cleanlab_noise_matrix",
]

#: The noise kinds accepted by :func:`make_label_noise`.
KINDS = ("symmetric", "pairflip", "asymmetric", "instance", "matrix")

_ATOL = 1e-6  # tolerance on row/column sums of stochastic matrices
_INSTANCE_STD = 0.1  # std of the per-sample flip rate for kind="instance"


# --------------------------------------------------------------------------- helpers


def _rng(random_state):
    """Return a RandomState or Generator without ever using numpy's global state."""
    if random_state is None:
        return np.random.default_rng()  # fresh OS entropy, not np.random's global state
    if isinstance(random_state, np.random.Generator):
        return random_state
    return check_random_state(random_state)


def _integers(rng, low, high, size):
    if isinstance(rng, np.random.Generator):
        return rng.integers(low, high, size=size)
    return rng.randint(low, high, size=size)


def _check_rate(rate):
    return check_number(rate, "rate", low=0, high=1, high_open=True, to_float=True)


def _check_stochastic(matrix, axis, name):
    """A square, non-negative matrix whose rows (axis=1) or columns (axis=0) sum to 1."""
    return check_stochastic_matrix(_real_array(matrix, name), name, axis=axis, atol=_ATOL)


def _check_n_classes(n_classes):
    if isinstance(n_classes, bool) or not isinstance(n_classes, numbers.Integral) or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes}")
    return int(n_classes)


def _encode(labels, classes, what):
    """Integer codes of ``labels`` as positions in ``classes`` (which need not be sorted)."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return np.zeros(labels.shape, dtype=np.intp)
    sorter = np.argsort(classes, kind="stable")
    pos = np.searchsorted(classes, labels, sorter=sorter)
    codes = sorter[np.minimum(pos, len(classes) - 1)]
    bad = classes[codes] != labels
    if np.any(bad):
        raise ValueError(
            f"{what} not in the label set {classes.tolist()}: {np.unique(labels[bad]).tolist()}"
        )
    return codes


def _label_set(y, classes):
    """Validate ``y`` / ``classes``; return (classes cast to y's dtype, codes of y)."""
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    if classes is None:
        classes = np.unique(y)
    else:
        classes = np.asarray(classes)
        if classes.ndim != 1 or len(np.unique(classes)) != len(classes):
            raise ValueError("classes must be a 1-D sequence of distinct labels")
    if len(classes) < 2:
        raise ValueError(f"need at least 2 classes, got {len(classes)}")
    if y.dtype.kind in "US" and classes.dtype.kind == y.dtype.kind:
        # strings: widen rather than truncate when `classes` has longer labels than y
        out = classes.astype(np.result_type(y.dtype, classes.dtype))
    else:
        out = classes.astype(y.dtype)
        if not np.array_equal(out, classes):
            raise ValueError(f"classes cannot be represented in the dtype of y ({y.dtype})")
    return out, _encode(y, out, "labels of y")


def _within_class_rank(codes, n_classes, rng):
    """A uniformly random rank 0..n_k-1 for each sample among the samples of its class."""
    order = rng.permutation(len(codes))
    order = order[np.argsort(codes[order], kind="stable")]
    counts = np.bincount(codes, minlength=n_classes)
    starts = np.cumsum(counts) - counts
    rank = np.empty(len(codes), dtype=np.intp)
    rank[order] = np.arange(len(codes)) - starts[codes[order]]
    return rank, counts


def _allocate(counts, T):
    """Integer counts per cell, row i summing to counts[i], each within 1 of counts[i] * T[i]."""
    expected = counts[:, None] * T
    alloc = np.floor(expected).astype(np.intp)
    frac = expected - alloc
    for i, short in enumerate(counts - alloc.sum(axis=1)):  # largest remainders get the rest
        alloc[i, np.argsort(-frac[i], kind="stable")[: max(short, 0)]] += 1
    return alloc


def _instance_noise_probs(X, codes, n_classes, rate, rng):
    """Per-sample noisy-label distributions ``P[i, j] = P(noisy = j | x_i, true = codes[i])``.

    Part-dependent noise in the style of Xia et al. (NeurIPS 2020): sample i keeps its
    label with probability ``1 - q_i``, ``q_i ~ N(rate, 0.1^2)`` truncated to [0, 1), and
    otherwise moves to another class with probabilities ``softmax(x_i @ W[k])`` (own class
    excluded), where ``W[k] ~ N(0, 1)`` of shape (d, K) is a random projection per class.
    """
    n = len(codes)
    X = X.reshape(n, -1)
    mean, std = X.mean(axis=0), X.std(axis=0)
    varying = (np.ptp(X, axis=0) > 0) & (std > 0)
    scale = np.zeros(X.shape[1])  # constant columns standardise to 0
    scale[varying] = 1 / std[varying]
    if rate == 0:
        q = np.zeros(n)
    else:
        a, b = (0 - rate) / _INSTANCE_STD, (1 - rate) / _INSTANCE_STD
        q = truncnorm.rvs(a, b, loc=rate, scale=_INSTANCE_STD, size=n, random_state=rng)
        q = np.minimum(q, np.nextafter(1.0, 0.0))
    P = np.empty((n, n_classes))
    for k in range(n_classes):
        rows = codes == k
        # standardising is linear, so fold it into the projection rather than copy X:
        # ((x - mean) * scale) @ W == x @ (scale * W) - mean @ (scale * W)
        W = scale[:, None] * rng.standard_normal((X.shape[1], n_classes))
        scores = X[rows] @ W - mean @ W
        scores[:, k] = -np.inf
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        P[rows] = scores / scores.sum(axis=1, keepdims=True) * q[rows, None]
        P[rows, k] = 1 - q[rows]
    return P


def _sample_rows(P, rng):
    """Draw one column index per row of the row-stochastic matrix P (inverse CDF)."""
    cdf = np.cumsum(P, axis=1)
    cdf /= cdf[:, -1:]
    return (rng.random(len(P))[:, None] >= cdf).sum(axis=1)


# --------------------------------------------------------------------------- public API


def make_label_noise(
    y,
    kind="symmetric",
    rate=0.2,
    *,
    X=None,
    mapping=None,
    transition_matrix=None,
    classes=None,
    random_state=None,
):
    """Return a noisy copy of the labels ``y``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        True labels, of any type ``np.unique`` can sort (ints, strings, ...).
    kind : {"symmetric", "pairflip", "asymmetric", "instance", "matrix"}, default="symmetric"
        How labels are corrupted:

        - ``"symmetric"``: exactly ``round(rate * n)`` labels, chosen uniformly at random,
          each move to a uniformly random *other* class.
        - ``"pairflip"``: within each class k, exactly ``round(rate * n_k)`` labels move to
          the next class, ``(k + 1) mod K`` in class order.
        - ``"asymmetric"``: within each class that is a key of ``mapping``, exactly
          ``round(rate * n_k)`` labels move to ``mapping[class]``; other classes are kept.
        - ``"instance"``: instance-dependent (part-dependent) noise in the style of Xia et
          al., NeurIPS 2020. Needs ``X``. Sample i is flipped with its own probability
          ``q_i ~ N(rate, 0.1^2)`` truncated to [0, 1) (``q_i = 0`` when ``rate == 0``),
          to a class drawn from ``softmax(x_i @ W[y_i])`` over the other classes, with
          ``W`` a standard-normal random projection and ``X`` standardised per column.
          The realised rate is close to ``rate`` in expectation, not exact; the
          truncation pushes it up for rates below about 0.2 and down above about 0.8.
        - ``"matrix"``: for each true class i, the number of labels set to class j is
          ``n_i * transition_matrix[i, j]`` rounded so that the row total is ``n_i``
          (floor, then largest remainders), hence within 1 of the expected count.
          ``rate`` is ignored.
    rate : float in [0, 1), default=0.2
        Noise rate (not used by ``kind="matrix"``).
    X : array-like of shape (n_samples, ...), default=None
        Features, needed by ``kind="instance"`` (flattened per row); ignored otherwise.
    mapping : dict, default=None
        ``{true_label: noisy_label}`` in y's label space; only for ``kind="asymmetric"``.
        A class mapped onto itself is left unchanged.
    transition_matrix : array-like of shape (K, K), default=None
        Row-stochastic ``T[i, j] = P(noisy = j | true = i)`` in class order; only for
        ``kind="matrix"``.
    classes : array-like of shape (K,), default=None
        The label set and its order, when ``y`` may lack some classes. Defaults to
        ``np.unique(y)``.
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
        Randomness. None draws fresh entropy; numpy's global random state is never used.

    Returns
    -------
    y_noisy : ndarray of shape (n_samples,)
        Noisy labels, with the dtype of ``y`` (string dtypes may be widened to fit longer
        labels given in ``classes``) and values in the label set.

    Examples
    --------
    >>> import numpy as np
    >>> from sknoisy.noise import make_label_noise, transition_matrix
    >>> y = np.repeat([0, 1, 2, 3], 25)
    >>> y_noisy = make_label_noise(y, "symmetric", rate=0.2, random_state=0)
    >>> float(np.mean(y_noisy != y))
    0.2
    >>> transition_matrix(y, make_label_noise(y, "pairflip", rate=0.2, random_state=0))
    array([[0.8, 0.2, 0. , 0. ],
           [0. , 0.8, 0.2, 0. ],
           [0. , 0. , 0.8, 0.2],
           [0.2, 0. , 0. , 0.8]])
    >>> pets = np.array(["cat", "cat", "dog", "dog"])
    >>> pets_noisy = make_label_noise(pets, "asymmetric", 0.5, mapping={"cat": "dog"})
    >>> np.unique(pets_noisy, return_counts=True)
    (array(['cat', 'dog'], dtype='<U3'), array([1, 3]))
    >>> T = np.array([[0.9, 0.1], [0.3, 0.7]])
    >>> y2 = np.repeat([0, 1], 10)
    >>> transition_matrix(y2, make_label_noise(y2, "matrix", transition_matrix=T))
    array([[0.9, 0.1],
           [0.3, 0.7]])
    >>> X = np.random.default_rng(0).normal(size=(400, 5))
    >>> y_inst = make_label_noise(y.repeat(4), "instance", rate=0.3, X=X, random_state=0)
    >>> bool(abs(np.mean(y_inst != y.repeat(4)) - 0.3) < 0.1)
    True
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")
    if mapping is not None and kind != "asymmetric":
        raise ValueError(f"mapping is only used with kind='asymmetric', got kind={kind!r}")
    if transition_matrix is not None and kind != "matrix":
        raise ValueError(f"transition_matrix is only used with kind='matrix', got kind={kind!r}")
    y = np.asarray(y)
    classes, codes = _label_set(y, classes)
    n_classes = len(classes)
    rng = _rng(random_state)
    if kind != "matrix":
        rate = _check_rate(rate)
    noisy = codes.copy()

    if kind == "symmetric":
        rows = rng.choice(len(codes), size=int(np.round(rate * len(codes))), replace=False)
        noisy[rows] = (codes[rows] + _integers(rng, 1, n_classes, len(rows))) % n_classes

    elif kind in ("pairflip", "asymmetric"):
        target = (np.arange(n_classes) + 1) % n_classes
        flips = np.ones(n_classes, dtype=bool)
        if kind == "asymmetric":
            if mapping is None:
                raise ValueError("kind='asymmetric' requires mapping={true_label: noisy_label}")
            mapping = dict(mapping)
            src = _encode(list(mapping.keys()), classes, "mapping keys")
            dst = _encode(list(mapping.values()), classes, "mapping values")
            target, flips = np.arange(n_classes), np.zeros(n_classes, dtype=bool)
            target[src], flips[src] = dst, True
        rank, counts = _within_class_rank(codes, n_classes, rng)
        flip = flips[codes] & (rank < np.round(rate * counts)[codes])
        noisy[flip] = target[codes[flip]]

    elif kind == "instance":
        if X is None:
            raise ValueError("kind='instance' requires X")
        X = check_array(X, dtype=float, allow_nd=True, ensure_min_samples=0)
        if X.shape[0] != len(codes):
            raise ValueError(f"X has {X.shape[0]} rows but y has {len(codes)} labels")
        if len(codes):
            probs = _instance_noise_probs(X, codes, n_classes, rate, rng)
            noisy = _sample_rows(probs, rng)

    else:  # "matrix"
        if transition_matrix is None:
            raise ValueError("kind='matrix' requires transition_matrix")
        T = _check_stochastic(transition_matrix, 1, "transition_matrix")
        if len(T) != n_classes:
            raise ValueError(
                f"transition_matrix has shape {T.shape} but there are {n_classes} classes"
            )
        rank, counts = _within_class_rank(codes, n_classes, rng)
        cum = np.cumsum(_allocate(counts, T / T.sum(axis=1, keepdims=True)), axis=1)
        for i in range(n_classes):  # rank r of class i gets the column j with cum[i, j-1] <= r
            rows = codes == i
            noisy[rows] = np.searchsorted(cum[i], rank[rows], side="right")

    return classes[noisy]


def transition_matrix(y_true, y_noisy, classes=None):
    """Realised row-stochastic transition matrix between true and noisy labels.

    Parameters
    ----------
    y_true, y_noisy : array-like of shape (n_samples,)
        True and noisy labels.
    classes : array-like of shape (K,), default=None
        Label set and order of rows/columns. Defaults to the sorted union of both inputs.

    Returns
    -------
    T : ndarray of shape (K, K)
        ``T[i, j]`` is the fraction of samples of true class i labelled j. The row of a
        class absent from ``y_true`` is the identity row (``T[i, i] = 1``), so every row
        sums to 1.

    Examples
    --------
    >>> from sknoisy.noise import transition_matrix
    >>> transition_matrix([0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 1], classes=[0, 1, 2])
    array([[0.75, 0.25, 0.  ],
           [0.  , 1.  , 0.  ],
           [0.  , 0.  , 1.  ]])
    """
    y_true, y_noisy = np.asarray(y_true), np.asarray(y_noisy)
    if y_true.ndim != 1 or y_true.shape != y_noisy.shape:
        raise ValueError(
            f"y_true and y_noisy must be 1-D and of the same length, "
            f"got shapes {y_true.shape} and {y_noisy.shape}"
        )
    classes_given = classes
    if classes is None:
        classes = np.unique(np.concatenate([y_true, y_noisy]))
    else:
        classes = np.asarray(classes)
        if classes.ndim != 1 or len(np.unique(classes)) != len(classes):
            raise ValueError("classes must be a 1-D sequence of distinct labels")
    K = len(classes)
    if K == 0:
        empty = "y_true and y_noisy are empty" if classes_given is None else "classes is empty"
        raise ValueError(f"no classes to build the matrix over: {empty}")
    t = _encode(y_true, classes, "labels of y_true")
    z = _encode(y_noisy, classes, "labels of y_noisy")
    counts = np.bincount(t * K + z, minlength=K * K).reshape(K, K).astype(float)
    totals = counts.sum(axis=1)
    counts[totals == 0] = np.eye(K)[totals == 0]
    return counts / np.maximum(totals, 1)[:, None]


def symmetric_transition_matrix(n_classes, rate):
    """Expected transition matrix of ``kind="symmetric"`` noise.

    Parameters
    ----------
    n_classes : int >= 2
        Number of classes K.
    rate : float in [0, 1)
        Fraction of labels changed.

    Returns
    -------
    T : ndarray of shape (K, K)
        ``1 - rate`` on the diagonal and ``rate / (K - 1)`` elsewhere.

    Examples
    --------
    >>> from sknoisy.noise import symmetric_transition_matrix
    >>> symmetric_transition_matrix(3, 0.3)
    array([[0.7 , 0.15, 0.15],
           [0.15, 0.7 , 0.15],
           [0.15, 0.15, 0.7 ]])
    """
    n_classes, rate = _check_n_classes(n_classes), _check_rate(rate)
    T = np.full((n_classes, n_classes), rate / (n_classes - 1))
    np.fill_diagonal(T, 1 - rate)
    return T


def pairflip_transition_matrix(n_classes, rate):
    """Expected transition matrix of ``kind="pairflip"`` noise.

    Parameters
    ----------
    n_classes : int >= 2
        Number of classes K.
    rate : float in [0, 1)
        Fraction of each class moved to the next class.

    Returns
    -------
    T : ndarray of shape (K, K)
        ``1 - rate`` on the diagonal and ``rate`` at ``(k, (k + 1) mod K)``.

    Examples
    --------
    >>> from sknoisy.noise import pairflip_transition_matrix
    >>> pairflip_transition_matrix(3, 0.25)
    array([[0.75, 0.25, 0.  ],
           [0.  , 0.75, 0.25],
           [0.25, 0.  , 0.75]])
    """
    n_classes, rate = _check_n_classes(n_classes), _check_rate(rate)
    eye = np.eye(n_classes)
    return (1 - rate) * eye + rate * np.roll(eye, 1, axis=1)


def to_cleanlab_noise_matrix(T):
    """Convert a row-stochastic sknoisy transition matrix to cleanlab's ``noise_matrix``.

    Parameters
    ----------
    T : array-like of shape (K, K)
        ``T[i, j] = P(noisy = j | true = i)``; rows must sum to 1.

    Returns
    -------
    noise_matrix : ndarray of shape (K, K)
        ``T.T``, column-stochastic: ``noise_matrix[j, i] = P(given = j | true = i)``.

    Examples
    --------
    >>> from sknoisy.noise import to_cleanlab_noise_matrix
    >>> to_cleanlab_noise_matrix([[0.9, 0.1], [0.4, 0.6]])
    array([[0.9, 0.4],
           [0.1, 0.6]])
    """
    return _check_stochastic(T, 1, "transition matrix T").T.copy()


def from_cleanlab_noise_matrix(noise_matrix):
    """Convert cleanlab's column-stochastic ``noise_matrix`` to a sknoisy transition matrix.

    Parameters
    ----------
    noise_matrix : array-like of shape (K, K)
        ``noise_matrix[j, i] = P(given = j | true = i)``; columns must sum to 1.

    Returns
    -------
    T : ndarray of shape (K, K)
        ``noise_matrix.T``, row-stochastic: ``T[i, j] = P(noisy = j | true = i)``.

    Examples
    --------
    >>> from sknoisy.noise import from_cleanlab_noise_matrix
    >>> from_cleanlab_noise_matrix([[0.9, 0.4], [0.1, 0.6]])
    array([[0.9, 0.1],
           [0.4, 0.6]])
    """
    return _check_stochastic(noise_matrix, 0, "noise_matrix").T.copy()
