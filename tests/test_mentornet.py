"""MentorNet-PD: a self-paced mentor weighting the student's samples."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from sknoisy import MentorNetClassifier, RobustLossClassifier
from sknoisy.mentornet import MentorNetNet


def test_the_mentor_beats_plain_ce_and_finds_the_wrong_labels(blobs_40):
    X_train, X_test, y_train, y_noisy, y_test = blobs_40
    clf = MentorNetClassifier(max_epochs=30, random_state=0).fit(X_train, y_noisy)
    ce = RobustLossClassifier(max_epochs=30, random_state=0).fit(X_train, y_noisy)
    assert clf.score(X_test, y_test) > ce.score(X_test, y_test) + 0.05
    assert roc_auc_score(y_noisy == y_train, clf.label_quality_) > 0.9
    # "auto": keep about the share of rows estimated clean (60%).
    assert 45 < clf.percentile_ < 75
    assert abs(clf.noise_rate_ - 0.4) < 0.1


def test_burn_in_then_a_threshold_every_epoch(blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    clf = MentorNetClassifier(
        70.0, burn_in_epochs=2, max_epochs=5, hidden_layer_sizes=(16,), random_state=0
    ).fit(X_train, y_noisy)
    assert clf.burn_in_epochs_ == 2 and clf.percentile_ == 70.0
    assert "threshold" not in clf.history_[1]
    assert all(t > 0 for t in clf.history_[2:, "threshold"])


def test_the_mentor_keeps_losses_under_the_moving_percentile():
    state = MentorNetNet.__new__(MentorNetNet)
    state.percentile_, state.loss_decay, state.threshold_ = 50.0, 0.5, None
    losses = torch.tensor([0.1, 0.2, 3.0, 4.0])
    np.testing.assert_array_equal(MentorNetNet.mentor(state, losses), [1, 1, 0, 0])
    # The next batch moves the threshold halfway towards its own median: 1.6 -> 2.3.
    weights = MentorNetNet.mentor(state, torch.tensor([0.5, 1.0, 5.0, 6.0]))
    assert float(state.threshold_) == pytest.approx((1.6 + 3.0) / 2)
    np.testing.assert_array_equal(weights, [1, 1, 0, 0])


@pytest.mark.parametrize(
    "params, message",
    [
        ({"percentile": 0}, "percentile must be in"),
        ({"percentile": "most"}, "percentile must be 'auto' or a number"),
        ({"loss_decay": 1.0}, "loss_decay"),
        ({"burn_in_epochs": 1.5}, "burn_in_epochs"),
    ],
)
def test_bad_parameters_are_named(params, message, blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    with pytest.raises(ValueError, match=message):
        MentorNetClassifier(max_epochs=1, **params).fit(X_train, y_noisy)
