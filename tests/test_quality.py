"""Tests for sknoisy.quality (model-agnostic label quality)."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

from sknoisy.quality import (
    LABEL_QUALITY_METHODS,
    confident_joint,
    estimate_noise_rate,
    estimate_transition_matrix,
    find_label_issues,
    label_quality_scores,
    prune_by_noise_rate,
    rank_label_issues,
    rows_to_review,
)

# --------------------------------------------------------------------------- #
# Fixtures / helpers
# --------------------------------------------------------------------------- #
P3 = np.array(
    [
        [0.6, 0.3, 0.1],
        [0.2, 0.5, 0.3],
        [0.25, 0.25, 0.5],
    ]
)
Y3 = np.array([0, 2, 1])


def _flip_exactly(y, k, rate, rng):
    """Return noisy labels with exactly round(rate * n) symmetric flips."""
    n = y.shape[0]
    idx = rng.choice(n, size=round(rate * n), replace=False)
    noisy = y.copy()
    noisy[idx] = (y[idx] + rng.integers(1, k, size=idx.size)) % k
    return noisy, idx


def _probs_on(true_y, k, p_true, rng):
    """Probabilities with ``p_true`` (scalar or per-row) on the true class, rest Dirichlet."""
    n = true_y.shape[0]
    p_true = np.broadcast_to(np.asarray(p_true, dtype=float), (n,))
    rest = rng.dirichlet(np.ones(k - 1), size=n) * (1.0 - p_true)[:, None]
    p = np.empty((n, k))
    for i in range(n):
        others = [j for j in range(k) if j != true_y[i]]
        p[i, others] = rest[i]
        p[i, true_y[i]] = p_true[i]
    return p


def _noisy_problem(seed, n, k, rate, p_true):
    """``(true_y, noisy_y, p)``: labels with exactly ``rate`` symmetric flips and
    probabilities with ``p_true`` on the true class (a ``(low, high)`` pair: drawn
    uniformly per row)."""
    rng = np.random.default_rng(seed)
    true_y = rng.integers(0, k, size=n)
    noisy_y, _ = _flip_exactly(true_y, k, rate, rng)
    if isinstance(p_true, tuple):
        p_true = rng.uniform(*p_true, size=n)
    return true_y, noisy_y, _probs_on(true_y, k, p_true, rng)


# --------------------------------------------------------------------------- #
# label_quality_scores: hand-computed values
# --------------------------------------------------------------------------- #
def test_self_confidence_hand_values():
    np.testing.assert_allclose(label_quality_scores(Y3, P3), [0.6, 0.3, 0.25])


def test_default_method_is_self_confidence():
    np.testing.assert_array_equal(
        label_quality_scores(Y3, P3), label_quality_scores(Y3, P3, method="self_confidence")
    )


def test_normalized_margin_hand_values():
    # row 0: (0.6 - 0.3 + 1) / 2; row 1: (0.3 - 0.5 + 1) / 2; row 2: (0.25 - 0.5 + 1) / 2
    np.testing.assert_allclose(
        label_quality_scores(Y3, P3, method="normalized_margin"), [0.65, 0.4, 0.375]
    )


def test_confidence_weighted_entropy_hand_values():
    expected = []
    for row, label in zip(P3, Y3, strict=True):
        h = -sum(v * math.log(v) for v in row) / math.log(3)
        s = row[label] / h
        expected.append(s / (1 + s))
    # Literal values, computed by hand once, guard against the formula drifting.
    np.testing.assert_allclose(expected, [0.42332659, 0.24247704, 0.20896115], atol=1e-8)
    np.testing.assert_allclose(
        label_quality_scores(Y3, P3, method="confidence_weighted_entropy"), expected, rtol=1e-12
    )


def test_scores_accept_lists_and_return_float_arrays():
    for method in LABEL_QUALITY_METHODS:
        s = label_quality_scores(Y3.tolist(), P3.tolist(), method=method)
        assert isinstance(s, np.ndarray)
        assert s.dtype == np.float64
        assert s.shape == (3,)


def test_one_hot_rows_no_warnings_and_extreme_scores():
    p = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    y = np.array([0, 1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sc = label_quality_scores(y, p)
        nm = label_quality_scores(y, p, method="normalized_margin")
        cwe = label_quality_scores(y, p, method="confidence_weighted_entropy")
    np.testing.assert_allclose(sc, [1.0, 0.0, 1.0])
    np.testing.assert_allclose(nm, [1.0, 0.0, 1.0])
    np.testing.assert_allclose(cwe, [1.0, 0.0, 1.0], atol=1e-9)


def test_single_class_and_empty_input():
    p = np.ones((4, 1))
    y = np.zeros(4, dtype=int)
    for method in LABEL_QUALITY_METHODS:
        s = label_quality_scores(y, p, method=method)
        np.testing.assert_allclose(s, 1.0, atol=1e-9)
        empty = label_quality_scores(np.array([], dtype=int), np.empty((0, 3)), method=method)
        assert empty.shape == (0,)


def test_scores_clipped_within_row_sum_tolerance():
    # Rows may sum to 1 +/- 1e-4; scores must still lie in [0, 1].
    p = np.array([[1.00005, 0.0], [0.0, 1.00005]])
    y = np.array([0, 1])
    for method in LABEL_QUALITY_METHODS:
        s = label_quality_scores(y, p, method=method)
        assert np.all((s >= 0) & (s <= 1))


# --------------------------------------------------------------------------- #
# label_quality_scores: properties
# --------------------------------------------------------------------------- #
@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    k=st.integers(1, 6),
    alpha=st.sampled_from([0.01, 0.1, 1.0, 10.0]),
)
def test_scores_in_unit_interval_for_random_dirichlet(seed, n, k, alpha):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(k, alpha), size=n)
    p /= p.sum(axis=1, keepdims=True)
    y = rng.integers(0, k, size=n)
    for method in LABEL_QUALITY_METHODS:
        s = label_quality_scores(y, p, method=method)
        assert s.shape == (n,)
        assert np.all(np.isfinite(s))
        assert np.all((s >= 0.0) & (s <= 1.0))


def test_confidence_weighted_entropy_is_monotone_map_of_ratio():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), size=200)
    y = rng.integers(0, 4, size=200)
    ent = -(p * np.log(p)).sum(axis=1) / np.log(4)
    ratio = p[np.arange(200), y] / np.maximum(ent, 1e-12)
    s = label_quality_scores(y, p, method="confidence_weighted_entropy")
    np.testing.assert_allclose(s, ratio / (1 + ratio), rtol=1e-10)
    np.testing.assert_array_equal(np.argsort(s, kind="stable"), np.argsort(ratio, kind="stable"))


@pytest.mark.parametrize("method", LABEL_QUALITY_METHODS)
def test_auroc_clean_vs_noisy(method):
    rng = np.random.default_rng(1)
    n, k = 1000, 4
    true_y = rng.integers(0, k, size=n)
    noisy_y, flipped = _flip_exactly(true_y, k, 0.2, rng)
    p_true = rng.uniform(0.55, 0.95, size=n)
    p = _probs_on(true_y, k, p_true, rng)
    is_clean = np.ones(n, dtype=bool)
    is_clean[flipped] = False
    s = label_quality_scores(noisy_y, p, method=method)
    assert roc_auc_score(is_clean, s) > 0.9


# --------------------------------------------------------------------------- #
# confident_joint / estimate_noise_rate
# --------------------------------------------------------------------------- #
def test_confident_joint_hand_example_skips_unconfident_rows():
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    y = np.array([0, 0, 1, 1])
    # t0 = 0.85, t1 = 0.55: rows 1 and 3 are confident in no class.
    raw = confident_joint(y, p, calibrate=False)
    assert raw.dtype == np.int64
    np.testing.assert_array_equal(raw, [[1, 0], [0, 1]])
    cal = confident_joint(y, p)
    assert cal.dtype == np.float64
    np.testing.assert_allclose(cal, [[2.0, 0.0], [0.0, 2.0]])
    assert estimate_noise_rate(y, p) == 0.0


def test_confident_joint_picks_argmax_among_confident_classes():
    # Row 4 passes two thresholds; the class with the larger probability wins.
    p = np.array(
        [
            [0.5, 0.1, 0.4],  # label 0
            [0.1, 0.3, 0.6],  # label 1
            [0.1, 0.3, 0.6],  # label 1
            [0.05, 0.05, 0.9],  # label 2
            [0.55, 0.4, 0.05],  # label 0: confident in 0 (0.55 >= 0.525) and 1 (0.4 >= 0.3)
        ]
    )
    y = np.array([0, 1, 1, 2, 0])
    raw = confident_joint(y, p, calibrate=False)
    # thresholds: t0 = 0.525, t1 = 0.3, t2 = 0.9
    # row0: 0.5 < t0, 0.1 < t1, 0.4 < t2 -> none
    # rows 1, 2: only class 1 -> (1, 1)
    # row3: class 2 -> (2, 2)
    # row4: classes 0 and 1 qualify, argmax -> 0 -> (0, 0)
    np.testing.assert_array_equal(raw, [[1, 0, 0], [0, 2, 0], [0, 0, 1]])


def test_calibrated_joint_rows_match_label_counts():
    n, k = 500, 3
    true_y, noisy_y, p = _noisy_problem(2, n, k, 0.25, (0.5, 0.95))
    raw = confident_joint(noisy_y, p, calibrate=False)
    assert raw.sum() <= n
    cal = confident_joint(noisy_y, p)
    np.testing.assert_allclose(cal.sum(axis=1), np.bincount(noisy_y, minlength=k))
    np.testing.assert_allclose(cal.sum(), n)


def test_empty_class_gives_no_nan_and_no_warnings():
    rng = np.random.default_rng(3)
    n, k = 60, 3
    y = rng.integers(0, 2, size=n)  # class 2 never appears as a label
    p = rng.dirichlet(np.ones(k), size=n)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        raw = confident_joint(y, p, calibrate=False)
        cal = confident_joint(y, p)
        rate = estimate_noise_rate(y, p)
    assert not np.isnan(cal).any()
    # No row can be confidently the unlabelled class, and it has no given labels.
    assert raw[2].sum() == 0 and raw[:, 2].sum() == 0
    np.testing.assert_array_equal(cal[2], 0.0)
    np.testing.assert_array_equal(cal[:, 2], 0.0)
    assert np.isfinite(rate) and 0.0 <= rate <= 1.0


def test_estimate_noise_rate_empty_input():
    assert estimate_noise_rate(np.array([], dtype=int), np.empty((0, 3))) == 0.0
    np.testing.assert_array_equal(confident_joint(np.array([], dtype=int), np.empty((0, 3))), 0)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_estimate_noise_rate_recovers_30_percent(k):
    rng = np.random.default_rng(10 + k)
    n = 2000
    true_y = rng.integers(0, k, size=n)
    noisy_y, _ = _flip_exactly(true_y, k, 0.3, rng)
    p = _probs_on(true_y, k, 0.8, rng)
    rate = estimate_noise_rate(noisy_y, p)
    assert isinstance(rate, float)
    assert abs(rate - 0.3) < 0.05


def test_estimate_noise_rate_with_varying_confidence():
    _, noisy_y, p = _noisy_problem(20, 3000, 4, 0.3, (0.55, 0.95))
    assert abs(estimate_noise_rate(noisy_y, p) - 0.3) < 0.05


def test_estimate_noise_rate_zero_noise():
    rng = np.random.default_rng(4)
    n, k = 1000, 3
    y = rng.integers(0, k, size=n)
    p = _probs_on(y, k, 0.8, rng)
    assert estimate_noise_rate(y, p) < 0.01


# --------------------------------------------------------------------------- #
# find_label_issues / rank_label_issues
# --------------------------------------------------------------------------- #
def test_find_label_issues_counts():
    q = np.linspace(0.0, 1.0, 10)[::-1]
    for rate, expected in [(0.0, 0), (0.1, 1), (0.3, 3), (1.0, 10)]:
        mask = find_label_issues(q, rate)
        assert mask.dtype == bool and mask.shape == (10,)
        assert mask.sum() == expected
        # the flagged rows are the lowest-quality ones (at the end here)
        assert mask[10 - expected :].all()


def test_find_label_issues_rounds_half_to_even():
    q = np.linspace(0.0, 1.0, 8)
    assert find_label_issues(q, 0.3125).sum() == 2  # 2.5 -> 2
    assert find_label_issues(q[:4], 0.375).sum() == 2  # 1.5 -> 2
    assert find_label_issues(q[:4], 0.125).sum() == 0  # 0.5 -> 0


def test_find_label_issues_ties_lower_index_first():
    q = [0.5, 0.1, 0.5, 0.1, 0.5]
    np.testing.assert_array_equal(
        find_label_issues(q, 0.6), [True, True, False, True, False]
    )  # rows 1, 3, then the first 0.5 (row 0)
    np.testing.assert_array_equal(find_label_issues(q, 0.2), [False, True, False, False, False])


def test_find_label_issues_threshold_is_strict():
    q = [0.5, 0.1, 0.5, 0.1, 0.7]
    np.testing.assert_array_equal(
        find_label_issues(q, threshold=0.5), [False, True, False, True, False]
    )
    assert not find_label_issues(q, threshold=0.0).any()
    assert find_label_issues(q, threshold=1.0).all()


def test_find_label_issues_empty():
    assert find_label_issues([], 0.5).shape == (0,)
    assert find_label_issues([], threshold=0.5).shape == (0,)


def test_rank_label_issues_stable():
    q = [0.5, 0.1, 0.5, 0.1, 0.7]
    np.testing.assert_array_equal(rank_label_issues(q), [1, 3, 0, 2, 4])


def test_rows_to_review_skips_the_checked_rows_and_keeps_the_order():
    q = [0.5, 0.1, 0.5, 0.1, 0.7]
    np.testing.assert_array_equal(rows_to_review(q, 3), [1, 3, 0])
    checked = [False, True, False, False, False]
    np.testing.assert_array_equal(rows_to_review(q, 3, trusted=checked), [3, 0, 2])
    # Fewer rows left unchecked than asked for: all of them.
    np.testing.assert_array_equal(rows_to_review(q, 9, trusted=np.arange(5) > 1), [1, 0])
    assert rows_to_review(q, 0).shape == (0,)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_rows": -1}, "n_rows"),
        ({"n_rows": 1.5}, "n_rows"),
        ({"n_rows": 2, "trusted": [True, False]}, "one entry per row"),
        ({"n_rows": 2, "trusted": ["a"] * 5}, "boolean mask"),
    ],
)
def test_rows_to_review_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rows_to_review([0.5, 0.1, 0.5, 0.1, 0.7], **kwargs)


@settings(max_examples=50, deadline=None)
@given(
    q=st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), max_size=30),
    rate=st.floats(0.0, 1.0),
)
def test_find_and_rank_agree(q, rate):
    order = rank_label_issues(q)
    assert sorted(order.tolist()) == list(range(len(q)))
    assert np.all(np.diff(np.asarray(q, dtype=float)[order]) >= 0)
    mask = find_label_issues(q, rate)
    m = round(rate * len(q))
    assert mask.sum() == m
    assert set(np.flatnonzero(mask)) == set(order[:m].tolist())


def _noisy_probabilities(seed, n=600, k=4, noise=0.4):
    """Labels with symmetric noise and probabilities of a model that knows the truth
    with some confusion."""
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    labels = np.where(rng.random(n) < noise, (true + rng.integers(1, k, n)) % k, true)
    logits = rng.normal(size=(n, k)) + 2.5 * np.eye(k)[true]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return labels, p, labels != true


def test_prune_by_noise_rate_flags_mistakes_that_the_model_disputes():
    labels, p, wrong = _noisy_probabilities(0)
    issues = prune_by_noise_rate(labels, p)
    assert not np.any(issues & (p.argmax(axis=1) == labels))
    # A row flagged for several pairs counts once: at most the joint's off-diagonal mass.
    assert issues.mean() <= estimate_noise_rate(labels, p) + 1e-9
    assert (issues & wrong).sum() / issues.sum() > 0.8  # precision
    assert (issues & wrong).sum() / wrong.sum() > 0.5  # recall


@pytest.mark.parametrize("seed", range(3))
def test_prune_by_noise_rate_agrees_with_cleanlab(seed):
    filter_module = pytest.importorskip("cleanlab.filter")
    labels, p, _ = _noisy_probabilities(seed)
    ours = prune_by_noise_rate(labels, p)
    theirs = filter_module.find_label_issues(labels, p, filter_by="prune_by_noise_rate")
    # Counts are rounded the same way up to ties: a row or two may differ.
    assert np.sum(ours != theirs) <= 2


# --------------------------------------------------------------------------- #
# Validation errors
# --------------------------------------------------------------------------- #
_SCORERS = [
    pytest.param(label_quality_scores, id="label_quality_scores"),
    pytest.param(confident_joint, id="confident_joint"),
    pytest.param(estimate_noise_rate, id="estimate_noise_rate"),
    pytest.param(prune_by_noise_rate, id="prune_by_noise_rate"),
]


@pytest.mark.parametrize("func", _SCORERS)
@pytest.mark.parametrize(
    ("pred_probs", "match"),
    [
        (np.array([0.5, 0.5, 0.5]), "2-D"),
        (np.ones((3, 1, 1)), "2-D"),
        (np.empty((3, 0)), "at least one column"),
        ([["a", "b"], ["c", "d"], ["e", "f"]], "numeric"),
        (np.array([[0.5, np.nan], [0.5, 0.5], [0.5, 0.5]]), "finite"),
        (np.array([[np.inf, 0.0], [0.5, 0.5], [0.5, 0.5]]), "finite"),
        (np.array([[1.5, -0.5], [0.5, 0.5], [0.5, 0.5]]), "non-negative"),
        (np.array([[0.5, 0.4], [0.5, 0.5], [0.5, 0.5]]), "sum to 1"),
    ],
)
def test_bad_pred_probs(func, pred_probs, match):
    with pytest.raises(ValueError, match=match):
        func(np.array([0, 1, 0]), pred_probs)


@pytest.mark.parametrize("func", _SCORERS)
@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.array([[0], [1], [0]]), "1-D"),
        (np.array([0.0, 1.0, 0.0]), "integer"),
        (np.array([True, False, True]), "integer"),
        (np.array(["0", "1", "0"]), "integer"),
        (np.array([0, 1]), "same length"),
        (np.array([0, 1, 0, 1]), "same length"),
        (np.array([0, 2, 0]), r"lie in \[0, 2\)"),
        (np.array([0, -1, 0]), r"lie in \[0, 2\)"),
    ],
)
def test_bad_labels(func, labels, match):
    p = np.full((3, 2), 0.5)
    with pytest.raises(ValueError, match=match):
        func(labels, p)


def test_unknown_method_lists_valid_methods():
    with pytest.raises(
        ValueError,
        match="unknown method 'margin'.*self_confidence.*normalized_margin"
        ".*confidence_weighted_entropy",
    ):
        label_quality_scores(Y3, P3, method="margin")


def test_find_label_issues_needs_exactly_one_criterion():
    with pytest.raises(ValueError, match="exactly one of noise_rate and threshold"):
        find_label_issues([0.1, 0.9])
    with pytest.raises(ValueError, match="exactly one of noise_rate and threshold"):
        find_label_issues([0.1, 0.9], 0.5, threshold=0.5)


@pytest.mark.parametrize("bad", [-0.1, 1.1, float("nan"), float("inf"), "0.5", True])
def test_find_label_issues_bad_noise_rate(bad):
    with pytest.raises(ValueError, match="noise_rate must"):
        find_label_issues([0.1, 0.9], bad)


@pytest.mark.parametrize("bad", [-0.1, 1.1, float("nan"), float("-inf"), "0.5", False])
def test_find_label_issues_bad_threshold(bad):
    with pytest.raises(ValueError, match="threshold must"):
        find_label_issues([0.1, 0.9], threshold=bad)


@pytest.mark.parametrize(
    "func",
    [
        pytest.param(lambda q: find_label_issues(q, 0.5), id="find_label_issues"),
        pytest.param(rank_label_issues, id="rank_label_issues"),
    ],
)
@pytest.mark.parametrize(
    ("q", "match"),
    [
        ([[0.1, 0.2]], "1-D"),
        (0.5, "1-D"),
        (["a", "b"], "numeric"),
        ([0.1, float("nan")], "finite"),
        ([0.1, float("inf")], "finite"),
        ([0.1, 1.5], r"\[0, 1\]"),
        ([-0.1, 0.5], r"\[0, 1\]"),
    ],
)
def test_bad_label_quality(func, q, match):
    with pytest.raises(ValueError, match=match):
        func(q)


def test_complex_inputs_are_refused_not_cast():
    with pytest.raises(ValueError, match="pred_probs must be a numeric array of real values"):
        label_quality_scores([0, 1], np.eye(2) + 0j)
    with pytest.raises(ValueError, match="label_quality must be a numeric array of real values"):
        rank_label_issues(np.array([0.5, 0.2]) + 0j)


def test_transition_matrix_estimate_needs_rows():
    for method in ["anchor", "confident_joint"]:
        with pytest.raises(ValueError, match="at least one row"):
            estimate_transition_matrix(np.zeros(0, int), np.empty((0, 2)), method=method)
