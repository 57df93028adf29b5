"""Hyperparameter search on a Dask cluster, through joblib's "dask" backend.

docs/distributed.md shows GridSearchCV and cross_val_score of sknoisy estimators on a Dask
cluster; this runs its LocalCluster example on a real cluster of two worker processes
(one thread each) and checks that the fits ran in the workers, that they gave the same
results as the same search run in this process, and that the cluster leaves no process
behind.
"""

import contextlib
import importlib
import logging
import os

import joblib
import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknoisy import CoTeachingClassifier, RobustLossClassifier, make_label_noise

# Dask is in the test extra, not a run-time dependency: a user without it skips this file.
# CI installs the test extra, so there a missing Dask fails instead of skipping quietly.
if os.environ.get("CI"):
    distributed = importlib.import_module("distributed")
else:
    distributed = pytest.importorskip("distributed")

GRID = {"forget_rate": [0.2, 0.4]}
CHANCE = 0.1  # 10 balanced classes
# Small networks, a few epochs: each fit takes a fraction of a second, yet scores well above
# chance (about 0.5 against labels of which 30% are wrong).
SMALL = dict(max_epochs=3, hidden_layer_sizes=(32,), lr=1e-2, batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def digits_30():
    """600 digits, 30% symmetric noise on the labels; raw pixels (0..16) and standardised."""
    X, y = load_digits(return_X_y=True)
    X, y = X[:600].astype(np.float32), y[:600]
    y_noisy = make_label_noise(y, "symmetric", 0.3, random_state=0)
    return X, StandardScaler().fit_transform(X).astype(np.float32), y_noisy


@pytest.fixture(scope="module")
def dask_cluster():
    """A LocalCluster of 2 worker processes of 1 thread each, and a client connected to it.

    On closing, checks that the worker processes have ended.
    """
    import psutil  # a dependency of distributed

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        worker_pids = set(client.run(os.getpid).values())
        yield cluster, client, worker_pids
    children = {p.pid for p in psutil.Process().children(recursive=True)}
    assert not worker_pids & children, "the cluster's worker processes outlived it"


@contextlib.contextmanager
def torch_threads(n):
    """torch's intra-op thread count set to ``n`` for the block (Dask's workers run with 1)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def test_workers_are_separate_processes_with_one_torch_thread(dask_cluster):
    cluster, client, worker_pids = dask_cluster
    assert len(worker_pids) == 2 and os.getpid() not in worker_pids
    # The nanny starts each worker with OMP_NUM_THREADS=1, so the fits running side by side
    # do not oversubscribe the cores (what docs/distributed.md tells users to rely on).
    assert set(client.run(torch.get_num_threads).values()) == {1}


def test_grid_search_runs_on_the_workers_and_matches_a_local_search(dask_cluster, digits_30):
    cluster, client, _ = dask_cluster
    _, X, y_noisy = digits_30
    search = GridSearchCV(CoTeachingClassifier(**SMALL), GRID, cv=2, n_jobs=-1)
    with distributed.get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
        search.fit(X, y_noisy)

    # The fits and scorings (sklearn's _fit_and_score) ran as tasks on the cluster's workers.
    assert tasks.data, "no task ran on the cluster"
    worker_addresses = {w.worker_address for w in cluster.workers.values()}
    for task in tasks.data:
        assert "_fit_and_score" in str(task["key"]), task["key"]
        assert task["worker"] in worker_addresses and task["status"] == "OK", task

    assert search.best_params_ in [{"forget_rate": r} for r in GRID["forget_rate"]]
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and scores.min() > 2.5 * CHANCE, scores

    # A fixed random_state makes the CPU fits deterministic: the same search in this process,
    # one fit after the other, finds the same fold scores.
    with torch_threads(1):
        local = GridSearchCV(CoTeachingClassifier(**SMALL), GRID, cv=2, n_jobs=1)
        local.fit(X, y_noisy)
    assert local.cv_results_["params"] == search.cv_results_["params"]
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        np.testing.assert_allclose(search.cv_results_[key], local.cv_results_[key], err_msg=key)
    assert search.best_params_ == local.best_params_


def test_cross_val_score_fits_each_fold_in_a_worker_process(dask_cluster, digits_30):
    _, _, worker_pids = dask_cluster
    X_raw, _, y_noisy = digits_30
    # A pipeline, so the scaler is fitted inside each fold, on the worker.
    model = make_pipeline(StandardScaler(), RobustLossClassifier("gce", **SMALL))

    def scoring_process(estimator, X, y):
        """The scorer runs in the task that fitted the fold: it reports that process's id."""
        import os

        return float(os.getpid())

    with joblib.parallel_backend("dask"):
        scores = cross_val_score(model, X_raw, y_noisy, cv=3, n_jobs=-1)
        pids = cross_val_score(model, X_raw, y_noisy, cv=3, n_jobs=-1, scoring=scoring_process)

    assert {int(p) for p in pids} <= worker_pids, (pids, worker_pids)
    assert np.all(np.isfinite(scores)) and scores.min() > 2.5 * CHANCE, scores
    with torch_threads(1):
        local = cross_val_score(model, X_raw, y_noisy, cv=3, n_jobs=1)
    np.testing.assert_allclose(scores, local)
