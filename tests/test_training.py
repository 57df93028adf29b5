"""The in-memory batch iterator behind every estimator."""

import torch

from sknoisy._training import IndexedBatch, TensorBatchIterator, TensorDataset


def _dataset(n):
    X = torch.arange(n, dtype=torch.float32).reshape(n, 1)
    return TensorDataset(X, torch.arange(n) % 3)


def test_shuffled_batches_cover_every_row_once_and_carry_their_indices():
    data = _dataset(300)
    batches = list(TensorBatchIterator(data, 128, shuffle=True,
                                       generator=torch.Generator().manual_seed(0)))
    assert [len(b[0]) for b in batches] == [128, 128, 44]
    index = torch.cat([b.index for b in batches])
    assert sorted(index.tolist()) == list(range(300))
    for batch in batches:
        X, y = batch  # unpacks as skorch expects
        assert isinstance(batch, IndexedBatch)
        torch.testing.assert_close(X[:, 0], batch.index.float())
        torch.testing.assert_close(y, batch.index % 3)


def test_shuffling_follows_the_generator_only():
    data = _dataset(50)

    def order(seed):
        iterator = TensorBatchIterator(data, 16, shuffle=True,
                                       generator=torch.Generator().manual_seed(seed))
        return torch.cat([b.index for b in iterator]).tolist()

    torch.manual_seed(1)
    first = order(0)
    torch.manual_seed(2)
    assert order(0) == first and order(1) != first


def test_a_last_training_batch_of_one_row_joins_the_previous_batch():
    data = _dataset(257)
    iterator = TensorBatchIterator(data, 128, shuffle=True, generator=torch.Generator())
    assert len(iterator) == 2
    assert [len(b[0]) for b in iterator] == [128, 129]
    # Prediction keeps plain contiguous batches.
    assert [len(b[0]) for b in TensorBatchIterator(data, 128)] == [128, 128, 1]


def _augmenting_net(X):
    """The training state that NoisyLabelNet.augment reads, as on_train_begin sets it."""
    from sknoisy._training import NoisyLabelNet, TrainingRows

    net = object.__new__(NoisyLabelNet)
    net.data_ = TrainingRows(
        X=X, feature_mean=X.mean(dim=0), feature_quantiles=None, feature_scores=None
    )
    return net


def test_augmenting_training_rows_by_index_matches_the_batchwise_computation(monkeypatch):
    import sknoisy._training as training

    torch.manual_seed(0)
    X = torch.cat([torch.randn(2000, 3).exp(), (torch.rand(2000, 2) < 0.3).float()], dim=1)
    index = torch.arange(0, 2000, 7)
    cached = _augmenting_net(X)
    torch.manual_seed(1)
    view_cached = cached.augment(X[index], index, noise=0.5)
    assert cached.data_.feature_scores is not None
    assert cached.data_.feature_scores.dtype == torch.float16

    monkeypatch.setattr(training, "_MAX_CACHED_SCORES_BYTES", 0)  # too large to keep
    batchwise = _augmenting_net(X)
    torch.manual_seed(1)
    view_batchwise = batchwise.augment(X[index], index, noise=0.5)
    assert batchwise.data_.feature_scores is None
    # The same draws; the cached scores are rounded to float16, which moves a value by
    # far less than the noise does.
    moved = (view_batchwise - X[index]).abs().mean()
    assert float((view_cached - view_batchwise).abs().mean()) < 0.01 * float(moved)
    assert not torch.equal(view_batchwise, X[index])


def test_a_method_that_does_not_augment_keeps_no_quantiles():
    X = torch.randn(100, 4)
    net = _augmenting_net(X)
    assert torch.equal(net.augment(X[:10], torch.arange(10)), X[:10])
    assert net.data_.feature_quantiles is None and net.data_.feature_scores is None
