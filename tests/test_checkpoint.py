"""Checkpoints (sknoisy.callbacks.TrainingCheckpoint): a fit killed mid-way resumes from
its last checkpoint and, on the CPU, ends exactly where an uninterrupted fit ends."""

import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from skorch.callbacks import Callback
from test_estimators import ESTIMATORS, CountEpochs, _InterruptAt

from sknoisy import (
    CoTeachingClassifier,
    DualEMClassifier,
    LossCorrectionClassifier,
    MentorNetClassifier,
    RobustLossClassifier,
)
from sknoisy.callbacks import TrainingCheckpoint

PARAMS = dict(max_epochs=8, hidden_layer_sizes=(16,), batch_size=64, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=300, n_features=8, n_informative=5, n_classes=3, random_state=0
    )
    return X.astype(np.float32), y


def _fit_params(Estimator, y):
    """MentorNet is fitted with trusted rows, so that its mentor's state is checkpointed."""
    return {"trusted": np.arange(len(y)) < 30} if Estimator is MentorNetClassifier else {}


class _Killed(Exception):
    """Stands for the process being killed: skorch lets it through, unlike Ctrl-C."""


class _KillAt(Callback):
    """Raises ``_Killed`` after the second batch of the given (1-based) epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, net, **kwargs):
        if len(net.history) == self.epoch and len(net.history[-1]["batches"]) == 2:
            raise _Killed


def _callback(clf, kind):
    return next(cb for _, cb in clf.net_.callbacks_ if isinstance(cb, kind))


def _assert_same_fit(clf, reference, X):
    np.testing.assert_array_equal(clf.predict_proba(X), reference.predict_proba(X))
    np.testing.assert_array_equal(clf.label_quality_, reference.label_quality_)
    np.testing.assert_array_equal(clf.label_issues_, reference.label_issues_)
    assert clf.n_iter_ == reference.n_iter_ == len(clf.history_)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_killed_fit_resumes_to_the_uninterrupted_result(Estimator, data, tmp_path):
    X, y = data
    fit_params = _fit_params(Estimator, y)
    reference = Estimator(**PARAMS).fit(X, y, **fit_params)
    path = tmp_path / "fit.ckpt"
    with pytest.raises(_Killed):
        Estimator(callbacks=[TrainingCheckpoint(path), _KillAt(6)], **PARAMS).fit(
            X, y, **fit_params
        )
    assert path.exists()

    clf = Estimator(callbacks=[TrainingCheckpoint(path), CountEpochs()], **PARAMS)
    clf.fit(X, y, **fit_params)
    # Resumed from epoch 5, the last completed one: only epochs 6 to 8 ran again.
    assert _callback(clf, TrainingCheckpoint).resumed_from_ == 5
    assert _callback(clf, CountEpochs).epochs_run == 3
    _assert_same_fit(clf, reference, X)
    assert not path.exists()  # a completed fit removes its checkpoint


@pytest.mark.parametrize(
    ("Estimator", "params"),
    [
        (RobustLossClassifier, {"precision": "fp16"}),  # the loss scaler's state
        (LossCorrectionClassifier, {"correction": "adaptation_layer"}),  # a third module
        (DualEMClassifier, {"dropout": 0.3, "precision": "bf16"}),  # dropout's generator
        (MentorNetClassifier, {}),  # without trusted rows: the predefined curriculum
    ],
)
def test_variants_resume_to_the_uninterrupted_result(Estimator, params, data, tmp_path):
    X, y = data
    params = {**PARAMS, "max_epochs": 6, **params}
    reference = Estimator(**params).fit(X, y)
    path = tmp_path / "fit.ckpt"
    with pytest.raises(_Killed):
        Estimator(callbacks=[TrainingCheckpoint(path), _KillAt(4)], **params).fit(X, y)
    clf = Estimator(callbacks=[TrainingCheckpoint(path)], **params).fit(X, y)
    assert _callback(clf, TrainingCheckpoint).resumed_from_ == 3
    _assert_same_fit(clf, reference, X)


def test_the_per_sample_state_is_part_of_the_checkpoint(data, tmp_path):
    """Resuming with the networks but without DualEM's per-row state (cleanness
    posteriors, targets) ends elsewhere: the state restored is what makes the result equal."""
    X, y = data
    reference = DualEMClassifier(**PARAMS).fit(X, y)
    path = tmp_path / "fit.ckpt"
    with pytest.raises(_Killed):
        DualEMClassifier(callbacks=[TrainingCheckpoint(path), _KillAt(6)], **PARAMS).fit(X, y)
    state = torch.load(path, weights_only=True)
    assert {"cleanness", "targets", "refurbished"} <= set(state["state"])
    for name in ["cleanness", "targets", "refurbished", "selected"]:
        del state["state"][name]
    torch.save(state, path)
    clf = DualEMClassifier(callbacks=[TrainingCheckpoint(path)], **PARAMS).fit(X, y)
    assert _callback(clf, TrainingCheckpoint).resumed_from_ == 5
    assert not np.array_equal(clf.label_quality_, reference.label_quality_)


def test_checkpoint_every_few_epochs(data, tmp_path):
    X, y = data
    reference = CoTeachingClassifier(**PARAMS).fit(X, y)
    path = tmp_path / "fit.ckpt"
    with pytest.raises(_Killed):
        CoTeachingClassifier(
            callbacks=[TrainingCheckpoint(path, every=3), _KillAt(6)], **PARAMS
        ).fit(X, y)
    clf = CoTeachingClassifier(callbacks=[TrainingCheckpoint(path, every=3)], **PARAMS)
    clf.fit(X, y)
    assert _callback(clf, TrainingCheckpoint).resumed_from_ == 3
    _assert_same_fit(clf, reference, X)


def test_ctrl_c_keeps_a_usable_estimator_and_the_checkpoint(data, tmp_path):
    X, y = data
    reference = DualEMClassifier(**PARAMS).fit(X, y)
    path = tmp_path / "fit.ckpt"
    stopped = DualEMClassifier(callbacks=[TrainingCheckpoint(path), _InterruptAt(4)], **PARAMS)
    stopped.fit(X, y)
    assert stopped.n_iter_ == 3 and stopped.predict(X).shape == y.shape
    assert path.exists()  # stopped early: kept for resuming
    clf = DualEMClassifier(callbacks=[TrainingCheckpoint(path)], **PARAMS).fit(X, y)
    assert _callback(clf, TrainingCheckpoint).resumed_from_ == 3
    _assert_same_fit(clf, reference, X)


_KILLED_PROCESS = textwrap.dedent(
    """
    import sys
    import numpy as np, torch
    from sklearn.datasets import make_classification
    from sknoisy import DualEMClassifier
    from sknoisy.callbacks import TrainingCheckpoint
    torch.set_num_threads(int(sys.argv[2]))
    X, y = make_classification(n_samples=300, n_features=8, n_informative=5, n_classes=3,
                               random_state=0)
    params = dict(max_epochs=100, hidden_layer_sizes=(16,), batch_size=64, random_state=0)
    DualEMClassifier(callbacks=[TrainingCheckpoint(sys.argv[1])], **params).fit(
        X.astype(np.float32), y)
    """
)


def test_a_process_killed_with_sigkill_resumes(data, tmp_path):
    """A real kill (SIGKILL: no clean-up, possibly during a save) of a fit in another
    process, resumed in this one."""
    X, y = data
    path = tmp_path / "fit.ckpt"
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLED_PROCESS, str(path), str(torch.get_num_threads())]
    )
    deadline = time.monotonic() + 120
    while not path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL and path.exists()

    params = {**PARAMS, "max_epochs": 100}
    clf = DualEMClassifier(callbacks=[TrainingCheckpoint(path)], **params).fit(X, y)
    assert 1 <= _callback(clf, TrainingCheckpoint).resumed_from_ < 100
    _assert_same_fit(clf, DualEMClassifier(**params).fit(X, y), X)


def _checkpoint_after_kill(Estimator, X, y, path, **params):
    with pytest.raises(_Killed):
        Estimator(callbacks=[TrainingCheckpoint(path), _KillAt(3)], **{**PARAMS, **params}).fit(
            X, y
        )


@pytest.mark.parametrize(
    ("change", "differs"),
    [
        ({"random_state": 1}, "parameters"),
        ({"lr": 0.01}, "parameters"),
        ({"hidden_layer_sizes": (8,)}, "parameters"),
        ({"data": True}, "training data"),
        ({"estimator": DualEMClassifier}, "method"),
    ],
)
def test_a_checkpoint_of_another_fit_is_refused(change, differs, data, tmp_path):
    X, y = data
    path = tmp_path / "fit.ckpt"
    _checkpoint_after_kill(CoTeachingClassifier, X, y, path)
    Estimator = change.pop("estimator", CoTeachingClassifier)
    if change.pop("data", False):
        X = X.copy()  # not a shift of every row, which standardisation undoes
        X[0, 0] += 1
    clf = Estimator(callbacks=[TrainingCheckpoint(path)], **{**PARAMS, **change})
    with pytest.raises(ValueError, match=f"another fit: its {differ_pattern(differs)}"):
        clf.fit(X, y)
    assert path.exists()  # never overwritten by a refused fit


def differ_pattern(differs):
    return f"(.*, )?{differs}(, .*)? differ"


def test_random_state_none_cannot_resume(data, tmp_path):
    X, y = data
    path = tmp_path / "fit.ckpt"
    _checkpoint_after_kill(CoTeachingClassifier, X, y, path, random_state=None)
    clf = CoTeachingClassifier(callbacks=[TrainingCheckpoint(path)], **{**PARAMS,
                                                                       "random_state": None})
    with pytest.raises(ValueError, match="int random_state"):
        clf.fit(X, y)


def test_unreadable_checkpoint_is_an_error(data, tmp_path):
    X, y = data
    path = tmp_path / "fit.ckpt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="cannot read the checkpoint"):
        CoTeachingClassifier(callbacks=[TrainingCheckpoint(path)], **PARAMS).fit(X, y)
    torch.save({"weights": torch.zeros(2)}, path)
    with pytest.raises(ValueError, match="not a sknoisy training checkpoint"):
        CoTeachingClassifier(callbacks=[TrainingCheckpoint(path)], **PARAMS).fit(X, y)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"path": "/no/such/directory/fit.ckpt"}, ValueError, "does not exist"),
        ({"path": 3}, TypeError, "path must be"),
        ({"every": 0}, ValueError, "every must be"),
        ({"every": 1.5}, TypeError, "every must be an int"),
    ],
)
def test_bad_parameters_are_refused(kwargs, error, match, data, tmp_path):
    X, y = data
    kwargs = {"path": tmp_path / "fit.ckpt", **kwargs}
    with pytest.raises(error, match=match):
        CoTeachingClassifier(callbacks=[TrainingCheckpoint(**kwargs)], **PARAMS).fit(X, y)
