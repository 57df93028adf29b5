r"""Per-sample losses that are robust to label noise.

Every loss in this module is a :class:`torch.nn.Module` whose ``forward`` takes

* ``logits``: a ``(N, K)`` floating tensor of raw, unnormalised class scores;
* ``target``: either a ``(N,)`` integer tensor of class indices ("hard"
  targets) or a ``(N, K)`` floating tensor of class probabilities ("soft"
  targets).

Hard targets are converted to one-hot vectors internally, so a hard target and
its one-hot soft counterpart always give the same loss.  All computations use
``log_softmax`` on the logits and create helper tensors on the device and with
the dtype of ``logits``; nothing is pinned to a device.

The per-sample losses are combined according to ``reduction``: ``"mean"``
(default, average over the batch), ``"sum"``, or ``"none"`` (a ``(N,)``
tensor).

Use :func:`get_loss` to build a loss from one of the names in :data:`LOSSES`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._validation import check_number

__all__ = [
    "LOSSES",
    "BootstrappingLoss",
    "CrossEntropyLoss",
    "GeneralizedCrossEntropyLoss",
    "MeanAbsoluteErrorLoss",
    "SymmetricCrossEntropyLoss",
    "get_loss",
]

#: Valid names for :func:`get_loss`.
LOSSES = ("ce", "gce", "sce", "mae", "bootstrap_soft", "bootstrap_hard")

_REDUCTIONS = ("mean", "sum", "none")

#: Lower clamp applied to target probabilities inside the log of the reverse
#: cross entropy (Wang et al., 2019).
_RCE_TARGET_MIN = 1e-4


class _NoisyLabelLoss(nn.Module):
    """Shared machinery: reduction handling and target normalisation."""

    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"reduction must be one of {_REDUCTIONS}, got {reduction!r}."
            )
        self.reduction = reduction

    def forward(self, logits, target):
        """Compute the loss.

        Parameters
        ----------
        logits : torch.Tensor of shape (N, K)
            Raw, unnormalised class scores.
        target : torch.Tensor of shape (N,) or (N, K)
            Integer class indices, or class probabilities (soft targets).

        Returns
        -------
        loss : torch.Tensor
            A scalar for ``reduction="mean"`` or ``"sum"``, a ``(N,)`` tensor for
            ``reduction="none"``.
        """
        log_probs, soft_target = self._prepare(logits, target)
        return self._reduce(self._per_sample(log_probs, soft_target))

    def _per_sample(self, log_probs, target):  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _prepare(logits, target):
        """Return ``(log_softmax(logits), target as (N, K) probabilities)``."""
        if not isinstance(logits, torch.Tensor) or not isinstance(target, torch.Tensor):
            raise TypeError("logits and target must be torch tensors.")
        if logits.ndim != 2:
            raise ValueError(
                f"logits must have shape (N, K), got shape {tuple(logits.shape)}."
            )
        if not logits.is_floating_point():
            raise ValueError(f"logits must be a floating tensor, got dtype {logits.dtype}.")
        n, k = logits.shape
        if target.ndim == 1:
            if target.is_floating_point() or target.is_complex() or target.dtype == torch.bool:
                raise ValueError(
                    "1-D targets must be integer class indices, got dtype "
                    f"{target.dtype}; pass soft targets with shape (N, K)."
                )
            if target.shape[0] != n:
                raise ValueError(
                    f"target has {target.shape[0]} samples but logits have {n}."
                )
            soft = F.one_hot(target.long(), num_classes=k).to(logits.dtype)
        elif target.ndim == 2:
            if tuple(target.shape) != (n, k):
                raise ValueError(
                    f"soft targets must have the same shape as logits {(n, k)}, "
                    f"got {tuple(target.shape)}."
                )
            if not target.is_floating_point():
                raise ValueError(
                    f"2-D targets must be floating probabilities, got dtype {target.dtype}."
                )
            soft = target.to(logits.dtype)
        else:
            raise ValueError(
                f"target must have shape (N,) or (N, K), got shape {tuple(target.shape)}."
            )
        return F.log_softmax(logits, dim=1), soft

    def _reduce(self, loss):
        if self.reduction == "mean":
            return loss.mean()
        if self.reduction == "sum":
            return loss.sum()
        return loss

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


def _cross_entropy(log_probs, target):
    """Per-sample ``-sum_k t_k log p_k``."""
    return -(target * log_probs).sum(dim=1)


class CrossEntropyLoss(_NoisyLabelLoss):
    r"""Categorical cross entropy for hard or soft targets (non-robust baseline).

    .. math::

        \ell(\mathbf{z}, \mathbf{t}) = -\sum_{k=1}^{K} t_k \log p_k,
        \qquad \mathbf{p} = \operatorname{softmax}(\mathbf{z}).

    For a hard label :math:`y` this is :math:`-\log p_y`.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default="mean"
        How per-sample losses are combined.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import CrossEntropyLoss
    >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    >>> loss = CrossEntropyLoss(reduction="none")
    >>> loss(logits, torch.tensor([0, 1])).round(decimals=4)
    tensor([0.2413, 0.5514])
    >>> soft = torch.tensor([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])
    >>> loss(logits, soft).round(decimals=4)
    tensor([0.9913, 0.5514])
    """

    def forward(self, logits, target):
        # Hard labels take torch's fused kernel: same value, fewer operations per batch.
        if (
            isinstance(logits, torch.Tensor)
            and isinstance(target, torch.Tensor)
            and logits.ndim == 2
            and logits.is_floating_point()
            and target.ndim == 1
            and target.dtype in (torch.int64, torch.int32)
            and target.shape[0] == logits.shape[0]
        ):
            return F.cross_entropy(logits, target.long(), reduction=self.reduction)
        return super().forward(logits, target)

    def _per_sample(self, log_probs, target):
        return _cross_entropy(log_probs, target)


class GeneralizedCrossEntropyLoss(_NoisyLabelLoss):
    r"""Generalized cross entropy (:math:`\mathcal{L}_q`) loss.

    .. math::

        \ell(\mathbf{z}, \mathbf{t}) = \frac{1 - \left(\sum_{k} t_k p_k\right)^q}{q},
        \qquad \mathbf{p} = \operatorname{softmax}(\mathbf{z}).

    For hard labels this is :math:`(1 - p_y^q) / q`, which tends to the cross
    entropy :math:`-\log p_y` as :math:`q \to 0` and equals :math:`1 - p_y`
    (half the MAE loss) at :math:`q = 1`.  For soft targets the limit
    :math:`q \to 0` is :math:`-\log \sum_k t_k p_k`, not the soft cross entropy.

    The power is evaluated as :math:`\exp(q \log \sum_k t_k p_k)` with the log
    computed by ``logsumexp`` from ``log_softmax``, so gradients stay finite even
    when the target-class probability underflows; the value uses ``expm1`` so
    that it stays accurate for small :math:`q`.

    Parameters
    ----------
    q : float, default=0.7
        Exponent, in :math:`(0, 1]`.
    reduction : {"mean", "sum", "none"}, default="mean"
        How per-sample losses are combined.

    References
    ----------
    Z. Zhang and M. R. Sabuncu, "Generalized Cross Entropy Loss for Training
    Deep Neural Networks with Noisy Labels", NeurIPS 2018.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import GeneralizedCrossEntropyLoss
    >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    >>> loss = GeneralizedCrossEntropyLoss(q=0.7, reduction="none")
    >>> loss(logits, torch.tensor([0, 1])).round(decimals=4)
    tensor([0.2220, 0.4575])
    >>> round(GeneralizedCrossEntropyLoss(q=0.7)(logits, torch.tensor([0, 1])).item(), 4)
    0.3398
    """

    def __init__(self, q=0.7, reduction="mean"):
        super().__init__(reduction=reduction)
        self.q = check_number(q, "q", to_float=True, low=0.0, high=1.0, low_open=True)

    def _per_sample(self, log_probs, target):
        # log(sum_k t_k p_k) = logsumexp_k(log p_k + log t_k); zero targets give -inf
        # terms, which logsumexp ignores.
        log_pt = torch.logsumexp(log_probs + torch.log(target), dim=1)
        scaled = self.q * log_pt
        # (1 - exp(q log_pt)) / q.  Autograd through exp() gives the exact gradient
        # -p_t^q d(log_pt), whereas torch's expm1 backward uses (expm1(x) + 1), which
        # rounds to 0 once p_t^q drops below machine epsilon.  expm1 is still used for
        # the *value*, which 1 - exp() would lose to cancellation at small q; the
        # detached correction changes the value only, not the gradient.
        loss = (1.0 - torch.exp(scaled)) / self.q
        exact = -torch.expm1(scaled.detach()) / self.q
        return loss + (exact - loss.detach())

    def extra_repr(self):
        return f"q={self.q!r}, " + super().extra_repr()


class SymmetricCrossEntropyLoss(_NoisyLabelLoss):
    r"""Symmetric cross entropy: cross entropy plus reverse cross entropy.

    .. math::

        \ell(\mathbf{z}, \mathbf{t}) =
            \alpha \Bigl(-\sum_k t_k \log p_k\Bigr)
            + \beta \Bigl(-\sum_k p_k \log \operatorname{clamp}(t_k, 10^{-4}, 1)\Bigr),
        \qquad \mathbf{p} = \operatorname{softmax}(\mathbf{z}).

    The target is clamped inside the log of the reverse term so that
    :math:`\log 0` is replaced by :math:`A = \log 10^{-4} \approx -9.21`; for a
    hard label the reverse term is therefore :math:`-A (1 - p_y)`.

    Parameters
    ----------
    alpha : float, default=0.1
        Weight of the cross-entropy term, ``>= 0``.
    beta : float, default=1.0
        Weight of the reverse-cross-entropy term, ``>= 0``.  ``alpha`` and
        ``beta`` cannot both be zero.
    reduction : {"mean", "sum", "none"}, default="mean"
        How per-sample losses are combined.

    References
    ----------
    Y. Wang, X. Ma, Z. Chen, Y. Luo, J. Yi and J. Bailey, "Symmetric Cross
    Entropy for Robust Learning with Noisy Labels", ICCV 2019.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import SymmetricCrossEntropyLoss
    >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    >>> loss = SymmetricCrossEntropyLoss(alpha=0.1, beta=1.0, reduction="none")
    >>> loss(logits, torch.tensor([0, 1])).round(decimals=4)
    tensor([1.9989, 3.9593])
    """

    def __init__(self, alpha=0.1, beta=1.0, reduction="mean"):
        super().__init__(reduction=reduction)
        self.alpha = check_number(alpha, "alpha", to_float=True, low=0.0)
        self.beta = check_number(beta, "beta", to_float=True, low=0.0)
        if self.alpha == 0.0 and self.beta == 0.0:
            raise ValueError("alpha and beta cannot both be 0.")

    def _per_sample(self, log_probs, target):
        ce = _cross_entropy(log_probs, target)
        probs = log_probs.exp()
        log_t = torch.log(target.clamp(min=_RCE_TARGET_MIN, max=1.0))
        rce = -(probs * log_t).sum(dim=1)
        return self.alpha * ce + self.beta * rce

    def extra_repr(self):
        return f"alpha={self.alpha!r}, beta={self.beta!r}, " + super().extra_repr()


class MeanAbsoluteErrorLoss(_NoisyLabelLoss):
    r"""Mean absolute error between predicted probabilities and targets.

    .. math::

        \ell(\mathbf{z}, \mathbf{t}) = \sum_{k} \lvert p_k - t_k \rvert,
        \qquad \mathbf{p} = \operatorname{softmax}(\mathbf{z}).

    For a hard label :math:`y` this equals :math:`2 - 2 p_y`.  MAE is symmetric
    and hence provably robust to symmetric label noise, but it trains slowly.

    Parameters
    ----------
    reduction : {"mean", "sum", "none"}, default="mean"
        How per-sample losses are combined.

    References
    ----------
    A. Ghosh, H. Kumar and P. S. Sastry, "Robust Loss Functions under Label
    Noise for Deep Neural Networks", AAAI 2017.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import MeanAbsoluteErrorLoss
    >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    >>> loss = MeanAbsoluteErrorLoss(reduction="none")
    >>> loss(logits, torch.tensor([0, 1])).round(decimals=4)
    tensor([0.4288, 0.8478])
    """

    def _per_sample(self, log_probs, target):
        return (log_probs.exp() - target).abs().sum(dim=1)


class BootstrappingLoss(_NoisyLabelLoss):
    r"""Bootstrapping loss: cross entropy against a target mixed with predictions.

    .. math::

        \ell(\mathbf{z}, \mathbf{t}) = -\sum_k \bigl(\beta t_k + (1 - \beta) q_k\bigr)
        \log p_k, \qquad \mathbf{p} = \operatorname{softmax}(\mathbf{z}),

    where :math:`\mathbf{q}` is the detached prediction :math:`\mathbf{p}`
    (``mode="soft"``) or the one-hot vector of :math:`\arg\max_k p_k`
    (``mode="hard"``).  No gradient flows through :math:`\mathbf{q}`.  With
    ``beta=1`` this is the plain cross entropy.

    Parameters
    ----------
    beta : float, default=0.95
        Weight of the given target, in :math:`[0, 1]`.  Reed et al. use 0.95 for
        soft and 0.8 for hard bootstrapping.
    mode : {"soft", "hard"}, default="soft"
        How the model's own prediction enters the target.
    reduction : {"mean", "sum", "none"}, default="mean"
        How per-sample losses are combined.

    References
    ----------
    S. Reed, H. Lee, D. Anguelov, C. Szegedy, D. Erhan and A. Rabinovich,
    "Training Deep Neural Networks on Noisy Labels with Bootstrapping",
    ICLR 2015 workshop.

    Examples
    --------
    >>> import torch
    >>> from sknoisy.losses import BootstrappingLoss
    >>> logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    >>> target = torch.tensor([1, 1])
    >>> BootstrappingLoss(beta=0.8, mode="hard", reduction="none")(logits, target).round(
    ...     decimals=4)
    tensor([1.4413, 0.5514])
    >>> BootstrappingLoss(beta=0.95, mode="soft", reduction="none")(logits, target).round(
    ...     decimals=4)
    tensor([1.6853, 0.5726])
    """

    _MODES = ("soft", "hard")

    def __init__(self, beta=0.95, mode="soft", reduction="mean"):
        super().__init__(reduction=reduction)
        self.beta = check_number(beta, "beta", to_float=True, low=0.0, high=1.0)
        if mode not in self._MODES:
            raise ValueError(f"mode must be one of {self._MODES}, got {mode!r}.")
        self.mode = mode

    def _per_sample(self, log_probs, target):
        if self.mode == "soft":
            own = log_probs.detach().exp()
        else:
            own = F.one_hot(log_probs.detach().argmax(dim=1), num_classes=log_probs.shape[1])
            own = own.to(log_probs.dtype)
        mixed = self.beta * target + (1.0 - self.beta) * own
        return _cross_entropy(log_probs, mixed)

    def extra_repr(self):
        return f"beta={self.beta!r}, mode={self.mode!r}, " + super().extra_repr()


_FACTORY = {
    "ce": (CrossEntropyLoss, {}),
    "gce": (GeneralizedCrossEntropyLoss, {}),
    "sce": (SymmetricCrossEntropyLoss, {}),
    "mae": (MeanAbsoluteErrorLoss, {}),
    "bootstrap_soft": (BootstrappingLoss, {"mode": "soft"}),
    "bootstrap_hard": (BootstrappingLoss, {"mode": "hard"}),
}


def get_loss(name, **params):
    """Build a loss module from its short name.

    Parameters
    ----------
    name : str
        One of :data:`LOSSES`: ``"ce"``, ``"gce"``, ``"sce"``, ``"mae"``,
        ``"bootstrap_soft"`` or ``"bootstrap_hard"``.
    **params
        Keyword arguments for the loss constructor (e.g. ``q`` for ``"gce"``,
        ``reduction`` for all).  The ``bootstrap_*`` names set ``mode``
        themselves; passing a different ``mode`` raises ``ValueError``.

    Returns
    -------
    loss : torch.nn.Module
        The loss instance.

    Examples
    --------
    >>> from sknoisy.losses import get_loss
    >>> get_loss("gce", q=0.5)
    GeneralizedCrossEntropyLoss(q=0.5, reduction='mean')
    >>> get_loss("bootstrap_hard", beta=0.8).mode
    'hard'
    """
    if not isinstance(name, str) or name not in _FACTORY:
        raise ValueError(f"Unknown loss {name!r}; valid names are {', '.join(LOSSES)}.")
    cls, fixed = _FACTORY[name]
    for key, value in fixed.items():
        if key in params and params[key] != value:
            raise ValueError(
                f"Loss {name!r} implies {key}={value!r}, got {key}={params[key]!r}."
            )
    return cls(**{**params, **fixed})
