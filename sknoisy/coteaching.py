"""Co-teaching (Han et al., NeurIPS 2018): two networks teach each other.

Algorithm, per mini-batch at epoch t:

1. both networks compute per-sample losses on the batch;
2. each network keeps its (1 - R(t)) smallest-loss samples, with
   R(t) = forget_rate * min((t / num_gradual) ** exponent, 1)
   (:func:`~sknoisy.selection.forget_rate_schedule`);
3. each network is updated on the samples its *peer* kept (:func:`peer_selection` does
   steps 2 and 3).

With ``forget_rate="auto"``, the target rate is the noise rate estimated at the end of
each ramp epoch (t < num_gradual) by confident learning
(:func:`~sknoisy.quality.estimate_noise_rate`) on the networks' predicted probabilities
averaged over the epochs so far; it is then kept fixed. Networks fit clean labels before
they memorise wrong ones, which is why the ramp-up period is where the estimate is taken.
"""

from __future__ import annotations

import torch

from ._base import BaseNoisyClassifier, fill_doc
from ._training import NoisyLabelNet
from ._validation import Epochs, Number, Option
from .losses import get_loss
from .selection import (
    forget_rate_schedule,
    lengthen_for_estimate,
    small_loss_mask,
)

__all__ = ["CoTeachingClassifier"]

# The estimated forget rate is capped: some samples must always stay selected.
_MAX_AUTO_FORGET_RATE = 0.9


def peer_selection(loss1, loss2, forget_rate, unused=None):
    """Steps 2 and 3: each network keeps its ``1 - forget_rate`` smallest-loss rows
    (:func:`~sknoisy.selection.small_loss_mask`), and each is updated on the rows its
    *peer* kept. Returns ``(mask for network 1's loss, mask for network 2's loss)``.
    Rows marked ``unused`` (of weight 0) never take a kept slot."""
    rank1, rank2 = loss1.detach(), loss2.detach()
    if unused is not None:
        rank1 = rank1.masked_fill(unused, torch.inf)
        rank2 = rank2.masked_fill(unused, torch.inf)
    keep1, keep2 = small_loss_mask(rank1, forget_rate), small_loss_mask(rank2, forget_rate)
    return keep2, keep1


class CoTeachingNet(NoisyLabelNet):
    """Two networks, each updated on the small-loss samples its peer selects."""

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X, y, **kwargs)
        auto = self.settings.forget_rate == "auto"
        # Until the first estimate (end of epoch 0), "auto" forgets nothing.
        self.state_.forget_rate = 0.0 if auto else float(self.settings.forget_rate)
        self.state_.current_forget_rate = 0.0
        self.state_.uninformative_estimate = False

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        epoch = self.current_epoch
        self.state_.current_forget_rate = forget_rate_schedule(
            self.state_.forget_rate, epoch, self.settings.num_gradual, self.settings.exponent
        )
        self.history.record("forget_rate", self.state_.current_forget_rate)

    def compute_loss(self, X, y, index):
        logits1, logits2 = self.module_(X), self.module2_(X)
        self.record_logits(index, logits1, logits2)
        loss1, loss2 = self.criterion_(logits1, y), self.criterion_(logits2, y)
        weight = self.data_.sample_weight
        unused = None if weight is None else weight[index] == 0
        for_1, for_2 = peer_selection(loss1, loss2, self.state_.current_forget_rate, unused)
        # Checked rows are kept whatever their loss.
        for_1, for_2 = self.trust(for_1, index, True), self.trust(for_2, index, True)
        loss = self.weighted_mean(loss1, index, for_1) + self.weighted_mean(loss2, index, for_2)
        return loss, (logits1, logits2)

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)
        epoch = self.current_epoch
        if self.settings.forget_rate == "auto" and epoch < max(self.settings.num_gradual, 1):
            # The base class has just recorded this epoch's confident-learning estimate.
            estimate = self.history[-1, "noise_rate"]
            self.state_.forget_rate = min(estimate, _MAX_AUTO_FORGET_RATE)
            # Near (K - 1) / K the labels would carry no information: more likely, the
            # networks had not fit the data yet. The estimator warns after fit
            # (a DegenerateModelWarning).
            k = self.n_classes_
            self.state_.uninformative_estimate = estimate >= 0.95 * (k - 1) / k
        self.history.record("target_forget_rate", self.state_.forget_rate)

    def method_results(self):
        return {
            "forget_rate": self.state_.forget_rate,
            "uninformative_estimate": self.state_.uninformative_estimate,
        }

    def proba_from_logits(self, logits1, logits2):
        proba = logits1.softmax(dim=1)
        if self.settings.inference == "ensemble":
            proba = (proba + logits2.softmax(dim=1)) / 2
        return proba


@fill_doc
class CoTeachingClassifier(BaseNoisyClassifier):
    """Co-teaching: two networks train each other on their small-loss samples.

    Han et al., "Co-teaching: Robust training of deep neural networks with extremely
    noisy labels", NeurIPS 2018. Two networks start from different initialisations; in
    each mini-batch each keeps the fraction ``1 - R(t)`` of samples with the smallest
    loss and its peer is updated on them, so the networks filter different errors.

    Parameters
    ----------
    forget_rate : float in [0, 1) or "auto", default="auto"
        Final fraction ``R`` of each mini-batch that is dropped; the paper sets it to the
        noise rate. ``"auto"`` estimates it during the ramp-up: after each ramp epoch,
        confident learning (:func:`~sknoisy.quality.estimate_noise_rate`) on the
        networks' predicted probabilities averaged over the epochs so far estimates the
        share of wrong labels; the last estimate (capped at 0.9) is kept and stored in
        ``forget_rate_``. On clean data it stays near 0. A warning
        (:class:`~sknoisy.DegenerateModelWarning`) says when the estimate is near
        ``(K - 1) / K`` (no information in the labels), which usually means the networks
        had not fit the data yet.
    num_gradual : int or float, default=0.1
        Length ``T_k`` of the ramp of ``R(t)`` from 0 to ``forget_rate``: epochs (int)
        or a fraction of ``max_epochs`` (float), so the schedule fits any run length.
        With ``forget_rate="auto"`` the ramp lasts at least ``min(5, max_epochs // 2)``
        epochs, so that the estimate is not taken from a barely trained network.
    exponent : float, default=1.0
        Shape ``c`` of the ramp ``R(t) = forget_rate * min((t / T_k) ** c, 1)``.
    inference : {"ensemble", "first"}, default="ensemble"
        Predict with the average of both networks' probabilities, or network 1 only.
    {common_parameters}

    Attributes
    ----------
    forget_rate_ : float
        The forget rate used after the ramp (the estimate when ``forget_rate="auto"``).
    num_gradual_ : int
        Ramp length in epochs (see ``num_gradual``).
    {common_attributes}

    See Also
    --------
    RobustLossClassifier : one network with a robust loss; ``loss="ce"`` is the baseline.

    Notes
    -----
    Both networks' predicted probabilities for every row are recorded during training
    (at no extra forward pass). ``label_quality_`` is the probability of the given label
    averaged over both networks and all epochs; ``noise_rate_`` is the median over epochs
    of the confident-learning estimate (history column ``noise_rate``).

    The reference code divides the mean loss again by the number of kept samples; here
    each network's loss is the plain (weighted) mean over the kept samples, which matters
    for SGD, not for Adam.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknoisy import CoTeachingClassifier, make_label_noise
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy = make_label_noise(y, "symmetric", 0.4, random_state=0)
    >>> clf = CoTeachingClassifier(max_epochs=5, random_state=0).fit(X / 16, y_noisy)
    >>> clf.predict(X[:3] / 16).shape
    (3,)
    >>> 0 <= clf.forget_rate_ <= 0.9
    True
    """

    _net_class = CoTeachingNet
    _parameters = {
        "forget_rate": Number(0, 1, high_open=True, auto=True),
        "num_gradual": Epochs(),
        "exponent": Number(0, low_open=True),
        "inference": Option("ensemble", "first"),
    }
    _n_networks = 2

    def __init__(
        self,
        forget_rate="auto",
        *,
        num_gradual=0.1,
        exponent=1.0,
        inference="ensemble",
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
        self.forget_rate = forget_rate
        self.num_gradual = num_gradual
        self.exponent = exponent
        self.inference = inference
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

    def _resolve_settings(self, settings, max_epochs):
        if settings["forget_rate"] == "auto":
            # The estimate is taken during the ramp; an untrained network overestimates.
            settings["num_gradual"] = lengthen_for_estimate(settings["num_gradual"], max_epochs)
        self.num_gradual_ = settings["num_gradual"]
        return settings

    def _copy_fitted_state(self, result):
        self.forget_rate_ = float(result.forget_rate)

    def _fit_warnings(self, result, n_trained_classes):
        messages = super()._fit_warnings(result, n_trained_classes)
        if result.uninformative_estimate:
            n_classes = len(self.classes_)
            messages.append(
                f"the estimated noise rate {self.forget_rate_:.2f} is close to "
                f"{n_classes - 1}/{n_classes}, where labels carry no information: the "
                "networks had probably not yet fit the data when it was taken, and "
                "Co-teaching dropped most samples. Set forget_rate explicitly, or give the "
                "ramp more epochs (num_gradual) or steps (smaller batch_size)."
            )
        return messages
