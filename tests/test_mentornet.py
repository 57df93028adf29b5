"""MentorNet: the self-paced mentor (PD) and the mentor learned from trusted rows (DD)."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV

from sknoisy import MentorNetClassifier, RobustLossClassifier
from sknoisy._training import FitState, MethodSettings
from sknoisy.mentornet import DataDrivenMentor, MentorNetNet, self_paced_weights


def test_the_self_paced_mentor_keeps_the_losses_below_lambda():
    weights = self_paced_weights(torch.tensor([0.1, 0.5, 0.9]), torch.tensor(0.5))
    assert weights.tolist() == [1.0, 1.0, 0.0]


def test_the_data_driven_mentor_weighs_by_its_density_ratio_and_trusts_trusted_rows():
    """A mentor whose output is 0 (density ratio exp(0) = 1): a row counts while
    1 - noise rate is at least 0.5; trusted rows always."""
    mentor = DataDrivenMentor(2)
    torch.nn.init.zeros_(mentor.layers[-1].weight)
    torch.nn.init.zeros_(mentor.layers[-1].bias)
    net = MentorNetNet.__new__(MentorNetNet)
    net.mentor_, net.max_epochs, net.device = mentor, 10, "cpu"
    net.history_ = [{}, {}]  # in the second epoch
    net.data_ = SimpleNamespace(trusted=torch.tensor([True, False, False]))
    losses, y, index = torch.tensor([0.1, 0.2, 3.0]), torch.tensor([0, 1, 0]), torch.arange(3)
    for percentile, expected in [(60.0, [1.0, 1.0, 1.0]), (40.0, [1.0, 0.0, 0.0])]:
        net.state_ = FitState(percentile=percentile, threshold=torch.tensor(0.5))
        assert net.data_driven_weights(losses, y, index).tolist() == expected
    # The step trained the mentor: its gradients are there.
    assert mentor.layers[-1].weight.grad is not None


def test_the_mentor_beats_plain_ce_and_finds_the_wrong_labels(blobs_40, ce_score_40):
    X_train, X_test, y_train, y_noisy, y_test = blobs_40
    clf = MentorNetClassifier(max_epochs=30, random_state=0).fit(X_train, y_noisy)
    assert clf.score(X_test, y_test) > ce_score_40 + 0.05
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


@pytest.mark.parametrize("max_epochs, burn_in", [(12, 5), (6, 3)])
def test_the_auto_burn_in_lasts_several_epochs_however_many_steps_each_makes(
    max_epochs, burn_in, blobs_40
):
    X_train, _, _, y_noisy, _ = blobs_40  # 1,400 rows: 100 steps of 16 within one epoch
    clf = MentorNetClassifier(
        batch_size=16, max_epochs=max_epochs, hidden_layer_sizes=(8,), random_state=0
    ).fit(X_train, y_noisy)
    assert clf.burn_in_epochs_ == burn_in
    assert clf.history_[burn_in - 1, "noise_rate"] == pytest.approx(1 - clf.percentile_ / 100)


def test_the_threshold_is_a_moving_average_of_the_batch_percentile():
    net = MentorNetNet.__new__(MentorNetNet)
    net.settings = MethodSettings(loss_decay=0.5)
    net.state_ = FitState(percentile=50.0, threshold=None)
    net.update_threshold(torch.tensor([0.1, 0.2, 3.0, 4.0]))
    assert float(net.state_.threshold) == pytest.approx(1.6)  # the first batch's median
    # The next batch moves it halfway towards its own median, 3.0.
    net.update_threshold(torch.tensor([0.5, 1.0, 5.0, 6.0]))
    assert float(net.state_.threshold) == pytest.approx((1.6 + 3.0) / 2)


@pytest.fixture(scope="module")
def trusted_10(blobs_40):
    """A random 10% of the training rows, relabelled with their true labels."""
    X_train, _, y_train, y_noisy, _ = blobs_40
    trusted = np.random.default_rng(0).random(len(y_train)) < 0.1
    return trusted, np.where(trusted, y_train, y_noisy)


def test_the_data_driven_mentor_learns_from_trusted_rows(blobs_40, trusted_10):
    X_train, X_test, y_train, _, y_test = blobs_40
    trusted, y_given = trusted_10
    clf = MentorNetClassifier(max_epochs=30, random_state=0)
    clf.fit(X_train, y_given, trusted=trusted)
    ce = RobustLossClassifier(max_epochs=30, random_state=0).fit(X_train, y_given)
    assert clf.score(X_test, y_test) > ce.score(X_test, y_test) + 0.05
    untrusted = ~trusted
    right = (y_given == y_train)[untrusted]
    assert roc_auc_score(right, clf.label_quality_[untrusted]) > 0.9
    np.testing.assert_array_equal(clf.label_quality_[trusted], 1.0)
    assert abs(clf.noise_rate_ - np.mean(~right) * untrusted.mean()) < 0.1
    # The mentor learned something else than the predefined curriculum.
    pd = MentorNetClassifier(max_epochs=30, random_state=0).fit(X_train, y_given)
    assert not np.array_equal(pd.label_quality_, clf.label_quality_)


def test_trusted_is_split_with_the_folds_of_a_search(blobs_40, trusted_10):
    X_train, _, _, _, _ = blobs_40
    trusted, y_given = trusted_10
    search = GridSearchCV(
        MentorNetClassifier(max_epochs=3, hidden_layer_sizes=(16,), random_state=0),
        {"loss_decay": [0.5, 0.9]},
        cv=2,
    )
    search.fit(X_train, y_given, trusted=trusted)
    assert search.best_estimator_.label_quality_[trusted].min() == 1.0


