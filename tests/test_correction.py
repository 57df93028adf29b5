"""Loss correction: forward, backward and the noise-adaptation layer; the T estimate."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from sknoisy import LossCorrectionClassifier, RobustLossClassifier, make_label_noise
from sknoisy.correction import (
    NoiseAdaptationLayer,
    backward_corrected_loss,
    forward_corrected_loss,
)
from sknoisy.noise import pairflip_transition_matrix, transition_matrix
from sknoisy.quality import estimate_transition_matrix


def test_the_corrected_losses_on_a_hand_made_transition():
    import torch

    T = torch.tensor([[0.8, 0.2], [0.4, 0.6]])  # rows: true classes
    log_proba = torch.tensor([[0.5, 0.5], [1.0, 1e-12]]).log()
    y = torch.tensor([1, 0])
    # Forward: -log sum_i p_i T[i, y]: row 0, 0.5 * 0.2 + 0.5 * 0.6; row 1, T[0, 0].
    np.testing.assert_allclose(forward_corrected_loss(log_proba, T, y),
                               [-np.log(0.4), -np.log(0.8)], rtol=1e-5)  # fmt: skip
    # Backward: sum_j inv(T)[y, j] * -log p_j; with T the identity, plain cross-entropy.
    np.testing.assert_allclose(backward_corrected_loss(log_proba, torch.eye(2), y),
                               [np.log(2), 0.0], atol=1e-6)  # fmt: skip
    inverse = torch.linalg.inv(T)
    expected = -(inverse[1, 0] * np.log(0.5) + inverse[1, 1] * np.log(0.5))
    assert float(backward_corrected_loss(log_proba, inverse, y)[0]) == pytest.approx(expected)


def test_the_adaptation_layer_starts_from_the_estimate_and_stays_stochastic():
    import torch

    layer = NoiseAdaptationLayer(2)
    T = torch.tensor([[0.8, 0.2], [0.4, 0.6]])
    with torch.no_grad():
        layer.initialise(T)
    torch.testing.assert_close(layer.matrix(), T)
    torch.testing.assert_close(layer.matrix().sum(dim=1), torch.ones(2))


@pytest.fixture(scope="module")
def blobs_pair40(blobs_40):
    X_train, X_test, y_train, _, y_test = blobs_40
    y_noisy = make_label_noise(y_train, "pairflip", 0.4, random_state=0)
    return X_train, X_test, y_train, y_noisy, y_test


# Backward correction is the weakest (as in Patrini et al.): the inverse amplifies the
# error of the estimated matrix.
@pytest.mark.parametrize(
    "correction, min_auroc", [("forward", 0.9), ("backward", 0.75), ("adaptation_layer", 0.9)]
)
def test_each_correction_beats_plain_ce_at_40_percent_pair_noise(
    correction, min_auroc, blobs_pair40
):
    X_train, X_test, y_train, y_noisy, y_test = blobs_pair40
    clf = LossCorrectionClassifier(correction, max_epochs=30, random_state=0)
    clf.fit(X_train, y_noisy)
    ce = RobustLossClassifier(max_epochs=30, random_state=0).fit(X_train, y_noisy)
    assert clf.score(X_test, y_test) > ce.score(X_test, y_test) + 0.05
    assert roc_auc_score(y_noisy == y_train, clf.label_quality_) > min_auroc
    assert clf.transition_matrix_.shape == (5, 5)
    np.testing.assert_allclose(clf.transition_matrix_.sum(axis=1), 1.0, rtol=1e-6)


def test_the_estimate_finds_the_pair_flips_and_revisions_refine_it(blobs_pair40):
    X_train, _, y_train, y_noisy, _ = blobs_pair40
    true = transition_matrix(y_train, y_noisy)
    clf = LossCorrectionClassifier(max_epochs=30, random_state=0).fit(X_train, y_noisy)
    # Each row's two largest entries are its own class and the next one.
    for i, row in enumerate(clf.transition_matrix_):
        assert set(np.argsort(row)[-2:]) == {i, (i + 1) % 5}
    error = np.abs(clf.transition_matrix_ - true).max()
    assert error < 0.12
    first = LossCorrectionClassifier(revisions=0, max_epochs=30, random_state=0)
    assert np.abs(first.fit(X_train, y_noisy).transition_matrix_ - true).max() > error + 0.05


def test_a_given_matrix_skips_the_warm_up_and_is_kept(blobs_pair40):
    X_train, X_test, y_train, y_noisy, y_test = blobs_pair40
    T = pairflip_transition_matrix(5, 0.4)
    clf = LossCorrectionClassifier(transition_matrix=T, max_epochs=20, random_state=0)
    clf.fit(X_train, y_noisy)
    assert clf.warmup_epochs_ == 0 and set(clf.history_[:, "phase"]) == {"corrected"}
    np.testing.assert_allclose(clf.transition_matrix_, T, rtol=1e-6)
    ce = RobustLossClassifier(max_epochs=20, random_state=0).fit(X_train, y_noisy)
    assert clf.score(X_test, y_test) > ce.score(X_test, y_test) + 0.05


def test_the_adaptation_layer_learns_its_matrix(blobs_pair40):
    X_train, _, _, y_noisy, _ = blobs_pair40
    T = np.full((5, 5), 0.1) + 0.5 * np.eye(5)
    clf = LossCorrectionClassifier(
        "adaptation_layer", transition_matrix=T, max_epochs=10, random_state=0
    ).fit(X_train, y_noisy)
    assert np.abs(clf.transition_matrix_ - T).max() > 0.01  # trained: moved from its start
    # Dropped at inference: the network's own softmax.
    assert clf.predict_proba(X_train[:5]).shape == (5, 5)


def test_anchor_and_confident_joint_estimates_on_known_probabilities():
    rng = np.random.default_rng(0)
    true_class = rng.integers(0, 3, size=3000)
    T = np.array([[0.7, 0.3, 0.0], [0.0, 0.8, 0.2], [0.1, 0.0, 0.9]])
    proba = T[true_class]  # a perfect model of P(given | x)
    labels = np.array([rng.choice(3, p=row) for row in proba])
    for method in ("anchor", "confident_joint"):
        estimate = estimate_transition_matrix(labels, proba, method=method)
        assert np.abs(estimate - T).max() < 0.05, method
