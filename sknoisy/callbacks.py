"""skorch callbacks for long fits: a checkpoint that an interrupted fit resumes from.

Pass them in an estimator's ``callbacks``, e.g.
``DualEMClassifier(callbacks=[TrainingCheckpoint("dualem.ckpt")])``.
"""

from __future__ import annotations

import hashlib
import json
import numbers
import os
import types

import numpy as np
import torch
from skorch.callbacks import Callback
from skorch.history import History

from ._sparse import SparseRows
from ._validation import check_number

__all__ = ["TrainingCheckpoint"]

_FORMAT = 2
# Net parameters that may differ between a fit and its resumption.
_FREE_PARAMS = {"verbose", "device", "callbacks"}
# Rows hashed at a time when fingerprinting the training data (bounds the host copy).
_HASH_ROWS = 65536


class TrainingCheckpoint(Callback):
    """Save the whole training state every few epochs; a refit resumes from it.

    At the end of every ``every``-th epoch the callback writes, to ``path``, everything a
    fit needs to go on: the weights of every network, the optimizers' state, the net's
    whole per-fit state (its ``state_``: e.g. DualEM's cleanness posteriors and targets,
    NeighborMix's soft targets, DivideMix's clean posteriors, MentorNet's running
    threshold), the random number generators' states and the history. The training
    rows are not saved: the resumed fit is given them again. When a ``fit``
    with this callback finds the file, it checks that the file comes from the same fit
    (same estimator, parameters, ``random_state`` and training data) and continues from
    the saved epoch. On the CPU the resumed fit ends with the same weights, predictions
    and ``label_quality_`` as a fit that was never interrupted.

    The file is written atomically (to ``path + ".tmp"``, then renamed), so a fit killed
    while writing leaves the previous checkpoint intact. It is deleted when a fit
    completes all its epochs; a fit stopped early (Ctrl-C, ``EarlyStopping``) keeps it.
    Files are read with ``torch.load(weights_only=True)``: a checkpoint holds tensors,
    numbers and strings only, and loading one never runs code from it.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file. Its directory must exist. Use one file per fit: two fits
        (e.g. the candidates of a parallel search) must not share it.
    every : int, default=1
        Save at the end of every ``every``-th epoch. Each save writes the per-sample
        state, a few floats per training row and class, so on large data a larger
        value saves time.

    Attributes
    ----------
    resumed_from_ : int
        The number of epochs the last fit found in the checkpoint (0: it started afresh).

    See Also
    --------
    skorch.callbacks.Checkpoint : skorch's checkpoint of the best epoch on a validation
        score; it keeps no per-sample state and cannot resume a fit.

    Notes
    -----
    Resuming needs the same ``random_state`` (an int), the same data and the same
    parameters, except ``verbose``, ``device`` and ``callbacks``; anything else is refused
    with a ``ValueError`` naming what differs. The saved state is moved to the fit's
    device, so a fit started on a GPU can be resumed on the CPU (with CUDA's usual
    run-to-run differences). Other callbacks that keep their own state across epochs
    (e.g. ``LRScheduler``) restart it; schedules that follow the epoch count, as all of
    sknoisy's own do, pick up where they were.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import make_classification
    >>> from sknoisy import CoTeachingClassifier
    >>> from sknoisy.callbacks import TrainingCheckpoint
    >>> X, y = make_classification(n_samples=200, n_classes=3, n_informative=4,
    ...                            random_state=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "coteaching.ckpt")
    >>> clf = CoTeachingClassifier(max_epochs=4, forget_rate=0.2, random_state=0,
    ...                            callbacks=[TrainingCheckpoint(path)])
    >>> clf = clf.fit(X, y)  # if this is killed, the same call resumes it
    >>> os.path.exists(path)  # deleted once the fit has completed
    False
    """

    def __init__(self, path, every=1):
        self.path = path
        self.every = every

    def initialize(self):
        if not isinstance(self.path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike, got {self.path!r}")
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            raise ValueError(f"the checkpoint's directory {directory!r} does not exist")
        check_number(self.every, "every", low=1, integer=True)
        return self

    # -- skorch hooks -----------------------------------------------------------------
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.fingerprint_ = _fingerprint(net, X)
        self.resumed_from_ = 0
        if os.path.exists(self.path):
            self.resumed_from_ = self._restore(net)

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        if epoch % self.every == 0 and epoch < net.max_epochs:  # the last one: fit ends
            self._save(net)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        if len(net.history) >= net.max_epochs and os.path.exists(self.path):
            os.remove(self.path)

    # -- saving and restoring ---------------------------------------------------------
    def _save(self, net):
        device = torch.device(net.device)
        rng = {"cpu": torch.get_rng_state(), "shuffle": net.iterator_train__generator.get_state()}
        if device.type == "cuda":
            rng["cuda"] = torch.cuda.get_rng_state(device)
        state = {
            "format": _FORMAT,
            "fingerprint": json.dumps(self.fingerprint_, sort_keys=True),
            "history": json.dumps(list(net.history), default=_json_scalar),
            "components": {
                name: getattr(net, name + "_").state_dict()
                for name in [*net._modules, *net._criteria, *net._optimizers]
            },
            "grad_scaler": None if net.grad_scaler_ is None else net.grad_scaler_.state_dict(),
            "rng": rng,
            "state": {
                name: _encode(value, f"{type(net).__name__}.state_.{name}")
                for name, value in vars(net.state_).items()
            },
        }  # fmt: skip
        tmp = os.fspath(self.path) + ".tmp"
        torch.save(state, tmp)
        os.replace(tmp, self.path)

    def _restore(self, net):
        """Load the checkpoint into ``net``; returns its number of completed epochs."""
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ValueError(
                f"cannot read the checkpoint {os.fspath(self.path)!r} ({exc}); delete it to "
                "start the fit afresh"
            ) from exc
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ValueError(
                f"{os.fspath(self.path)!r} is not a sknoisy training checkpoint of format "
                f"{_FORMAT}; delete it to start the fit afresh"
            )
        saved = json.loads(state["fingerprint"])
        current = json.loads(json.dumps(self.fingerprint_, sort_keys=True))
        differ = sorted(key for key in current.keys() | saved.keys()
                        if saved.get(key) != current.get(key))  # fmt: skip
        if differ:
            raise ValueError(
                f"the checkpoint {os.fspath(self.path)!r} was written by another fit: its "
                f"{', '.join(differ)} differ from this fit's. Resuming needs the same "
                "estimator, parameters, int random_state and data; delete the file (or "
                "give another path) to start afresh"
            )
        device = torch.device(net.device)
        for name, component_state in state["components"].items():
            getattr(net, name + "_").load_state_dict(component_state)
        if state["grad_scaler"] is not None:
            net.grad_scaler_.load_state_dict(state["grad_scaler"])
        torch.set_rng_state(state["rng"]["cpu"])
        net.iterator_train__generator.set_state(state["rng"]["shuffle"])
        if device.type == "cuda" and "cuda" in state["rng"]:
            torch.cuda.set_rng_state(state["rng"]["cuda"], device)
        for name, value in state["state"].items():
            setattr(net.state_, name, _decode(value, device))
        net.history_ = History(json.loads(state["history"]))
        return len(net.history)


def _json_scalar(value):
    """NumPy scalars in the history as Python numbers."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"the history holds a {type(value).__name__}, which cannot be saved")


def _encode(value, name):
    """A net attribute as values ``torch.load(weights_only=True)`` reads back: tensors
    (with whether they lived on the training device), NumPy arrays as tensors, numbers,
    strings and containers of them."""
    if isinstance(value, torch.Tensor):
        return {"tensor": value.detach().cpu(), "on_device": value.device.type != "cpu"}
    if isinstance(value, np.ndarray) and value.dtype != object:
        return {"ndarray": torch.from_numpy(np.ascontiguousarray(value))}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, numbers.Number, str)):
        return value
    if isinstance(value, (list, tuple)):
        items = [_encode(item, name) for item in value]
        return {"tuple": items} if isinstance(value, tuple) else {"list": items}
    raise TypeError(f"{name} holds a {type(value).__name__}, which a checkpoint cannot save")


def _decode(value, device):
    if not isinstance(value, dict):
        return value
    if "tensor" in value:
        return value["tensor"].to(device) if value["on_device"] else value["tensor"]
    if "ndarray" in value:
        return value["ndarray"].numpy()
    items = [_decode(item, device) for item in next(iter(value.values()))]
    return tuple(items) if "tuple" in value else items


def _digest(*arrays):
    """SHA-256 of tensors' or arrays' contents, in row blocks (no full host copy)."""
    digest = hashlib.sha256()
    for array in arrays:
        if array is None:
            digest.update(b"none")
            continue
        digest.update(str((tuple(array.shape), str(array.dtype))).encode())
        if isinstance(array, SparseRows):  # its stored values and where they are
            for part in (array.matrix.data, array.matrix.indices, array.matrix.indptr):
                digest.update(np.ascontiguousarray(part).tobytes())
            continue
        if array.ndim == 0:
            array = array.reshape(1)
        for start in range(0, len(array), _HASH_ROWS):
            block = array[start : start + _HASH_ROWS]
            if isinstance(block, torch.Tensor):
                block = block.detach().cpu().numpy()
            digest.update(np.ascontiguousarray(block).tobytes())
    return digest.hexdigest()


def _describe(value):
    """A JSON-able description of a net parameter, for comparing two fits."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Number):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return _digest(value)
    if isinstance(value, torch.Generator):
        return _digest(value.get_state())
    if isinstance(value, (list, tuple)):
        return [_describe(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _describe(v) for k, v in value.items()}
    if isinstance(value, types.SimpleNamespace):  # a net's settings
        return {str(k): _describe(v) for k, v in vars(value).items()}
    if isinstance(value, torch.nn.Module):  # architecture and initial weights
        return [_describe(type(value)), _digest(*value.state_dict().values())]
    cls = value if isinstance(value, type) else type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def _fingerprint(net, dataset):
    """What must match for a checkpoint to belong to this fit: the method, its parameters
    (the networks' initial weights and the shuffling seed stand for ``random_state``)
    and the training data."""
    params = net.get_params(deep=False)
    return {
        "method": _describe(type(net)),
        "parameters": {k: _describe(v) for k, v in sorted(params.items())
                       if k not in _FREE_PARAMS},  # fmt: skip
        "training data": _digest(
            dataset.X, dataset.y, dataset.sample_weight, dataset.trusted
        ),
    }
