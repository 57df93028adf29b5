"""MentorNet (Jiang et al., ICML 2018) with its predefined, self-paced curriculum.

A mentor weights each sample of a student network's mini-batch. The predefined mentor
(MentorNet-PD) is self-paced learning: a sample counts while its loss is below a
threshold ``lambda``, the exponential moving average of the ``percentile``-th
percentile of the recent batches' losses; samples above it, mostly the wrongly
labelled ones (a network fits them last), get weight 0.
"""

from __future__ import annotations

import numbers

import torch

from ._base import (
    BaseNoisyClassifier,
    _check_number,
    _check_warmup,
    _is_auto,
    fill_doc,
)
from ._training import NoisyLabelNet
from .losses import get_loss

__all__ = ["MentorNetClassifier"]

# percentile="auto" keeps 1 - (estimated noise rate) of each batch, within this range.
_AUTO_PERCENTILE_RANGE = (10.0, 100.0)


class MentorNetNet(NoisyLabelNet):
    """One student network whose per-sample losses are weighted by the mentor."""

    # percentile="auto" reads the noise rate at the burn-in's end.
    auto_warmup_max_fraction = 0.5

    def __init__(self, *args, percentile, burn_in_epochs, loss_decay, **kwargs):
        super().__init__(*args, **kwargs)
        self.percentile = percentile
        self.burn_in_epochs = burn_in_epochs
        self.loss_decay = loss_decay

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X, y, **kwargs)
        self.burn_in_end_ = self.warmup_length(self.burn_in_epochs, len(X.y))
        self.percentile_ = None if _is_auto(self.percentile) else float(self.percentile)
        self.threshold_ = None  # lambda: moving average of the batch loss percentile
        self.weight_sum_ = torch.zeros(len(X.y), device=X.y.device)
        self.n_weighted_epochs_ = 0
        self.mentoring_ = False

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        self.mentoring_ = len(self.history) - 1 >= self.burn_in_end_
        if self.mentoring_ and self.percentile_ is None:
            # "auto", once, at the burn-in's end: keep the share of rows estimated clean.
            noise = float(self.history[-2, "noise_rate"])
            low, high = _AUTO_PERCENTILE_RANGE
            self.percentile_ = min(high, max(low, 100.0 * (1.0 - noise)))

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)
        if self.mentoring_:
            self.n_weighted_epochs_ += 1
            self.history.record("threshold", float(self.threshold_))
            self.history.record("percentile", self.percentile_)

    def compute_loss(self, X, y, index):
        logits = self.module_(X)
        self.record_logits(index, logits)
        losses = self.criterion_(logits, y)
        if not self.mentoring_:
            return self.weighted_mean(losses, index), (logits,)
        weights = self.mentor(losses.detach())
        self.weight_sum_.index_add_(0, index, weights)
        return self.weighted_mean(losses, index, weights), (logits,)

    def mentor(self, losses):
        """MentorNet-PD's weights: 1 for a loss at or below the moving threshold, else 0."""
        quantile = torch.quantile(losses, self.percentile_ / 100.0)
        if self.threshold_ is None:
            self.threshold_ = quantile
        else:
            d = self.loss_decay
            self.threshold_ = d * self.threshold_ + (1 - d) * quantile
        return (losses <= self.threshold_).to(losses.dtype)

    def estimate_label_quality(self):
        """``label_quality_``: the mentor's mean weight of each row over the epochs after
        the burn-in; ``noise_rate_``: the fraction below 0.5. (The shared estimate when
        training ended within the burn-in.)"""
        if self.n_weighted_epochs_ == 0:
            super().estimate_label_quality()
            return
        quality = self.weight_sum_ / self.n_weighted_epochs_
        self.label_quality_ = quality.clamp(0.0, 1.0).double().cpu().numpy()
        self.noise_rate_ = float((self.label_quality_ < 0.5).mean())

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X, y, **kwargs)
        del self.weight_sum_


@fill_doc
class MentorNetClassifier(BaseNoisyClassifier):
    """A student network whose samples are weighted by a mentor: MentorNet's predefined,
    self-paced curriculum.

    Jiang et al., "MentorNet: Learning Data-Driven Curriculum for Very Deep Neural
    Networks on Corrupted Labels", ICML 2018 (MentorNet-PD). After a burn-in on every
    given label, a sample of a mini-batch counts while its loss is at most ``lambda``,
    the exponential moving average of the ``percentile``-th percentile of the batches'
    losses; the others, mostly wrongly labelled, get weight 0. See
    ``docs/mentornet.md``.

    Parameters
    ----------
    percentile : "auto" or float in (0, 100], default="auto"
        Percentile of each batch's losses that sets the threshold. ``"auto"``: 100 times
        one minus the confident-learning estimate of the noise rate at the burn-in's end
        (history column ``noise_rate``), within [10, 100].
    burn_in_epochs : "auto", int or float, default="auto"
        Epochs (int) or fraction of ``max_epochs`` (float) in which every sample counts.
        ``"auto"``: about 100 optimisation steps, at most half of the run, at least one
        epoch.
    loss_decay : float in [0, 1), default=0.9
        Weight of the previous threshold in its moving average.
    {common_parameters}

    Attributes
    ----------
    percentile_ : float or None
        The percentile used (None when training ended within the burn-in).
    burn_in_epochs_ : int
        Burn-in length in epochs.
    {common_attributes}

    See Also
    --------
    CoTeachingClassifier : two networks selecting small-loss samples for each other.

    Notes
    -----
    ``label_quality_`` is the mentor's mean weight of each row over the epochs after the
    burn-in (the fraction of them in which it counted), and ``noise_rate_`` the fraction
    of rows below 0.5. History columns after the burn-in: ``threshold`` (``lambda`` at
    the epoch's end) and ``percentile``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknoisy import MentorNetClassifier, make_label_noise
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy = make_label_noise(y, "symmetric", 0.4, random_state=0)
    >>> clf = MentorNetClassifier(max_epochs=5, random_state=0).fit(X / 16, y_noisy)
    >>> clf.predict(X[:3] / 16).shape
    (3,)
    """

    _net_class = MentorNetNet

    def __init__(
        self,
        percentile="auto",
        *,
        burn_in_epochs="auto",
        loss_decay=0.9,
        module=None,
        module_params=None,
        hidden_layer_sizes=(256, 256),
        dropout=0.0,
        max_epochs=50,
        batch_size=128,
        lr=1e-3,
        optimizer="adam",
        weight_decay=0.0,
        device="auto",
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.percentile = percentile
        self.burn_in_epochs = burn_in_epochs
        self.loss_decay = loss_decay
        self.module = module
        self.module_params = module_params
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def _criterion(self):
        return get_loss("ce", reduction="none")

    def _net_params(self):
        if not _is_auto(self.percentile):
            if not isinstance(self.percentile, numbers.Real):
                raise ValueError(
                    f"percentile must be 'auto' or a number, got {self.percentile!r}"
                )
            _check_number(self.percentile, "percentile", low=0, high=100, low_open=True)
        _check_number(self.loss_decay, "loss_decay", low=0, high=1, high_open=True)
        return {
            "percentile": self.percentile,
            "burn_in_epochs": _check_warmup(
                self.burn_in_epochs, self.max_epochs, "burn_in_epochs"
            ),
            "loss_decay": float(self.loss_decay),
        }

    def _copy_fitted_state(self, net):
        self.burn_in_epochs_ = int(net.burn_in_end_)
        self.percentile_ = net.percentile_
