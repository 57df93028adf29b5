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
