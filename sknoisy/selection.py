"""Pieces several methods share: schedules and small-loss selection.

Every function here is plain array code (NumPy or torch) with no estimator state, so each
method file can read like its paper's algorithm box.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

__all__ = [
    "resolve_epochs",
    "forget_rate_schedule",
    "small_loss_mask",
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

