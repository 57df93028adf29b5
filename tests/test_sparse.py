"""Sparse input (CSR, CSC, sparse arrays): fitted and predicted without a dense copy of
X, with the same results as the same data given dense."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.datasets import make_classification
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from test_estimators import ESTIMATORS

from sknoisy import (
    AutoClassifier,
    CoTeachingClassifier,
    FilterClassifier,
    RobustLossClassifier,
    _base,
    _training,
)
from sknoisy._base import feature_statistics
from sknoisy._sparse import SparseBatch, SparseRows, canonical_csr, sparse_feature_statistics
from sknoisy.modules import MLP

SMALL = dict(max_epochs=8, hidden_layer_sizes=(32,), random_state=0)


@pytest.fixture(scope="module")
def sparse_problem():
    """300 rows of 30 features, about 40% of them zero, 3 classes, 20% of labels
    flipped; the same matrix dense (float32) and as CSR."""
    X, y = make_classification(
        n_samples=300, n_features=30, n_informative=8, n_classes=3, random_state=0
    )
    X[np.abs(X) < 0.5] = 0.0
    rng = np.random.default_rng(0)
    flipped = rng.random(len(y)) < 0.2
    y[flipped] = rng.integers(3, size=flipped.sum())
    dense = X.astype(np.float32)
    return dense, sp.csr_matrix(dense), y


class _DenseRowsRecorder:
    """Records the number of rows of every sparse block made dense."""

    def __init__(self, monkeypatch):
        self.rows = []
        original = sp.csr_matrix.toarray

        def toarray(matrix, *args, **kwargs):
            self.rows.append(matrix.shape[0])
            return original(matrix, *args, **kwargs)

        monkeypatch.setattr(sp.csr_matrix, "toarray", toarray)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_sparse_input_gives_the_dense_results(Estimator, sparse_problem):
    dense, csr, y = sparse_problem
    on_dense = Estimator(**SMALL).fit(dense, y)
    on_sparse = Estimator(**SMALL).fit(csr, y)
    agreement = np.mean(on_dense.predict(dense) == on_sparse.predict(csr))
    assert agreement >= 0.99
    np.testing.assert_allclose(
        on_sparse.predict_proba(csr), on_dense.predict_proba(dense), atol=1e-4
    )
    np.testing.assert_allclose(on_sparse.label_quality_, on_dense.label_quality_, atol=1e-4)
    np.testing.assert_allclose(on_sparse.feature_mean_, on_dense.feature_mean_, rtol=1e-12)
    np.testing.assert_allclose(on_sparse.feature_scale_, on_dense.feature_scale_, rtol=1e-12)


@pytest.mark.parametrize(
    "to_sparse", [sp.csc_matrix, sp.csr_array, sp.coo_matrix], ids=["csc", "csr_array", "coo"]
)
def test_other_sparse_formats_are_taken(to_sparse, sparse_problem):
    dense, csr, y = sparse_problem
    reference = RobustLossClassifier(**SMALL).fit(csr, y).predict(csr)
    clf = RobustLossClassifier(**SMALL).fit(to_sparse(dense), y)
    np.testing.assert_array_equal(clf.predict(to_sparse(dense)), reference)


def test_the_users_matrix_is_left_as_it_was():
    # Duplicate entries (an uncanonical matrix) are summed in a copy.
    X = sp.csr_matrix(
        (np.ones(4, dtype=np.float32), np.array([0, 0, 1, 1]), np.array([0, 2, 3, 4])),
        shape=(3, 2),
    )
    assert not X.has_canonical_format
    before = (X.data.copy(), X.indices.copy(), X.indptr.copy())
    fixed = canonical_csr(X)
    np.testing.assert_array_equal(fixed.toarray(), X.toarray())
    assert fixed.has_canonical_format
    for array, original in zip((X.data, X.indices, X.indptr), before, strict=True):
        np.testing.assert_array_equal(array, original)
    y = np.array([0, 1, 1])
    RobustLossClassifier(max_epochs=1, random_state=0).fit(sp.vstack([X] * 4), np.tile(y, 4))
    np.testing.assert_array_equal(X.data, before[0])


def test_sparse_statistics_match_the_dense_ones(sparse_problem):
    dense, csr, _ = sparse_problem
    csr = csr.copy()
    csr.data[:5] = 1e30  # large values do not overflow
    mean, scale = sparse_feature_statistics(canonical_csr(csr))
    dense_mean, dense_scale = feature_statistics(csr.toarray())
    np.testing.assert_allclose(mean, dense_mean, rtol=1e-10)
    np.testing.assert_allclose(scale, dense_scale, rtol=1e-10)
    constant = sp.csr_matrix(np.zeros((4, 2), dtype=np.float32))
    np.testing.assert_array_equal(sparse_feature_statistics(constant)[1], [1.0, 1.0])


def test_rows_index_like_a_tensor(sparse_problem):
    import torch

    dense, csr, _ = sparse_problem
    mean, scale = feature_statistics(dense)
    rows = SparseRows(canonical_csr(csr), mean, scale)
    standardised = ((dense - mean) / scale).astype(np.float32)
    index = torch.tensor([[3, 1], [0, 299]])
    np.testing.assert_array_equal(rows[index].numpy(), standardised[index.numpy()])
    np.testing.assert_array_equal(rows[10:20].numpy(), standardised[10:20])
    np.testing.assert_array_equal(torch.cat(list(rows.split(128))).numpy(), standardised)
    np.testing.assert_allclose(rows.mean_row().numpy(), standardised.mean(axis=0), atol=1e-6)
    assert len(rows) == 300 and rows.numel() == 300 * 30 and rows.shape == (300, 30)


def test_training_makes_no_dense_copy_of_x(monkeypatch):
    X, y = make_classification(n_samples=5000, n_features=20, random_state=0)
    X[np.abs(X) < 1] = 0.0
    csr = sp.csr_matrix(X.astype(np.float32))
    recorder = _DenseRowsRecorder(monkeypatch)
    # The augmentation's quantiles from at most 1,000 dense rows here.
    monkeypatch.setattr(_training, "_MAX_DENSE_QUANTILE_BYTES", 4 * 20 * 1000)
    from sknoisy import DivideMixClassifier

    DivideMixClassifier(max_epochs=3, hidden_layer_sizes=(16,), random_state=0).fit(csr, y)
    assert recorder.rows and max(recorder.rows) <= 4096 < len(y)


def test_predict_proba_streams_sparse_rows(monkeypatch, sparse_problem):
    dense, csr, y = sparse_problem
    clf = RobustLossClassifier(**SMALL).fit(csr, y)
    expected = clf.predict_proba(csr)
    monkeypatch.setattr(_base, "_BLOCK_ELEMENTS", 30 * 50)  # blocks of 50 rows
    recorder = _DenseRowsRecorder(monkeypatch)
    np.testing.assert_allclose(clf.predict_proba(csr), expected, rtol=1e-6)
    assert max(recorder.rows) == 50
    unscaled = RobustLossClassifier(**SMALL, standardize=False).fit(csr, y)
    recorder.rows.clear()
    unscaled.predict_proba(csr)
    assert max(recorder.rows) == 50


def test_a_refit_on_sparse_rows_checks_the_feature_count(sparse_problem):
    _, csr, y = sparse_problem
    clf = RobustLossClassifier(**SMALL).fit(csr, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(csr[:, :10])


def test_meta_estimators_take_sparse_input(sparse_problem):
    dense, csr, y = sparse_problem
    candidates = [
        ("ce", RobustLossClassifier(**SMALL)),
        ("gce", RobustLossClassifier("gce", **SMALL)),
    ]
    auto_dense = AutoClassifier(candidates, random_state=0).fit(dense, y)
    auto_sparse = AutoClassifier(candidates, random_state=0).fit(csr, y)
    assert auto_sparse.best_name_ == auto_dense.best_name_
    np.testing.assert_array_equal(auto_sparse.predict(csr), auto_dense.predict(dense))
    filtered = FilterClassifier(RobustLossClassifier(**SMALL), random_state=0).fit(csr, y)
    assert filtered.predict(csr).shape == y.shape
    assert filtered.__sklearn_tags__().input_tags.sparse
    assert not FilterClassifier().__sklearn_tags__().input_tags.sparse  # HistGradientBoosting


def test_a_tfidf_pipeline_learns_weakly_labelled_text():
    rng = np.random.default_rng(0)
    topics = {
        0: ["goal", "match", "team", "score", "league"],
        1: ["vote", "party", "election", "senate", "law"],
        2: ["stock", "market", "price", "bank", "trade"],
    }
    filler = ["the", "a", "today", "news", "report", "said", "new", "week"]
    y = rng.integers(3, size=600)
    docs = [
        " ".join(rng.choice(topics[label], 3).tolist() + rng.choice(filler, 6).tolist())
        for label in y
    ]
    noisy = y.copy()
    flipped = rng.random(len(y)) < 0.3
    noisy[flipped] = rng.integers(3, size=flipped.sum())
    pipeline = make_pipeline(TfidfVectorizer(), RobustLossClassifier(**SMALL))
    pipeline.fit(docs[:500], noisy[:500])
    assert sp.issparse(pipeline[0].transform(docs[:2]))
    assert np.mean(pipeline.predict(docs[500:]) == y[500:]) > 0.9
    # A scaler without centring in front keeps the rows sparse too.
    scaled = make_pipeline(
        TfidfVectorizer(), StandardScaler(with_mean=False), RobustLossClassifier(**SMALL)
    )
    assert np.mean(scaled.fit(docs[:500], noisy[:500]).predict(docs[500:]) == y[500:]) > 0.9


def test_a_killed_sparse_fit_resumes_from_its_checkpoint(sparse_problem, tmp_path):
    from test_checkpoint import _assert_same_fit, _KillAt, _Killed

    from sknoisy import DivideMixClassifier
    from sknoisy.callbacks import TrainingCheckpoint

    _, csr, y = sparse_problem
    params = dict(SMALL, max_epochs=6)
    reference = DivideMixClassifier(**params).fit(csr, y)
    path = tmp_path / "fit.ckpt"
    with pytest.raises(_Killed):
        DivideMixClassifier(callbacks=[TrainingCheckpoint(path), _KillAt(4)], **params).fit(
            csr, y
        )
    changed = csr.copy()
    changed.data[0] += 1.0  # other data: the checkpoint is not taken
    with pytest.raises(ValueError, match="checkpoint"):
        DivideMixClassifier(callbacks=[TrainingCheckpoint(path)], **params).fit(changed, y)
    clf = DivideMixClassifier(callbacks=[TrainingCheckpoint(path)], **params).fit(csr, y)
    _assert_same_fit(clf, reference, csr)


def test_full_passes_over_wide_sparse_rows_stay_small(monkeypatch):
    X, y = make_classification(n_samples=2000, n_features=50, random_state=0)
    X[np.abs(X) < 1.5] = 0.0
    csr = sp.csr_matrix(X.astype(np.float32))
    monkeypatch.setattr(_training, "_MAX_DENSE_PASS_VALUES", 50 * 300)
    monkeypatch.setattr(_base, "_BLOCK_ELEMENTS", 50 * 300)
    recorder = _DenseRowsRecorder(monkeypatch)
    from sknoisy import NeighborMixClassifier

    NeighborMixClassifier(max_epochs=4, hidden_layer_sizes=(16,), batch_size=128,
                          random_state=0, augment_noise=0.0).fit(csr, y)  # fmt: skip
    assert max(recorder.rows) == 300


# -- the first layer on sparse rows --------------------------------------------------------


@pytest.fixture(scope="module")
def sparse_rows_and_dense():
    """20 rows of 50 features (80% zeros), as SparseRows that give SparseBatch batches
    and as the same rows dense and standardised."""
    matrix = sp.random(20, 50, density=0.2, format="csr", dtype=np.float32, random_state=0)
    mean, scale = np.asarray(matrix.mean(axis=0)).ravel(), np.linspace(0.5, 2.0, 50)
    dense = torch.tensor((matrix.toarray() - mean) / scale, dtype=torch.float32)
    return SparseRows(matrix, mean, scale, sparse_batches=True), dense


def _mixed(X, index, neighbours, weights, condition, other):
    """What the methods do to a batch: mixup, neighbour mixing, choosing between views."""
    batch = X[index]
    mixup = 0.7 * batch + 0.3 * batch[torch.tensor([2, 0, 3, 1])]
    members = torch.cat([batch[:, None], X[neighbours]], dim=1)
    neighbour_mix = (weights.view(*weights.shape, 1) * members).sum(dim=1)
    chosen = torch.where(condition.view(-1, 1), batch, other)
    return batch, mixup, neighbour_mix, chosen


def test_sparse_batches_give_the_first_layer_of_the_dense_rows(sparse_rows_and_dense):
    rows, dense = sparse_rows_and_dense
    torch.manual_seed(0)
    net = MLP(50, 3, hidden_layer_sizes=(8,), sparse_input=True)
    index = torch.tensor([3, 5, 7, 1])
    neighbours = torch.tensor([[1, 2], [3, 4], [5, 6], [7, 8]])
    weights = torch.rand(4, 3)
    condition = torch.tensor([True, False, True, False])
    others = torch.tensor([9, 10, 11, 12])
    on_sparse = _mixed(rows, index, neighbours, weights, condition, rows[others])
    on_dense = _mixed(dense, index, neighbours, weights, condition, dense[others])
    for sparse_batch, dense_batch in zip(on_sparse, on_dense, strict=True):
        assert isinstance(sparse_batch, SparseBatch)
        assert sparse_batch.shape == dense_batch.shape
        torch.testing.assert_close(net(sparse_batch), net(dense_batch))
    torch.testing.assert_close(net(rows[2:9]), net(dense[2:9]))


def test_sparse_batches_refuse_what_would_make_them_dense(sparse_rows_and_dense):
    rows, _ = sparse_rows_and_dense
    batch = rows[0:4]
    with pytest.raises(TypeError, match="one factor per row"):
        batch * torch.ones(4, 50)
    with pytest.raises(IndexError, match="leading dimensions"):
        batch[:, 3]
    with pytest.raises(ValueError, match="not yet mixed"):
        (0.5 * batch + 0.5 * batch).augmented(noise=0.1)


def test_sparse_augmentation_keeps_zeros_and_signs(sparse_rows_and_dense):
    rows, _ = sparse_rows_and_dense
    batch = rows[0:20]
    torch.manual_seed(0)
    view = batch.augmented(noise=0.5, mask=0.3)
    before, after = batch.rows.to_dense(), view.rows.to_dense()  # the stored rows
    assert torch.all(after[before == 0] == 0)
    assert torch.all(after * before >= 0)
    dropped = (after == 0) & (before != 0)
    assert 0.15 < dropped.sum() / (before != 0).sum() < 0.45
    kept = (after != 0)
    assert not torch.allclose(after[kept], before[kept])


@pytest.fixture(scope="module")
def wide_problem():
    """A bag-of-words problem: 400 rows of 300 features, 3 classes, each row 8 words
    of its class's 30 and 12 random ones; 30% of labels flipped. CSR and dense."""
    rng = np.random.default_rng(0)
    n, d, k = 400, 300, 3
    topics = rng.integers(0, d, size=(k, 30))
    y = rng.integers(0, k, n)
    cols = [np.concatenate([rng.choice(topics[c], 8), rng.integers(0, d, 12)]) for c in y]
    rows = np.repeat(np.arange(n), [len(c) for c in cols])
    csr = sp.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, np.concatenate(cols))), shape=(n, d)
    )
    y_noisy = y.copy()
    flipped = rng.random(n) < 0.3
    y_noisy[flipped] = rng.integers(0, k, flipped.sum())
    return csr, y_noisy, y


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_wide_sparse_rows_reach_the_first_layer_sparse(Estimator, wide_problem, monkeypatch):
    csr, y_noisy, y = wide_problem
    monkeypatch.setattr(_base, "SPARSE_FIRST_LAYER_MIN_FEATURES", 100)

    def no_dense(*args, **kwargs):
        raise AssertionError("sparse rows were made dense")

    monkeypatch.setattr(SparseRows, "dense", no_dense)
    clf = Estimator(max_epochs=12, hidden_layer_sizes=(32,), random_state=0).fit(
        csr[:300], y_noisy[:300]
    )
    assert clf._sparse_first_layer
    # Learnt: well above the 1/3 of chance, on true labels of rows it has not seen.
    assert np.mean(clf.predict(csr[300:]) == y[300:]) > 0.6
    np.testing.assert_allclose(
        clf.predict_proba(csr[300:].toarray()), clf.predict_proba(csr[300:]), atol=1e-6
    )


@pytest.mark.parametrize("Estimator", [RobustLossClassifier, CoTeachingClassifier])
def test_the_sparse_first_layer_fits_as_dense_batches_do(Estimator, wide_problem, monkeypatch):
    """Without augmentation, the same training: the first layer's output on the sparse
    rows is the one on the dense standardised rows."""
    csr, y_noisy, _ = wide_problem
    params = dict(max_epochs=12, hidden_layer_sizes=(32,), random_state=0)
    dense_batches = Estimator(**params).fit(csr[:300], y_noisy[:300])
    monkeypatch.setattr(_base, "SPARSE_FIRST_LAYER_MIN_FEATURES", 100)
    sparse_batches = Estimator(**params).fit(csr[:300], y_noisy[:300])
    assert sparse_batches._sparse_first_layer and not dense_batches._sparse_first_layer
    agreement = np.mean(sparse_batches.predict(csr[300:]) == dense_batches.predict(csr[300:]))
    assert agreement >= 0.99
    np.testing.assert_allclose(sparse_batches.feature_mean_, dense_batches.feature_mean_)


def test_wide_sparse_rows_go_dense_to_a_users_module(wide_problem, monkeypatch):
    csr, y_noisy, _ = wide_problem
    monkeypatch.setattr(_base, "SPARSE_FIRST_LAYER_MIN_FEATURES", 100)
    module = torch.nn.Sequential(torch.nn.Linear(300, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    clf = RobustLossClassifier(module=module, max_epochs=2, random_state=0).fit(csr, y_noisy)
    assert not clf._sparse_first_layer
    assert clf.feature_mean_.any()


def test_the_sparse_first_layer_steps_adam_without_copies(wide_problem, monkeypatch):
    csr, y_noisy, _ = wide_problem
    monkeypatch.setattr(_base, "SPARSE_FIRST_LAYER_MIN_FEATURES", 100)
    clf = RobustLossClassifier(max_epochs=1, random_state=0).fit(csr, y_noisy)
    assert clf.net_.optimizer_.defaults.get("fused") is (True if _base._FUSED_ADAM else None)


def test_the_sparse_product_has_the_dense_gradient(sparse_rows_and_dense):
    rows, dense = sparse_rows_and_dense
    weight = torch.randn(50, 5, requires_grad=True)
    index, partner = torch.tensor([1, 2, 3, 2]), torch.tensor([3, 0, 1, 2])
    batch = rows[index]
    (((0.3 * batch + 0.7 * batch[partner]).linear(weight)) ** 2).sum().backward()
    on_sparse, weight.grad = weight.grad, None
    batch = dense[index]
    (((0.3 * batch + 0.7 * batch[partner]) @ weight) ** 2).sum().backward()
    torch.testing.assert_close(on_sparse, weight.grad)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_wide_sparse_rows_train_on_the_gpu(Estimator, wide_problem, monkeypatch):
    csr, y_noisy, y = wide_problem
    monkeypatch.setattr(_base, "SPARSE_FIRST_LAYER_MIN_FEATURES", 100)
    clf = Estimator(max_epochs=12, hidden_layer_sizes=(32,), device="cuda", random_state=0)
    clf.fit(csr[:300], y_noisy[:300])
    assert clf._sparse_first_layer
    assert clf.net_.module_.features[1].weight.device.type == "cuda"
    assert np.mean(clf.predict(csr[300:]) == y[300:]) > 0.6
