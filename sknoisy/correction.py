"""Loss correction with a noise transition matrix, and the noise-adaptation layer.

Patrini et al., "Making Deep Neural Networks Robust to Label Noise: a Loss Correction
Approach", CVPR 2017; Goldberger & Ben-Reuven, "Training Deep Neural-Networks Using a
Noise Adaptation Layer", ICLR 2017.

With ``T[i, j] = P(given j | true i)`` (the convention of :mod:`sknoisy.noise`) and the
network's clean class probabilities ``p(x)``, the given labels follow ``p(x) @ T``:

- ``"forward"`` (:func:`forward_corrected_loss`): cross-entropy of the given label under
  ``p(x) @ T``;
- ``"backward"`` (:func:`backward_corrected_loss`): the per-class cross-entropies of
  ``p(x)`` mixed by ``T^{-1}``, an unbiased estimate of the loss on the true labels;
- ``"adaptation_layer"`` (:class:`NoiseAdaptationLayer`): as forward, with ``T`` a
  learned layer (softmax of a free matrix per row) initialised from the estimate;
  dropped at inference.

Unless given, ``T`` is estimated at the end of a warm-up on the given labels, from the
network's predicted probabilities (:func:`~sknoisy.quality.estimate_transition_matrix`:
the confident joint, or anchor points as in the paper), then revised a few times from
the corrected network's own predictions. Rows whose label was checked (``trusted``)
are trained on without correction, and ``T`` is estimated from the other rows: their
labels are the ones that went through the noise.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ._base import BaseNoisyClassifier, fill_doc
from ._training import NoisyLabelNet
from ._validation import Epochs, Given, Number, Option, check_option, check_stochastic_matrix
from .losses import get_loss
from .quality import TRANSITION_METHODS, estimate_transition_matrix

__all__ = ["LossCorrectionClassifier"]

CORRECTIONS = ("forward", "backward", "adaptation_layer")
# Floor of transition entries before taking their logarithm (initialising the layer).
_TRANSITION_FLOOR = 1e-6
# Backward correction inverts T; beyond this condition number the inverse amplifies
# the losses' noise more than it removes the labels' noise.
_MAX_BACKWARD_CONDITION = 1e4
# Revisions of an estimated T come every this fraction of max_epochs (at least one
# epoch): early, before the corrected network starts to fit the given labels.
_REVISION_FRACTION = 0.1


class NoiseAdaptationLayer(nn.Module):
    """A learned row-stochastic ``(K, K)`` matrix: the softmax of a free matrix per row."""

    def __init__(self, n_classes):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_classes, n_classes))

    @torch.no_grad()
    def initialise(self, transition):
        self.weight.copy_(transition.clamp_min(_TRANSITION_FLOOR).log())

    def matrix(self):
        return self.weight.softmax(dim=1)


def forward_corrected_loss(log_proba, T, y):
    """Forward correction, per row: ``-log P(given y | x) = -log sum_i p_i(x) T[i, y]``,
    the cross-entropy of the given label under the network's clean probabilities
    pushed through ``T`` (computed in log space)."""
    log_T = T.clamp_min(1e-30).log()
    return -torch.logsumexp(log_proba + log_T[:, y].T, dim=1)


def backward_corrected_loss(log_proba, T_inverse, y):
    """Backward correction, per row: ``sum_j T^{-1}[y, j] * (-log p_j(x))``, the
    per-class cross-entropies mixed by the inverse of ``T``: an unbiased estimate of the
    loss on the true labels."""
    return -(T_inverse[y] * log_proba).sum(dim=1)


class LossCorrectionNet(NoisyLabelNet):
    """One network whose loss is corrected by the transition matrix."""

    # T is estimated from the network's predictions at the warm-up's end.
    auto_warmup_max_fraction = 0.5

    def __init__(self, *args, n_classes, **kwargs):
        super().__init__(*args, **kwargs)
        self.n_classes = n_classes  # the adaptation layer's size

    def initialize_module(self):
        super().initialize_module()
        if self.settings.correction == "adaptation_layer":
            # Registered the skorch way (a ``*_`` module set here): it moves with
            # ``device``, and its weight joins the optimizer.
            self.noise_layer_ = NoiseAdaptationLayer(self.n_classes).to(self.device)
        return self

    # -- state -------------------------------------------------------------------------
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X, y, **kwargs)
        given = self.transition_estimator is None
        # A given matrix needs no warm-up: correction starts at the first epoch.
        warmup = self.settings.warmup_epochs
        self.state_.warmup_end = 0 if given else self.warmup_length(warmup, len(X.y))
        self.state_.transition = None
        self.state_.inverse = None  # T's inverse, for the backward correction
        if given:
            self.set_transition(self.settings.transition_matrix)

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        epoch = self.current_epoch
        if epoch == self.state_.warmup_end and self.state_.transition is None:
            # The warm-up network models the given labels: P(given | x).
            proba = self.full_pass(self.module_)[0].softmax(dim=1).double().cpu().numpy()
            T = self.estimate_transition(proba, self.transition_estimator)
            self.set_transition(T)
        elif self.transition_estimator is not None and self.is_revision_epoch(epoch):
            # The corrected network models the true classes: count the given labels
            # of the rows it confidently predicts as each class.
            proba = self.full_pass(self.module_)[0].softmax(dim=1).double().cpu().numpy()
            T = self.estimate_transition(proba, "confident_joint")
            invertible = np.linalg.cond(T) <= _MAX_BACKWARD_CONDITION
            if self.settings.correction != "backward" or invertible:
                self.set_transition(T)
        self.history.record("phase", "warmup" if self.state_.transition is None else "corrected")

    def estimate_transition(self, proba, method):
        """``T`` from the untrusted rows' given labels and ``proba`` (a checked label
        would count as one that the noise left alone); the identity when every row is
        trusted."""
        trusted, labels = self.data_.trusted, self.data_.labels
        untrusted = np.ones(len(labels), bool) if trusted is None else ~trusted.cpu().numpy()
        if not untrusted.any():
            return np.eye(proba.shape[1])  # every label checked: nothing to correct
        return estimate_transition_matrix(
            labels[untrusted], proba[untrusted], method=method,
            percentile=self.settings.anchor_percentile,
        )  # fmt: skip

    @property
    def transition_estimator(self):
        """How ``T`` is estimated (``"anchor"`` or ``"confident_joint"``); None when
        ``transition_matrix`` was given."""
        T = self.settings.transition_matrix
        return T if isinstance(T, str) else None

    def is_revision_epoch(self, epoch):
        """Whether ``T`` is re-estimated at the start of ``epoch``: ``revisions`` times,
        every ``_REVISION_FRACTION`` of the run after the warm-up."""
        every = max(1, round(_REVISION_FRACTION * self.max_epochs))
        since = epoch - self.state_.warmup_end
        return since > 0 and since % every == 0 and since // every <= self.settings.revisions

    def set_transition(self, T):
        """Use ``T`` from now on: as it is, inverted (backward) or as the layer's start."""
        T = torch.as_tensor(T, dtype=torch.float32)
        self.state_.transition = T.to(self.device)
        if self.settings.correction == "backward":
            condition = float(np.linalg.cond(T.double().cpu().numpy()))
            if condition > _MAX_BACKWARD_CONDITION:
                raise ValueError(
                    f"correction='backward' cannot invert the estimated transition matrix "
                    f"(condition number {condition:.3g}); use correction='forward' or give "
                    "transition_matrix"
                )
            self.state_.inverse = torch.linalg.inv(self.state_.transition.double()).float()
        if self.settings.correction == "adaptation_layer":
            self.noise_layer_.initialise(self.state_.transition)

    def corrected_transition(self):
        """The matrix the loss uses: learned for the adaptation layer, else ``T``."""
        if self.settings.correction == "adaptation_layer":
            return self.noise_layer_.matrix()
        return self.state_.transition

    # -- training ----------------------------------------------------------------------
    def compute_loss(self, X, y, index):
        logits = self.module_(self.augment(X, index, self.settings.augment_noise))
        self.record_logits(index, logits)
        if self.state_.transition is None:  # warm-up
            return self.weighted_mean(self.criterion_(logits, y), index), (logits,)
        log_proba = logits.log_softmax(dim=1)
        if self.settings.correction == "backward":
            losses = backward_corrected_loss(log_proba, self.state_.inverse, y)
        else:
            losses = forward_corrected_loss(log_proba, self.corrected_transition(), y)
        losses = self.trusted_on_cross_entropy(losses, logits, y, index)
        return self.weighted_mean(losses, index), (logits,)

    # -- results -----------------------------------------------------------------------
    @torch.no_grad()
    def estimate_label_quality(self):
        """Label quality: each row's posterior probability that its given label is its
        true class, ``p_y T[y, y] / sum_i p_i T[i, y]``; the noise rate: the fraction of
        rows below 0.5. Before any correction (training ended in the warm-up), the
        shared estimate."""
        if self.state_.transition is None:
            return super().estimate_label_quality()
        T = self.corrected_transition().detach()
        proba = self.full_pass(self.module_)[0].softmax(dim=1)
        y = self.data_.y
        noisy = (proba @ T).gather(1, y[:, None]).squeeze(1)
        clean = proba.gather(1, y[:, None]).squeeze(1) * T[y, y]
        quality = (clean / noisy.clamp_min(1e-30)).clamp(0.0, 1.0).double().cpu().numpy()
        return quality, float((quality < 0.5).mean())

    @torch.no_grad()
    def method_results(self):
        """The warm-up's length and the transition matrix the loss used at the end (as
        NumPy: a tensor left on a GPU would not unpickle on a machine without one; None
        when training ended in the warm-up)."""
        transition = None
        if self.state_.transition is not None:
            transition = self.corrected_transition().detach().double().cpu().numpy()
        return {"warmup_end": self.state_.warmup_end, "transition_matrix": transition}


@fill_doc
class LossCorrectionClassifier(BaseNoisyClassifier):
    """A network trained with a loss corrected by the noise transition matrix.

    Patrini et al., "Making Deep Neural Networks Robust to Label Noise: a Loss
    Correction Approach", CVPR 2017 (forward and backward correction); Goldberger &
    Ben-Reuven, "Training Deep Neural-Networks Using a Noise Adaptation Layer", ICLR 2017
    (the adaptation layer). With ``T[i, j]`` the probability that a row of true class
    ``i`` carries the label ``j``, the network's clean probabilities ``p(x)`` are
    trained so that ``p(x) @ T`` fits the given labels. ``T`` is given, or estimated at
    the end of a warm-up on the given labels and then revised from the corrected
    network's predictions. See ``docs/loss_correction.md``.

    Parameters
    ----------
    correction : {"forward", "backward", "adaptation_layer"}, default="forward"
        ``"forward"``: cross-entropy of the given label under ``p(x) @ T``.
        ``"backward"``: per-class cross-entropies mixed by ``T``'s inverse (needs an
        invertible, well-conditioned ``T``). ``"adaptation_layer"``: as forward, with
        ``T`` a layer learned jointly with the network, initialised from the estimate
        and dropped at inference.
    transition_matrix : "confident_joint", "anchor" or array-like of shape \
(n_classes, n_classes), default="confident_joint"
        The matrix, rows and columns in the order of ``classes_`` (the sorted labels),
        rows summing to one; or how to estimate it from the network's predictions at
        the end of the warm-up: the confident joint, or anchor points (the paper; see
        :func:`~sknoisy.quality.estimate_transition_matrix`).
    anchor_percentile : float in [0, 100], default=97.0
        Anchor points are the rows with the highest predicted probability of each class
        below this percentile (the paper's 97th).
    revisions : int, default=2
        Times an estimated ``T`` is estimated again during the corrected phase, every
        10% of ``max_epochs`` (at least one epoch): the confident joint of the
        corrected network's own predictions, which separate the classes better than the
        warm-up network's. Few and early: later, as the network comes to fit the given
        labels, the counts drift towards the identity. 0 keeps the first estimate.
        Ignored when ``T`` is given.
    warmup_epochs : "auto", int or float, default="auto"
        Epochs (int) or fraction of ``max_epochs`` (float) of plain cross-entropy before
        ``T`` is estimated. ``"auto"``: about 100 optimisation steps, at most half of the
        run, at least one epoch (an estimate from a network that has learnt little is
        close to uniform, and correcting by it removes the signal). Ignored when ``T``
        is given: correction starts at once.
    augment_noise : float, default=0.5
        Standard deviation of the Gaussian noise added to every training batch in each
        feature's normal scores (its quantiles among the training rows, through the
        inverse normal CDF), mapped back through the feature's quantiles
        (:func:`~sknoisy.selection.augment`); 0 turns it off.
    {common_parameters}

    Attributes
    ----------
    transition_matrix_ : ndarray of shape (n_classes, n_classes) or None
        The matrix the loss used (for ``"adaptation_layer"``, the learned one at the end);
        rows are true classes, columns given labels, in the order of ``classes_``. None
        when training ended within the warm-up.
    warmup_epochs_ : int
        Warm-up length in epochs (0 when ``T`` was given).
    {common_attributes}

    See Also
    --------
    sknoisy.quality.estimate_transition_matrix : the estimate, for any model's
        probabilities.
    sknoisy.noise.transition_matrix : the realised matrix of simulated noise.

    Notes
    -----
    ``label_quality_`` is each row's posterior probability that its given label is its
    true class under the fitted model, ``p_y(x) T[y, y] / sum_i p_i(x) T[i, y]``, and
    ``noise_rate_`` the fraction of rows where it is below 0.5. History column ``phase``:
    ``"warmup"`` or ``"corrected"``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknoisy import LossCorrectionClassifier, make_label_noise
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy = make_label_noise(y, "pairflip", 0.3, random_state=0)
    >>> clf = LossCorrectionClassifier(max_epochs=5, random_state=0).fit(X / 16, y_noisy)
    >>> clf.transition_matrix_.shape
    (10, 10)
    """

    _net_class = LossCorrectionNet
    _parameters = {
        "correction": Option(*CORRECTIONS),
        "transition_matrix": Given(),
        "anchor_percentile": Number(0, 100),
        "revisions": Number(0, integer=True),
        "warmup_epochs": Epochs(warmup=True),
        "augment_noise": Number(0),
    }

    def __init__(
        self,
        correction="forward",
        *,
        transition_matrix="confident_joint",
        anchor_percentile=97.0,
        revisions=2,
        warmup_epochs="auto",
        augment_noise=0.5,
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
        self.correction = correction
        self.transition_matrix = transition_matrix
        self.anchor_percentile = anchor_percentile
        self.revisions = revisions
        self.warmup_epochs = warmup_epochs
        self.augment_noise = augment_noise
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
        """``transition_matrix``: an estimation method, or the given matrix, checked
        against the classes in ``y``."""
        T = self.transition_matrix
        if isinstance(T, str):
            check_option(T, "transition_matrix", TRANSITION_METHODS)
            return {"n_classes": n_classes}
        try:
            T = np.asarray(T, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"transition_matrix must be 'confident_joint', 'anchor' or a "
                f"({n_classes}, {n_classes}) array of numbers, got {self.transition_matrix!r}"
            ) from error
        if T.shape != (n_classes, n_classes):
            raise ValueError(
                f"transition_matrix must have shape ({n_classes}, {n_classes}), one row and "
                f"column per class in classes_; got shape {T.shape}"
            )
        # Rows are true classes, columns given labels.
        T = check_stochastic_matrix(T, "transition_matrix", atol=1e-6, rtol=1e-5)
        unreachable = np.flatnonzero(T[:, np.unique(y_encoded)].sum(axis=0) == 0)
        if unreachable.size:
            raise ValueError(
                f"transition_matrix gives probability 0 to labels that occur in y (columns "
                f"{unreachable.tolist()})"
            )
        if self.correction == "backward" and np.linalg.cond(T) > _MAX_BACKWARD_CONDITION:
            raise ValueError(
                "correction='backward' needs an invertible transition_matrix; this one is "
                "singular or nearly so. Use correction='forward'."
            )
        settings["transition_matrix"] = T
        return {"n_classes": n_classes}

    def _copy_fitted_state(self, result):
        self.warmup_epochs_ = int(result.warmup_end)
        self.transition_matrix_ = result.transition_matrix
