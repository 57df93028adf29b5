import numpy as np
import pytest
import torch

from sknoisy.selection import (
    augment,
    auto_warmup_epochs,
    feature_quantiles,
    forget_rate_schedule,
    loss_mixture_clean_posterior,
    mixup,
    resolve_epochs,
    sharpen,
    small_loss_mask,
)


def test_resolve_epochs():
    assert resolve_epochs(0.1, 50, "n") == 5
    assert resolve_epochs(0.01, 50, "n") == 1  # a positive fraction is at least one epoch
    assert resolve_epochs(0.0, 50, "n") == 0
    assert resolve_epochs(80, 50, "n") == 50  # clipped to the run
    with pytest.raises(ValueError, match="fraction of max_epochs"):
        resolve_epochs(1.5, 50, "n")
    with pytest.raises(ValueError, match=">= 0"):
        resolve_epochs(-1, 50, "n")
    with pytest.raises(TypeError, match="int"):
        resolve_epochs("5", 50, "n")


def test_forget_rate_schedule_without_ramp_is_constant():
    assert forget_rate_schedule(0.3, 0, 0) == 0.3


def test_small_loss_mask_keeps_the_smallest_and_at_least_one():
    losses = torch.tensor([5.0, 0.1, 3.0, 0.2, 4.0])
    assert small_loss_mask(losses, 0.6).tolist() == [False, True, False, True, False]
    assert small_loss_mask(losses, 0.0).all()
    assert small_loss_mask(losses, 0.99).sum() == 1


def test_auto_warmup_is_about_100_steps_within_a_tenth_of_the_run():
    assert auto_warmup_epochs(1257, 128, 50) == 5  # 10 steps an epoch: the cap decides
    assert auto_warmup_epochs(7000, 128, 50) == 2  # 55 steps an epoch
    assert auto_warmup_epochs(10**6, 128, 50) == 1  # at least one epoch
    assert auto_warmup_epochs(100, 128, 3) == 1
    # A larger cap lets small data sets reach the ~100 steps.
    assert auto_warmup_epochs(1257, 128, 50, max_fraction=0.5) == 10
    assert auto_warmup_epochs(200, 128, 40, max_fraction=0.5) == 20  # capped at half


def test_loss_mixture_finds_the_small_loss_component():
    rng = np.random.default_rng(0)
    losses = np.r_[rng.normal(0.2, 0.05, 600), rng.normal(2.0, 0.3, 400)]
    clean = loss_mixture_clean_posterior(losses)
    assert clean[:600].mean() > 0.95 and clean[600:].mean() < 0.05
    # The same split whatever the scale: the losses are min-max normalised first.
    np.testing.assert_allclose(loss_mixture_clean_posterior(10 * losses + 3), clean, atol=1e-6)
    np.testing.assert_array_equal(loss_mixture_clean_posterior(np.full(5, 0.7)), np.ones(5))
    with pytest.raises(ValueError, match="NaN"):
        loss_mixture_clean_posterior(np.array([0.1, np.nan, 0.3]))


def test_sharpen_keeps_the_argmax_and_concentrates():
    p = torch.tensor([[0.5, 0.3, 0.2]])
    sharp = sharpen(p, 0.5)
    assert torch.allclose(sharp.sum(dim=1), torch.ones(1))
    assert sharp.argmax() == 0 and sharp[0, 0] > p[0, 0]
    assert torch.allclose(sharpen(p, 1.0), p)
    # A tiny temperature on near-uniform rows: every power underflows, still no NaN.
    tiny = sharpen(torch.tensor([[0.11, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.09, 0.1]]), 0.005)
    assert torch.isfinite(tiny).all() and tiny[0, 0] > 0.99


def test_mixup_stays_closer_to_each_row():
    torch.manual_seed(0)
    X = torch.eye(6)
    for _ in range(20):
        X_mixed, targets = mixup(X, X.clone(), alpha=4.0)
        assert torch.allclose(X_mixed, targets)
        assert bool((X_mixed.diagonal() >= 0.5).all())  # lam >= 0.5 on the row itself


def test_augmented_views_move_each_feature_on_its_own_quantiles():
    torch.manual_seed(0)
    n = 20_000
    X = torch.stack(
        [
            torch.randn(n),  # normal
            torch.randn(n).exp() * 1000,  # log-normal amounts
            (torch.rand(n) < 0.3).float(),  # binary
            torch.full((n,), 7.0),  # constant
        ],
        dim=1,
    )
    quantiles, mean = feature_quantiles(X), X.mean(dim=0)
    assert quantiles.shape == (4, 1001)
    assert torch.equal(augment(X, quantiles, mean), X)
    view = augment(X, quantiles, mean, noise=0.5)
    assert abs(float((view[:, 0] - X[:, 0]).std()) - 0.5) < 0.03
    # The log-normal column moves by the same share in log space, bulk and tail alike.
    log_change = (view[:, 1] / X[:, 1]).log()
    assert abs(float(log_change.std()) - 0.5) < 0.05
    binary = view[:, 2]
    assert float(((binary == 0) | (binary == 1)).float().mean()) > 0.99
    assert 0.02 < float((binary.round() != X[:, 2]).float().mean()) < 0.15
    assert torch.equal(view[:, 3], X[:, 3])
    # Units do not matter.
    torch.manual_seed(1)
    scaled = augment(X * 100, feature_quantiles(X * 100), mean * 100, noise=0.5)
    torch.manual_seed(1)
    np.testing.assert_allclose(
        scaled, augment(X, quantiles, mean, noise=0.5) * 100, rtol=1e-3, atol=1e-2
    )
    masked = augment(X, quantiles, mean, mask=0.3)
    replaced = masked != X
    assert abs(replaced[:, 0].float().mean() - 0.3) < 0.02
    np.testing.assert_array_equal(masked[replaced], mean.expand_as(X)[replaced])


def test_augmented_views_keep_the_shape_of_grouped_rows():
    torch.manual_seed(0)
    X = torch.randn(200, 3)
    groups = X[torch.randint(200, (50, 4))]  # (rows, neighbours, features)
    view = augment(groups, feature_quantiles(X), X.mean(dim=0), noise=0.5)
    assert view.shape == groups.shape and not torch.equal(view, groups)
