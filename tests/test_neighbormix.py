"""NeighborMix: neighbour mixing weighted by the loss mixture model, soft targets."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from sknoisy import NeighborMixClassifier
from sknoisy._training import FitState, MethodSettings
from sknoisy.neighbormix import NeighborMixNet, dataset_neighbors, update_soft_targets


def test_phases_follow_warmup_and_neighbor_start(blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    clf = NeighborMixClassifier(
        max_epochs=8, warmup_epochs=2, neighbor_start=4, hidden_layer_sizes=(16,),
        random_state=0,
    ).fit(X_train, y_noisy)  # fmt: skip
    assert clf.warmup_epochs_ == 2
    assert list(clf.history_[:, "phase"]) == ["warmup"] * 2 + ["mixup"] * 3 + ["neighbors"] * 3
    assert all(0 < f < 1 for f in clf.history_[2:, "clean_fraction"])


@pytest.mark.parametrize("scope", ["batch", "dataset"])
@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_every_neighbour_search_learns(scope, metric, blobs_40):
    X_train, X_test, y_train, y_noisy, y_test = blobs_40
    clf = NeighborMixClassifier(
        n_neighbors=3, metric=metric, neighbor_scope=scope, max_epochs=15, random_state=0
    ).fit(X_train, y_noisy)
    assert clf.score(X_test, y_test) > 0.75
    assert roc_auc_score(y_noisy == y_train, clf.label_quality_) > 0.85


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_dataset_neighbours_in_blocks_match_a_brute_force_search(metric):
    torch.manual_seed(0)
    Z = torch.randn(50, 4)
    if metric == "cosine":
        distances = 1 - torch.nn.functional.cosine_similarity(Z[:, None], Z[None], dim=2)
    else:
        distances = torch.cdist(Z, Z)
    distances.fill_diagonal_(float("inf"))
    expected = distances.topk(3, dim=1, largest=False).indices
    torch.testing.assert_close(dataset_neighbors(Z, 3, metric, block_size=7 * 50), expected)


def _mixing_state(clean):
    """A stand-in for the net: 3 rows whose network represents them in a line, row 0
    nearest row 1."""
    network = SimpleNamespace(
        features=lambda X: torch.tensor([[0.0], [1.0], [5.0]]), classifier=lambda Z: Z
    )
    return SimpleNamespace(
        settings=MethodSettings(neighbor_scope="batch", n_neighbors=1, metric="euclidean"),
        module_=network,
        state_=FitState(clean=torch.tensor(clean), soft_targets=torch.eye(3)),
    )  # fmt: skip


def test_a_corrupted_row_is_replaced_by_its_clean_neighbour():
    X = torch.tensor([[10.0], [20.0], [30.0]])
    index = torch.arange(3)
    state = _mixing_state([0.0, 1.0, 1.0])
    X_mixed, targets = NeighborMixNet.neighbor_mix(state, X, index)
    # Row 0 (corrupted) becomes row 1, its nearest neighbour; row 1's neighbour is the
    # corrupted row 0, so row 1 stays itself; two clean rows mix half and half.
    np.testing.assert_allclose(X_mixed[:2, 0], [20.0, 20.0], atol=1e-6)
    np.testing.assert_allclose(targets[0], [0.0, 1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(X_mixed[2, 0], 25.0, atol=1e-6)  # row 2 with row 1
    # When every member looks corrupted, the row is kept.
    X_mixed, _ = NeighborMixNet.neighbor_mix(_mixing_state([0.0, 0.0, 0.0]), X, index)
    np.testing.assert_allclose(X_mixed[:, 0], [10.0, 20.0, 30.0])


def test_the_soft_targets_move_towards_the_predictions():
    targets = update_soft_targets(torch.eye(2), torch.tensor([[0.0, 1.0], [0.0, 1.0]]), 0.75)
    np.testing.assert_allclose(targets, [[0.75, 0.25], [0.0, 1.0]])


def _epoch_pass_net(logits, labels):
    """A stand-in for the net at an epoch's start: its eval pass returns ``logits``."""
    net = NeighborMixNet.__new__(NeighborMixNet)
    net.module_ = None
    net.settings = MethodSettings(neighbor_scope="batch", loss_target="given", momentum=0.5,
                                  loss_window=2, n_neighbors=1, metric="euclidean")  # fmt: skip
    n, k = logits.shape
    net.state_ = FitState(phase="mixup", soft_targets=torch.eye(k)[labels], recent_losses=[],
                          clean=None, neighbors=None)  # fmt: skip
    net.data_ = SimpleNamespace(y=labels, trusted=None)
    net.full_pass = lambda module, representation=False: (logits,)
    net.record_logits = lambda index, *out: None
    return net


def test_the_epoch_pass_scores_rows_and_updates_the_soft_targets():
    # 40 rows the network fits (logit 5 on the label) and 10 it does not.
    labels = torch.tensor([0, 1] * 25)
    logits = torch.nn.functional.one_hot(labels, 2).float() * 5
    logits[40:] = logits[40:].flip(1)
    net = _epoch_pass_net(logits, labels)
    net.epoch_pass(update_targets=False)
    clean = net.state_.clean
    assert bool((clean[:40] > 0.9).all() and (clean[40:] < 0.1).all())
    assert torch.equal(net.state_.soft_targets, torch.eye(2)[labels])  # not updated
    # The mixture reads the losses averaged over the last loss_window passes.
    assert len(net.state_.recent_losses) == 1
    net.epoch_pass(update_targets=True)
    assert len(net.state_.recent_losses) == 2
    expected = 0.5 * torch.eye(2)[labels] + 0.5 * logits.softmax(dim=1)
    torch.testing.assert_close(net.state_.soft_targets, expected)


class _NoRepresentation(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(20, 5)

    def forward(self, X):
        return self.linear(X)


class _WithRepresentation(_NoRepresentation):
    def features(self, X):
        return X

    def classifier(self, Z):
        return self.linear(Z)


def test_a_module_must_expose_its_representation(blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    with pytest.raises(ValueError, match="'features' and 'classifier'"):
        NeighborMixClassifier(module=_NoRepresentation, max_epochs=1).fit(X_train, y_noisy)
    clf = NeighborMixClassifier(module=_WithRepresentation, max_epochs=4, warmup_epochs=1,
                                neighbor_start=1, random_state=0).fit(X_train, y_noisy)
    assert clf.history_[-1, "phase"] == "neighbors"
