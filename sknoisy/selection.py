"""Pieces several methods share: schedules, small-loss selection, the loss mixture model.

Every function here is plain array code (NumPy or torch) with no estimator state, so each
method file can read like its paper's algorithm box.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

__all__ = [
    "resolve_epochs",
    "forget_rate_schedule",
    "small_loss_mask",
    "loss_gmm_clean_posterior",
]


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


def loss_gmm_clean_posterior(losses, random_state=None):
    """Posterior of the low-loss component of a two-Gaussian mixture over per-sample losses.

    The losses are min-max normalised first (as DivideMix does) so that the mixture's
    regularisation means the same on any loss scale.

    Parameters
    ----------
    losses : array-like of shape (n,)
        Per-sample losses (any finite scale).
    random_state : int, RandomState or None
        Seeds the mixture's initialisation.

    Returns
    -------
    clean_posterior : ndarray of shape (n,)
        P(clean | loss) in [0, 1]; all ones when the losses are (almost) all equal,
        since nothing then tells samples apart.
    noise_rate : float
        Estimated fraction of wrong labels, the mean of ``1 - clean_posterior``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> losses = np.r_[rng.normal(0.2, 0.05, 80), rng.normal(2.0, 0.3, 20)]
    >>> post, rate = loss_gmm_clean_posterior(losses, random_state=0)
    >>> round(rate, 2)
    0.2
    """
    losses = np.asarray(losses, dtype=np.float64).ravel()
    if not np.all(np.isfinite(losses)):
        raise ValueError("per-sample losses contain NaN or infinity")
    span = losses.max() - losses.min() if losses.size else 0.0
    if losses.size < 4 or span < 1e-8:
        return np.ones_like(losses), 0.0
    scaled = ((losses - losses.min()) / span).reshape(-1, 1)
    gmm = GaussianMixture(
        n_components=2, max_iter=20, tol=1e-3, reg_covar=5e-4, random_state=random_state
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(scaled)
    posterior = gmm.predict_proba(scaled)[:, int(np.argmin(gmm.means_.ravel()))]
    # A Gaussian's tail can make the low-loss component win again at the far right;
    # cleanness must not increase with the loss.
    order = np.argsort(scaled.ravel(), kind="stable")
    posterior[order] = np.minimum.accumulate(posterior[order])
    posterior = np.clip(posterior, 0.0, 1.0)
    return posterior, float(np.mean(1.0 - posterior))
