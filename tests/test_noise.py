"""Tests for sknoisy.noise (label-noise simulation)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sknoisy.noise import (
    KINDS,
    _instance_noise_probs,
    from_cleanlab_noise_matrix,
    make_label_noise,
    pairflip_transition_matrix,
    symmetric_transition_matrix,
    to_cleanlab_noise_matrix,
    transition_matrix,
)

FAST = settings(max_examples=50, deadline=None)
sizes = st.integers(20, 500)
n_classes = st.integers(2, 8)
rates = st.floats(0.0, 0.95)
seeds = st.integers(0, 2**32 - 1)


def balanced_labels(n, K, seed):
    """n labels with every one of the K classes present, shuffled."""
    return np.random.default_rng(seed).permutation(np.arange(n) % K)


def kind_kwargs(kind, labels, n):
    """Extra keyword arguments each kind needs, for labels (the label set) and n samples."""
    return {
        "symmetric": {},
        "pairflip": {},
        "asymmetric": {"mapping": {labels[0]: labels[1], labels[-1]: labels[0]}},
        "instance": {"X": np.random.default_rng(1).normal(size=(n, 4))},
        "matrix": {"transition_matrix": symmetric_transition_matrix(len(labels), 0.3)},
    }[kind]


# --------------------------------------------------------------------------- exact counts


@FAST
@given(n=sizes, K=n_classes, rate=rates, seed=seeds)
def test_symmetric_changes_exactly_round_rate_n(n, K, rate, seed):
    y = balanced_labels(n, K, seed)
    y_noisy = make_label_noise(y, "symmetric", rate, random_state=seed)
    changed = y_noisy != y
    # every chosen label goes to a *different* class, so the count of changes is exact
    assert changed.sum() == round(rate * n)
    assert changed.mean() == round(rate * n) / n
    assert set(np.unique(y_noisy)) <= set(range(K))
    assert y_noisy.dtype == y.dtype and y_noisy.shape == y.shape


@FAST
@given(n=sizes, K=n_classes, rate=rates, seed=seeds)
def test_pairflip_exact_per_class_to_next_class(n, K, rate, seed):
    y = balanced_labels(n, K, seed)
    y_noisy = make_label_noise(y, "pairflip", rate, random_state=seed)
    for k in range(K):
        noisy_k = y_noisy[y == k]
        flipped = noisy_k != k
        assert flipped.sum() == round(rate * len(noisy_k))
        assert np.all(noisy_k[flipped] == (k + 1) % K)


@FAST
@given(n=sizes, K=n_classes, rate=rates, seed=seeds)
def test_asymmetric_exact_per_mapped_class(n, K, rate, seed):
    y = balanced_labels(n, K, seed)
    rng = np.random.default_rng(seed)
    sources = rng.choice(K, size=rng.integers(1, K + 1), replace=False)
    mapping = {int(s): int((s + rng.integers(1, K)) % K) for s in sources}
    y_noisy = make_label_noise(y, "asymmetric", rate, mapping=mapping, random_state=seed)
    for k in range(K):
        noisy_k = y_noisy[y == k]
        flipped = noisy_k != k
        if k in mapping:
            assert flipped.sum() == round(rate * len(noisy_k))
            assert np.all(noisy_k[flipped] == mapping[k])
        else:
            assert not flipped.any()


@FAST
@given(n=sizes, K=n_classes, seed=seeds)
def test_matrix_counts_within_one_of_expected(n, K, seed):
    rng = np.random.default_rng(seed)
    T = rng.dirichlet(np.full(K, 0.7), size=K)
    T[rng.random((K, K)) < 0.2] = 0.0  # some impossible transitions
    T[np.arange(K), np.arange(K)] += 0.1
    T /= T.sum(axis=1, keepdims=True)
    y = rng.integers(0, K, size=n)
    y_noisy = make_label_noise(y, "matrix", transition_matrix=T, classes=np.arange(K),
                               random_state=seed)
    counts = np.zeros((K, K))
    np.add.at(counts, (y, y_noisy), 1)
    n_i = np.bincount(y, minlength=K)
    assert np.all(np.abs(counts - n_i[:, None] * T) < 1 + 1e-9)
    assert np.all(counts[T == 0] == 0)


@FAST
@given(n=sizes, K=n_classes, seed=seeds)
def test_realised_transition_matrix_rows_sum_to_one(n, K, seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, K, size=n)
    y_noisy = rng.integers(0, K, size=n)
    classes = np.arange(K + 1)  # class K never occurs
    T = transition_matrix(y_true, y_noisy, classes=classes)
    assert T.shape == (K + 1, K + 1)
    np.testing.assert_allclose(T.sum(axis=1), 1.0)
    np.testing.assert_array_equal(T[K], np.eye(K + 1)[K])
    for i in np.unique(y_true):
        np.testing.assert_allclose(T[i], np.bincount(y_noisy[y_true == i], minlength=K + 1)
                                   / np.sum(y_true == i))


def test_realised_matrices_match_expected_when_counts_are_integral():
    y = np.repeat([0, 1, 2, 3], 40)
    for kind, expected in [("pairflip", pairflip_transition_matrix(4, 0.25)),
                           ("matrix", symmetric_transition_matrix(4, 0.3))]:
        kwargs = {"transition_matrix": expected} if kind == "matrix" else {}
        y_noisy = make_label_noise(y, kind, 0.25, random_state=0, **kwargs)
        np.testing.assert_allclose(transition_matrix(y, y_noisy), expected)
    T = transition_matrix(y, make_label_noise(y, "symmetric", 0.3, random_state=0))
    np.testing.assert_allclose(T.sum(axis=1), 1.0)
    assert abs(1 - np.trace(T) / 4 - 0.3) < 1e-12


def test_expected_matrices():
    np.testing.assert_allclose(symmetric_transition_matrix(2, 0.2), [[0.8, 0.2], [0.2, 0.8]])
    np.testing.assert_allclose(pairflip_transition_matrix(2, 0.2), [[0.8, 0.2], [0.2, 0.8]])
    for T in (symmetric_transition_matrix(5, 0.4), pairflip_transition_matrix(5, 0.4)):
        np.testing.assert_allclose(T.sum(axis=1), 1.0)
        np.testing.assert_allclose(np.diag(T), 0.6)


# --------------------------------------------------------------------------- label types


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("labels", [np.array(["ant", "bee", "cow"]), np.array([3, 7, 42])],
                         ids=["strings", "sparse-ints"])
def test_label_type_and_set_are_kept(kind, labels):
    y = np.random.default_rng(0).permutation(np.repeat(labels, 30))
    y_noisy = make_label_noise(y, kind, 0.4, random_state=0, **kind_kwargs(kind, labels, len(y)))
    assert y_noisy.dtype == y.dtype
    assert set(np.unique(y_noisy)) <= set(labels)
    assert (y_noisy != y).any()


def test_list_input_and_explicit_classes():
    y = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]
    y_noisy = make_label_noise(y, "pairflip", 0.4, classes=[0, 1, 2], random_state=0)
    assert isinstance(y_noisy, np.ndarray)
    assert set(y_noisy[np.asarray(y) == 1]) == {1, 2}  # class 1 flips to the absent class 2
    assert set(y_noisy[np.asarray(y) == 0]) == {0, 1}


def test_classes_order_is_respected():
    y = np.repeat(["a", "b", "c"], 10)
    y_noisy = make_label_noise(y, "pairflip", 0.5, classes=["c", "b", "a"], random_state=0)
    assert set(y_noisy[y == "c"]) == {"c", "b"}
    assert set(y_noisy[y == "a"]) == {"a", "c"}


def test_longer_string_classes_are_not_truncated():
    y = np.array(["a", "b"] * 20)
    y_noisy = make_label_noise(y, "symmetric", 0.9, classes=["a", "b", "long"], random_state=0)
    assert "long" in set(y_noisy) and y_noisy.dtype.kind == "U"


def test_empty_y_with_classes():
    for kind in KINDS:
        kwargs = kind_kwargs(kind, [0, 1], 0)
        out = make_label_noise(np.array([], dtype=int), kind, 0.2, classes=[0, 1], **kwargs)
        assert out.shape == (0,) and out.dtype == int


# --------------------------------------------------------------------------- randomness


@pytest.mark.parametrize("kind", KINDS)
def test_same_random_state_same_output_and_global_state_untouched(kind):
    labels = np.arange(4)
    y = np.repeat(labels, 50)
    kwargs = kind_kwargs(kind, labels, len(y))
    np.random.seed(123)
    before = np.random.get_state()
    a = make_label_noise(y, kind, 0.3, random_state=7, **kwargs)
    b = make_label_noise(y, kind, 0.3, random_state=7, **kwargs)
    c = make_label_noise(y, kind, 0.3, random_state=np.random.default_rng(7), **kwargs)
    d = make_label_noise(y, kind, 0.3, random_state=np.random.default_rng(7), **kwargs)
    e = make_label_noise(y, kind, 0.3, random_state=np.random.RandomState(7), **kwargs)
    make_label_noise(y, kind, 0.3, random_state=None, **kwargs)
    after = np.random.get_state()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, e)  # an int seed means RandomState(seed)
    np.testing.assert_array_equal(c, d)
    assert before[0] == after[0] and before[2:] == after[2:]
    np.testing.assert_array_equal(before[1], after[1])


def test_different_seeds_differ():
    y = np.repeat(np.arange(4), 50)
    a = make_label_noise(y, "symmetric", 0.3, random_state=1)
    b = make_label_noise(y, "symmetric", 0.3, random_state=2)
    assert (a != b).any()


# --------------------------------------------------------------------------- instance noise


def _instance_data(n=5000, K=4, d=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, K, size=n)


def test_instance_realised_rate_close_to_requested():
    X, y = _instance_data()
    y_noisy = make_label_noise(y, "instance", 0.4, X=X, random_state=0)
    assert abs(np.mean(y_noisy != y) - 0.4) < 0.05
    assert make_label_noise(y, "instance", 0.0, X=X, random_state=0).tolist() == y.tolist()


def test_instance_flip_probabilities_vary_per_sample():
    X, y = _instance_data(n=2000)
    P = _instance_noise_probs(X, y, 4, 0.4, np.random.default_rng(0))
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    flip_prob = 1 - P[np.arange(len(y)), y]
    for k in range(4):  # within one class, each sample has its own flip probability
        assert np.std(flip_prob[y == k]) > 0.05
    # which other class a sample moves to depends on x: per-sample targets are peaked
    off = P.copy()
    off[np.arange(len(y)), y] = 0
    share = off.max(axis=1) / off.sum(axis=1)
    assert np.mean(share) > 0.6  # vs 1/3 if targets were uniform over the other classes


def test_instance_noise_depends_on_x():
    # 40 distinct points of one class, each repeated 100 times: if noise ignored X, each
    # point's flipped copies would spread evenly over the 4 other classes
    rng = np.random.default_rng(0)
    X = np.repeat(rng.normal(size=(40, 20)), 100, axis=0)
    y = np.zeros(len(X), dtype=int)
    y_noisy = make_label_noise(y, "instance", 0.5, X=X, classes=np.arange(5), random_state=0)
    shares = []
    for point in range(40):
        targets = y_noisy[point * 100:(point + 1) * 100]
        targets = targets[targets != 0]
        shares.append(np.bincount(targets, minlength=5).max() / len(targets))
    assert np.mean(shares) > 0.7
    # and the most common target differs between points
    modes = [np.bincount(y_noisy[p * 100:(p + 1) * 100], minlength=5)[1:].argmax()
             for p in range(40)]
    assert len(set(modes)) > 1


def test_instance_is_scale_invariant_and_flattens_nd_x():
    X, y = _instance_data(n=500)
    a = make_label_noise(y, "instance", 0.3, X=X, random_state=3)
    b = make_label_noise(y, "instance", 0.3, X=X * 1000 + 5, random_state=3)
    c = make_label_noise(y, "instance", 0.3, X=X.reshape(500, 2, 5), random_state=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_instance_constant_columns():
    X, y = _instance_data(n=300, d=3)
    X = np.column_stack([X, np.full(300, 0.1), np.zeros(300)])
    y_noisy = make_label_noise(y, "instance", 0.3, X=X, random_state=0)
    assert set(np.unique(y_noisy)) <= set(range(4))


# --------------------------------------------------------------------------- cleanlab


def test_cleanlab_round_trip():
    T = np.array([[0.7, 0.2, 0.1], [0.0, 0.9, 0.1], [0.3, 0.3, 0.4]])
    nm = to_cleanlab_noise_matrix(T)
    np.testing.assert_allclose(nm, T.T)
    np.testing.assert_allclose(nm.sum(axis=0), 1.0)
    np.testing.assert_allclose(from_cleanlab_noise_matrix(nm), T)
    np.testing.assert_allclose(to_cleanlab_noise_matrix(from_cleanlab_noise_matrix(nm)), nm)


# --------------------------------------------------------------------------- validation

Y = np.array([0, 1, 2, 0, 1])
BAD_T = np.array([[0.5, 0.6], [0.5, 0.4]])  # columns sum to 1, rows do not


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: make_label_noise(Y, rate=1.5), r"rate must be in \[0, 1\), got 1\.5"),
        (lambda: make_label_noise(Y, rate=-0.1), r"rate must be in \[0, 1\)"),
        (lambda: make_label_noise(Y, rate=1.0), r"rate must be in \[0, 1\)"),
        (lambda: make_label_noise(Y, rate=float("nan")), r"rate must be in \[0, 1\)"),
        (lambda: make_label_noise(Y, "uniform"), r"kind must be one of \['symmetric'"),
        (lambda: make_label_noise([1, 1, 1]), r"at least 2 classes, got 1"),
        (lambda: make_label_noise(np.zeros((3, 2))), r"y must be 1-D"),
        (lambda: make_label_noise(Y, classes=[0, 1]), r"labels of y not in the label set.*\[2\]"),
        (lambda: make_label_noise(Y, classes=[0, 1, 1, 2]), r"distinct labels"),
        (lambda: make_label_noise(Y, classes=[0.5, 1, 2]), r"dtype of y"),
        (lambda: make_label_noise(Y, "asymmetric"), r"requires mapping"),
        (lambda: make_label_noise(Y, "asymmetric", mapping={9: 0}), r"mapping keys.*\[9\]"),
        (lambda: make_label_noise(Y, "asymmetric", mapping={0: 9}), r"mapping values.*\[9\]"),
        (lambda: make_label_noise(Y, mapping={0: 1}), r"mapping is only used"),
        (lambda: make_label_noise(Y, "instance"), r"requires X"),
        (lambda: make_label_noise(Y, "instance", X=np.ones((4, 2))), r"X has 4 rows .* 5"),
        (lambda: make_label_noise(Y, "matrix"), r"requires transition_matrix"),
        (lambda: make_label_noise(Y, transition_matrix=np.eye(3)), r"only used with kind='matrix"),
        (lambda: make_label_noise(Y, "matrix", transition_matrix=np.ones((3, 2)) / 2),
         r"square"),
        (lambda: make_label_noise(Y, "matrix", transition_matrix=np.eye(2)),
         r"shape \(2, 2\) but there are 3 classes"),
        (lambda: make_label_noise(Y, "matrix", transition_matrix=[[1.5, -0.5, 0], [0, 1, 0],
                                                                   [0, 0, 1]]),
         r"non-negative"),
        (lambda: make_label_noise(Y, "matrix", transition_matrix=np.full((3, 3), 0.3)),
         r"rows must sum to 1"),
        (lambda: transition_matrix([0, 1], [0, 1, 1]), r"same length"),
        (lambda: transition_matrix([0, 5], [0, 1], classes=[0, 1]), r"y_true not in"),
        (lambda: symmetric_transition_matrix(1, 0.2), r"n_classes must be an integer >= 2"),
        (lambda: pairflip_transition_matrix(3, 1.2), r"rate must be in \[0, 1\)"),
        (lambda: to_cleanlab_noise_matrix(BAD_T), r"rows must sum to 1"),
        (lambda: from_cleanlab_noise_matrix(BAD_T.T), r"columns must sum to 1"),
        (lambda: from_cleanlab_noise_matrix([[1, 0, 0]]), r"square"),
    ],
)
def test_value_errors_name_the_problem(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_transition_matrix_without_classes_is_an_error():
    with pytest.raises(ValueError, match="classes is empty"):
        transition_matrix([0, 0], [0, 0], classes=[])
    with pytest.raises(ValueError, match="y_true and y_noisy are empty"):
        transition_matrix([], [])
