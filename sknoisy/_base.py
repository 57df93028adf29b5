"""The scikit-learn side shared by every estimator.

``fit`` validates and encodes the data, seeds everything from ``random_state`` without
touching global RNG state, builds the network(s) and the skorch trainer of the method,
runs it, and copies the fitted state back into ``*_`` attributes.
"""

from __future__ import annotations

import contextlib
import copy
import numbers
import time
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.callbacks import BatchScoring, EpochScoring, ProgressBar

from ._issues import LabelIssuesMixin, row_index
from ._sparse import (
    SPARSE_FIRST_LAYER_MIN_FEATURES,
    SparseRows,
    canonical_csr,
    sparse_feature_statistics,
)
from ._training import (
    PRECISIONS,
    MethodSettings,
    NoisyLabelNet,
    NonFiniteError,
    TensorBatchIterator,
    TensorDataset,
)
from ._validation import check_number, check_option, checked_rows, is_auto
from .modules import MLP, reset_parameters
from .quality import find_label_issues
from .selection import auto_max_epochs

_OPTIMIZERS = {
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9}),
}

# Adam's fused kernel runs on the CPU from torch 2.4 on (and on CUDA before).
_FUSED_ADAM = tuple(int(part) for part in torch.__version__.split(".")[:2]) >= (2, 4)

# Rows standardised and predicted at a time by ``predict_proba`` (and standardised at a
# time in ``fit``); fewer when rows are large (``_BLOCK_ELEMENTS``).
_BLOCK_ROWS = 65536
# At most this many values per block of standardised rows: the float64 working copy of a
# block stays within 16 MiB whatever the row size (e.g. images).
_BLOCK_ELEMENTS = 2**21


class DegenerateModelWarning(UserWarning):
    """A fit ended with a model that has not learnt to tell the classes apart.

    Issued at the end of ``fit`` when the trained network predicts one class for every
    training row although the training labels hold several (and, for
    :class:`~sknoisy.CoTeachingClassifier`, when its noise-rate estimate is so close to
    ``(K - 1) / K`` that the networks had not yet fit the data when it was taken). The
    usual causes are unscaled features (keep ``standardize=True`` or scale them), a
    learning rate ``lr`` too high or too low, and too few ``max_epochs`` or steps per
    epoch. The estimator is fitted all the same.

    A subclass of ``UserWarning``: filter it with the standard :mod:`warnings` tools,
    e.g. turn it into an error to make such fits fail.

    See Also
    --------
    sklearn.exceptions.ConvergenceWarning : scikit-learn's warning for fits that did not
        converge.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from sknoisy import DegenerateModelWarning, RobustLossClassifier
    >>> X = np.zeros((20, 3))  # rows that no network can tell apart
    >>> y = np.array([0] * 15 + [1] * 5)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     clf = RobustLossClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> any(issubclass(w.category, DegenerateModelWarning) for w in caught)
    True
    """


COMMON_PARAMETERS = """\
standardize : bool, default=True
        Standardise each feature (each element of a row, for n-d input such as images)
        to zero mean and unit variance over the training rows before training, and
        apply the same statistics (``feature_mean_``, ``feature_scale_``) to the rows
        given to ``predict``, ``predict_proba`` and ``score``. A feature of zero variance
        is only centred. On by default because raw tabular features on very different
        scales otherwise make training collapse (one class predicted for every row).
        Turn it off for inputs scaled on purpose (e.g. images in [0, 1] for a CNN) or
        when a ``Pipeline`` already scales the features (where it is harmless: data
        already standardised are left almost unchanged). The networks in ``net_`` see
        the standardised rows. A sparse ``X`` stays sparse: its statistics come from
        the stored values, and each batch is standardised as it is made dense or, from
        2^14 features on with the default network, by the first layer that takes it
        sparse.
    module : None, torch.nn.Module subclass or instance, default=None
        The network. ``None`` builds an :class:`~sknoisy.modules.MLP` sized at fit time
        from ``n_features_in_`` and the number of classes. A class is called as
        ``module(**module_params)`` and must output one logit per class. An instance is
        used as a template: it is deep-copied and its parameters re-initialised from
        ``random_state`` (each network gets its own initialisation).
    module_params : dict or None, default=None
        Keyword arguments for a ``module`` class. For the default MLP they are added to
        ``n_features`` and ``n_classes``.
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Hidden layer widths of the default MLP (ignored with a custom ``module``).
    dropout : float, default=0.0
        Dropout probability of the default MLP (ignored with a custom ``module``).
    max_epochs : int or "auto", default="auto"
        Number of passes over the training data. ``"auto"`` makes about 2000
        optimisation steps (whole epochs, at least 10 and at most 50; see
        :func:`~sknoisy.selection.auto_max_epochs`): the steps, not the passes, decide
        how far a network gets and when it starts memorising wrong labels. Warm-ups and
        ramps given as fractions are fractions of this run.
    batch_size : int, default=128
        Mini-batch size; batches are reshuffled every epoch.
    lr : float, default=1e-3
        Learning rate.
    optimizer : {"adam", "adamw", "sgd"} or torch.optim.Optimizer subclass, default="adam"
        ``"sgd"`` uses momentum 0.9.
    weight_decay : float, default=0.0
        L2 penalty passed to the optimizer.
    device : str or torch.device, default="auto"
        ``"auto"`` trains on CUDA when available, else on the CPU. The training data
        are moved to the device once per fit; a fitted estimator predicts on the
        device it was fitted on, and one unpickled where that device is missing
        predicts on the CPU.
    precision : {"fp32", "bf16", "fp16"}, default="fp32"
        Arithmetic of the networks' forward passes. ``"bf16"`` and ``"fp16"`` run
        them under ``torch.autocast`` (mixed precision: weights, optimizer state,
        losses and per-row statistics stay float32), which speeds up GPUs with tensor
        cores; ``"fp16"`` also scales the loss (``torch.amp.GradScaler``) so that small
        gradients do not underflow. On CPUs without native bf16 support it is slower.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and shuffling. Global NumPy
        and torch random states are left untouched.
    verbose : int, default=0
        0 is silent; 1 prints a table of the history, a row per epoch, and at the end of
        fit one line: the time, the estimated noise rate and the label issues found.
        Columns that start later (after a method's warm-up, say) or that widen start a
        new header, so that every value is under its heading. 2 adds skorch's
        ``ProgressBar`` over each epoch's batches (on stderr), for long fits.
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks; they are deep-copied at each fit."""

COMMON_ATTRIBUTES = """\
classes_ : ndarray of shape (n_classes,)
        The class labels seen in ``fit``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Feature names, when ``X`` had string column names.
    label_quality_ : ndarray of shape (n_samples,)
        Per training row, in [0, 1]: higher means the given label is more likely right.
    label_issues_ : ndarray of bool, shape (n_samples,)
        Rows whose label is probably wrong: the ``round(noise_rate_ * n_samples)``
        rows of lowest ``label_quality_``.
    noise_rate_ : float
        Estimated fraction of wrong labels in the training data.
    net_ : NoisyLabelNet
        The fitted skorch net (``net_.module_``, and ``net_.module2_`` for two networks).
        With ``standardize=True`` its networks take standardised rows,
        ``(X - feature_mean_) / feature_scale_``.
    history_ : skorch.History
        Per-epoch training history (``history_[:, "train_loss"]``, ...).
    input_shape_ : tuple of int
        Shape of one row of ``X`` seen in ``fit`` (``(n_features,)`` for tables).
    feature_mean_ : ndarray of shape ``input_shape_`` or None
        Per-feature mean of the training rows (float64) that inputs are centred with;
        ``None`` when ``standardize=False``.
    feature_scale_ : ndarray of shape ``input_shape_`` or None
        Per-feature standard deviation of the training rows (float64) that centred
        inputs are divided by, 1 for features of zero variance; ``None`` when
        ``standardize=False``.
    n_iter_ : int
        Number of epochs completed (fewer than ``max_epochs`` after a Ctrl-C)."""


def fill_doc(cls):
    """Insert the shared parameter and attribute sections into a class docstring."""
    cls.__doc__ = cls.__doc__.replace("{common_parameters}", COMMON_PARAMETERS).replace(
        "{common_attributes}", COMMON_ATTRIBUTES
    )
    return cls


def resolve_device(device):
    """``"auto"`` -> CUDA when available, else CPU; anything else is checked by torch."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be 'auto' or a torch device, got {device!r}") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asks for CUDA, which is not available here")
    return resolved


def _draw_seeds(random_state, n):
    """``n`` int seeds from ``random_state``; None draws fresh entropy, never from NumPy's
    global generator (drawing from it would change the caller's random state)."""
    if random_state is None:
        return [int(s) for s in np.random.default_rng().integers(2**31 - 1, size=n)]
    return [int(s) for s in check_random_state(random_state).randint(2**31 - 1, size=n)]


@contextlib.contextmanager
def _seeded_torch(seed, device):
    """Seed torch's CPU generator (and the training GPU's) for the block, then restore them.

    Everything torch draws while training (initialisation, dropout) then comes from
    ``seed``, and the caller's random state, on the CPU and on every GPU, is unchanged.
    """
    on_cuda = device.type == "cuda"
    if on_cuda:  # "cuda" without an index means the current device
        cuda_index = torch.cuda.current_device() if device.index is None else device.index
    with torch.random.fork_rng(devices=[cuda_index] if on_cuda else []):
        torch.default_generator.manual_seed(seed)
        if on_cuda:
            with torch.cuda.device(cuda_index):
                torch.cuda.manual_seed(seed)
        yield


def check_sample_weight(sample_weight, n_samples):
    """Validated float32 sample weights, or None."""
    if sample_weight is None:
        return None
    weight = np.asarray(sample_weight, dtype=np.float64)
    if weight.ndim == 0:
        weight = np.full(n_samples, float(weight))
    if weight.shape != (n_samples,):
        raise ValueError(
            f"sample_weight has shape {weight.shape}, expected ({n_samples},): one weight "
            "per row of X"
        )
    if not np.all(np.isfinite(weight)):
        raise ValueError("sample_weight contains NaN or infinity")
    if np.any(weight < 0):
        raise ValueError("sample_weight must be non-negative")
    if weight.sum() <= 0:
        raise ValueError("sample_weight sums to zero: at least one row must have weight")
    return weight.astype(np.float32)


def _block_rows(row_size):
    """Rows per block of standardised data, for rows of ``row_size`` values."""
    return max(1, min(_BLOCK_ROWS, _BLOCK_ELEMENTS // max(row_size, 1)))


def feature_statistics(X):
    """Per-feature mean and scale of the rows of ``X``, as float64 arrays of ``X``'s row
    shape, for :func:`standardize_rows`.

    Computed in float64 in blocks of rows (two passes: the mean, then the mean squared
    deviation from it), so that large float32 values do not overflow and no float64
    copy of ``X`` is made. A feature whose standard deviation is zero or not finite gets
    scale 1, as in scikit-learn's ``StandardScaler``. (The float64 sum of a constant
    float32 feature is exact, so its deviations are exactly zero.)
    """
    n = len(X)
    rows = _block_rows(int(np.prod(X.shape[1:])))
    total = np.zeros(X.shape[1:], dtype=np.float64)
    for start in range(0, n, rows):
        total += X[start : start + rows].sum(axis=0, dtype=np.float64)
    mean = total / n
    squares = np.zeros_like(mean)
    deviation = np.empty((min(rows, n), *X.shape[1:]), dtype=np.float64)
    for start in range(0, n, rows):
        block = X[start : start + rows]
        d = np.subtract(block, mean, out=deviation[: len(block)])
        np.square(d, out=d)
        squares += d.sum(axis=0)
    scale = np.sqrt(squares / n)
    scale[(scale == 0) | ~np.isfinite(scale)] = 1.0
    return mean, scale


def standardize_rows(X, mean, scale, out):
    """Write ``(X - mean) / scale`` into the float32 array ``out`` (which may be ``X``
    itself), computed in float64 a block of rows at a time; returns ``out``."""
    rows = _block_rows(int(np.prod(X.shape[1:])))
    buffer = np.empty((min(rows, len(X)), *X.shape[1:]), dtype=np.float64)
    for start in range(0, len(X), rows):
        block = X[start : start + rows]
        z = np.subtract(block, mean, out=buffer[: len(block)])
        z /= scale
        out[start : start + len(block)] = z
    return out


def _is_private_copy(X, original):
    """Whether ``X``, the validated form of the user's ``original``, is a copy that
    nothing else refers to, so that it can be overwritten."""
    if X is original or not (X.flags.owndata and X.flags.writeable):
        return False
    return not (isinstance(original, np.ndarray) and np.may_share_memory(X, original))


class BaseNoisyClassifier(LabelIssuesMixin, ClassifierMixin, BaseEstimator):
    """Base class: a classifier trained as one or two PyTorch networks through skorch.

    Subclasses set ``_net_class`` (the method's :class:`NoisyLabelNet` subclass),
    ``_n_networks`` and ``_parameters``, and implement :meth:`_criterion`.
    """

    _net_class = NoisyLabelNet
    _n_networks = 1
    #: The method's own parameters, each declared once with what it allows (a spec of
    #: ``sknoisy._validation``: ``Number``, ``Option``, ``Flag``, ``Epochs``, ``Given``).
    #: ``fit`` resolves them for the run and gives them to the net in one ``settings``.
    _parameters = {}
    #: Method parameters renamed, ``{old name: new name}``. The old name stays in the
    #: signature, default ``"deprecated"``; set, it is used for the new one, with a
    #: ``FutureWarning``, until it is removed.
    _renamed = {}

    # -- to be provided by each method ------------------------------------------------
    def _criterion(self):
        """Per-sample loss module (``reduction="none"``)."""
        raise NotImplementedError

    def _settings(self, max_epochs):
        """The method's parameters as its net reads them, for a run of ``max_epochs``
        epochs: each of ``_parameters`` validated and resolved by its spec, then
        :meth:`_resolve_settings`."""
        values = {name: getattr(self, name) for name in self._parameters}
        for old, new in self._renamed.items():
            value = getattr(self, old)
            if not (isinstance(value, str) and value == "deprecated"):
                # stacklevel: the user's call of fit (fit -> _fit -> _settings -> here).
                warnings.warn(
                    f"{type(self).__name__}'s {old} was renamed {new} in sknoisy 0.1 and "
                    f"will be removed in 0.3; use {new}={value!r}",
                    FutureWarning, stacklevel=4,
                )  # fmt: skip
                values[new] = value
        settings = {
            name: spec.resolve(values[name], name, max_epochs)
            for name, spec in self._parameters.items()
        }
        return self._resolve_settings(settings, max_epochs)

    def _resolve_settings(self, settings, max_epochs):
        """What resolving a setting needs beyond its own spec (another setting, say);
        returns the settings. They are as the specs resolved them here."""
        return settings

    def _encoded_net_params(self, y_encoded, n_classes, settings, trusted):
        """Net keyword arguments beside ``settings`` that depend on the encoded labels
        (class indices ``0 .. n_classes - 1``) or on the ``trusted`` mask (None when no
        row is trusted); validates them, and may resolve settings that are checked
        against the labels (in place)."""
        return {}

    def _copy_fitted_state(self, result):
        """Set method-specific fitted attributes from the training's ``FitResult``."""

    # -- fitting ----------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, trusted=None):
        """Fit the network(s) on possibly noisy labels.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features) or (n_samples, ...)
            Training data; arrays of more dimensions (e.g. images for a CNN ``module``)
            are passed to the module as they are.
        y : array-like of shape (n_samples,)
            Given (noisy) labels of any type: ints, strings, non-contiguous values.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-row weights multiplying each row's loss.
        trusted : array-like of bool, shape (n_samples,), default=None
            Rows whose label was checked and is right (a reviewed or re-annotated
            subset, its labels in ``y``). The method counts them as clean in training,
            as its docs page says, and they are never flagged: their ``label_quality_``
            is 1 and their suggested label is the given one. A mask that marks no row is
            the same as None. Inside a Pipeline or a search, route it with
            ``set_fit_request(trusted=True)`` under scikit-learn's metadata routing (a
            search without routing splits it with the folds).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, trusted)

    def _fit(self, X, y, sample_weight=None, trusted=None):
        """:meth:`fit`: the ``trusted`` mask travels with the training rows
        (``TrainingRows.trusted``, None when no row is trusted) and goes to
        :meth:`_encoded_net_params`."""
        # A failed refit must not leave the previous fit's state behind, half replaced.
        self._forget_fit()
        started = time.perf_counter()
        hidden_layer_sizes = self._check_common_params()
        X_given, index = X, row_index(X)
        X, y = validate_data(
            self, X, y, allow_nd=True, dtype=np.float32, ensure_min_samples=2,
            accept_sparse=("csr", "csc"),
        )  # fmt: skip
        sparse = sp.issparse(X)
        if sparse:
            X = canonical_csr(X)
        max_epochs = self._run_length(X.shape[0])
        settings = self._settings(max_epochs)
        check_classification_targets(y)
        classes, y_encoded = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data; "
                f"got 1 class: {classes[0]!r}"
            )
        weight = check_sample_weight(sample_weight, X.shape[0])
        trusted = checked_rows(trusted, X.shape[0])
        feature_mean = feature_scale = None
        sparse_first_layer = (
            sparse
            and self.module is None
            and len(hidden_layer_sizes) > 0
            and X.shape[1] >= SPARSE_FIRST_LAYER_MIN_FEATURES
        )
        if self.standardize and sparse:
            # The matrix stays as it is; each batch is standardised as it is made dense,
            # or by the first layer that takes it sparse.
            feature_mean, feature_scale = sparse_feature_statistics(X)
        elif self.standardize:
            # One new float32 array at most: validation's own copy is overwritten.
            feature_mean, feature_scale = feature_statistics(X)
            out = X if _is_private_copy(X, X_given) else np.empty(X.shape, dtype=np.float32)
            X = standardize_rows(X, feature_mean, feature_scale, out)
        del X_given
        net_params = self._encoded_net_params(y_encoded, len(classes), settings, trusted)
        optimizer, optimizer_params = self._resolve_optimizer(fused=sparse_first_layer)
        callbacks = self._check_callbacks()
        device = resolve_device(self.device)
        if sparse_first_layer:
            X = SparseRows(X, feature_mean, feature_scale, device, sparse_batches=True)
        elif sparse:
            X = SparseRows(X, feature_mean, feature_scale, device)

        torch_seed, shuffle_seed = _draw_seeds(self.random_state, 2)
        with _seeded_torch(torch_seed, device):
            networks = [
                self._build_module(X.shape, len(classes), hidden_layer_sizes, sparse_first_layer)
                for _ in range(self._n_networks)
            ]
            self._check_module_output(networks[0], X, len(classes))
            net = self._net_class(
                module=networks[0],
                module2=networks[1] if self._n_networks > 1 else None,
                criterion=self._criterion(),
                optimizer=optimizer,
                lr=self.lr,
                **{f"optimizer__{k}": v for k, v in optimizer_params.items()},
                max_epochs=max_epochs,
                batch_size=self.batch_size,
                iterator_train=TensorBatchIterator,
                iterator_train__shuffle=True,
                iterator_train__generator=torch.Generator().manual_seed(shuffle_seed),
                iterator_valid=TensorBatchIterator,
                iterator_valid__batch_size=max(self.batch_size, 2048),
                train_split=None,
                predict_nonlinearity=None,
                callbacks=callbacks,
                verbose=self.verbose,
                device=device,
                precision=self.precision,
                settings=MethodSettings(**settings),
                **net_params,
            )
            net.fit(TensorDataset(X, y_encoded, weight, device=device, trusted=trusted))
        # The generator's state is of no use after fit and would only burden pickles.
        net.iterator_train__generator = None

        self.classes_ = classes
        self.input_shape_ = X.shape[1:]
        self.feature_mean_ = feature_mean
        self.feature_scale_ = feature_scale
        self._sparse_first_layer = sparse_first_layer
        result = net.result_
        del net.result_  # the fitted net keeps nothing per row
        self.net_ = net
        self.history_ = net.history
        self.n_iter_ = result.n_epochs
        self.label_quality_ = np.asarray(result.label_quality, dtype=np.float64)
        self.noise_rate_ = float(result.noise_rate)
        if trusted is not None:  # checked labels are right
            self.label_quality_[trusted] = 1.0
        self.label_issues_ = find_label_issues(self.label_quality_, noise_rate=self.noise_rate_)
        if trusted is not None:
            self.label_issues_[trusted] = False
        self._copy_fitted_state(result)
        corrected = getattr(self, "corrected_labels_", None)
        suggested = (
            result.predictions if corrected is None else np.searchsorted(classes, corrected)
        )
        if trusted is not None:
            suggested = np.where(trusted, y_encoded, suggested)
        self._record_label_issue_rows(y_encoded, result.predictions, suggested, index)
        # Classes that weigh in training: rows of weight 0 do not count.
        trained = y_encoded if weight is None else y_encoded[weight > 0]
        for message in self._fit_warnings(result, len(np.unique(trained))):
            # stacklevel: the user's call of fit (fit -> _fit -> here).
            warnings.warn(message, DegenerateModelWarning, stacklevel=3)
        if self.verbose:
            print(self._fit_summary(time.perf_counter() - started, trusted), flush=True)
        return self

    def _fit_summary(self, seconds, trusted):
        """The line ``verbose`` prints at the end of fit."""
        n, issues = len(self.label_issues_), int(self.label_issues_.sum())
        checked = "" if trusted is None else f"; {int(trusted.sum()):,} rows trusted"
        return (
            f"{type(self).__name__}: fitted on {n:,} rows in {seconds:.1f} s "
            f"({self.n_iter_} epochs); estimated noise rate {self.noise_rate_:.1%}, "
            f"{issues:,} label issues ({issues / n:.1%}){checked}"
        )

    def _run_length(self, n_samples):
        """Epochs of the run: ``max_epochs``, or for ``"auto"`` about
        ``AUTO_RUN_STEPS`` optimisation steps on ``n_samples`` rows."""
        if is_auto(self.max_epochs):
            return auto_max_epochs(n_samples, self.batch_size)
        return self.max_epochs

    def _fit_warnings(self, result, n_trained_classes):
        """Messages of the :class:`DegenerateModelWarning` that ``fit`` issues once the
        estimator is fitted: the trained net predicting a single class for every
        training row (``result``: the training's ``FitResult``), although
        ``n_trained_classes`` (the classes among the rows of positive weight) is at least
        2. Methods add their own signs of a fit that did not learn."""
        predicted = np.unique(result.predictions)
        if len(predicted) != 1 or n_trained_classes < 2:
            return []
        label = self.classes_[predicted[0]]
        label = label.item() if isinstance(label, np.generic) else label
        return [
            f"{type(self).__name__} predicts a single class, {label!r}, "
            f"for every training row, although y has {len(self.classes_)} classes: the "
            "model has not learnt to tell them apart. Check the feature scaling (keep "
            "standardize=True or scale the features), the learning rate lr, and whether "
            "max_epochs (or the steps per epoch, batch_size) allow enough training."
        ]

    def _check_common_params(self):
        """Validate the shared parameters; returns ``hidden_layer_sizes`` as a tuple."""
        if not is_auto(self.max_epochs):
            check_number(self.max_epochs, "max_epochs", low=1, integer=True)
        check_number(self.batch_size, "batch_size", low=1, integer=True)
        check_number(self.lr, "lr", low=0, low_open=True)
        check_number(self.weight_decay, "weight_decay", low=0)
        check_number(self.dropout, "dropout", low=0, high=1, high_open=True)
        check_option(self.precision, "precision", PRECISIONS)
        if not isinstance(self.verbose, (bool, np.bool_)):  # True and False are 1 and 0
            check_number(self.verbose, "verbose", low=0, integer=True)
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise TypeError(f"standardize must be True or False, got {self.standardize!r}")
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes)
        if not all(isinstance(s, numbers.Integral) and s >= 1 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be a tuple of positive ints, got {sizes!r}"
            )
        if self.module_params is not None and not isinstance(self.module_params, dict):
            raise TypeError(f"module_params must be a dict or None, got {self.module_params!r}")
        return sizes

    def _check_callbacks(self):
        """A fresh copy of the user's callbacks, so fitting never changes the parameter.

        Training has no validation split (its labels would be as noisy as the training
        labels), so callbacks that would read validation results are refused up front.
        """
        progress = [("progress_bar", ProgressBar())] if self.verbose >= 2 else []
        if self.callbacks is None:
            return progress or None
        if not isinstance(self.callbacks, (list, tuple)):
            raise TypeError(
                f"callbacks must be a list of skorch callbacks or None, got {self.callbacks!r}"
            )
        for item in self.callbacks:
            callback = item[1] if isinstance(item, tuple) else item
            monitor = getattr(callback, "monitor", None)
            scores_validation = isinstance(callback, (EpochScoring, BatchScoring)) and (
                not callback.on_train
            )
            if scores_validation or (isinstance(monitor, str) and monitor.startswith("valid")):
                raise ValueError(
                    f"callback {callback!r} reads validation results, but training has no "
                    "validation split; score or monitor the training data instead (e.g. "
                    "on_train=True, monitor='train_loss')"
                )
        return copy.deepcopy(list(self.callbacks)) + progress

    def _resolve_optimizer(self, fused=False):
        """The optimizer class and its keyword arguments; with ``fused``, Adam and AdamW
        by name take their fused kernel, which makes no temporary copies of the
        parameters (a sparse input's first layer is the size of the vocabulary)."""
        if isinstance(self.optimizer, str):
            if self.optimizer not in _OPTIMIZERS:
                raise ValueError(
                    f"optimizer must be one of {sorted(_OPTIMIZERS)} or a torch optimizer "
                    f"class, got {self.optimizer!r}"
                )
            optimizer, params = _OPTIMIZERS[self.optimizer]
        elif isinstance(self.optimizer, type) and issubclass(
            self.optimizer, torch.optim.Optimizer
        ):
            if issubclass(self.optimizer, torch.optim.LBFGS):
                raise ValueError(
                    "optimizers that re-evaluate the loss through a closure (LBFGS) are not "
                    "supported: each batch makes one optimizer step"
                )
            optimizer, params = self.optimizer, {}
        else:
            raise TypeError(
                "optimizer must be a name or a torch.optim.Optimizer subclass, "
                f"got {self.optimizer!r}"
            )
        # Passed only when set, so optimizers without the argument work at the default.
        if self.weight_decay:
            params = {**params, "weight_decay": self.weight_decay}
        if (
            fused
            and _FUSED_ADAM
            and isinstance(self.optimizer, str)
            and self.optimizer.startswith("adam")
        ):
            params = {**params, "fused": True}
        return optimizer, params

    def _build_module(self, input_shape, n_classes, hidden_layer_sizes, sparse_input=False):
        params = dict(self.module_params or {})
        if self.module is None:
            return MLP(
                n_features=int(np.prod(input_shape[1:])),
                n_classes=n_classes,
                hidden_layer_sizes=hidden_layer_sizes,
                dropout=self.dropout,
                sparse_input=sparse_input,
                **params,
            )
        if isinstance(self.module, torch.nn.Module):
            if params:
                raise ValueError(
                    "module_params are only used with a module class, not an instance"
                )
            return reset_parameters(copy.deepcopy(self.module))
        if isinstance(self.module, type) and issubclass(self.module, torch.nn.Module):
            return self.module(**params)
        raise TypeError(
            "module must be None, a torch.nn.Module subclass or a torch.nn.Module instance, "
            f"got {self.module!r}"
        )

    @staticmethod
    def _check_module_output(module, X, n_classes):
        if isinstance(X, SparseRows):
            sample = X[0:2] if X.sparse_batches else torch.as_tensor(X.dense(slice(0, 2)))
        else:
            sample = torch.as_tensor(X[:2])
        module.eval()
        try:
            with torch.no_grad():
                out = module(sample)
        except Exception as exc:
            raise ValueError(
                f"the module failed on input rows of shape {tuple(X.shape[1:])}: {exc}"
            ) from exc
        finally:
            module.train()
        if not isinstance(out, torch.Tensor) or out.shape != (len(sample), n_classes):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(
                f"the module's output must have shape (n_samples, n_classes) = "
                f"({len(sample)}, {n_classes}) for the {n_classes} classes in y, got {shape}"
            )

    # -- prediction -------------------------------------------------------------------
    def predict_proba(self, X):
        """Class probabilities, columns ordered as ``classes_``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features) or (n_samples, ...)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1.
        """
        check_is_fitted(self)
        X = validate_data(
            self, X, reset=False, allow_nd=True, dtype=np.float32, accept_sparse=("csr", "csc")
        )
        sparse = sp.issparse(X)
        if sparse:  # made dense a block of rows at a time
            X = X.tocsr()
        if X.shape[1:] != self.input_shape_:
            raise ValueError(
                f"X has rows of shape {X.shape[1:]}, but {type(self).__name__} was fitted "
                f"on rows of shape {self.input_shape_}"
            )
        if getattr(self, "_sparse_first_layer", False):
            # Batches reach the first layer sparse, dense input too (as a copy of its
            # non-zero values only).
            rows = SparseRows(
                canonical_csr(X), self.feature_mean_, self.feature_scale_, "cpu",
                sparse_batches=True,
            )  # fmt: skip
            proba = self.net_.predict_proba(rows).astype(np.float64)
            if not np.all(np.isfinite(proba)):
                raise NonFiniteError("the network produced non-finite probabilities")
            return proba / proba.sum(axis=1, keepdims=True)
        # Block by block into one output: a standardised copy of a large X at once
        # would double the memory that predicting takes.
        mean, scale = self.feature_mean_, self.feature_scale_
        n = X.shape[0]
        proba = np.empty((n, len(self.classes_)), dtype=np.float64)
        buffer = None
        if mean is None and not sparse:
            rows = _BLOCK_ROWS
        else:
            rows = _block_rows(int(np.prod(self.input_shape_)))
        if mean is not None:
            buffer = np.empty((min(rows, n), *self.input_shape_), dtype=np.float32)
        for start in range(0, n, rows):
            block = X[start : start + rows]
            if sparse:
                block = block.toarray()
            if mean is not None:
                block = standardize_rows(block, mean, scale, buffer[: len(block)])
            proba[start : start + len(block)] = self.net_.predict_proba(block)
        if not np.all(np.isfinite(proba)):
            raise NonFiniteError("the network produced non-finite probabilities")
        proba /= proba.sum(axis=1, keepdims=True)
        return proba

    def predict(self, X):
        """Predicted class labels, taken from ``classes_``.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features) or (n_samples, ...)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_is_fitted__(self):
        return hasattr(self, "net_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        # CUDA kernels are not bit-for-bit reproducible; on the CPU a seed fixes results.
        try:
            tags.non_deterministic = resolve_device(self.device).type != "cpu"
        except ValueError:  # an unusable device is reported by fit, not by tags
            tags.non_deterministic = True
        return tags
