"""DivideMix (Li, Socher & Hoi, ICLR 2020): co-divided semi-supervised learning.

Two networks. After a warm-up on the given labels, each epoch begins with the
co-division (:func:`co_divide`): each network's per-row losses over the whole training
set, split by a two-component Gaussian mixture into a probably clean (labelled) and a
probably noisy (unlabelled) part. Each network is then trained on the division made by
the *other* network, which keeps a network from confirming its own mistakes:

- labelled rows: co-refinement (:func:`co_refine`), the given label blended with the
  network's own prediction by the peer's clean posterior ``w``, then sharpened
  (``temperature``);
- unlabelled rows: co-guessing (:func:`co_guess`), the average of both networks'
  predictions, sharpened;
- mixup (:func:`~sknoisy.selection.mixup_draw` and :func:`~sknoisy.selection.mix`) of
  the inputs and these targets (``mixup_alpha``), one draw per batch for both networks;
- the semi-supervised loss (:func:`semi_supervised_losses`): cross-entropy on the
  labelled part, squared error on the unlabelled part weighted by ``lambda_u`` (ramped
  in), and a penalty (:func:`prior_penalty`) that keeps the mean prediction near the
  class frequencies of the given labels.

Both networks predict: their logits are summed. Feature vectors have no natural
augmentation, so each batch is perturbed with Gaussian noise and feature masking
(``augment_noise``, ``augment_mask``) before it is used.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._base import BaseNoisyClassifier, fill_doc
from ._training import NoisyLabelNet
from ._validation import Epochs, Flag, Number, is_auto
from .losses import get_loss
from .quality import estimate_noise_rate
from .selection import (
    AUTO_MAX_EPOCHS,
    linear_ramp,
    loss_mixture_clean_posterior,
    mix,
    mixup_draw,
    sharpen,
)

__all__ = ["DivideMixClassifier"]

# lambda_u="auto", as (upper bound of the estimated fraction of wrong labels, lambda_u);
# the last bound is inclusive. DivideMix's CIFAR-10 presets are 0 at 20% symmetric noise,
# 25 at 50% and 80%, 50 at 90% (fractions actually wrong: 18%, 45%, 72%, 81%). Here the
# unlabelled loss starts only above 55%: while about half the rows or more are labelled,
# they train the networks as well alone on images and better on tables, where guessed
# targets lock the networks into their early mistakes. With fewer labelled rows the
# guesses are what lets the networks learn at all.
_AUTO_LAMBDA_U = ((0.55, 0.0), (0.75, 25.0), (1.0, 50.0))
# mixup_alpha="auto" and augment_noise="auto" on runs of AUTO_MAX_EPOCHS passes or more.
_FULL_MIXUP_ALPHA = 4.0
_FULL_AUGMENT_NOISE = 0.5


class RunStrength(Number):
    """``mixup_alpha`` or ``augment_noise``: a number at least 0 (above 0 with ``low_open``)
    as it is; ``"auto"`` as ``full`` times the run's share of ``AUTO_MAX_EPOCHS``
    passes, at most ``full``.

    Mixup and the augmentation keep the networks from memorising wrong labels, and
    memorising a label takes passes over its row. ``max_epochs="auto"`` gives small data
    ``AUTO_MAX_EPOCHS`` (50) passes, and there both at full strength pay. Large data gets
    fewer passes (at least ``AUTO_MIN_EPOCHS``, 10) and memorises less; with both at full
    strength the networks there fall short of fitting even the rows they keep.
    """

    def __init__(self, full, *, low_open=False):
        super().__init__(0, low_open=low_open, auto=True)
        self.full = full

    def resolve(self, value, name, max_epochs):
        value = super().resolve(value, name, max_epochs)
        if is_auto(value):
            return self.full * min(1.0, max_epochs / AUTO_MAX_EPOCHS)
        return value


# -- the algorithm's steps, on tensors ----------------------------------------------------
def co_divide(losses):
    """Co-divide: each network's clean posterior of every row, the posterior of the
    low-loss component of a two-component Gaussian mixture of that network's per-row
    losses (:func:`~sknoisy.selection.loss_mixture_clean_posterior`). Each network then
    trains on its peer's division.

    ``losses``: one tensor of per-row losses per network. Returns a float32 tensor of
    shape ``(n_networks, n)``.
    """
    posteriors = [
        torch.as_tensor(
            loss_mixture_clean_posterior(network_losses.double().cpu().numpy()),
            dtype=torch.float32, device=network_losses.device,
        )  # fmt: skip
        for network_losses in losses
    ]
    return torch.stack(posteriors)


def co_refine(given, proba, peer_clean, temperature):
    """Co-refine a labelled row's target: its given label (one-hot ``given``) blended
    with the network's own prediction ``proba`` by the peer's clean posterior
    ``peer_clean``, then sharpened at ``temperature``."""
    w = peer_clean[:, None]
    return sharpen(w * given + (1 - w) * proba, temperature)


def co_guess(probas, temperature):
    """Co-guess an unlabelled row's target: the two networks' predictions averaged,
    then sharpened at ``temperature``."""
    return sharpen((probas[0] + probas[1]) / 2, temperature)


def semi_supervised_losses(log_proba, targets):
    """The semi-supervised losses, per row, of a network's log-probabilities on the
    mixed rows against their mixed targets: ``(loss_x, loss_u)``, cross-entropy (for the
    labelled rows) and the squared error of the probabilities (for the unlabelled ones,
    weighted by ``lambda_u``)."""
    loss_x = -(targets * log_proba).sum(dim=1)
    loss_u = ((log_proba.exp() - targets) ** 2).mean(dim=1)
    return loss_x, loss_u


def prior_penalty(log_proba, prior):
    """``KL(prior || the batch's mean prediction)``, with ``prior`` the class
    frequencies of the given labels: the reference's uniform prior would pull the
    predictions of imbalanced data towards the rare classes."""
    mean_proba = log_proba.exp().mean(dim=0).clamp_min(1e-12)
    return (prior * (prior.clamp_min(1e-12).log() - mean_proba.log())).sum()


class DivideMixNet(NoisyLabelNet):
    """Two networks, each trained semi-supervised on the division made by the other."""

    # The division keeps the rows the networks already fit and sets the rest aside.
    auto_warmup_max_fraction = 0.5

    # -- state -------------------------------------------------------------------------
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X, y, **kwargs)
        counts = torch.bincount(X.y, minlength=self.n_classes_).to(X.X.dtype)
        self.state_.label_prior = counts / counts.sum()
        self.state_.warmup_end = self.warmup_length(self.settings.warmup_epochs, len(X.y))
        self.state_.clean = None  # (2, n): each network's clean posterior
        lambda_u = self.settings.lambda_u  # "auto": chosen at the first division
        self.state_.lambda_u = None if is_auto(lambda_u) else lambda_u
        self.state_.current_lambda_u = 0.0

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        epoch = self.current_epoch
        if epoch < self.state_.warmup_end:
            return
        self.state_.clean, proba = self.division()
        labelled = (self.state_.clean > self.settings.p_threshold).float().mean(dim=1)
        if self.state_.lambda_u is None:
            # "auto", at the first division: from the confident-learning estimate of the
            # noise rate. The division itself is no estimate: the loss mixture splits
            # off a high-loss component even from clean labels.
            noise = estimate_noise_rate(self.data_.labels, proba.double().cpu().numpy())
            self.history.record("noise_estimate", noise)
            self.state_.lambda_u = next(value for bound, value in _AUTO_LAMBDA_U if noise <= bound)
        ramp = linear_ramp(epoch - self.state_.warmup_end, self.settings.rampup_epochs)
        self.state_.current_lambda_u = self.state_.lambda_u * ramp
        self.history.record("labelled_fraction", float(labelled.mean()))
        self.history.record("lambda_u", self.state_.current_lambda_u)

    @torch.no_grad()
    def division(self):
        """:func:`co_divide` over the whole training set (eval mode), trusted rows
        clean for both networks, and the two networks' mean predicted probabilities."""
        losses, proba = [], 0.0
        for module in self.networks():
            logits = self.full_pass(module)[0]
            losses.append(F.cross_entropy(logits, self.data_.y, reduction="none"))
            proba = proba + logits.softmax(dim=1) / 2
        return self.trust(co_divide(losses)), proba

    # -- training ----------------------------------------------------------------------
    def compute_loss(self, X, y, index):
        X = self.augment(X, index, self.settings.augment_noise, self.settings.augment_mask)
        if self.state_.clean is None:  # warm-up: both networks on every given label
            logits = [module(X) for module in self.networks()]
            self.record_logits(index, *logits)
            loss = sum(self.criterion_(out, y) for out in logits)
            return self.weighted_mean(loss, index), tuple(logits)
        state, settings = self.state_, self.settings
        guesses = [self.eval_forward(module, X) for module in self.networks()]
        self.record_logits(index, *guesses)
        proba = [out.softmax(dim=1) for out in guesses]
        guessed = co_guess(proba, settings.temperature)
        given = F.one_hot(y, self.n_classes_).to(X.dtype)
        # One mixing coefficient and partner per batch, shared by both networks.
        lam, perm = mixup_draw(settings.mixup_alpha, len(X), X.device)
        X_mixed = mix(X, lam, perm)
        loss = 0.0
        for k, module in enumerate(self.networks()):
            peer_clean = state.clean[1 - k, index]
            labelled = (peer_clean > settings.p_threshold).to(X.dtype)
            refined = co_refine(given, proba[k], peer_clean, settings.temperature)
            targets = mix(torch.where(labelled[:, None] > 0, refined, guessed), lam, perm)
            log_proba = module(X_mixed).log_softmax(dim=1)
            loss_x, loss_u = semi_supervised_losses(log_proba, targets)
            loss = (
                loss
                + self.weighted_mean(loss_x, index, labelled)
                + state.current_lambda_u * self.weighted_mean(loss_u, index, 1 - labelled)
            )
            if settings.prior_penalty:
                loss = loss + prior_penalty(log_proba, state.label_prior)
        return loss, tuple(guesses)

    @torch.no_grad()
    def eval_forward(self, module, X):
        """Logits in eval mode (no dropout), for guesses, as the reference's peer
        network (LiJunnan1992/DivideMix#44)."""
        module.eval()
        logits = module(X)
        module.train()
        return logits

    # -- results -----------------------------------------------------------------------
    def estimate_label_quality(self):
        """Label quality: the two networks' mean clean posterior after training; the
        noise rate: the fraction of rows at or below ``p_threshold``."""
        quality = self.division()[0].mean(dim=0).double().cpu().numpy()
        return quality, float((quality <= self.settings.p_threshold).mean())

    def method_results(self):
        return {
            "warmup_end": self.state_.warmup_end,
            "mixup_alpha": self.settings.mixup_alpha,
            "augment_noise": self.settings.augment_noise,
            "lambda_u": self.state_.lambda_u,
        }

    def proba_from_logits(self, *logits):
        return (logits[0] + logits[1]).softmax(dim=1)  # both networks, logits summed


@fill_doc
class DivideMixClassifier(BaseNoisyClassifier):
    """DivideMix: two networks divide the data into clean and noisy parts for each other
    and learn from both, semi-supervised.

    Li, Socher & Hoi, "DivideMix: Learning with Noisy Labels as Semi-supervised
    Learning", ICLR 2020. After a warm-up, each epoch fits a two-component Gaussian
    mixture to each network's per-row losses; rows whose clean posterior exceeds
    ``p_threshold`` are labelled, the rest unlabelled, and each network trains on the
    other's division: refined labels on the labelled rows, both networks' sharpened
    guesses on the unlabelled rows, mixed up. Both networks predict (logits summed). See
    ``docs/dividemix.md``.

    Parameters
    ----------
    warmup_epochs : "auto", int or float, default="auto"
        Epochs (int) or fraction of ``max_epochs`` (float) in which both networks learn
        every given label. ``"auto"``: about 100 optimisation steps, at most half of the
        run, at least one epoch. (The other methods stop at 10% of the run; a division
        made by networks that have learnt little confirms their mistakes, so on small
        data, with few steps per epoch, DivideMix warms up longer.)
    p_threshold : float in (0, 1), default=0.5
        Clean posterior above which a row is labelled.
    temperature : float, default=0.5
        Sharpening temperature of the refined labels and the guesses.
    mixup_alpha : "auto" or float, default="auto"
        Beta parameter of mixup. ``"auto"``: 4.0 on runs of 50 epochs or more, and on
        shorter ones in proportion to their epochs (large data, which ``max_epochs="auto"``
        gives 10 to 50 epochs, memorises less).
    lambda_u : "auto" or float, default="auto"
        Weight of the unlabelled (squared error) loss, reached linearly over
        ``rampup_epochs`` after the warm-up. ``"auto"`` by noise level: 0 up to 55% of
        wrong labels (the reference: up to about 30%), 25 up to 75%, else 50, with the
        confident-learning estimate (:func:`~sknoisy.quality.estimate_noise_rate`) from
        both networks' predictions at the end of the warm-up.
    rampup_epochs : int or float, default=0.1
        Length of the ramp, in epochs (int) or as a fraction of ``max_epochs`` (float).
    prior_penalty : bool, default=True
        Penalise the batch's mean prediction for moving away from the class
        frequencies of the given labels (the reference's uniform prior, on balanced
        data).
    augment_noise : "auto" or float, default="auto"
        Standard deviation of the Gaussian noise added to every training batch, in each
        feature's normal scores (its quantiles among the training rows, through the
        inverse normal CDF), mapped back through the feature's quantiles
        (:func:`~sknoisy.selection.augment`); 0 turns it off. ``"auto"``: 0.5 on runs
        of 50 epochs or more, and on shorter ones in proportion to their epochs, as
        ``mixup_alpha``.
    augment_mask : float in [0, 1), default=0.0
        Probability that a feature of a training row is replaced by its mean.
    {common_parameters}
    T : deprecated
        Renamed ``temperature``: set, it is used for ``temperature``, with a
        ``FutureWarning``, until sknoisy 0.3.
    alpha : deprecated
        Renamed ``mixup_alpha``: set, it is used for ``mixup_alpha``, with a
        ``FutureWarning``, until sknoisy 0.3.

    Attributes
    ----------
    mixup_alpha_ : float
        The mixup's Beta parameter used (``mixup_alpha`` resolved).
    augment_noise_ : float
        The augmentation's noise used (``augment_noise`` resolved).
    lambda_u_ : float or None
        The unlabelled loss weight after the ramp; None when ``lambda_u="auto"`` and
        training ended before the first division.
    warmup_epochs_ : int
        Warm-up length in epochs.
    {common_attributes}

    See Also
    --------
    CoTeachingClassifier : two networks exchanging small-loss samples, without the
        semi-supervised part.

    Notes
    -----
    ``label_quality_`` is the two networks' mean clean posterior of a last division after
    training, and ``noise_rate_`` the fraction of rows at or below ``p_threshold``.
    History columns per epoch after the warm-up: ``labelled_fraction`` (mean over the two
    divisions) and ``lambda_u`` (after the ramp); with ``lambda_u="auto"``, the first
    division's epoch also has ``noise_estimate``, the estimate ``lambda_u`` was chosen
    from.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknoisy import DivideMixClassifier, make_label_noise
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy = make_label_noise(y, "symmetric", 0.4, random_state=0)
    >>> clf = DivideMixClassifier(max_epochs=5, random_state=0).fit(X / 16, y_noisy)
    >>> clf.predict(X[:3] / 16).shape
    (3,)
    """

    _net_class = DivideMixNet
    _parameters = {
        "warmup_epochs": Epochs(warmup=True),
        "p_threshold": Number(0, 1, low_open=True, high_open=True),
        "temperature": Number(0, low_open=True),
        "mixup_alpha": RunStrength(_FULL_MIXUP_ALPHA, low_open=True),
        "lambda_u": Number(0, auto=True),
        "rampup_epochs": Epochs(),
        "prior_penalty": Flag(),
        "augment_noise": RunStrength(_FULL_AUGMENT_NOISE),
        "augment_mask": Number(0, 1, high_open=True),
    }
    _renamed = {"T": "temperature", "alpha": "mixup_alpha"}
    _n_networks = 2

    def __init__(
        self,
        *,
        warmup_epochs="auto",
        p_threshold=0.5,
        temperature=0.5,
        mixup_alpha="auto",
        lambda_u="auto",
        rampup_epochs=0.1,
        prior_penalty=True,
        augment_noise="auto",
        augment_mask=0.0,
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
        T="deprecated",
        alpha="deprecated",
    ):
        self.warmup_epochs = warmup_epochs
        self.p_threshold = p_threshold
        self.temperature = temperature
        self.mixup_alpha = mixup_alpha
        self.lambda_u = lambda_u
        self.rampup_epochs = rampup_epochs
        self.prior_penalty = prior_penalty
        self.augment_noise = augment_noise
        self.augment_mask = augment_mask
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
        self.T = T
        self.alpha = alpha

    def _criterion(self):
        return get_loss("ce", reduction="none")

    def _copy_fitted_state(self, result):
        self.warmup_epochs_ = int(result.warmup_end)
        self.mixup_alpha_ = result.mixup_alpha
        self.augment_noise_ = result.augment_noise
        # None when "auto" never chose it: training ended before the first division.
        self.lambda_u_ = result.lambda_u
