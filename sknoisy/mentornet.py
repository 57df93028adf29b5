"""MentorNet (Jiang et al., ICML 2018): a predefined or a data-driven curriculum.

A mentor weights each sample of a student network's mini-batch. The predefined mentor
(MentorNet-PD) is self-paced learning (:func:`self_paced_weights`): a sample counts
while its loss is below a threshold ``lambda``, the exponential moving average of the
``percentile``-th percentile of the recent batches' losses
(``MentorNetNet.update_threshold``); samples above it, mostly the wrongly labelled ones
(a network fits them last), get weight 0.

The data-driven mentor (MentorNet-DD, :class:`DataDrivenMentor` and
``MentorNetNet.data_driven_weights``), used when ``fit`` is given a mask of trusted rows
(labels known to be right), is a small network on a sample's loss, its loss minus
``lambda``, its label and the training progress. It learns alongside the student to
tell the trusted rows from the others, which makes it an estimate of the probability
that a row's label is right; a row counts while that is at least one half.
"""

from __future__ import annotations

import torch
from torch import nn

from ._base import BaseNoisyClassifier, fill_doc
from ._training import NoisyLabelNet
from ._validation import Epochs, Number, is_auto
from .losses import get_loss

__all__ = ["MentorNetClassifier"]

# percentile="auto" keeps 1 - (estimated noise rate) of each batch, within this range.
_AUTO_PERCENTILE_RANGE = (10.0, 100.0)
# The data-driven mentor: width of its label embedding and hidden layer, and the bounds
# of the noise rate that turns its density ratio into a probability.
_LABEL_EMBEDDING = 4
_MENTOR_HIDDEN = 32
_PRIOR_RANGE = (0.01, 0.99)


class DataDrivenMentor(nn.Module):
    """MentorNet-DD's mentor: a sample's loss, its loss minus the moving threshold, its
    label (embedded) and the training progress, to the logit of its weight."""

    def __init__(self, n_classes):
        super().__init__()
        self.label_embedding = nn.Embedding(n_classes, _LABEL_EMBEDDING)
        self.layers = nn.Sequential(
            nn.Linear(3 + _LABEL_EMBEDDING, _MENTOR_HIDDEN),
            nn.Tanh(),
            nn.Linear(_MENTOR_HIDDEN, 1),
        )

    def forward(self, losses, threshold, labels, progress):
        features = torch.cat(
            [
                losses[:, None],
                (losses - threshold)[:, None],
                torch.full_like(losses, progress)[:, None],
                self.label_embedding(labels),
            ],
            dim=1,
        )
        return self.layers(features).squeeze(1)


def self_paced_weights(losses, threshold):
    """MentorNet-PD's weights: 1 for a sample whose loss is at most ``threshold``
    (``lambda``), 0 above it."""
    return (losses <= threshold).to(losses.dtype)


class MentorNetNet(NoisyLabelNet):
    """One student network whose per-sample losses are weighted by the mentor."""

    # percentile="auto" reads the noise rate at the burn-in's end.
    auto_warmup_max_fraction = 0.5
    auto_warmup_ends_in_estimate = True

    def __init__(self, *args, data_driven, n_classes, **kwargs):
        super().__init__(*args, **kwargs)
        # Whether fit was given trusted rows (MentorNet-DD), and the mentor's label
        # embedding size: the mentor is built before training.
        self.data_driven = data_driven
        self.n_classes = n_classes

    def initialize_module(self):
        super().initialize_module()
        if self.data_driven:
            # Registered the skorch way (a ``*_`` module set here): it moves with
            # ``device`` and follows train/eval mode.
            self.mentor_ = DataDrivenMentor(self.n_classes).to(self.device)
        return self

    def initialize_optimizer(self, *args, **kwargs):
        if not self.data_driven:
            return super().initialize_optimizer(*args, **kwargs)
        mentor = {id(p) for p in self.mentor_.parameters()}
        student = [(n, p) for n, p in self.get_all_learnable_params() if id(p) not in mentor]
        args, kwargs = self.get_params_for_optimizer("optimizer", student)
        self.optimizer_ = self.optimizer(*args, **kwargs)
        # The mentor learns from its own loss, with its own optimizer; skorch zeroes and
        # steps it with the student's.
        self.mentor_optimizer_ = torch.optim.Adam(self.mentor_.parameters(), lr=self.lr)
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X, y, **kwargs)
        self.state_.burn_in_end = self.warmup_length(self.settings.burn_in_epochs, len(X.y))
        percentile = self.settings.percentile  # "auto": read at the burn-in's end
        self.state_.percentile = None if is_auto(percentile) else percentile
        self.state_.threshold = None  # lambda: moving average of the batch loss percentile
        self.state_.weight_sum = torch.zeros(len(X.y), device=X.y.device)
        self.state_.n_weighted_epochs = 0
        self.state_.mentoring = False

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        self.state_.mentoring = self.current_epoch >= self.state_.burn_in_end
        if self.state_.mentoring and self.state_.percentile is None:
            # "auto", once, at the burn-in's end: keep the share of rows estimated clean.
            noise = float(self.history[-2, "noise_rate"])
            low, high = _AUTO_PERCENTILE_RANGE
            self.state_.percentile = min(high, max(low, 100.0 * (1.0 - noise)))

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)
        if self.state_.mentoring:
            self.state_.n_weighted_epochs += 1
            self.history.record("threshold", float(self.state_.threshold))
            self.history.record("percentile", self.state_.percentile)

    def compute_loss(self, X, y, index):
        logits = self.module_(X)
        self.record_logits(index, logits)
        losses = self.criterion_(logits, y)
        if not self.state_.mentoring:
            return self.weighted_mean(losses, index), (logits,)
        self.update_threshold(losses.detach())
        if not self.data_driven:
            weights = self_paced_weights(losses.detach(), self.state_.threshold)
        else:
            weights = self.data_driven_weights(losses.detach(), y, index)
        self.state_.weight_sum.index_add_(0, index, weights)
        return self.weighted_mean(losses, index, weights), (logits,)

    def update_threshold(self, losses):
        """``lambda``: the moving average of the batches' ``percentile``-th percentile."""
        quantile = torch.quantile(losses, self.state_.percentile / 100.0)
        if self.state_.threshold is None:
            self.state_.threshold = quantile
        else:
            d = self.settings.loss_decay
            self.state_.threshold = d * self.state_.threshold + (1 - d) * quantile

    def data_driven_weights(self, losses, y, index):
        """MentorNet-DD: one training step of the mentor on this batch, then its weights
        for every row (1 for the trusted ones).

        The mentor learns to tell the trusted rows from the others, classes balanced, so
        that ``exp(logit)`` estimates the density ratio ``p(f | clean) / p(f | other)``
        of the features ``f`` (trusted rows being a sample of the clean ones, trained
        on alike). An untrusted row's probability of being clean is then
        ``(1 - noise rate) * exp(logit)``; it counts while that is at least 0.5 (weights
        in between let wrong labels in partly, and the student memorises them).
        """
        progress = self.current_epoch / self.max_epochs
        trusted = self.data_.trusted[index]
        # The mentor is small and trains on its own loss, unscaled: always in float32.
        with torch.autocast(torch.device(self.device).type, enabled=False):
            logit = self.mentor_(losses, self.state_.threshold, y, progress)
        if bool(trusted.any()) and not bool(trusted.all()):
            # Binary cross-entropy, each side averaged: -log sigmoid(z) = softplus(-z).
            mentor_loss = nn.functional.softplus(-logit[trusted]).mean()
            mentor_loss = mentor_loss + nn.functional.softplus(logit[~trusted]).mean()
            mentor_loss.backward()  # the inputs are detached: only the mentor's gradients
        noise = min(max(1.0 - self.state_.percentile / 100.0, _PRIOR_RANGE[0]), _PRIOR_RANGE[1])
        weights = ((1.0 - noise) * logit.detach().exp() >= 0.5).to(logit.dtype)
        return self.trust(weights, index)

    def estimate_label_quality(self):
        """Label quality: the mentor's mean weight of each row over the epochs after the
        burn-in; the noise rate: the fraction below 0.5. (The shared estimate when
        training ended within the burn-in.)"""
        if self.state_.n_weighted_epochs == 0:
            return super().estimate_label_quality()
        quality = self.state_.weight_sum / self.state_.n_weighted_epochs
        quality = quality.clamp(0.0, 1.0).double().cpu().numpy()
        return quality, float((quality < 0.5).mean())

    def method_results(self):
        return {"burn_in_end": self.state_.burn_in_end, "percentile": self.state_.percentile}


@fill_doc
class MentorNetClassifier(BaseNoisyClassifier):
    """A student network whose samples are weighted by a mentor: MentorNet's predefined,
    self-paced curriculum, or a mentor learned from trusted rows.

    Jiang et al., "MentorNet: Learning Data-Driven Curriculum for Very Deep Neural
    Networks on Corrupted Labels", ICML 2018. After a burn-in on every given label, the
    predefined mentor (MentorNet-PD) keeps a sample of a mini-batch while its loss is at
    most ``lambda``, the exponential moving average of the ``percentile``-th percentile
    of the batches' losses; the others, mostly wrongly labelled, get weight 0. Given
    ``fit(X, y, trusted=mask)``, the data-driven mentor (MentorNet-DD) is a small network
    learned alongside the student from the trusted rows.
    See ``docs/mentornet.md``.

    Parameters
    ----------
    percentile : "auto" or float in (0, 100], default="auto"
        Percentile of each batch's losses that sets the threshold. ``"auto"``: 100 times
        one minus the confident-learning estimate of the noise rate at the burn-in's end
        (history column ``noise_rate``), within [10, 100].
    burn_in_epochs : "auto", int or float, default="auto"
        Epochs (int) or fraction of ``max_epochs`` (float) in which every sample counts.
        ``"auto"``: about 100 optimisation steps, at most half of the run, and at least 5
        epochs (or half the run): ``percentile="auto"`` reads the noise rate from the
        predictions averaged over the burn-in's epochs, and the first epoch, whose
        predictions come from a network still learning from scratch, must weigh little.
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
    burn-in (the fraction of them in which it counted; trusted rows always count), and
    ``noise_rate_`` the fraction of rows below 0.5. History columns after the burn-in:
    ``threshold`` (``lambda`` at the epoch's end) and ``percentile``.

    The data-driven mentor takes a sample's loss, its loss minus ``lambda``, its label
    (embedded) and the share of the run done. On every batch it takes a training step
    to tell the trusted rows from the others (each side's loss averaged); with the
    trusted rows a sample of the clean ones, ``exp(logit)`` estimates the density
    ratio of clean rows to the others, and ``(1 - noise rate) * exp(logit)`` the
    probability that an untrusted row's label is right (noise rate: ``1 -
    percentile_ / 100``). A row counts while that is at least 0.5; trusted rows always.

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
    _parameters = {
        "percentile": Number(0, 100, low_open=True, auto=True),
        "burn_in_epochs": Epochs(warmup=True),
        "loss_decay": Number(0, 1, high_open=True),
    }

    def __init__(
        self,
        percentile="auto",
        *,
        burn_in_epochs="auto",
        loss_decay=0.9,
        standardize=True,
        module=None,
        module_params=None,
        hidden_layer_sizes=(256, 256),
        dropout=0.0,
        max_epochs="auto",
        batch_size=128,
        lr=1e-3,
        optimizer="adam",
        weight_decay=0.0,
        device="auto",
        precision="fp32",
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.percentile = percentile
        self.burn_in_epochs = burn_in_epochs
        self.loss_decay = loss_decay
        self.standardize = standardize
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
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def _criterion(self):
        return get_loss("ce", reduction="none")

    def _encoded_net_params(self, y_encoded, n_classes, settings, trusted):
        return {"data_driven": trusted is not None, "n_classes": n_classes}

    def _copy_fitted_state(self, result):
        self.burn_in_epochs_ = int(result.burn_in_end)
        self.percentile_ = result.percentile
