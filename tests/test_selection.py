import numpy as np
import pytest
import torch

from sknoisy.selection import (
    augment,
    auto_warmup_epochs,
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


def test_augmented_views_are_in_units_of_each_features_spread():
    torch.manual_seed(0)
    X = torch.zeros(20_000, 3)
    std, mean = torch.tensor([1.0, 100.0, 0.0]), torch.tensor([5.0, 6.0, 7.0])
    noisy = augment(X, mean, std, noise=0.5)
    np.testing.assert_allclose(noisy.std(dim=0), [0.5, 50, 0], rtol=0.05)
    assert torch.equal(augment(X, mean, std), X)
    masked = augment(X, mean, std, mask=0.3)
    replaced = masked != 0
    assert abs(replaced.float().mean() - 0.3) < 0.02
    np.testing.assert_array_equal(masked[replaced], mean.expand_as(X)[replaced])
