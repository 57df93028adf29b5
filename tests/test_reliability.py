"""Reliability: persistence, determinism across processes and
parallel searches, and memory over repeated fits."""

import ast
import os
import subprocess
import sys
import textwrap

import joblib
import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from test_estimators import ESTIMATORS

import sknoisy
from sknoisy import CoTeachingClassifier, FilterClassifier

FAST = dict(max_epochs=4, hidden_layer_sizes=(16,), random_state=0)
ALL = [*ESTIMATORS, FilterClassifier]


def _make(Estimator):
    if Estimator is FilterClassifier:
        return FilterClassifier(sknoisy.RobustLossClassifier(**FAST), cv=3, random_state=0)
    return Estimator(**FAST)


@pytest.fixture(scope="module")
def small():
    X, y = make_classification(
        n_samples=300, n_features=10, n_informative=6, n_classes=3, random_state=0
    )
    return X.astype(np.float32), y


@pytest.mark.parametrize("Estimator", ALL)
def test_joblib_round_trip(Estimator, small, tmp_path):
    X, y = small
    clf = _make(Estimator).fit(X, y)
    joblib.dump(clf, tmp_path / "model.joblib")
    restored = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(restored.label_quality_, clf.label_quality_)
    np.testing.assert_array_equal(restored.label_issues_, clf.label_issues_)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_networks_unpickle_with_torch_weights_only(Estimator, small):
    """skorch loads a net's modules and optimizers with torch.load(weights_only=True)
    unless ``torch_load_kwargs`` says otherwise; sknoisy never does."""
    X, y = small
    net = _make(Estimator).fit(X, y).net_
    assert net.torch_load_kwargs is None  # skorch's default: {"weights_only": True}


def test_sknoisy_loads_torch_files_only_with_weights_only():
    """Every torch.load in the package passes weights_only=True (the checkpoints of
    sknoisy.callbacks); pickled estimators go through skorch's weights-only loader."""
    package = os.path.dirname(sknoisy.__file__)
    calls = 0
    for name in os.listdir(package):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(package, name)) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "torch.load":
                calls += 1
                keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
                assert keywords.get("weights_only") == "True", f"{name}:{node.lineno}"
    assert calls >= 1  # the checkpoint's loader is found, so the scan works


_FIT_ALL = textwrap.dedent(
    """
    import sys, warnings
    import numpy as np, torch
    from sklearn.datasets import make_classification
    import sknoisy
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    X, y = make_classification(n_samples=300, n_features=10, n_informative=6,
                               n_classes=3, random_state=0)
    X = X.astype(np.float32)
    results = {}
    for name in sys.argv[2].split(","):
        est = getattr(sknoisy, name)(max_epochs=4, hidden_layer_sizes=(16,), random_state=0)
        est.fit(X, y)
        results[name + ".proba"] = est.predict_proba(X)
        results[name + ".quality"] = est.label_quality_
    np.savez(sys.argv[1], **results)
    """
)


def test_same_random_state_gives_identical_results_in_two_processes(tmp_path):
    """Bit for bit on the CPU: nothing depends on the process (hash seeds, global RNG
    state, allocation addresses)."""
    names = ",".join(Estimator.__name__ for Estimator in ESTIMATORS)
    for run, hash_seed in [("a", "1"), ("b", "2")]:
        env = dict(os.environ, PYTHONHASHSEED=hash_seed, CUDA_VISIBLE_DEVICES="")
        subprocess.run([sys.executable, "-c", _FIT_ALL, str(tmp_path / run), names],
                       check=True, env=env)  # fmt: skip
    first, second = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert sorted(first) == sorted(second) and len(first) == 2 * len(ESTIMATORS)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)


def test_parallel_search_matches_a_sequential_one(small):
    X, y = small
    grid = {"forget_rate": [0.1, 0.3, 0.5]}
    # Loky's workers run torch with one thread each; the sequential search does too,
    # since a different thread count changes the order of floating-point sums.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        sequential = GridSearchCV(CoTeachingClassifier(**FAST), grid, cv=3, n_jobs=1)
        sequential.fit(X, y)
    finally:
        torch.set_num_threads(threads)
    parallel = GridSearchCV(CoTeachingClassifier(**FAST), grid, cv=3, n_jobs=2).fit(X, y)
    for key in ("mean_test_score", "split0_test_score", "split2_test_score"):
        np.testing.assert_array_equal(parallel.cv_results_[key], sequential.cv_results_[key])
    assert parallel.best_params_ == sequential.best_params_


_REPEATED_FITS = textwrap.dedent(
    """
    import gc, sys, warnings
    from pathlib import Path
    import numpy as np
    from sklearn.datasets import make_classification
    import sknoisy
    warnings.simplefilter("ignore")

    def rss_mb():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

    # 1.6 MB of features: an estimator that left its training data behind in each of
    # its 14 or 15 fits would add over 20 MB.
    X, y = make_classification(n_samples=2500, n_features=160, n_informative=8,
                               n_classes=4, random_state=0)
    X = X.astype(np.float32)
    estimators = [getattr(sknoisy, name) for name in sys.argv[1].split(",")]

    def fit(seed):
        Estimator = estimators[seed % len(estimators)]
        clf = Estimator(max_epochs=2, batch_size=2500, hidden_layer_sizes=(16,),
                        random_state=seed)
        clf.fit(X, y).predict_proba(X)

    for seed in range(2 * len(estimators)):  # allocator and library start-up
        fit(seed)
    gc.collect()
    before = rss_mb()
    for seed in range(100):
        fit(seed)
    gc.collect()
    print(rss_mb() - before)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_hundred_fits_do_not_grow_memory():
    """100 fits in one process, the network estimators in turn."""
    names = ",".join(Estimator.__name__ for Estimator in ESTIMATORS)
    done = subprocess.run([sys.executable, "-c", _REPEATED_FITS, names], check=True,
                          capture_output=True, text=True)  # fmt: skip
    growth = float(done.stdout.strip().splitlines()[-1])
    assert growth < 20, f"memory grew by {growth:.1f} MB over 100 fits"


@pytest.fixture(scope="module")
def customers():
    """A new user's table: numbers, a pandas categorical column, string labels (30% of
    them flipped)."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "income": rng.lognormal(10, 1, n),
        "city": pd.Categorical(rng.choice(["paris", "lyon", "nice"], n)),
        "visits": rng.integers(0, 20, n),
    })  # fmt: skip
    score = (frame.age - 40) / 10 + 1.5 * (frame.city == "paris") + np.log(frame.income) - 10
    y = np.where(score > 0.8, "churn", np.where(score > -0.5, "stay", "upgrade"))
    return frame, y, sknoisy.make_label_noise(y, "symmetric", 0.3, random_state=0)


@pytest.mark.parametrize("Estimator", ALL)
def test_dataframe_with_a_categorical_column_in_a_pipeline(Estimator, customers):
    """As a new user would: default parameters, behind a ColumnTransformer."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame, y, y_noisy = customers
    preprocess = ColumnTransformer([
        ("numbers", StandardScaler(), ["age", "income", "visits"]),
        ("city", OneHotEncoder(), ["city"]),
    ])  # fmt: skip
    pipeline = make_pipeline(preprocess, Estimator(random_state=0)).fit(frame, y_noisy)
    predicted = pipeline.predict(frame)
    assert set(predicted) <= {"churn", "stay", "upgrade"}
    assert pipeline.predict_proba(frame).shape == (len(frame), 3)
    assert pipeline[-1].label_quality_.shape == pipeline[-1].label_issues_.shape == y.shape
    majority = max(np.mean(y == label) for label in np.unique(y))
    assert pipeline.score(frame, y) > majority  # learnt something from the noisy labels
