"""Devices, mixed precision and memory-conscious data paths.

The GPU itself is not available in CI: the CUDA-specific tests run only where one is,
and what can be checked on the CPU (autocast, loss scaling, pickles of nets fitted
elsewhere) is checked here.
"""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from skorch.exceptions import DeviceWarning
from test_estimators import ESTIMATORS

from sknoisy import DualEMClassifier, MentorNetClassifier, RobustLossClassifier

FAST = dict(max_epochs=4, hidden_layer_sizes=(32,), random_state=0)
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


class _Recorder(torch.nn.Module):
    """An MLP that records the dtype of its hidden activations and of its output."""

    def __init__(self, n_features=20, n_classes=5):
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Linear(n_features, 32), torch.nn.ReLU())
        self.classifier = torch.nn.Linear(32, n_classes)
        self.hidden_dtypes = set()

    def forward(self, X):
        hidden = self.features(X)
        self.hidden_dtypes.add(hidden.dtype)
        return self.classifier(hidden)


class _LossScale(Callback):
    """Records the fp16 loss scale and the largest gradient the callbacks see."""

    def initialize(self):
        self.scales, self.max_grads = [], []
        return self

    def on_grad_computed(self, net, named_parameters, **kwargs):
        self.scales.append(net.grad_scaler_.get_scale())
        grads = [p.grad for _, p in named_parameters if p.grad is not None]
        self.max_grads.append(max(float(g.abs().max()) for g in grads))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_bf16_trains_in_low_precision_and_matches_fp32(Estimator, blobs_40):
    X_train, X_test, _, y_noisy, y_test = blobs_40
    params = dict(FAST, max_epochs=8)
    fp32 = Estimator(**params).fit(X_train, y_noisy)
    bf16 = Estimator(module=_Recorder, precision="bf16", **params).fit(X_train, y_noisy)
    # The hidden layer ran in bfloat16; everything the estimator returns is float64.
    assert torch.bfloat16 in bf16.net_.module_.hidden_dtypes
    assert bf16.predict_proba(X_test).dtype == np.float64
    assert np.all(np.isfinite(bf16.label_quality_))
    assert bf16.score(X_test, y_test) > fp32.score(X_test, y_test) - 0.05


def test_fp32_stays_in_full_precision(blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    clf = RobustLossClassifier(module=_Recorder, **FAST).fit(X_train, y_noisy)
    assert clf.net_.module_.hidden_dtypes == {torch.float32}


@pytest.mark.parametrize(
    "Estimator, fit_params",
    [(RobustLossClassifier, {}), (MentorNetClassifier, {"trusted": "first_100"})],
)
def test_fp16_scales_the_loss_and_callbacks_see_true_gradients(Estimator, fit_params,
                                                               blobs_40):
    X_train, X_test, y_train, y_noisy, y_test = blobs_40
    if fit_params:  # MentorNet-DD: its mentor has a second optimizer, stepped unscaled
        trusted = np.arange(len(y_train)) < 100
        y_noisy = np.where(trusted, y_train, y_noisy)
        fit_params = {"trusted": trusted}
    fp32 = Estimator(**FAST).fit(X_train, y_noisy, **fit_params)
    clf = Estimator(precision="fp16", callbacks=[("loss_scale", _LossScale())], **FAST)
    clf.fit(X_train, y_noisy, **fit_params)
    recorder = dict(clf.net_.callbacks_)["loss_scale"]  # fit works on a copy
    assert min(recorder.scales) > 1.0  # GradScaler starts at 2**16
    # Unscaled gradients of a cross-entropy loss stay far below the loss scale.
    assert max(recorder.max_grads) < 1e3
    assert clf.score(X_test, y_test) > fp32.score(X_test, y_test) - 0.05


@pytest.mark.parametrize("precision", ["fp8", "float16", None, 16])
def test_unknown_precision_is_named(precision, blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    with pytest.raises(ValueError, match="precision must be one of"):
        RobustLossClassifier(precision=precision, **FAST).fit(X_train, y_noisy)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_fitted_net_keeps_no_tensor_outside_its_modules(Estimator, blobs_40):
    """Tensors outside skorch's device-mapped attributes (modules, optimizers, criteria)
    are pickled as they are: one left on a GPU would not load on a machine without."""
    X_train, _, y_train, y_noisy, _ = blobs_40
    fit_params = {"trusted": np.arange(len(y_train)) < 100} if Estimator is MentorNetClassifier \
        else {}  # fmt: skip
    net = Estimator(**FAST).fit(X_train, y_noisy, **fit_params).net_
    mapped = tuple(net.cuda_dependent_attributes_)

    def tensors_in(value):
        if isinstance(value, torch.Tensor):
            return True
        if isinstance(value, dict):
            return any(tensors_in(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return any(tensors_in(v) for v in value)
        return False

    stray = [name for name, value in vars(net).items()
             if not name.startswith(mapped) and tensors_in(value)]  # fmt: skip
    assert stray == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks loading without a GPU")
@pytest.mark.parametrize("Estimator", [RobustLossClassifier, DualEMClassifier])
def test_a_pickle_from_a_gpu_machine_predicts_on_the_cpu(Estimator, blobs_40):
    """A fitted estimator whose net says "cuda", as one fitted on a GPU, loads here on
    the CPU (skorch maps its modules to the CPU with a DeviceWarning) and predicts as
    before. test_gpu_fit_pickles_to_cpu does it for real where a GPU is."""
    X_train, X_test, _, y_noisy, _ = blobs_40
    clf = Estimator(**FAST).fit(X_train, y_noisy)
    expected = clf.predict_proba(X_test)
    clf.net_.device = "cuda"
    with pytest.warns(DeviceWarning, match="no CUDA devices"):
        restored = pickle.loads(pickle.dumps(clf))
    assert str(restored.net_.device) == "cpu"
    np.testing.assert_allclose(restored.predict_proba(X_test), expected, rtol=1e-6)


@needs_cuda
@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_gpu_fit_pickles_to_cpu(Estimator, precision, blobs_40, tmp_path):
    X_train, X_test, y_train, y_noisy, y_test = blobs_40
    fit_params = {"trusted": np.arange(len(y_train)) < 100} if Estimator is MentorNetClassifier \
        else {}  # fmt: skip
    clf = Estimator(device="auto", precision=precision, **FAST).fit(X_train, y_noisy,
                                                                    **fit_params)
    assert next(clf.net_.module_.parameters()).device.type == "cuda"
    assert clf.score(X_test, y_test) > 0.6
    np.save(tmp_path / "X.npy", X_test)
    np.save(tmp_path / "proba.npy", clf.predict_proba(X_test))
    (tmp_path / "clf.pkl").write_bytes(pickle.dumps(clf))
    # A process that sees no GPU loads it and predicts the same.
    script = (
        "import pickle, sys, warnings, numpy as np, torch\n"
        "assert not torch.cuda.is_available()\n"
        "d = sys.argv[1]\n"
        "with warnings.catch_warnings():\n"
        "    warnings.simplefilter('ignore')\n"
        "    clf = pickle.loads(open(d + '/clf.pkl', 'rb').read())\n"
        "p = clf.predict_proba(np.load(d + '/X.npy'))\n"
        "np.testing.assert_allclose(p, np.load(d + '/proba.npy'), atol=2e-2)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True,
                   env=dict(os.environ, CUDA_VISIBLE_DEVICES=""))  # fmt: skip


def test_predict_proba_in_batches_matches_one_pass(blobs_40):
    X_train, X_test, _, y_noisy, _ = blobs_40
    clf = RobustLossClassifier(**FAST).fit(X_train, y_noisy)
    clf.net_.iterator_valid__batch_size = 7  # many batches, a short last one
    batched = clf.net_.predict_proba(X_test)
    assert batched.shape == (len(X_test), 5) and batched.dtype == np.float32
    module = clf.net_.module_.eval()
    with torch.no_grad():
        expected = module(torch.as_tensor(X_test)).softmax(dim=1).numpy()
    np.testing.assert_allclose(batched, expected, rtol=1e-5, atol=1e-7)


def test_dataset_scope_neighbours_never_build_an_n_by_n_matrix(monkeypatch):
    """neighbor_scope="dataset" searches in blocks of at most _DISTANCE_BLOCK_SIZE
    distances, whatever the number of rows."""
    from sknoisy import neighbormix

    shapes = []
    original = neighbormix.pairwise_distances

    def recording(A, B, metric):
        shapes.append((len(A), len(B)))
        return original(A, B, metric)

    monkeypatch.setattr(neighbormix, "pairwise_distances", recording)
    Z = torch.randn(3000, 4)
    neighbormix.dataset_neighbors(Z, 2, "euclidean", block_size=30_000)
    assert max(a * b for a, b in shapes) <= 30_000
    assert sum(a for a, _ in shapes) == 3000
