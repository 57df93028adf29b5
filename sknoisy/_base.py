"""The scikit-learn side shared by every estimator.

``fit`` validates and encodes the data, seeds everything from ``random_state`` without
touching global RNG state, builds the network(s) and the skorch trainer of the method,
runs it, and copies the fitted state back into ``*_`` attributes.
"""

from __future__ import annotations

import copy
import numbers

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._training import NoisyLabelNet, TensorBatchIterator, TensorDataset
from .modules import MLP, reset_parameters
from .quality import find_label_issues

_OPTIMIZERS = {
    "adam": (torch.optim.Adam, {}),
    "adamw": (torch.optim.AdamW, {}),
    "sgd": (torch.optim.SGD, {"momentum": 0.9}),
}

COMMON_PARAMETERS = """\
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
    max_epochs : int, default=50
        Number of passes over the training data.
    batch_size : int, default=128
        Mini-batch size; batches are reshuffled every epoch.
    lr : float, default=1e-3
        Learning rate.
    optimizer : {"adam", "adamw", "sgd"} or torch.optim.Optimizer subclass, default="adam"
        ``"sgd"`` uses momentum 0.9.
    weight_decay : float, default=0.0
        L2 penalty passed to the optimizer.
    device : str or torch.device, default="auto"
        ``"auto"`` trains on CUDA when available, else on the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout and shuffling. Global NumPy
        and torch random states are left untouched.
    verbose : int, default=0
        0 is silent; 1 prints skorch's per-epoch table.
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
    history_ : skorch.History
        Per-epoch training history (``history_[:, "train_loss"]``, ...).
    n_iter_ : int
        Number of epochs run."""


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
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be 'auto' or a torch device, got {device!r}") from exc


def _check_number(value, name, *, low=None, high=None, integer=False, low_open=False):
    kind = numbers.Integral if integer else numbers.Real
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"{name} must be {'an int' if integer else 'a number'}, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    if too_low or (high is not None and value > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(
            f"{name} must be in {'(' if low_open else '['}{lo}, {hi}], got {value!r}"
        )


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


class BaseNoisyClassifier(ClassifierMixin, BaseEstimator):
    """Base class: a classifier trained as one or two PyTorch networks through skorch.

    Subclasses set ``_net_class`` (the method's :class:`NoisyLabelNet` subclass) and
    ``_n_networks``, and implement :meth:`_criterion` and :meth:`_net_params`.
    """

    _net_class = NoisyLabelNet
    _n_networks = 1

    # -- to be provided by each method ------------------------------------------------
    def _criterion(self):
        """Per-sample loss module (``reduction="none"``)."""
        raise NotImplementedError

    def _net_params(self):
        """Method-specific keyword arguments for ``_net_class``; validates them."""
        return {}

    def _copy_fitted_state(self, net):
        """Copy method-specific fitted attributes from the trained net."""

    # -- fitting ----------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Fit the network(s) on possibly noisy labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)
            Training data; arrays of more dimensions (e.g. images for a CNN ``module``)
            are passed to the module as they are.
        y : array-like of shape (n_samples,)
            Given (noisy) labels of any type: ints, strings, non-contiguous values.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-row weights multiplying each row's loss.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._check_common_params()
        net_params = self._net_params()
        X, y = validate_data(
            self, X, y, allow_nd=True, dtype=np.float32, ensure_min_samples=2
        )
        check_classification_targets(y)
        self.classes_, y_encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the data; "
                f"got 1 class: {self.classes_[0]!r}"
            )
        weight = check_sample_weight(sample_weight, X.shape[0])

        rng = check_random_state(self.random_state)
        torch_seed, shuffle_seed = (int(s) for s in rng.randint(2**31 - 1, size=2))
        device = resolve_device(self.device)
        fork_devices = [device.index or 0] if device.type == "cuda" else []
        # Everything torch draws (initialisation, dropout) comes from torch_seed inside
        # this block; the caller's global RNG state is restored on exit.
        with torch.random.fork_rng(devices=fork_devices):
            torch.manual_seed(torch_seed)
            networks = [self._build_module(X.shape, len(self.classes_))
                        for _ in range(self._n_networks)]
            self._check_module_output(networks[0], X, len(self.classes_))
            optimizer, optimizer_defaults = self._resolve_optimizer()
            net = self._net_class(
                module=networks[0],
                module2=networks[1] if self._n_networks > 1 else None,
                criterion=self._criterion(),
                optimizer=optimizer,
                lr=self.lr,
                optimizer__weight_decay=self.weight_decay,
                **{f"optimizer__{k}": v for k, v in optimizer_defaults.items()},
                max_epochs=self.max_epochs,
                batch_size=self.batch_size,
                iterator_train=TensorBatchIterator,
                iterator_train__shuffle=True,
                iterator_train__generator=torch.Generator().manual_seed(shuffle_seed),
                iterator_valid=TensorBatchIterator,
                iterator_valid__batch_size=max(self.batch_size, 2048),
                train_split=None,
                predict_nonlinearity=None,
                callbacks=copy.deepcopy(self.callbacks),
                verbose=self.verbose,
                device=device,
                **net_params,
            )
            net.fit(TensorDataset(X, y_encoded, weight, device=device))
        # The generator's state is of no use after fit and would only burden pickles.
        net.iterator_train__generator = None

        self.net_ = net
        self.history_ = net.history
        self.n_iter_ = len(net.history)
        self.label_quality_ = np.asarray(net.label_quality_, dtype=np.float64)
        self.noise_rate_ = float(net.noise_rate_)
        self.label_issues_ = find_label_issues(self.label_quality_, noise_rate=self.noise_rate_)
        self._copy_fitted_state(net)
        return self

    def _check_common_params(self):
        _check_number(self.max_epochs, "max_epochs", low=1, integer=True)
        _check_number(self.batch_size, "batch_size", low=1, integer=True)
        _check_number(self.lr, "lr", low=0, low_open=True)
        _check_number(self.weight_decay, "weight_decay", low=0)
        _check_number(self.dropout, "dropout", low=0, high=1)
        if self.dropout >= 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral):
            sizes = (sizes,)
        if not all(isinstance(s, numbers.Integral) and s >= 1 for s in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be a tuple of positive ints, got {sizes!r}"
            )
        if self.module_params is not None and not isinstance(self.module_params, dict):
            raise TypeError(f"module_params must be a dict or None, got {self.module_params!r}")

    def _resolve_optimizer(self):
        if isinstance(self.optimizer, str):
            if self.optimizer not in _OPTIMIZERS:
                raise ValueError(
                    f"optimizer must be one of {sorted(_OPTIMIZERS)} or a torch optimizer "
                    f"class, got {self.optimizer!r}"
                )
            return _OPTIMIZERS[self.optimizer]
        if isinstance(self.optimizer, type) and issubclass(self.optimizer, torch.optim.Optimizer):
            return self.optimizer, {}
        raise TypeError(
            f"optimizer must be a name or a torch.optim.Optimizer subclass, got {self.optimizer!r}"
        )

    def _build_module(self, input_shape, n_classes):
        params = dict(self.module_params or {})
        if self.module is None:
            sizes = self.hidden_layer_sizes
            sizes = (sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes)
            return MLP(
                n_features=int(np.prod(input_shape[1:])),
                n_classes=n_classes,
                hidden_layer_sizes=sizes,
                dropout=self.dropout,
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
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, allow_nd=True, dtype=np.float32)
        proba = self.net_.predict_proba(X).astype(np.float64)
        if not np.all(np.isfinite(proba)):
            raise FloatingPointError("the network produced non-finite probabilities")
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Predicted class labels, taken from ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, ...)

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
        # CUDA kernels are not bit-for-bit reproducible; on the CPU a seed fixes results.
        tags.non_deterministic = resolve_device(self.device).type != "cpu"
        return tags
