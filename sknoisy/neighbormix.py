"""NeighborMix: synthetic samples mixed with nearest neighbours, with soft labels.

Lu & He, "Mitigating Noisy Supervision Using Synthetic Samples with Soft Labels",
arXiv:2406.16966 (the journal version of MixNN, IEEE BigData 2021). The docs page
``docs/neighbormix.md`` says which parts follow the paper and the authors' code, and
where sknoisy deviates.

Early in training, rows of the same true class lie close together in the network's
representation space whatever their given labels. So each training row is replaced by a
synthetic row: a convex combination of the row and its nearest neighbours in
representation space, weighted by each member's probability of being clean (from a
two-component mixture model of the per-row losses). A probably mislabelled row is mostly
overwritten by its probably clean neighbours. Its target is the same combination of soft
targets, which start as the given labels and follow an exponential moving average of
the network's predictions.

Phases, per epoch ``e`` (``W`` = warm-up epochs, ``S`` = ``neighbor_start``):

- ``e < W``: cross-entropy on the given labels;
- ``W <= e <= S``: mixup with a random partner (:func:`~sknoisy.selection.mixup`), on
  the given labels (on the soft targets at ``e = S``);
- ``e > S``: neighbour mixing on the soft targets (``NeighborMixNet.neighbor_mix``);
- from ``e = S`` on, every ``target_update_every`` epochs, the soft targets move towards
  the network's predictions (:func:`update_soft_targets`, ``momentum``).

From the warm-up's end, each epoch begins with one eval pass over the training set
(``NeighborMixNet.epoch_pass``); it gives the per-row losses for the mixture model
(``NeighborMixNet.clean_posterior``), the predictions for the soft targets and the
representations for the neighbour search (:func:`dataset_neighbors`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._base import BaseNoisyClassifier, fill_doc
from ._sparse import SparseBatch
from ._training import NoisyLabelNet
from ._validation import Epochs, Number, Option
from .losses import get_loss
from .modules import forward_with_representation
from .selection import loss_mixture_clean_posterior, mixup

__all__ = ["NeighborMixClassifier"]

METRICS = ("euclidean", "cosine")
SCOPES = ("batch", "dataset")
LOSS_TARGETS = ("corrected", "noisy")
# Added to the anchor's weight (as in the authors' code): a group of rows that all look
# corrupted keeps its anchor instead of dividing by zero.
_ANCHOR_EPS = 1e-10
# Largest block of the dataset-wide distance computation, in distances (64 MiB of
# float32): query rows are taken in blocks of this many distances to every row.
_DISTANCE_BLOCK_SIZE = 2**24


def pairwise_distances(A, B, metric):
    """Distances between the rows of ``A`` and of ``B``: Euclidean, or 1 - cosine."""
    if metric == "cosine":
        return 1.0 - F.normalize(A, dim=1) @ F.normalize(B, dim=1).T
    return torch.cdist(A, B)


def nearest_neighbors(Z, n_neighbors, metric, query=None, query_index=None):
    """Indices of each query row's ``n_neighbors`` nearest rows of ``Z``, itself excluded.

    ``query`` defaults to ``Z``; ``query_index`` are the query rows' positions in ``Z`` (to
    exclude themselves), by default ``0 .. len(query) - 1``.
    """
    query = Z if query is None else query
    if query_index is None:
        query_index = torch.arange(len(query), device=Z.device)
    distances = pairwise_distances(query, Z, metric)
    distances[torch.arange(len(query), device=Z.device), query_index] = float("inf")
    return distances.topk(n_neighbors, dim=1, largest=False).indices


def dataset_neighbors(Z, n_neighbors, metric, block_size=_DISTANCE_BLOCK_SIZE):
    """Each row's ``n_neighbors`` nearest other rows of ``Z``, in blocks of query rows
    of at most ``block_size`` distances (the full distance matrix of a large training
    set would not fit in memory)."""
    block = max(1, block_size // len(Z))
    return torch.cat(
        [
            nearest_neighbors(
                Z, n_neighbors, metric, Z[start : start + block],
                torch.arange(start, min(start + block, len(Z)), device=Z.device),
            )
            for start in range(0, len(Z), block)
        ]
    )  # fmt: skip


def update_soft_targets(soft_targets, proba, momentum):
    """The soft targets' step towards the network's predictions: the exponential moving
    average ``momentum * soft_targets + (1 - momentum) * proba``."""
    return momentum * soft_targets + (1 - momentum) * proba


class NeighborMixNet(NoisyLabelNet):
    """One network trained on synthetic rows mixed with their neighbours."""

    # -- state -------------------------------------------------------------------------
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X, y, **kwargs)
        n_classes = int(X.y.max()) + 1
        self.state_.soft_targets = F.one_hot(X.y, n_classes).to(torch.float32)
        self.state_.warmup_end = self.warmup_length(self.settings.warmup_epochs, len(X.y))
        self.state_.neighbor_start = max(self.settings.neighbor_start, self.state_.warmup_end)
        self.state_.clean = None  # clean posterior per row, from the loss mixture model
        self.state_.recent_losses = []  # the last loss_window epochs' normalised losses
        self.state_.neighbors = None
        self.state_.phase = "warmup"

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        epoch = self.current_epoch
        if epoch < self.state_.warmup_end:
            self.state_.phase = "warmup"
        else:
            self.state_.phase = "neighbors" if epoch > self.state_.neighbor_start else "mixup"
            update_targets = epoch >= self.state_.neighbor_start and (
                (epoch - self.state_.neighbor_start) % self.settings.target_update_every == 0
            )
            self.epoch_pass(update_targets)
            self.history.record("clean_fraction", float((self.state_.clean >= 0.5).float().mean()))
        self.history.record("phase", self.state_.phase)

    # -- the per-epoch pass ------------------------------------------------------------
    @torch.no_grad()
    def epoch_pass(self, update_targets):
        """Clean posterior, soft-target update and representations, from one eval pass."""
        state, settings = self.state_, self.settings
        # Batch-scope neighbours come from each batch's own representation (neighbor_mix).
        need_representation = state.phase == "neighbors" and settings.neighbor_scope == "dataset"
        logits, *representation = self.full_pass(self.module_, need_representation)
        n = len(logits)
        self.record_logits(torch.arange(n, device=logits.device), logits)
        labels = state.soft_targets.argmax(dim=1) if settings.loss_target == "corrected" else None
        state.clean = self.clean_posterior(logits, labels)
        if update_targets:
            soft_targets = update_soft_targets(
                state.soft_targets, logits.softmax(dim=1), settings.momentum
            )
            # A checked row keeps its given label as its target.
            trusted = self.data_.trusted
            if trusted is not None:
                soft_targets = torch.where(trusted[:, None], state.soft_targets, soft_targets)
            state.soft_targets = soft_targets
        state.neighbors = None
        if need_representation:
            k = min(settings.n_neighbors, n - 1)
            state.neighbors = dataset_neighbors(representation[0], k, settings.metric)

    def clean_posterior(self, logits, labels=None):
        """Each row's probability of being clean: the loss mixture model's posterior (1
        for a trusted row).

        Losses are taken against ``labels`` (default: the given labels), min-max
        normalised and averaged over the last ``loss_window`` epochs.
        """
        labels = self.data_.y if labels is None else labels
        losses = F.cross_entropy(logits, labels, reduction="none")
        losses = (losses - losses.min()) / (losses.max() - losses.min()).clamp_min(1e-12)
        window = self.settings.loss_window
        self.state_.recent_losses = (self.state_.recent_losses + [losses])[-window:]
        mean_loss = torch.stack(self.state_.recent_losses).mean(dim=0)
        clean = loss_mixture_clean_posterior(mean_loss.double().cpu().numpy())
        return self.trust(torch.as_tensor(clean, dtype=torch.float32, device=logits.device))

    # -- training ----------------------------------------------------------------------
    def compute_loss(self, X, y, index):
        X = self.augment(X, index, self.settings.augment_noise)
        if self.state_.phase == "warmup":
            logits = self.module_(X)
            self.record_logits(index, logits)
            return self.weighted_mean(self.criterion_(logits, y), index), (logits,)
        if self.state_.phase == "mixup":
            targets = (
                self.state_.soft_targets[index]
                if self.current_epoch >= self.state_.neighbor_start
                else F.one_hot(y, self.state_.soft_targets.shape[1]).to(torch.float32)
            )
            X_mixed, targets_mixed = mixup(X, targets, self.settings.mixup_alpha)
        else:
            X_mixed, targets_mixed = self.neighbor_mix(X, index)
        logits = self.module_(X_mixed)
        loss = -(targets_mixed * logits.log_softmax(dim=1)).sum(dim=1)
        return self.weighted_mean(loss, index), (logits,)

    def neighbor_mix(self, X, index):
        """Each row mixed with its nearest neighbours, weighted by clean posterior."""
        if self.settings.neighbor_scope == "dataset":
            group = torch.cat([index[:, None], self.state_.neighbors[index]], dim=1)
            neighbors = self.augment(
                self.data_.X[group[:, 1:]], group[:, 1:], self.settings.augment_noise
            )
            members = torch.cat([X[:, None], neighbors], dim=1)  # (B, K + 1, ...)
        else:
            # As the authors' code: the batch's representation from the current network,
            # in its training mode, without gradient. Nothing of size n_samples x d is
            # kept, and neighbours follow the representation as it evolves.
            with torch.no_grad():
                representation = forward_with_representation(self.module_, X)[1]
            k = min(self.settings.n_neighbors, len(index) - 1)
            local = nearest_neighbors(representation, k, self.settings.metric)
            local = torch.cat([torch.arange(len(index), device=X.device)[:, None], local], 1)
            group, members = index[local], X[local]
        weights = self.state_.clean[group]
        weights[:, 0] += _ANCHOR_EPS
        weights = weights / weights.sum(dim=1, keepdim=True)
        X_mixed = (weights.view(weights.shape + (1,) * (X.dim() - 1)) * members).sum(dim=1)
        targets = (weights[:, :, None] * self.state_.soft_targets[group]).sum(dim=1)
        return X_mixed, targets

    # -- results -----------------------------------------------------------------------
    def estimate_label_quality(self):
        """Label quality: the loss mixture model's clean posterior of the *given* labels
        after training; the noise rate: the fraction with posterior below 0.5."""
        logits = self.full_pass(self.module_)[0]
        self.state_.recent_losses = []
        quality = self.clean_posterior(logits).double().cpu().numpy()
        return quality, float((quality < 0.5).mean())

    def method_results(self):
        """The warm-up's length and each row's soft target's class."""
        return {
            "warmup_end": self.state_.warmup_end,
            "soft_target_labels": self.state_.soft_targets.argmax(dim=1).cpu().numpy(),
        }


@fill_doc
class NeighborMixClassifier(BaseNoisyClassifier):
    """Synthetic samples mixed with nearest neighbours in representation space, weighted
    by a loss mixture model, with gradually corrected soft labels.

    Lu & He, "Mitigating Noisy Supervision Using Synthetic Samples with Soft Labels",
    arXiv:2406.16966 (MixNN). After a warm-up on the given labels and a phase of plain
    mixup, every training row is replaced by a synthetic row: the row and its nearest
    neighbours in the network's penultimate representation, averaged with weights
    proportional to each one's probability of being clean. That probability comes from
    a two-component Gaussian mixture fitted to the per-row losses once per epoch. The
    targets are mixed the same way from soft targets, which start as the given labels
    and follow an exponential moving average of the network's predictions. See
    ``docs/neighbormix.md``.

    Parameters
    ----------
    n_neighbors : int, default=1
        Neighbours mixed with each row (the row itself not counted).
    metric : {"euclidean", "cosine"}, default="euclidean"
        Distance in representation space.
    neighbor_scope : {"batch", "dataset"}, default="batch"
        Where neighbours are searched: within each mini-batch (as the authors' code), or
        over the whole training set once per epoch (better with many classes or small
        batches; memory and time grow as ``n_samples ** 2`` per epoch).
    warmup_epochs : "auto", int or float, default="auto"
        Epochs (int) or fraction of ``max_epochs`` (float) of plain cross-entropy on the
        given labels. ``"auto"``: about 100 optimisation steps, at most 10% of the run,
        at least one epoch.
    neighbor_start : int or float, default=0.2
        Epoch (int) or fraction of ``max_epochs`` (float) from which the soft targets are
        used and updated; neighbour mixing starts the epoch after. Between the warm-up
        and this epoch, rows are mixed with a random partner (mixup). Never before the
        warm-up's end.
    momentum : float in [0, 1), default=0.9
        Weight of the previous soft targets in each update.
    target_update_every : int, default=1
        Epochs between soft-target updates (the authors' code: 10, with warm restarts of
        the learning rate every 10 epochs).
    mixup_alpha : float, default=1.0
        Beta parameter of the mixup phase.
    loss_window : int, default=1
        Epochs of normalised losses averaged before fitting the mixture model (the
        authors' code uses 5 at 80% noise).
    loss_target : {"corrected", "noisy"}, default="corrected"
        Labels the per-row losses of the mixture model are taken against: the argmax of
        the soft targets (as the authors' code) or the given labels.
    augment_noise : float, default=0.5
        Standard deviation of the Gaussian noise added to every training row before it
        is mixed, in each feature's normal scores (its quantiles among the training
        rows, through the inverse normal CDF), mapped back through the feature's
        quantiles (:func:`~sknoisy.selection.augment`); 0 turns it off. It slows the
        memorisation of wrong labels (``docs/neighbormix.md`` has the measurements).
    {common_parameters}

    Attributes
    ----------
    corrected_labels_ : ndarray of shape (n_samples,)
        Per training row, the argmax of its final soft target.
    warmup_epochs_ : int
        Warm-up length in epochs.
    {common_attributes}

    See Also
    --------
    DualEMClassifier : two EM cycles that separate and refurbish labels.

    Notes
    -----
    The network must expose its penultimate representation: a custom ``module`` needs
    callable ``features`` and ``classifier`` attributes with
    ``module(X) == module.classifier(module.features(X))``, as the default MLP has.

    ``label_quality_`` is the mixture model's clean posterior of the given labels after
    training (a last eval pass), and ``noise_rate_`` the fraction of rows whose posterior
    is below 0.5. History columns per epoch: ``phase`` (``"warmup"``, ``"mixup"`` or
    ``"neighbors"``) and, after the warm-up, ``clean_fraction`` (fraction of rows with
    clean posterior at least 0.5).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknoisy import NeighborMixClassifier, make_label_noise
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy = make_label_noise(y, "symmetric", 0.4, random_state=0)
    >>> clf = NeighborMixClassifier(max_epochs=5, random_state=0).fit(X / 16, y_noisy)
    >>> clf.predict(X[:3] / 16).shape
    (3,)
    >>> clf.corrected_labels_.shape
    (1797,)
    """

    _net_class = NeighborMixNet
    _parameters = {
        "n_neighbors": Number(1, integer=True),
        "metric": Option(*METRICS),
        "neighbor_scope": Option(*SCOPES),
        "warmup_epochs": Epochs(warmup=True),
        "neighbor_start": Epochs(),
        "momentum": Number(0, 1, high_open=True),
        "target_update_every": Number(1, integer=True),
        "mixup_alpha": Number(0, low_open=True),
        "loss_window": Number(1, integer=True),
        "loss_target": Option(*LOSS_TARGETS),
        "augment_noise": Number(0),
    }

    def __init__(
        self,
        n_neighbors=1,
        *,
        metric="euclidean",
        neighbor_scope="batch",
        warmup_epochs="auto",
        neighbor_start=0.2,
        momentum=0.9,
        target_update_every=1,
        mixup_alpha=1.0,
        loss_window=1,
        loss_target="corrected",
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
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.neighbor_scope = neighbor_scope
        self.warmup_epochs = warmup_epochs
        self.neighbor_start = neighbor_start
        self.momentum = momentum
        self.target_update_every = target_update_every
        self.mixup_alpha = mixup_alpha
        self.loss_window = loss_window
        self.loss_target = loss_target
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

    def _check_module_output(self, module, X, n_classes):
        BaseNoisyClassifier._check_module_output(module, X, n_classes)
        module.eval()
        try:
            with torch.no_grad():
                rows = X[:2]  # an array, a tensor, or a batch of sparse rows
                if not isinstance(rows, (torch.Tensor, SparseBatch)):
                    rows = torch.as_tensor(rows)
                forward_with_representation(module, rows)
        finally:
            module.train()

    def _copy_fitted_state(self, result):
        self.warmup_epochs_ = int(result.warmup_end)
        self.corrected_labels_ = self.classes_[result.soft_target_labels]
