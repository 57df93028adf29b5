"""Tests for sknoisy.losses."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sknoisy import losses
from sknoisy.losses import (
    LOSSES,
    BootstrappingLoss,
    CrossEntropyLoss,
    GeneralizedCrossEntropyLoss,
    MeanAbsoluteErrorLoss,
    SymmetricCrossEntropyLoss,
    get_loss,
)

# --------------------------------------------------------------------------------------
# Independent NumPy references (float64), written from the papers' formulas.
# --------------------------------------------------------------------------------------


def np_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def np_onehot(y, k):
    out = np.zeros((len(y), k))
    out[np.arange(len(y)), y] = 1.0
    return out


def ref_ce(z, t):
    return -(t * np.log(np_softmax(z))).sum(axis=1)


def ref_gce(z, t, q):
    p = np_softmax(z)
    return (1.0 - (t * p).sum(axis=1) ** q) / q


def ref_sce(z, t, alpha, beta):
    p = np_softmax(z)
    rce = -(p * np.log(np.clip(t, 1e-4, 1.0))).sum(axis=1)
    return alpha * ref_ce(z, t) + beta * rce


def ref_mae(z, t):
    return np.abs(np_softmax(z) - t).sum(axis=1)


def ref_boot(z, t, beta, mode):
    p = np_softmax(z)
    q = p if mode == "soft" else np_onehot(p.argmax(axis=1), p.shape[1])
    return ref_ce(z, beta * t + (1.0 - beta) * q)


# name -> (constructor taking reduction, reference taking (z, t))
CASES = {
    "ce": (lambda r: CrossEntropyLoss(reduction=r), ref_ce),
    "gce": (
        lambda r: GeneralizedCrossEntropyLoss(q=0.7, reduction=r),
        lambda z, t: ref_gce(z, t, 0.7),
    ),
    "gce_q03": (
        lambda r: GeneralizedCrossEntropyLoss(q=0.3, reduction=r),
        lambda z, t: ref_gce(z, t, 0.3),
    ),
    "sce": (
        lambda r: SymmetricCrossEntropyLoss(alpha=0.1, beta=1.0, reduction=r),
        lambda z, t: ref_sce(z, t, 0.1, 1.0),
    ),
    "sce_a2_b05": (
        lambda r: SymmetricCrossEntropyLoss(alpha=2.0, beta=0.5, reduction=r),
        lambda z, t: ref_sce(z, t, 2.0, 0.5),
    ),
    "mae": (lambda r: MeanAbsoluteErrorLoss(reduction=r), ref_mae),
    "bootstrap_soft": (
        lambda r: BootstrappingLoss(beta=0.95, mode="soft", reduction=r),
        lambda z, t: ref_boot(z, t, 0.95, "soft"),
    ),
    "bootstrap_hard": (
        lambda r: BootstrappingLoss(beta=0.8, mode="hard", reduction=r),
        lambda z, t: ref_boot(z, t, 0.8, "hard"),
    ),
}

ALL_LOSS_FACTORIES = [pytest.param(make, id=name) for name, (make, _) in CASES.items()]

Z = np.array(
    [
        [2.0, 0.5, -1.0],
        [0.0, 1.0, 0.0],
        [-0.3, 0.2, 3.0],
        [1.5, 1.5, -2.0],
    ]
)
Y = np.array([0, 1, 0, 2])  # includes labels that disagree with the argmax
T_SOFT = np.array(
    [
        [0.7, 0.2, 0.1],
        [0.0, 1.0, 0.0],
        [0.25, 0.25, 0.5],
        [0.0, 0.4, 0.6],  # zero entries exercise the RCE clamp and log(0) paths
    ]
)


def _target(kind, dtype=torch.float64):
    if kind == "hard":
        return torch.as_tensor(Y, dtype=torch.int64), np_onehot(Y, 3)
    return torch.as_tensor(T_SOFT, dtype=dtype), T_SOFT


# --------------------------------------------------------------------------------------
# Values against the references.
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("kind", ["hard", "soft"])
@pytest.mark.parametrize("name", list(CASES))
def test_matches_numpy_reference(name, kind, reduction):
    make, ref = CASES[name]
    target, t_np = _target(kind)
    logits = torch.as_tensor(Z, dtype=torch.float64)
    out = make(reduction)(logits, target)
    expected = ref(Z, t_np)
    if reduction == "none":
        assert out.shape == (len(Z),)
    else:
        assert out.shape == ()
        expected = expected.mean() if reduction == "mean" else expected.sum()
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["hard", "soft"])
@pytest.mark.parametrize("name", list(CASES))
def test_float32_matches_reference(name, kind):
    make, ref = CASES[name]
    target, t_np = _target(kind, dtype=torch.float32)
    out = make("none")(torch.as_tensor(Z, dtype=torch.float32), target)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), ref(Z, t_np), rtol=1e-5, atol=1e-6)


def test_hand_computed_uniform_logits():
    # Two classes, equal logits: p = (1/2, 1/2), label 0.
    logits = torch.zeros(1, 2, dtype=torch.float64)
    y = torch.tensor([0])
    log2 = math.log(2.0)
    assert CrossEntropyLoss()(logits, y).item() == pytest.approx(log2)
    assert GeneralizedCrossEntropyLoss(q=0.5)(logits, y).item() == pytest.approx(
        (1 - math.sqrt(0.5)) / 0.5
    )
    # RCE = -(p_1 * log 1e-4) = 0.5 * log(1e4)
    assert SymmetricCrossEntropyLoss(alpha=0.1, beta=1.0)(logits, y).item() == pytest.approx(
        0.1 * log2 + 0.5 * math.log(1e4)
    )
    assert MeanAbsoluteErrorLoss()(logits, y).item() == pytest.approx(1.0)
    # Any target mixture against uniform predictions gives log 2.
    assert BootstrappingLoss(beta=0.3)(logits, y).item() == pytest.approx(log2)
    # Hard bootstrapping: argmax ties go to class 0, still log 2.
    assert BootstrappingLoss(beta=0.3, mode="hard")(logits, y).item() == pytest.approx(log2)


def test_mae_hard_is_two_minus_two_py():
    logits = torch.as_tensor(Z)
    y = torch.as_tensor(Y)
    p_y = torch.softmax(logits, dim=1)[torch.arange(len(Y)), y]
    out = MeanAbsoluteErrorLoss(reduction="none")(logits, y)
    torch.testing.assert_close(out, 2 - 2 * p_y)


def test_ce_matches_torch():
    logits = torch.as_tensor(Z)
    y = torch.as_tensor(Y)
    torch.testing.assert_close(CrossEntropyLoss()(logits, y), F.cross_entropy(logits, y))
    t = torch.as_tensor(T_SOFT)
    torch.testing.assert_close(CrossEntropyLoss()(logits, t), F.cross_entropy(logits, t))


@pytest.mark.parametrize("make", ALL_LOSS_FACTORIES)
def test_reductions_are_consistent(make):
    logits = torch.as_tensor(Z)
    y = torch.as_tensor(Y)
    per_sample = make("none")(logits, y)
    torch.testing.assert_close(make("mean")(logits, y), per_sample.mean())
    torch.testing.assert_close(make("sum")(logits, y), per_sample.sum())


# --------------------------------------------------------------------------------------
# Limits and special cases.
# --------------------------------------------------------------------------------------


def test_gce_small_q_approaches_ce_for_hard_labels():
    logits = torch.as_tensor(Z)
    y = torch.as_tensor(Y)
    ce = CrossEntropyLoss(reduction="none")(logits, y)
    gce = GeneralizedCrossEntropyLoss(q=1e-3, reduction="none")(logits, y)
    # (1 - e^{-q c}) / q = c - q c^2 / 2 + O(q^2)
    torch.testing.assert_close(gce, ce, rtol=0, atol=1e-3 * ce.max().item() ** 2)
    gce_tiny = GeneralizedCrossEntropyLoss(q=1e-8, reduction="none")(logits, y)
    torch.testing.assert_close(gce_tiny, ce, rtol=1e-7, atol=1e-9)


def test_gce_small_q_soft_limit_is_neg_log_of_expected_prob():
    logits = torch.as_tensor(Z)
    t = torch.as_tensor(T_SOFT)
    gce = GeneralizedCrossEntropyLoss(q=1e-8, reduction="none")(logits, t)
    expected = -torch.log((torch.softmax(logits, dim=1) * t).sum(dim=1))
    torch.testing.assert_close(gce, expected, rtol=1e-7, atol=1e-9)


def test_gce_q_one_is_one_minus_py_and_half_mae():
    logits = torch.as_tensor(Z)
    y = torch.as_tensor(Y)
    gce = GeneralizedCrossEntropyLoss(q=1.0, reduction="none")(logits, y)
    p_y = torch.softmax(logits, dim=1)[torch.arange(len(Y)), y]
    torch.testing.assert_close(gce, 1 - p_y)
    torch.testing.assert_close(gce, MeanAbsoluteErrorLoss(reduction="none")(logits, y) / 2)


@pytest.mark.parametrize("mode", ["soft", "hard"])
@pytest.mark.parametrize("kind", ["hard", "soft"])
def test_bootstrapping_beta_one_is_ce(mode, kind):
    target, _ = _target(kind)
    logits_a = torch.as_tensor(Z).clone().requires_grad_(True)
    logits_b = torch.as_tensor(Z).clone().requires_grad_(True)
    boot = BootstrappingLoss(beta=1.0, mode=mode, reduction="none")(logits_a, target)
    ce = CrossEntropyLoss(reduction="none")(logits_b, target)
    torch.testing.assert_close(boot, ce)
    boot.sum().backward()
    ce.sum().backward()
    torch.testing.assert_close(logits_a.grad, logits_b.grad)


@pytest.mark.parametrize("mode", ["soft", "hard"])
def test_bootstrapping_prediction_term_is_detached(mode):
    logits = torch.as_tensor(Z).clone().requires_grad_(True)
    y = torch.as_tensor(Y)
    beta = 0.6
    BootstrappingLoss(beta=beta, mode=mode, reduction="sum")(logits, y).backward()
    # Same loss as CE against a fixed (pre-computed) mixed target.
    p = torch.softmax(torch.as_tensor(Z), dim=1)
    q = p if mode == "soft" else F.one_hot(p.argmax(dim=1), 3).double()
    fixed = beta * F.one_hot(y, 3).double() + (1 - beta) * q
    logits2 = torch.as_tensor(Z).clone().requires_grad_(True)
    F.cross_entropy(logits2, fixed, reduction="sum").backward()
    torch.testing.assert_close(logits.grad, logits2.grad)


def test_sce_reverse_term_for_hard_labels():
    logits = torch.as_tensor(Z)
    y = torch.as_tensor(Y)
    rce = SymmetricCrossEntropyLoss(alpha=0.0, beta=1.0, reduction="none")(logits, y)
    p_y = torch.softmax(logits, dim=1)[torch.arange(len(Y)), y]
    torch.testing.assert_close(rce, -math.log(1e-4) * (1 - p_y))
    ce_only = SymmetricCrossEntropyLoss(alpha=1.0, beta=0.0, reduction="none")(logits, y)
    torch.testing.assert_close(ce_only, CrossEntropyLoss(reduction="none")(logits, y))


@pytest.mark.parametrize("make", ALL_LOSS_FACTORIES)
def test_hard_targets_equal_one_hot_soft_targets(make):
    y = torch.as_tensor(Y)
    soft = F.one_hot(y, 3).double()
    logits_a = torch.as_tensor(Z).clone().requires_grad_(True)
    logits_b = torch.as_tensor(Z).clone().requires_grad_(True)
    out_a = make("none")(logits_a, y)
    out_b = make("none")(logits_b, soft)
    torch.testing.assert_close(out_a, out_b, rtol=0, atol=0)
    out_a.sum().backward()
    out_b.sum().backward()
    torch.testing.assert_close(logits_a.grad, logits_b.grad, rtol=0, atol=0)


@pytest.mark.parametrize("int_dtype", [torch.int32, torch.int16, torch.uint8])
def test_other_integer_target_dtypes(int_dtype):
    logits = torch.as_tensor(Z)
    out = CrossEntropyLoss(reduction="none")(logits, torch.as_tensor(Y).to(int_dtype))
    torch.testing.assert_close(out, CrossEntropyLoss(reduction="none")(logits, torch.as_tensor(Y)))


# --------------------------------------------------------------------------------------
# Numerical robustness.
# --------------------------------------------------------------------------------------

EXTREME_LOGITS = [
    [50.0, -50.0, 0.0],
    [-50.0, 50.0, -50.0],
    [-50.0, -50.0, 50.0],
    [50.0, 50.0, -50.0],
]
# Labels chosen so that most rows put the true class at -50 (p_y ~ e^-100).
EXTREME_Y = [1, 0, 2, 2]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("make", ALL_LOSS_FACTORIES)
def test_finite_loss_and_gradients_for_extreme_logits(make, dtype):
    y = torch.tensor(EXTREME_Y)
    targets = {
        "hard": y,
        "one_hot": F.one_hot(y, 3).to(dtype),
        "near_one_hot": F.one_hot(y, 3).to(dtype) * (1 - 3e-6) + 1e-6,
    }
    # scale 1: logits +-50 as in the spec; scale 200: +-1e4, far beyond exp() range.
    for scale in (1.0, 200.0):
        for kind, target in targets.items():
            logits = (torch.tensor(EXTREME_LOGITS, dtype=dtype) * scale).requires_grad_(True)
            for reduction in ("none", "mean"):
                out = make(reduction)(logits, target)
                assert torch.isfinite(out).all(), (kind, scale, reduction)
                (grad,) = torch.autograd.grad(out.sum(), logits)
                assert torch.isfinite(grad).all(), (kind, scale, reduction)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gce_gradient_exact_when_target_prob_is_tiny(dtype):
    # d/dz (1 - p_y^q) / q = -p_y^q (e_y - p).  With p_y = e^{-100} the gradient is
    # tiny but must not be flushed to zero (torch's expm1 backward would do that).
    q = 0.7
    z = torch.tensor([[50.0, -50.0], [10.0, -20.0], [0.5, -0.5]], dtype=torch.float64)
    y = torch.tensor([1, 1, 0])
    logits = z.to(dtype).requires_grad_(True)
    GeneralizedCrossEntropyLoss(q=q, reduction="sum")(logits, y).backward()
    p = torch.softmax(z, dim=1)
    p_y = p[torch.arange(3), y]
    expected = -(p_y**q)[:, None] * (F.one_hot(y, 2).double() - p)
    assert (logits.grad[:2, 1] < 0).all()
    torch.testing.assert_close(logits.grad.double(), expected, rtol=1e-5, atol=0)


GRADCHECK_CASES = [
    pytest.param(make, id=name) for name, (make, _) in CASES.items() if name != "bootstrap_soft"
]


@pytest.mark.parametrize("kind", ["hard", "soft"])
@pytest.mark.parametrize("make", GRADCHECK_CASES)
def test_gradcheck(make, kind):
    # bootstrap_soft is excluded on purpose: its prediction term is detached, so the
    # analytic gradient differs from the numerical one by design (tested above).
    # The last row of Z has an argmax tie, where hard bootstrapping is discontinuous.
    target, _ = _target(kind)
    target = target[:3]
    logits = torch.as_tensor(Z[:3]).clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda z: make("none")(z, target), (logits,))


# --------------------------------------------------------------------------------------
# Dtype and device handling.
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["hard", "soft"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("make", ALL_LOSS_FACTORIES)
def test_keeps_dtype(make, dtype, kind):
    # Soft targets are deliberately given in the *other* float dtype.
    other = torch.float32 if dtype == torch.float64 else torch.float64
    target, _ = _target(kind, dtype=other)
    logits = torch.as_tensor(Z, dtype=dtype).requires_grad_(True)
    out = make("none")(logits, target)
    assert out.dtype == dtype
    out.sum().backward()
    assert logits.grad.dtype == dtype


@pytest.mark.parametrize("kind", ["hard", "soft"])
@pytest.mark.parametrize("reduction", ["none", "mean"])
@pytest.mark.parametrize("make", ALL_LOSS_FACTORIES)
def test_keeps_device_meta(make, reduction, kind):
    # The meta device has no data: any helper tensor created on the default device
    # would make the computation fail with a device mismatch.
    logits = torch.empty(5, 4, device="meta", dtype=torch.float64)
    if kind == "hard":
        target = torch.empty(5, dtype=torch.int64, device="meta")
    else:
        target = torch.empty(5, 4, dtype=torch.float64, device="meta")
    out = make(reduction)(logits, target)
    assert out.device.type == "meta"
    assert out.dtype == torch.float64
    assert out.shape == ((5,) if reduction == "none" else ())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
@pytest.mark.parametrize("make", ALL_LOSS_FACTORIES)
def test_cuda_matches_cpu(make):
    logits = torch.as_tensor(Z)
    y = torch.as_tensor(Y)
    out = make("none")(logits.cuda(), y.cuda())
    assert out.is_cuda
    torch.testing.assert_close(out.cpu(), make("none")(logits, y))


def test_losses_have_no_parameters_and_are_modules():
    for name in LOSSES:
        loss = get_loss(name)
        assert isinstance(loss, torch.nn.Module)
        assert list(loss.parameters()) == []


# --------------------------------------------------------------------------------------
# Factory and public API.
# --------------------------------------------------------------------------------------


def test_losses_tuple_and_all():
    assert LOSSES == ("ce", "gce", "sce", "mae", "bootstrap_soft", "bootstrap_hard")
    for name in losses.__all__:
        assert hasattr(losses, name)
    assert set(losses.__all__) >= {
        "LOSSES",
        "get_loss",
        "CrossEntropyLoss",
        "GeneralizedCrossEntropyLoss",
        "SymmetricCrossEntropyLoss",
        "MeanAbsoluteErrorLoss",
        "BootstrappingLoss",
    }


@pytest.mark.parametrize(
    "name, cls",
    [
        ("ce", CrossEntropyLoss),
        ("gce", GeneralizedCrossEntropyLoss),
        ("sce", SymmetricCrossEntropyLoss),
        ("mae", MeanAbsoluteErrorLoss),
        ("bootstrap_soft", BootstrappingLoss),
        ("bootstrap_hard", BootstrappingLoss),
    ],
)
def test_get_loss_types(name, cls):
    loss = get_loss(name)
    assert type(loss) is cls
    assert loss.reduction == "mean"
    if name.startswith("bootstrap_"):
        assert loss.mode == name.split("_")[1]


def test_get_loss_forwards_params():
    gce = get_loss("gce", q=0.4, reduction="sum")
    assert gce.q == 0.4
    assert gce.reduction == "sum"
    sce = get_loss("sce", alpha=0.5, beta=2.0)
    assert (sce.alpha, sce.beta) == (0.5, 2.0)
    boot = get_loss("bootstrap_hard", beta=0.8, mode="hard")
    assert (boot.beta, boot.mode) == (0.8, "hard")


def test_default_hyperparameters():
    assert GeneralizedCrossEntropyLoss().q == 0.7
    sce = SymmetricCrossEntropyLoss()
    assert (sce.alpha, sce.beta) == (0.1, 1.0)
    boot = BootstrappingLoss()
    assert (boot.beta, boot.mode) == (0.95, "soft")


def test_get_loss_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown loss 'focal'.*ce, gce, sce, mae"):
        get_loss("focal")
    with pytest.raises(ValueError, match="bootstrap_soft, bootstrap_hard"):
        get_loss("CE")
    with pytest.raises(ValueError, match="Unknown loss None"):
        get_loss(None)


def test_get_loss_conflicting_mode():
    with pytest.raises(ValueError, match=r"'bootstrap_soft' implies mode='soft'"):
        get_loss("bootstrap_soft", mode="hard")


def test_get_loss_bad_param_is_type_error():
    with pytest.raises(TypeError):
        get_loss("mae", q=0.5)


# --------------------------------------------------------------------------------------
# Constructor validation.
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cls", [CrossEntropyLoss, GeneralizedCrossEntropyLoss, SymmetricCrossEntropyLoss,
            MeanAbsoluteErrorLoss, BootstrappingLoss]
)
@pytest.mark.parametrize("bad", ["avg", "MEAN", None, 1])
def test_bad_reduction(cls, bad):
    with pytest.raises(ValueError, match=rf"reduction must be one of .*got {bad!r}"):
        cls(reduction=bad)


@pytest.mark.parametrize("q", [0.0, -0.5, 1.0001, 2, float("nan"), float("inf")])
def test_gce_bad_q(q):
    with pytest.raises(ValueError, match=r"q must be"):
        GeneralizedCrossEntropyLoss(q=q)


@pytest.mark.parametrize("q", ["0.5", None, True, [0.5]])
def test_gce_q_not_a_number(q):
    with pytest.raises(ValueError, match=r"q must be a number"):
        GeneralizedCrossEntropyLoss(q=q)


def test_gce_q_range_message():
    with pytest.raises(ValueError, match=r"q must be in \(0\.0, 1\.0\], got 0\.0"):
        GeneralizedCrossEntropyLoss(q=0)


@pytest.mark.parametrize("q", [1, 1e-6, np.float32(0.5), torch.tensor(0.3)])
def test_gce_accepts_scalar_types(q):
    loss = GeneralizedCrossEntropyLoss(q=q)
    assert isinstance(loss.q, float)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"alpha": -0.1}, r"alpha must be in \[0\.0, inf\], got -0\.1"),
        ({"beta": -1.0}, r"beta must be in \[0\.0, inf\], got -1\.0"),
        ({"alpha": float("nan")}, r"alpha must be in \[0\.0, inf\], got nan"),
        ({"beta": float("inf")}, r"beta must be in \[0\.0, inf\], got inf"),
        ({"alpha": 0.0, "beta": 0.0}, r"alpha and beta cannot both be 0"),
        ({"alpha": "x"}, r"alpha must be a number"),
    ],
)
def test_sce_bad_params(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SymmetricCrossEntropyLoss(**kwargs)


def test_sce_one_weight_zero_is_allowed():
    SymmetricCrossEntropyLoss(alpha=0.0, beta=1.0)
    SymmetricCrossEntropyLoss(alpha=1.0, beta=0.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"beta": -0.01}, r"beta must be in \[0\.0, 1\.0\], got -0\.01"),
        ({"beta": 1.5}, r"beta must be in \[0\.0, 1\.0\], got 1\.5"),
        ({"beta": float("nan")}, r"beta must be in \[0\.0, 1\.0\], got nan"),
        ({"mode": "medium"}, r"mode must be one of \('soft', 'hard'\), got 'medium'"),
        ({"mode": None}, r"mode must be one of .*got None"),
    ],
)
def test_bootstrapping_bad_params(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BootstrappingLoss(**kwargs)


def test_bootstrapping_beta_bounds_allowed():
    BootstrappingLoss(beta=0.0)
    BootstrappingLoss(beta=1.0)


# --------------------------------------------------------------------------------------
# forward() input validation.
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "logits, target, match",
    [
        (torch.zeros(3), torch.zeros(3, dtype=torch.int64), r"logits must have shape \(N, K\)"),
        (torch.zeros(2, 3, 1), torch.zeros(2, dtype=torch.int64), r"logits must have shape"),
        (torch.zeros(2, 3, dtype=torch.int64), torch.zeros(2, dtype=torch.int64),
         r"logits must be a floating tensor"),
        (torch.zeros(2, 3), torch.zeros(4, dtype=torch.int64),
         r"target has 4 samples but logits have 2"),
        (torch.zeros(2, 3), torch.zeros(2), r"1-D targets must be integer class indices"),
        (torch.zeros(2, 3), torch.zeros(2, dtype=torch.bool), r"1-D targets must be integer"),
        (torch.zeros(2, 3), torch.zeros(2, 4),
         r"soft targets must have the same shape as logits \(2, 3\), got \(2, 4\)"),
        (torch.zeros(2, 3), torch.zeros(2, 3, dtype=torch.int64),
         r"2-D targets must be floating probabilities"),
        (torch.zeros(2, 3), torch.zeros(2, 3, 1), r"target must have shape \(N,\) or \(N, K\)"),
    ],
)
@pytest.mark.parametrize("make", ALL_LOSS_FACTORIES)
def test_forward_bad_inputs(make, logits, target, match):
    with pytest.raises(ValueError, match=match):
        make("mean")(logits, target)


def test_forward_requires_tensors():
    with pytest.raises(TypeError, match="torch tensors"):
        CrossEntropyLoss()(np.zeros((2, 3)), torch.zeros(2, dtype=torch.int64))


def test_repr_shows_hyperparameters():
    assert repr(SymmetricCrossEntropyLoss(alpha=0.5)) == (
        "SymmetricCrossEntropyLoss(alpha=0.5, beta=1.0, reduction='mean')"
    )
    assert repr(BootstrappingLoss(mode="hard", reduction="none")) == (
        "BootstrappingLoss(beta=0.95, mode='hard', reduction='none')"
    )
    assert repr(CrossEntropyLoss()) == "CrossEntropyLoss(reduction='mean')"


@pytest.mark.parametrize("name", LOSSES)
def test_pickle_and_deepcopy_roundtrip(name):
    import copy
    import pickle

    loss = get_loss(name, reduction="none")
    logits = torch.as_tensor(Z)
    y = torch.as_tensor(Y)
    for clone in (pickle.loads(pickle.dumps(loss)), copy.deepcopy(loss)):
        assert repr(clone) == repr(loss)
        torch.testing.assert_close(clone(logits, y), loss(logits, y))
