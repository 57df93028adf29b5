"""The skorch side: in-memory tensor batches and the network trainer every method extends.

Training batches are ``(X, y)`` slices of tensors already on the training device that
also carry their rows' indices (:class:`IndexedBatch`), so no per-sample Python collation
happens and a method can keep per-sample state (losses, weights, soft targets) in device
tensors.
"""

from __future__ import annotations

import contextlib
import sys
import types
import warnings

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import PrintLog
from skorch.dataset import Dataset
from skorch.utils import TeeGenerator, to_tensor

from ._sparse import SparseBatch, SparseRows
from .modules import forward_with_representation
from .quality import estimate_noise_rate, label_quality_scores
from .selection import (
    AUTO_WARMUP_FRACTION,
    QUANTILE_MAX_ROWS,
    augment,
    auto_warmup_epochs,
    feature_quantiles,
    lengthen_for_estimate,
    normal_scores,
)

__all__ = [
    "TensorDataset",
    "TensorBatchIterator",
    "NoisyLabelNet",
    "NonFiniteError",
    "MethodSettings",
    "FitState",
    "TrainingRows",
    "FitResult",
]

# Rows per forward pass when a method scores the whole training set; for sparse rows,
# which are made dense for it, no more than _MAX_DENSE_PASS_VALUES values at a time.
_FULL_PASS_BATCH = 4096
_MAX_DENSE_PASS_VALUES = 2**24
# Augmentation keeps the training rows' normal scores (float16) up to this size. Beyond
# it, they are computed batch by batch: the memory beyond the data stays within a
# constant plus O(n_samples x n_classes).
_MAX_CACHED_SCORES_BYTES = 64 * 2**20
# For sparse input, the augmentation's feature quantiles come from no more dense rows
# than fit in this many bytes.
_MAX_DENSE_QUANTILE_BYTES = 256 * 2**20
#: The ``precision`` options and the dtype their forward passes autocast to.
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def _output_to_float32(module, inputs, output):
    """Forward hook: a network's low-precision output back to float32, so that losses,
    softmaxes and per-sample state are computed in float32 under autocast."""
    if isinstance(output, torch.Tensor) and output.is_floating_point():
        return output.float()
    return None


def _pass_rows(X):
    """Rows per forward pass over the training rows ``X`` (a tensor or sparse rows)."""
    if isinstance(X, SparseRows) and not X.sparse_batches:
        return max(1, min(_FULL_PASS_BATCH, _MAX_DENSE_PASS_VALUES // max(X.shape[1], 1)))
    return _FULL_PASS_BATCH


def _all_finite(tensor, chunk=2**22):
    """Whether every value of ``tensor`` is finite, checked a chunk at a time: on a
    whole first layer of sparse input's width, ``torch.isfinite`` makes temporaries
    of its size."""
    values = tensor.detach().reshape(-1)
    return all(bool(torch.isfinite(part).all()) for part in values.split(chunk))


class NonFiniteError(ValueError, FloatingPointError):
    """Training or prediction produced NaN or infinity.

    A ``ValueError``, as scikit-learn's MLP raises for the same (the usual causes are
    the inputs' scale and the learning rate), and a ``FloatingPointError``.
    """


class TensorDataset(Dataset):
    """Features, encoded labels, optional sample weights and an optional boolean mask
    of trusted rows (those whose label was checked) as tensors on one device.

    A skorch ``Dataset``, so that skorch's callbacks find ``X`` and ``y`` in it.
    """

    def __init__(self, X, y=None, sample_weight=None, device="cpu", trusted=None):
        with warnings.catch_warnings():
            # Read-only arrays (e.g. from pandas) are fine: nothing writes to them.
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            if not isinstance(X, SparseRows):  # sparse rows become dense batch by batch
                X = to_tensor(X, device=device)
            y = None if y is None else to_tensor(y, device=device).long()
        if X.is_floating_point() and X.dtype != torch.float32:
            X = X.float()
        super().__init__(X, y)
        self.sample_weight = (
            None if sample_weight is None else to_tensor(sample_weight, device=device).float()
        )
        self.trusted = None if trusted is None else to_tensor(np.asarray(trusted), device=device)

    def __getitem__(self, i):
        return self.X[i], (None if self.y is None else self.y[i])


class IndexedBatch(tuple):
    """An ``(X, y)`` pair, as skorch and its callbacks expect, that also carries the
    batch rows' indices in the training set as ``.index``."""

    def __new__(cls, X, y, index):
        batch = super().__new__(cls, (X, y))
        batch.index = index
        return batch


class TensorBatchIterator:
    """Yields :class:`IndexedBatch` slices ``X[idx], y[idx]`` of a (shuffled) index.

    When shuffling for training, a last batch of a single row is merged into the one
    before it: a batch of one breaks batch normalisation.

    Parameters
    ----------
    dataset : TensorDataset
    batch_size : int
    shuffle : bool, default=False
    generator : torch.Generator or None
        CPU generator for the permutation, so shuffling never touches global RNG state.
    """

    def __init__(self, dataset, batch_size, shuffle=False, generator=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator

    def _bounds(self):
        n = len(self.dataset)
        starts = list(range(0, n, self.batch_size))
        if self.shuffle and len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        return list(zip(starts, starts[1:] + [n], strict=True))

    def __len__(self):
        return len(self._bounds())

    def __iter__(self):
        data = self.dataset
        device = data.X.device
        if self.shuffle:
            order = torch.randperm(len(data), generator=self.generator).to(device)
        for start, stop in self._bounds():
            if self.shuffle:
                idx = order[start:stop]
                X, y = data.X[idx], (None if data.y is None else data.y[idx])
            else:  # contiguous slices are views: no copy
                idx = torch.arange(start, stop, device=device)
                X, y = data.X[start:stop], (None if data.y is None else data.y[start:stop])
            yield IndexedBatch(X, y, idx)


class MethodSettings(types.SimpleNamespace):
    """A method's parameters as its net reads them (``net.settings``): those its
    estimator declares in ``_parameters``, resolved for the run ("auto" or a fraction of
    the run turned into what the net uses, where the estimator can)."""


class TrainingRows(types.SimpleNamespace):
    """The training rows of one fit, on the training device, and what is derived from
    them alone: ``X``, ``y`` (encoded labels), ``labels`` (the same on the host, NumPy),
    ``sample_weight`` (or None), ``trusted`` (a boolean tensor of the rows whose label was
    checked, or None when no row is trusted), and for augmentation ``feature_mean``,
    ``feature_quantiles`` and ``feature_scores``.

    A net holds them as ``data_`` while it trains. A resumed fit is given the same rows
    again, so checkpoints do not save them.
    """


class FitState(types.SimpleNamespace):
    """Everything a net changes while it trains, apart from its components (networks,
    optimizers) and history: the per-epoch logits and the running sum of probabilities
    that label quality is estimated from, and each method's own state (cleanness
    posteriors, soft targets, thresholds, the transition matrix, ...).

    A net holds it as ``state_`` while it trains;
    :class:`~sknoisy.callbacks.TrainingCheckpoint` saves and restores all of it.
    """


class FitResult(types.SimpleNamespace):
    """What training leaves for the estimator: ``label_quality``, ``noise_rate``,
    ``n_epochs`` (epochs completed), ``predictions`` (the class predicted for each
    training row) and each method's own results (``NoisyLabelNet.method_results``).

    A net sets it as ``result_`` at the end of training; the estimator takes it (and
    deletes it from the net) to set its fitted attributes.
    """


class EpochTable(PrintLog):
    """skorch's ``PrintLog`` (the table ``verbose=1`` prints, a row per epoch) with a
    header that always names the row's columns.

    A method records some history columns only from a later epoch on (after its
    warm-up, say) or only once, and a column of words (a phase) can widen. ``PrintLog``
    prints its header at the first epoch and then each row as it comes, so later values
    sit under no heading or under the wrong one. Here a column once shown stays in the
    table, blank in a row that has no value for it, and a row whose columns or widths
    differ from the header's starts a new header.
    """

    def initialize(self):
        super().initialize()
        self.columns_, self.rule_ = (), None
        return self

    def on_epoch_end(self, net, **kwargs):
        row = dict(net.history[-1])
        for key in self.columns_:
            row.setdefault(key, None)  # printed blank
        header, rule, line = self.table(row).split("\n")
        columns = tuple(self._sorted_keys(row))
        if (columns, rule) != (self.columns_, self.rule_):
            if self.rule_ is not None:
                self._sink("", net.verbose)
            self._sink(header, net.verbose)
            self._sink(rule, net.verbose)
            self.columns_, self.rule_ = columns, rule
        self._sink(line, net.verbose)
        if self.sink is print:
            sys.stdout.flush()


class NoisyLabelNet(NeuralNet):
    """skorch ``NeuralNet`` for learning with noisy labels; one or two networks.

    The criterion returns per-sample losses (``reduction="none"``). Each training batch
    records its logits into ``state_.epoch_logits`` (indexed by the sample index, so no
    extra pass over the data is needed); at each epoch's end their probabilities join a
    running sum over epochs. Methods override :meth:`compute_loss` (per-batch logic),
    ``on_train_begin`` (their initial :class:`FitState`), ``on_epoch_begin`` /
    ``on_epoch_end`` (per-epoch logic such as schedules and E-steps),
    :meth:`estimate_label_quality` and :meth:`method_results`.

    While it trains, a net keeps the training rows in ``data_`` (:class:`TrainingRows`)
    and everything it changes in ``state_`` (:class:`FitState`). Training ends with one
    :class:`FitResult` in ``result_``, and ``data_`` and ``state_`` are gone: the fitted
    net keeps its networks, its history and its parameters, nothing per row.

    A second network, when given as ``module2``, is registered the skorch way (as
    ``module2_``): it moves with ``device``, follows train/eval mode and its parameters join
    the optimizer. One optimizer over both networks is the same as two independent ones for
    per-parameter optimizers such as Adam and SGD, and costs a single step call.

    Inference returns class probabilities (``predict_nonlinearity`` is not applied),
    :meth:`proba_from_logits` of the networks' outputs. At the end of training one eval
    pass over the training rows checks that the outputs are finite and predicts them
    (``FitResult.predictions``: the estimator's issue table shows them, and it warns of a
    model that predicts a single class).
    """

    #: Longest automatic warm-up, as a share of the run (:meth:`warmup_length`). Methods
    #: whose first step after the warm-up reads the network's fit of the data (a loss
    #: division, a noise-rate or transition estimate) take up to half the run: on small
    #: data, with few steps per epoch, a network that has learnt little makes every label
    #: look wrong, even clean ones: after a warm-up of a tenth of the run, the method
    #: sets clean rows aside with the wrong ones and learns too little from the rest.
    auto_warmup_max_fraction = AUTO_WARMUP_FRACTION
    #: Whether an automatic warm-up ends with an estimate from the predictions averaged
    #: over its epochs; if so it is lengthened by
    #: :func:`~sknoisy.selection.lengthen_for_estimate`.
    auto_warmup_ends_in_estimate = False

    def __init__(self, module, *args, module2=None, precision="fp32", settings=None, **kwargs):
        # Set before NeuralNet.__init__ so that skorch treats them as parameters, not as
        # components created outside ``initialize_module``.
        self.module2 = module2
        self.precision = precision
        self.settings = MethodSettings() if settings is None else settings
        super().__init__(module, *args, **kwargs)

    # -- components -------------------------------------------------------------------
    def initialize_module(self):
        super().initialize_module()
        if self.module2 is not None:
            self.module2_ = self.module2
        return self

    def get_dataset(self, X, y=None):
        if isinstance(X, TensorDataset):
            return X
        # Data to predict on stays on the CPU; each batch moves to the device in turn.
        return TensorDataset(X, y, device="cpu")

    def networks(self):
        """The trained networks, in order."""
        return [self.module_] + ([self.module2_] if self.module2 is not None else [])

    @contextlib.contextmanager
    def mixed_precision(self):
        """Forward passes in the block run under ``torch.autocast`` at ``precision``
        (nothing changes at ``"fp32"``); the networks' outputs come back as float32."""
        dtype = PRECISIONS[self.precision]
        if dtype is None:
            yield
            return
        handles = [network.register_forward_hook(_output_to_float32)
                   for network in self.networks()]  # fmt: skip
        try:
            with torch.autocast(torch.device(self.device).type, dtype=dtype):
                yield
        finally:
            for handle in handles:
                handle.remove()

    @property
    def current_epoch(self):
        """The index of the epoch in progress (0 for the first): from ``on_epoch_begin``
        to ``on_epoch_end``, the history has a row for it."""
        return len(self.history) - 1

    # -- per-sample training state ----------------------------------------------------
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.data_ = TrainingRows(
            X=X.X, y=X.y, labels=X.y.cpu().numpy(), sample_weight=X.sample_weight,
            trusted=X.trusted,
            # For augmentation (selection.augment), which perturbs each feature on its own
            # quantiles; they and the rows' normal scores are computed at the first
            # augmented batch.
            feature_mean=X.X.mean_row() if isinstance(X.X, SparseRows) else X.X.mean(dim=0),
            feature_quantiles=None, feature_scores=None,
        )  # fmt: skip
        # Fitted, for inference too: the networks' number of outputs.
        self.n_classes_ = int(X.y.max()) + 1
        # fp16 gradients underflow unless the loss is scaled up (and the gradients down).
        self.grad_scaler_ = (
            torch.amp.GradScaler(torch.device(self.device).type)
            if self.precision == "fp16" else None
        )  # fmt: skip
        self.state_ = FitState(
            epoch_logits=None,  # (n_networks, n, K), allocated by the first batch
            proba_sum=None,
            n_recorded_epochs=0,
        )

    def record_logits(self, index, *logits):
        """Store this batch's logits, one tensor per network, for the per-epoch statistics.

        Only a copy into a preallocated buffer happens per batch; the softmax runs once
        per epoch over the whole buffer.
        """
        state = self.state_
        if state.epoch_logits is None:
            shape = (len(logits), len(self.data_.labels), logits[0].shape[1])
            state.epoch_logits = torch.zeros(shape, device=logits[0].device)
            state.proba_sum = torch.zeros(shape[1:], dtype=torch.float64, device=logits[0].device)
        for buffer, out in zip(state.epoch_logits, logits, strict=True):
            buffer.index_copy_(0, index, out.detach().to(buffer.dtype))

    def mean_proba(self):
        """Each training row's predicted probabilities averaged over networks and epochs."""
        return (self.state_.proba_sum / max(self.state_.n_recorded_epochs, 1)).cpu().numpy()

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)
        # Methods that train on mixed or augmented rows record other logits than the
        # ones trained on, so the batches' losses are checked too (skorch has already
        # read each one to the host).
        batch_losses = [batch.get("train_loss", 0.0) for batch in self.history[-1]["batches"]]
        state = self.state_
        if not (np.all(np.isfinite(batch_losses)) and bool(state.epoch_logits.isfinite().all())):
            self.raise_non_finite()
        state.proba_sum += state.epoch_logits.softmax(dim=2).mean(dim=0)
        state.n_recorded_epochs += 1
        self.history.record(
            "noise_rate", estimate_noise_rate(self.data_.labels, self.mean_proba())
        )

    def raise_non_finite(self):
        raise NonFiniteError(
            f"the training loss became non-finite at epoch {len(self.history)}; lower "
            "lr, scale the features (standardize=True, the default, or a StandardScaler) "
            "or check the module"
        )

    def on_train_end(self, net, X=None, y=None, **kwargs):
        n_epochs = self.state_.n_recorded_epochs
        if n_epochs == 0:
            # skorch ends training quietly on KeyboardInterrupt; with no epoch completed
            # there is nothing to estimate label quality from.
            raise KeyboardInterrupt("training stopped before its first epoch ended; not fitted")
        for module in self.networks():
            if not all(_all_finite(p) for p in module.parameters()):
                raise NonFiniteError(
                    "the network's weights became non-finite during training; lower lr or "
                    "scale the features (standardize=True, the default, or a StandardScaler)"
                )
        # Finite weights can still be large enough for the outputs to overflow (the
        # per-epoch checks see the outputs before each step): such a network fails here
        # rather than in predict. The same pass gives the training rows' predictions.
        predictions = self.training_predictions()
        del self.history[n_epochs:]  # an epoch cut short by Ctrl-C
        label_quality, noise_rate = self.estimate_label_quality()
        self.result_ = FitResult(
            label_quality=label_quality, noise_rate=noise_rate, n_epochs=n_epochs,
            predictions=predictions, **self.method_results(),
        )  # fmt: skip
        # The training rows and the per-fit state are not kept in the fitted net.
        del self.data_, self.state_, self.grad_scaler_

    def method_results(self):
        """A method's own results for its estimator, as ``{name: value}``: called at the
        end of training, after :meth:`estimate_label_quality`, while ``state_`` is still
        there. None here."""
        return {}

    def estimate_label_quality(self):
        """``(label_quality, noise_rate)`` at the end of training.

        By default, from the predicted probabilities averaged over the epochs, which keeps
        the evidence of the epochs before a network memorises wrong labels:
        ``label_quality_`` is the averaged probability of the given label, and
        ``noise_rate_`` the median over epochs of the confident-learning estimate
        (history column ``noise_rate``). The median discounts both the first epochs, where
        an underfit network confuses everything, and the late ones, where it has
        memorised wrong labels.
        """
        proba = self.mean_proba()
        proba /= proba.sum(axis=1, keepdims=True)
        label_quality = label_quality_scores(self.data_.labels, proba)
        return label_quality, float(np.median(self.history[:, "noise_rate"]))

    def warmup_length(self, warmup_epochs, n_samples):
        """Warm-up epochs: ``"auto"`` (:func:`~sknoisy.selection.auto_warmup_epochs`, at
        most ``auto_warmup_max_fraction`` of the run; see also
        ``auto_warmup_ends_in_estimate``) or the epochs given."""
        if isinstance(warmup_epochs, str) and warmup_epochs == "auto":
            epochs = auto_warmup_epochs(
                n_samples, self.batch_size, self.max_epochs, self.auto_warmup_max_fraction
            )
            if self.auto_warmup_ends_in_estimate:
                epochs = lengthen_for_estimate(epochs, self.max_epochs)
            return epochs
        return warmup_epochs

    @torch.no_grad()
    def full_pass(self, module, representation=False):
        """Logits of every training row, in eval mode and without augmentation, as the
        per-epoch steps of several methods need; with ``representation``, also each
        row's penultimate representation (:func:`~sknoisy.modules.forward_with_representation`).
        """
        module.eval()
        n, outputs = len(self.data_.X), None
        rows = _pass_rows(self.data_.X)
        for start in range(0, n, rows):
            X = self.data_.X[start : start + rows]
            with self.mixed_precision():
                out = forward_with_representation(module, X) if representation else (module(X),)
            if outputs is None:  # filled in place: no second copy of the outputs
                outputs = tuple(o.new_empty((n, *o.shape[1:])) for o in out)
            for buffer, o in zip(outputs, out, strict=True):
                buffer[start : start + len(o)] = o
        module.train()
        if not bool(outputs[0].isfinite().all()):
            self.raise_non_finite()
        return outputs

    @torch.no_grad()
    def training_predictions(self):
        """The class the trained net predicts for each training row (an int array), as
        inference would (eval mode, :meth:`proba_from_logits`), block by block; raises
        :class:`NonFiniteError` if any network's outputs are non-finite."""
        networks = self.networks()
        predictions = torch.empty(len(self.data_.X), dtype=torch.long, device=self.data_.X.device)
        for network in networks:
            network.eval()
        try:
            rows = _pass_rows(self.data_.X)
            for start in range(0, len(self.data_.X), rows):
                X = self.data_.X[start : start + rows]
                with self.mixed_precision():
                    outputs = [network(X) for network in networks]
                if not all(bool(out.isfinite().all()) for out in outputs):
                    raise NonFiniteError(
                        "the trained network's outputs on the training data are non-finite; "
                        "lower lr or scale the features (standardize=True, the default, or a "
                        "StandardScaler)"
                    )
                predictions[start : start + len(X)] = self.proba_from_logits(*outputs).argmax(1)
        finally:
            for network in networks:
                network.train()
        return predictions.cpu().numpy()

    def get_default_callbacks(self):
        # verbose=1's table: the header follows the columns (EpochTable).
        return [
            (name, EpochTable() if name == "print_log" else callback)
            for name, callback in super().get_default_callbacks()
        ]

    # -- training ---------------------------------------------------------------------
    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        # A fit resumed from a checkpoint (sknoisy.callbacks.TrainingCheckpoint) starts with
        # the completed epochs in its history and runs the remaining ones.
        if epochs is None:
            epochs = self.max_epochs - len(self.history)
        return super().fit_loop(X, y, epochs=epochs, **fit_params)

    def augment(self, X, index, noise=0.0, mask=0.0):
        """A random view of the training rows ``X = data_.X[index]``:
        :func:`~sknoisy.selection.augment` with the training data's feature quantiles and
        means. The quantiles are computed once per fit, and so are the rows' normal
        scores (the costly part) unless they would take more than
        ``_MAX_CACHED_SCORES_BYTES``; then each batch computes its own. Sparse rows that
        reach the first layer as they are get :meth:`SparseBatch.augmented` instead."""
        if isinstance(X, SparseBatch):
            return X.augmented(noise, mask)
        data, scores = self.data_, None
        if noise:
            if data.feature_quantiles is None:
                data.feature_quantiles = feature_quantiles(data.X, max_rows=self._quantile_rows())
                if 2 * data.X.numel() <= _MAX_CACHED_SCORES_BYTES:
                    # Outside the mixed-precision context of the batch being trained.
                    with torch.autocast(data.X.device.type, enabled=False):
                        data.feature_scores = torch.cat([
                            normal_scores(rows, data.feature_quantiles).half()
                            for rows in data.X.split(_pass_rows(data.X))
                        ])  # fmt: skip
            if data.feature_scores is not None:
                scores = data.feature_scores[index].float()
        return augment(X, data.feature_quantiles, data.feature_mean, noise, mask, scores)

    def _quantile_rows(self):
        """Rows the augmentation's feature quantiles are taken from: at most
        ``QUANTILE_MAX_ROWS``, and for sparse rows, which are made dense for it, no
        more than fit in ``_MAX_DENSE_QUANTILE_BYTES``."""
        rows = QUANTILE_MAX_ROWS
        if isinstance(self.data_.X, SparseRows):
            rows = min(rows, max(1, _MAX_DENSE_QUANTILE_BYTES // (4 * self.data_.X.shape[1])))
        return rows

    def trust(self, values, index=None, value=1.0):
        """``values`` (one per training row, or per row of ``index``) with the trusted
        rows' set to ``value``: how a method counts a checked row as clean (a
        cleanness of 1, a selection mask of True). Unchanged when no row is trusted."""
        trusted = self.data_.trusted
        if trusted is None:
            return values
        return values.masked_fill(trusted if index is None else trusted[index], value)

    def trusted_on_cross_entropy(self, losses, logits, y, index):
        """Per-row ``losses`` of a batch with the trusted rows' replaced by plain
        cross-entropy on their label: a checked label needs none of the protection a
        robust or corrected loss gives up fitting for."""
        if self.data_.trusted is None:
            return losses
        plain = torch.nn.functional.cross_entropy(logits, y, reduction="none")
        return torch.where(self.data_.trusted[index], plain, losses)

    def weighted_mean(self, losses, index, mask=None):
        """Mean of per-sample losses over ``mask`` (all when None), weighted by
        ``sample_weight`` when fit was given one.

        Masks act as zero weights rather than by indexing, which would synchronise the
        device with the host.
        """
        sample_weight = self.data_.sample_weight
        if sample_weight is None and mask is None:
            return losses.mean()
        weight = torch.ones_like(losses) if mask is None else mask.to(losses.dtype)
        if sample_weight is not None:
            weight = weight * sample_weight[index]
        return (losses * weight).sum() / weight.sum().clamp_min(1e-12)

    def compute_loss(self, X, y, index):
        """Loss of one batch; returns ``(loss, logits of each network)``.

        Here for one network: per-sample criterion, weighted mean.
        """
        logits = self.module_(X)
        self.record_logits(index, logits)
        return self.weighted_mean(self.criterion_(logits, y), index), (logits,)

    def train_step(self, batch, **fit_params):
        # skorch's default passes a closure to every optimizer's step; one zero_grad,
        # one backward and one plain step are all these optimizers need, and callbacks
        # still see the gradients through on_grad_computed. (_zero_grad_optimizer,
        # _step_optimizer and _set_training are skorch's own helpers for these hooks.)
        # Switching modes walks every sub-module, so it is done only when needed: at the
        # start, and after a callback predicted (which leaves the networks in eval mode).
        if not self.module_.training:
            self._set_training(True)
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.get_all_learnable_params()),
            batch=batch,
            training=True,
        )
        self._step_optimizer(None)
        return step

    def _step_optimizer(self, step_fn):
        if self.grad_scaler_ is None:
            return super()._step_optimizer(step_fn)
        # Only the main optimizer's gradients come from the scaled loss; others (e.g.
        # MentorNet's mentor, trained on its own loss) step as they are.
        for name in self._optimizers:
            optimizer = getattr(self, name + "_")
            if optimizer is self.optimizer_:
                self.grad_scaler_.step(optimizer)
            else:
                optimizer.step()
        self.grad_scaler_.update()
        return None

    def train_step_single(self, batch, **fit_params):
        (X, y), index = batch, batch.index
        with self.mixed_precision():
            loss, logits = self.compute_loss(X, y, index)
        if self.grad_scaler_ is None:
            loss.backward()
        else:
            self.grad_scaler_.scale(loss).backward()
            # Callbacks (e.g. gradient clipping) see the true gradients.
            self.grad_scaler_.unscale_(self.optimizer_)
        # y_pred is what inference would output, for the user's scoring callbacks; skorch's
        # default callbacks do not read it, so it is only computed when there are others.
        y_pred = self.proba_from_logits(*(o.detach() for o in logits)) if self.callbacks else None
        return {"loss": loss, "y_pred": y_pred}

    # -- inference --------------------------------------------------------------------
    @property
    def classes_(self):
        """Class indices ``0 .. K-1`` (the estimator maps them to its labels)."""
        return np.arange(self.n_classes_)

    def __sklearn_tags__(self):
        # A classifier, so that scikit-learn scorers in skorch callbacks treat it as one.
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        return tags

    def proba_from_logits(self, *logits):
        """Class probabilities from the networks' logits; here network 1's softmax."""
        return torch.softmax(logits[0], dim=1)

    def infer_proba(self, X):
        """Class probabilities of the inference network(s) for one batch."""
        return self.proba_from_logits(*(network(X) for network in self.networks()))

    def predict_proba(self, X):
        """Class probabilities of ``X`` (float32), batch by batch.

        Each batch's output is written into one preallocated array: skorch's default
        keeps every batch's output and concatenates them at the end, which holds the
        result twice and, interleaved with the batches' freed activations, fragmented
        the heap so much that predicting on 400,000 rows peaked at twice their size.
        """
        self.check_is_fitted()
        dataset = self.get_dataset(X)
        proba = np.empty((len(dataset), self.n_classes_), dtype=np.float32)
        start = 0
        # forward_iter, as skorch's: scoring callbacks with use_caching replace it.
        for out in self.forward_iter(dataset, training=False):
            proba[start : start + len(out)] = out.float().numpy()
            start += len(out)
        return proba

    def predict(self, X):
        """Predicted class indices (the argmax of :meth:`predict_proba`)."""
        return self.predict_proba(X).argmax(axis=1)

    def evaluation_step(self, batch, training=False):
        self.check_is_fitted()
        with torch.set_grad_enabled(training):
            self._set_training(training)
            with self.mixed_precision():
                return self.infer_proba(batch[0].to(self.device))
