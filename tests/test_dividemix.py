"""DivideMix: co-divided semi-supervised training of two networks."""

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from sknoisy import DivideMixClassifier, RobustLossClassifier


def test_co_division_separates_rows_and_beats_plain_ce(blobs_40):
    X_train, X_test, y_train, y_noisy, y_test = blobs_40
    flipped = y_noisy != y_train
    clf = DivideMixClassifier(max_epochs=30, random_state=0).fit(X_train, y_noisy)
    assert roc_auc_score(~flipped, clf.label_quality_) > 0.9
    ce = RobustLossClassifier(max_epochs=30, random_state=0).fit(X_train, y_noisy)
    assert clf.score(X_test, y_test) > ce.score(X_test, y_test) + 0.05
    assert abs(clf.noise_rate_ - 0.4) < 0.1
    assert clf.lambda_u_ == 0.0  # "auto" at an estimated 40% noise: labelled rows only


def test_history_records_the_division_and_the_ramp(blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    clf = DivideMixClassifier(
        max_epochs=7, warmup_epochs=2, lambda_u=10.0, rampup_epochs=4, hidden_layer_sizes=(16,),
        random_state=0,
    ).fit(X_train, y_noisy)  # fmt: skip
    assert clf.warmup_epochs_ == 2 and clf.lambda_u_ == 10.0
    assert "labelled_fraction" not in clf.history_[1]
    np.testing.assert_allclose(clf.history_[2:, "lambda_u"], [2.5, 5, 7.5, 10, 10])
    assert all(0 < f < 1 for f in clf.history_[2:, "labelled_fraction"])


@pytest.mark.parametrize("max_epochs, scale", [(2, 0.04), (25, 0.5), (60, 1.0)])
def test_auto_mixup_and_augmentation_follow_the_passes(max_epochs, scale, blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    params = dict(max_epochs=max_epochs, hidden_layer_sizes=(8,), random_state=0)
    clf = DivideMixClassifier(**params).fit(X_train, y_noisy)
    assert clf.alpha_ == pytest.approx(4.0 * scale)
    assert clf.augment_noise_ == pytest.approx(0.5 * scale)
    given = DivideMixClassifier(alpha=2.0, augment_noise=0.0, **params).fit(X_train, y_noisy)
    assert (given.alpha_, given.augment_noise_) == (2.0, 0.0)


def test_both_networks_predict(blobs_40):
    X_train, X_test, _, y_noisy, _ = blobs_40
    clf = DivideMixClassifier(max_epochs=4, device="cpu", random_state=0).fit(X_train, y_noisy)
    X = torch.as_tensor((X_test - clf.feature_mean_) / clf.feature_scale_, dtype=torch.float32)
    with torch.no_grad():  # the networks take standardised rows
        net = clf.net_
        summed = (net.module_.eval()(X) + net.module2_.eval()(X)).softmax(dim=1).numpy()
    np.testing.assert_allclose(clf.predict_proba(X_test), summed, rtol=1e-5, atol=1e-6)


def test_a_run_that_ends_in_the_warm_up_still_scores_every_row(blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    clf = DivideMixClassifier(max_epochs=1, random_state=0).fit(X_train, y_noisy)
    assert clf.label_quality_.shape == (len(X_train),) and clf.lambda_u_ is None
    assert np.all((clf.label_quality_ >= 0) & (clf.label_quality_ <= 1))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"p_threshold": 1.0}, "p_threshold"),
        ({"T": 0}, "T must be"),
        ({"alpha": -1}, "alpha"),
        ({"alpha": "strong"}, "alpha must be 'auto' or a float"),
        ({"augment_noise": None}, "augment_noise must be 'auto' or a float"),
        ({"lambda_u": "high"}, "lambda_u must be 'auto' or a float"),
        ({"lambda_u": -1.0}, "lambda_u"),
        ({"augment_noise": -0.1}, "augment_noise"),
        ({"augment_mask": 1.0}, "augment_mask"),
        ({"rampup_epochs": 2.0}, "rampup_epochs"),
    ],
)
def test_bad_parameters_are_named(params, message, blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    with pytest.raises(ValueError, match=message):
        DivideMixClassifier(max_epochs=1, **params).fit(X_train, y_noisy)
