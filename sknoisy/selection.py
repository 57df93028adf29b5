"""Pieces several methods share: schedules, small-loss selection, the loss mixture model,
sharpening and mixup.

Every function here is plain array code (NumPy or torch) with no estimator state, so each
method file can read like its paper's algorithm box.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

__all__ = [
    "resolve_epochs",
    "auto_max_epochs",
    "auto_warmup_epochs",
    "lengthen_for_estimate",
    "forget_rate_schedule",
    "small_loss_mask",
    "loss_mixture_clean_posterior",
    "sharpen",
    "mixup",
    "mixup_draw",
    "mix",
    "linear_ramp",
    "feature_quantiles",
    "normal_scores",
    "augment",
]

# max_epochs="auto": about this many optimisation steps, in whole epochs within these bounds.
AUTO_RUN_STEPS = 2000
AUTO_MIN_EPOCHS = 10
AUTO_MAX_EPOCHS = 50
# warmup_epochs="auto": about this many optimisation steps, at most this share of the run.
AUTO_WARMUP_STEPS = 100
AUTO_WARMUP_FRACTION = 0.1
# An "auto" estimate read from the predictions averaged over the epochs so far waits for
# at least this many epochs (or half the run): the first epoch's predictions, recorded
# while the network learns from scratch, make every label look wrong, and they must weigh
# little in the average.
AUTO_ESTIMATE_MIN_EPOCHS = 5


def resolve_epochs(value, max_epochs, name):
    """Turn an epoch count given as an int or as a fraction of the run into an int.

    Parameters
    ----------
    value : int or float
        An int >= 0 is a number of epochs; a float in [0, 1] is a fraction of
        ``max_epochs`` (rounded, at least 1 when positive).
    max_epochs : int
        Length of the run.
    name : str
        Parameter name used in error messages.

    Returns
    -------
    epochs : int
        Number of epochs, at most ``max_epochs``.

    Examples
    --------
    >>> resolve_epochs(0.25, 40, "num_gradual")
    10
    >>> resolve_epochs(5, 40, "num_gradual")
    5
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
        return min(int(value), max_epochs)
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not 0.0 <= value <= 1.0:
            raise ValueError(
                f"{name} given as a float is a fraction of max_epochs and must be in "
                f"[0, 1], got {value}"
            )
        return min(max_epochs, max(1, round(value * max_epochs))) if value > 0 else 0
    raise TypeError(f"{name} must be an int (epochs) or a float (fraction), got {value!r}")


def auto_max_epochs(n_samples, batch_size):
    """Length of the run for ``max_epochs="auto"``: about ``AUTO_RUN_STEPS`` steps.

    How far a network gets, and when it starts memorising wrong labels, depends on the
    optimisation steps it takes rather than on passes over the data: a fixed number of
    epochs gives a small data set few steps and a large one many. The run is the whole
    epochs that make about ``AUTO_RUN_STEPS`` (2000) steps, at least ``AUTO_MIN_EPOCHS``
    (10), so that every method's per-epoch steps have epochs to work in, and at most
    ``AUTO_MAX_EPOCHS`` (50): memorising a wrong label takes passes over it, so a small
    data set gets no more passes than it needs, even though it makes fewer steps.

    Parameters
    ----------
    n_samples : int
        Training rows.
    batch_size : int
        Rows per optimisation step.

    Returns
    -------
    epochs : int

    Examples
    --------
    >>> auto_max_epochs(7000, 128)  # 55 steps an epoch
    37
    >>> auto_max_epochs(21_000, 128)  # 165 steps an epoch
    13
    >>> auto_max_epochs(1_000_000, 128)  # 7813 steps an epoch: at least 10 epochs
    10
    >>> auto_max_epochs(1257, 128)  # 10 steps an epoch: at most 50 epochs
    50
    """
    steps_per_epoch = math.ceil(n_samples / batch_size)
    epochs = math.ceil(AUTO_RUN_STEPS / steps_per_epoch)
    return min(max(epochs, AUTO_MIN_EPOCHS), AUTO_MAX_EPOCHS)


def auto_warmup_epochs(n_samples, batch_size, max_epochs, max_fraction=AUTO_WARMUP_FRACTION):
    """Warm-up length for ``warmup_epochs="auto"``: about 100 optimisation steps.

    A network starts memorising wrong labels after a number of optimisation steps rather
    than of epochs: large data sets take more steps per epoch, so fewer epochs. The
    warm-up is the whole epochs that make about ``AUTO_WARMUP_STEPS`` steps, at least one
    and at most ``max_fraction`` of the run (rounded, at least one).

    Parameters
    ----------
    n_samples : int
        Training rows.
    batch_size : int
        Rows per optimisation step.
    max_epochs : int
        Length of the run.
    max_fraction : float in (0, 1], default=AUTO_WARMUP_FRACTION (0.1)
        Longest warm-up, as a fraction of the run. A method whose first per-epoch step
        cannot recover from an untrained network needs a larger share on small data.

    Returns
    -------
    epochs : int

    Examples
    --------
    >>> auto_warmup_epochs(1257, 128, 50)  # 10 steps an epoch; 10% of the run caps it
    5
    >>> auto_warmup_epochs(1257, 128, 50, max_fraction=0.5)
    10
    >>> auto_warmup_epochs(7000, 128, 50)  # 55 steps an epoch
    2
    """
    steps_per_epoch = math.ceil(n_samples / batch_size)
    needed = max(1, math.ceil(AUTO_WARMUP_STEPS / steps_per_epoch))
    cap = max(1, resolve_epochs(max_fraction, max_epochs, "warmup_epochs"))
    return min(needed, cap)


def lengthen_for_estimate(epochs, max_epochs):
    """An automatic phase that ends in an estimate from the predictions averaged over its
    epochs: ``epochs``, lengthened to at least ``AUTO_ESTIMATE_MIN_EPOCHS`` (5) epochs, or
    half the run when that is shorter, however many steps an epoch makes.

    Parameters
    ----------
    epochs : int
        The phase's length by its own rule.
    max_epochs : int
        Length of the run.

    Returns
    -------
    epochs : int

    Examples
    --------
    >>> lengthen_for_estimate(1, 13)  # 21,000 rows: one epoch is 165 steps
    5
    >>> lengthen_for_estimate(1, 6)
    3
    >>> lengthen_for_estimate(10, 50)
    10
    """
    return max(epochs, min(AUTO_ESTIMATE_MIN_EPOCHS, max_epochs // 2))


def forget_rate_schedule(forget_rate, epoch, num_gradual, exponent=1.0):
    """Co-teaching's R(t) = forget_rate * min((t / num_gradual) ** exponent, 1).

    Parameters
    ----------
    forget_rate : float
        Final fraction of each mini-batch to drop.
    epoch : int
        Zero-based epoch index ``t``; the first epoch keeps every sample.
    num_gradual : int
        Epochs ``T_k`` over which the rate ramps up; 0 means no ramp.
    exponent : float, default=1.0
        Shape ``c`` of the ramp, applied to time as in the paper.

    Returns
    -------
    rate : float

    Examples
    --------
    >>> [forget_rate_schedule(0.4, t, 4) for t in range(6)]
    [0.0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.4]
    """
    if num_gradual <= 0:
        return float(forget_rate)
    return float(forget_rate) * min((epoch / num_gradual) ** exponent, 1.0)


def small_loss_mask(losses, forget_rate):
    """Boolean mask keeping the ``ceil((1 - forget_rate) * n)`` smallest losses.

    Parameters
    ----------
    losses : torch.Tensor of shape (n,)
        Per-sample losses of one mini-batch.
    forget_rate : float
        Fraction of the batch to drop.

    Returns
    -------
    mask : torch.Tensor of bool, shape (n,)
        At least one sample is always kept.

    Examples
    --------
    >>> import torch
    >>> small_loss_mask(torch.tensor([0.3, 2.0, 0.1, 1.0]), 0.5).tolist()
    [True, False, True, False]
    """
    n = losses.shape[0]
    n_keep = max(1, int(np.ceil((1.0 - forget_rate) * n)))
    mask = torch.zeros(n, dtype=torch.bool, device=losses.device)
    if n_keep >= n:
        mask[:] = True
        return mask
    mask[torch.topk(losses, n_keep, largest=False, sorted=False).indices] = True
    return mask



def loss_mixture_clean_posterior(losses, *, random_state=0):
    """Probability that each row is clean, from a two-component mixture of its loss.

    As in DivideMix (Li et al., ICLR 2020): the losses are min-max normalised to [0, 1],
    a one-dimensional Gaussian mixture of two components is fitted to them
    (``reg_covar=5e-4``, ``max_iter=10``, ``tol=1e-2``), and each row's posterior of the
    component with the smaller mean is returned. Rows with small losses are clean.

    Parameters
    ----------
    losses : array-like of shape (n_samples,)
        Per-row losses; must be finite.
    random_state : int, default=0
        Seed of the mixture's initialisation.

    Returns
    -------
    clean : ndarray of shape (n_samples,)
        In [0, 1]. All ones when every loss is the same (nothing to separate).

    Examples
    --------
    >>> import numpy as np
    >>> losses = np.r_[np.full(8, 0.1), np.full(4, 3.0)] + np.linspace(0, 0.01, 12)
    >>> loss_mixture_clean_posterior(losses).round(2).tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    """
    losses = np.asarray(losses, dtype=np.float64).ravel()
    if not np.all(np.isfinite(losses)):
        raise ValueError("losses contain NaN or infinity")
    low, high = (losses.min(), losses.max()) if losses.size else (0.0, 0.0)
    if losses.size < 2 or high - low <= 1e-12:
        return np.ones_like(losses)
    scaled = ((losses - low) / (high - low))[:, None]
    gmm = GaussianMixture(
        n_components=2, reg_covar=5e-4, max_iter=10, tol=1e-2, random_state=random_state
    )
    with warnings.catch_warnings():
        # Ten iterations is the reference setting; not converging within them is normal.
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(scaled)
    return gmm.predict_proba(scaled)[:, int(np.argmin(gmm.means_.ravel()))]


def sharpen(proba, temperature):
    """``proba ** (1 / temperature)``, renormalised per row (MixMatch's sharpening).

    Parameters
    ----------
    proba : torch.Tensor of shape (n, K)
        Rows of class probabilities.
    temperature : float
        Below 1 sharpens, 1 leaves the rows as they are.

    Returns
    -------
    sharpened : torch.Tensor of shape (n, K)

    Examples
    --------
    >>> import torch
    >>> [round(p, 3) for p in sharpen(torch.tensor([[0.6, 0.4]]), 0.5)[0].tolist()]
    [0.692, 0.308]
    """
    powered = proba ** (1.0 / temperature)
    total = powered.sum(dim=1, keepdim=True)
    # For very small temperatures every power can underflow to 0; the log-space form
    # cannot, and gives the same result otherwise.
    stable = (proba.clamp_min(1e-30).log() / temperature).softmax(dim=1)
    return torch.where(total > 0, powered / total, stable)


def mixup(X, targets, alpha):
    """Mixup of a batch with a shuffled copy of itself (Zhang et al., ICLR 2018).

    One ``lam ~ Beta(alpha, alpha)`` per batch, taken as ``max(lam, 1 - lam)`` so that
    each mixed row stays closer to its own row (as in DivideMix). Draws from torch's
    global generator, which the estimators seed from ``random_state`` during fit.

    Parameters
    ----------
    X : torch.Tensor of shape (n, ...)
        Inputs.
    targets : torch.Tensor of shape (n, K)
        Soft targets.
    alpha : float
        Beta parameter, > 0.

    Returns
    -------
    X_mixed, targets_mixed : torch.Tensor
        Same shapes as ``X`` and ``targets``.

    Examples
    --------
    >>> import torch
    >>> X, t = torch.eye(4), torch.eye(4)
    >>> Xm, tm = mixup(X, t, 1.0)
    >>> torch.allclose(Xm, tm) and torch.allclose(tm.sum(dim=1), torch.ones(4))
    True
    """
    lam, perm = mixup_draw(alpha, X.shape[0], X.device)
    return mix(X, lam, perm), mix(targets, lam, perm)


def mixup_draw(alpha, n, device=None):
    """The random part of :func:`mixup`: ``lam ~ Beta(alpha, alpha)`` taken as
    ``max(lam, 1 - lam)``, and a permutation of ``n`` rows (each row's partner). A
    method that mixes several things alike (DivideMix: one batch, and each network's
    targets) draws once and :func:`mix` es each.

    Parameters
    ----------
    alpha : float
        Beta parameter, > 0.
    n : int
        Rows in the batch.
    device : torch.device or str, default=None
        Where the permutation lives (the batch's device).

    Returns
    -------
    lam : float
        In [0.5, 1].
    perm : torch.Tensor of shape (n,)
        Each row's partner.

    Examples
    --------
    >>> lam, perm = mixup_draw(4.0, 3)
    >>> 0.5 <= lam <= 1.0 and sorted(perm.tolist()) == [0, 1, 2]
    True
    """
    lam = float(torch.distributions.Beta(float(alpha), float(alpha)).sample())
    return max(lam, 1.0 - lam), torch.randperm(n, device=device)


def mix(values, lam, perm):
    """``lam * values + (1 - lam) * values[perm]``: rows mixed with their partners.

    Parameters
    ----------
    values : torch.Tensor of shape (n, ...)
        Inputs or targets.
    lam : float
        The weight of each row itself.
    perm : torch.Tensor of shape (n,)
        Each row's partner (:func:`mixup_draw`).

    Returns
    -------
    mixed : torch.Tensor, the shape of ``values``

    Examples
    --------
    >>> import torch
    >>> mix(torch.tensor([[0.0], [1.0]]), 0.75, torch.tensor([1, 0])).ravel().tolist()
    [0.25, 0.75]
    """
    return lam * values + (1 - lam) * values[perm]


def linear_ramp(epochs_since_start, length):
    """A weight ramped in linearly: ``(epochs_since_start + 1) / length``, at most 1.

    Parameters
    ----------
    epochs_since_start : int
        0 at the ramp's first epoch.
    length : int
        Epochs to full weight; 0 is a step.

    Returns
    -------
    weight : float
        In (0, 1].

    Examples
    --------
    >>> [linear_ramp(e, 4) for e in range(5)]
    [0.25, 0.5, 0.75, 1.0, 1.0]
    >>> linear_ramp(0, 0)
    1.0
    """
    return min(1.0, (epochs_since_start + 1) / max(length, 1))


# Rows the feature quantiles are taken from at most (a larger X is subsampled).
QUANTILE_MAX_ROWS = 100_000


def feature_quantiles(X, n_quantiles=1001, max_rows=QUANTILE_MAX_ROWS):
    """Each feature's quantiles in the training data: the grid :func:`augment` perturbs on.

    Parameters
    ----------
    X : torch.Tensor of shape (n, ...)
    n_quantiles : int, default=1001
    max_rows : int, default=100_000
        Larger data is subsampled (with torch's random generator) before sorting.

    Returns
    -------
    quantiles : torch.Tensor of shape (n_features, n_quantiles)
        Row ``j`` is feature ``j`` (of the flattened ``X.shape[1:]``), sorted.

    Examples
    --------
    >>> import torch
    >>> feature_quantiles(torch.arange(10.0)[:, None], n_quantiles=3).tolist()
    [[0.0, 4.0, 9.0]]
    """
    if len(X) > max_rows:
        X = X[torch.randperm(len(X), device=X.device)[:max_rows]]
    elif not isinstance(X, torch.Tensor):  # rows that index like a tensor (sparse ones)
        X = X[:]
    flat = X.reshape(len(X), -1)
    ordered = flat.T.sort(dim=1).values
    positions = torch.linspace(0, len(flat) - 1, n_quantiles, device=flat.device)
    return ordered[:, positions.round().long()].contiguous()


def _quantile_position(quantiles, x):
    """Fractional position of each ``x[j, i]`` on row ``j`` of the quantile grid: linear
    between distinct grid values, the middle of a run of equal ones (a binary or one-hot
    column), clamped to the grid's ends."""
    last = quantiles.shape[1] - 1
    first_at = torch.searchsorted(quantiles, x, right=False)  # first grid value >= x
    past = torch.searchsorted(quantiles, x, right=True)  # first grid value > x
    below = quantiles.gather(1, (first_at - 1).clamp(0, last))
    above = quantiles.gather(1, first_at.clamp(0, last))
    gap = above - below
    between = first_at - 1 + torch.where(gap > 0, (x - below) / gap.clamp_min(1e-30), 0.5)
    position = torch.where(past > first_at, (first_at + past - 1) / 2, between)
    return position.clamp(0, last)


def normal_scores(X, quantiles):
    """Each value's normal score: its quantile in the training data, through the inverse
    normal CDF. The space in which :func:`augment` perturbs.

    Parameters
    ----------
    X : torch.Tensor of shape (n, ...)
    quantiles : torch.Tensor of shape (n_features, n_quantiles)
        Each feature's quantiles in the training data (:func:`feature_quantiles`), for
        ``n_features`` the size of the trailing dimensions of ``X`` that make one row.

    Returns
    -------
    scores : torch.Tensor, the shape of ``X``

    Examples
    --------
    >>> import torch
    >>> X = torch.arange(5.0)[:, None]
    >>> scores = normal_scores(X, feature_quantiles(X, n_quantiles=5))
    >>> [round(v, 2) for v in scores.ravel().tolist()]
    [-1.28, -0.52, 0.0, 0.52, 1.28]
    """
    n_features, n_quantiles = quantiles.shape
    flat = X.reshape(-1, n_features).T.contiguous()
    scores = torch.special.ndtri((_quantile_position(quantiles, flat) + 0.5) / n_quantiles)
    return scores.T.reshape(X.shape)


def augment(X, quantiles, mean, noise=0.0, mask=0.0, scores=None):
    """A randomly perturbed view of feature vectors that keeps each feature's distribution.

    Each value moves by Gaussian noise of ``noise`` standard deviations in the feature's
    normal scores (its quantile in the training data, through the inverse normal CDF) and
    back: a heavy-tailed column is perturbed in its bulk as much as in its tail, a binary
    or one-hot column keeps its values and flips now and then (a value between them is
    rare), and units and scales do not matter. Then each feature is replaced by its mean
    with probability ``mask``.

    Parameters
    ----------
    X : torch.Tensor of shape (n, ...)
    quantiles : torch.Tensor of shape (n_features, n_quantiles)
        Each feature's quantiles in the training data (:func:`feature_quantiles`), for
        ``n_features`` the size of the trailing dimensions of ``X`` that make one row.
    mean : torch.Tensor
        Each feature's mean in the training data, of one row's shape.
    noise : float, default=0.0
    mask : float in [0, 1), default=0.0
    scores : torch.Tensor of the shape of ``X``, default=None
        ``X``'s :func:`normal_scores`, when they are at hand (they are the costly part);
        computed when None.

    Returns
    -------
    view : torch.Tensor, the shape of ``X``

    Examples
    --------
    >>> import torch
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> X = torch.cat([torch.randn(5000, 1), (torch.rand(5000, 1) < 0.5).float()], dim=1)
    >>> view = augment(X, feature_quantiles(X), X.mean(dim=0), noise=0.5)
    >>> round(float((view[:, 0] - X[:, 0]).std()), 1)  # about 0.5 for a normal column
    0.5
    >>> binary = (view[:, 1] == 0) | (view[:, 1] == 1)  # a binary column stays binary,
    >>> bool(binary.float().mean() > 0.99)  # but for the odd value in between
    True
    """
    if noise:
        n_features, n_quantiles = quantiles.shape
        if scores is None:
            scores = normal_scores(X, quantiles)
        score = scores.reshape(-1, n_features)  # a row per sample, a column per feature
        draws = torch.randn(score.shape, device=score.device, dtype=score.dtype)
        moved = torch.special.ndtr(score + noise * draws) * n_quantiles - 0.5
        moved = moved.clamp(0, n_quantiles - 1)
        lower = moved.floor().long()
        weight = moved - lower
        # Positions in the flattened grid, where feature j's quantiles start at j * n_quantiles.
        lower = lower + n_quantiles * torch.arange(n_features, device=lower.device)
        # At a feature's last quantile the weight is 0, and upper (the next feature's first
        # quantile, or the grid's last) does not count.
        upper = (lower + 1).clamp(max=quantiles.numel() - 1)
        flat = quantiles.take(lower) * (1 - weight) + quantiles.take(upper) * weight
        X = flat.reshape(X.shape)
    if mask:
        X = torch.where(torch.rand_like(X) < mask, mean.expand_as(X), X)
    return X
