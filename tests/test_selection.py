import pytest
import torch

from sknoisy.selection import forget_rate_schedule, resolve_epochs, small_loss_mask


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
