"""DivideMix: co-divided semi-supervised training of two networks."""

import numpy as np
import pytest
import torch

from sknoisy import DivideMixClassifier
from sknoisy.dividemix import (
    co_divide,
    co_guess,
    co_refine,
    prior_penalty,
    semi_supervised_losses,
)
from sknoisy.selection import mix, mixup_draw


# -- the steps, on tensors made by hand ---------------------------------------------------
def test_co_divide_gives_each_network_its_own_low_loss_posterior():
    low, high = torch.full((50,), 0.1), torch.full((50,), 3.0)
    losses = [torch.cat([low, high]), torch.cat([high, low])]  # the networks disagree
    clean = co_divide(losses)
    assert clean.shape == (2, 100) and clean.dtype == torch.float32
    assert bool((clean[0, :50] > 0.99).all() and (clean[0, 50:] < 0.01).all())
    assert bool((clean[1, :50] < 0.01).all() and (clean[1, 50:] > 0.99).all())


def test_co_refinement_blends_the_label_with_the_prediction_by_the_peers_posterior():
    given = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    proba = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    # Temperature 1 leaves the blend as it is: w * given + (1 - w) * proba.
    refined = co_refine(given, proba, torch.tensor([1.0, 0.25]), temperature=1.0)
    np.testing.assert_allclose(refined, [[1.0, 0.0], [0.25, 0.75]])
    # Sharpened at 0.5: squared and renormalised.
    refined = co_refine(given, proba, torch.tensor([0.25, 0.25]), temperature=0.5)
    np.testing.assert_allclose(refined[0], [0.0625 / 0.625, 0.5625 / 0.625], rtol=1e-6)


def test_co_guessing_averages_both_networks_then_sharpens():
    guessed = co_guess([torch.tensor([[0.8, 0.2]]), torch.tensor([[0.4, 0.6]])], 1.0)
    np.testing.assert_allclose(guessed, [[0.6, 0.4]], rtol=1e-6)
    guessed = co_guess([torch.tensor([[0.8, 0.2]]), torch.tensor([[0.4, 0.6]])], 0.5)
    np.testing.assert_allclose(guessed, [[0.36 / 0.52, 0.16 / 0.52]], rtol=1e-6)


def test_one_mixup_draw_mixes_inputs_and_targets_alike():
    torch.manual_seed(0)
    lam, perm = mixup_draw(4.0, 5)
    assert 0.5 <= lam <= 1.0 and sorted(perm.tolist()) == list(range(5))
    X = torch.arange(5.0)[:, None]
    np.testing.assert_allclose(mix(X, lam, perm)[:, 0], lam * X[:, 0] + (1 - lam) * X[perm, 0])


def test_the_semi_supervised_losses_and_the_prior_penalty():
    log_proba = torch.tensor([[0.25, 0.75]]).log()
    loss_x, loss_u = semi_supervised_losses(log_proba, torch.tensor([[1.0, 0.0]]))
    np.testing.assert_allclose(loss_x, [-np.log(0.25)], rtol=1e-6)
    np.testing.assert_allclose(loss_u, [(0.75**2 + 0.75**2) / 2], rtol=1e-6)
    # The mean prediction matches the prior: no penalty; a skewed one pays the KL.
    balanced = torch.tensor([[0.9, 0.1], [0.1, 0.9]]).log()
    assert float(prior_penalty(balanced, torch.tensor([0.5, 0.5]))) == pytest.approx(0.0, abs=1e-6)
    skewed = torch.tensor([[0.9, 0.1], [0.9, 0.1]]).log()
    expected = 0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(0.5 / 0.1)
    assert float(prior_penalty(skewed, torch.tensor([0.5, 0.5]))) == pytest.approx(expected)




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
    assert clf.mixup_alpha_ == pytest.approx(4.0 * scale)
    assert clf.augment_noise_ == pytest.approx(0.5 * scale)
    given = DivideMixClassifier(mixup_alpha=2.0, augment_noise=0.0, **params)
    given.fit(X_train, y_noisy)
    assert (given.mixup_alpha_, given.augment_noise_) == (2.0, 0.0)


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
