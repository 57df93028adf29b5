"""Noise-aware scorers: what they score, how they route, how they fail."""

import pickle

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from sknoisy import RobustLossClassifier, make_label_noise
from sknoisy.model_selection import (
    make_label_quality_scorer,
    make_noise_corrected_scorer,
    make_trusted_scorer,
)
from sknoisy.noise import pairflip_transition_matrix, symmetric_transition_matrix


class LookupClassifier(ClassifierMixin, BaseEstimator):
    """Predicts column ``column`` of X: a model whose predictions the test chooses."""

    def __init__(self, column=0):
        self.column = column

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.asarray(X)[:, self.column].astype(int)


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def _pair_problem(n=20_000, k=5, rate=0.4, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    y_noisy = make_label_noise(y, "pairflip", rate, random_state=seed)
    return y, y_noisy


# ---------------------------------------------------------------------- trusted rows


def test_trusted_scorer_scores_only_trusted_rows_in_every_fold(routing):
    y = np.arange(300) % 3
    wrong = np.arange(300) % 2 == 1  # labels wrong on every odd row ...
    y_given = np.where(wrong, (y + 1) % 3, y)
    trusted = ~wrong  # ... and the trusted rows are the even ones
    X = y.reshape(-1, 1)

    trusted_scores = cross_val_score(
        LookupClassifier(), X, y_given, cv=KFold(3), scoring=make_trusted_scorer(),
        params={"trusted": trusted},
    )
    plain = cross_val_score(LookupClassifier(), X, y_given, cv=KFold(3))
    np.testing.assert_allclose(trusted_scores, 1.0)
    np.testing.assert_allclose(plain, 0.5)


def test_trusted_scorer_passes_score_func_kwargs_and_accepts_0_1_masks(routing):
    from sklearn.metrics import f1_score

    y = np.arange(90) % 3
    X = y.reshape(-1, 1)
    scorer = make_trusted_scorer(f1_score, average="macro")
    scores = cross_val_score(
        LookupClassifier(), X, y, cv=KFold(3), scoring=scorer,
        params={"trusted": (np.arange(90) % 2).astype(int)},
    )
    np.testing.assert_allclose(scores, 1.0)


def test_trusted_scorer_without_routing_says_how_to_pass_the_mask():
    y = np.arange(30) % 3
    model = LookupClassifier().fit(y.reshape(-1, 1), y)
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        make_trusted_scorer()(model, y.reshape(-1, 1), y)


@pytest.mark.parametrize(
    ("trusted", "match"),
    [
        (np.ones(29, dtype=bool), "one value per scored row"),
        (np.full(30, 2), "boolean mask"),
        (np.array(["yes"] * 30), "boolean mask"),
        (np.zeros(30, dtype=bool), "no row to score"),
    ],
)
def test_trusted_scorer_rejects_bad_masks(trusted, match):
    y = np.arange(30) % 3
    model = LookupClassifier().fit(y.reshape(-1, 1), y)
    with pytest.raises(ValueError, match=match):
        make_trusted_scorer()(model, y.reshape(-1, 1), y, trusted=trusted)


def test_trusted_scorer_rejects_a_non_callable_metric():
    with pytest.raises(TypeError, match="callable"):
        make_trusted_scorer("accuracy")


# ---------------------------------------------------------------- label quality


def test_label_quality_scorer_skips_rows_below_the_threshold(routing):
    y = np.arange(300) % 3
    wrong = np.arange(300) % 4 == 0
    y_given = np.where(wrong, (y + 1) % 3, y)
    quality = np.where(wrong, 0.1, 0.9)
    scores = cross_val_score(
        LookupClassifier(), y.reshape(-1, 1), y_given, cv=KFold(3),
        scoring=make_label_quality_scorer(), params={"label_quality": quality},
    )
    np.testing.assert_allclose(scores, 1.0)
    strict = make_label_quality_scorer(threshold=0.95)
    with pytest.raises(ValueError, match="lower `threshold`"):
        strict(LookupClassifier().fit(None, y), y.reshape(-1, 1), y_given, label_quality=quality)


@pytest.mark.parametrize("threshold", [-0.1, 1.5, "0.5", True, np.nan])
def test_label_quality_scorer_rejects_bad_thresholds(threshold):
    with pytest.raises(ValueError, match="threshold"):
        make_label_quality_scorer(threshold=threshold)


@pytest.mark.parametrize(
    ("quality", "match"),
    [
        (np.r_[np.nan, np.ones(29)], "NaN"),
        (np.array(["high"] * 30), "numeric"),
        (np.ones((30, 1)), "1-D"),
    ],
)
def test_label_quality_scorer_rejects_bad_quality(quality, match):
    y = np.arange(30) % 3
    model = LookupClassifier().fit(None, y)
    with pytest.raises(ValueError, match=match):
        make_label_quality_scorer()(model, y.reshape(-1, 1), y, label_quality=quality)


# ------------------------------------------------------------------ noise corrected


def test_noise_corrected_accuracy_recovers_clean_accuracy_under_pair_flips():
    y, y_noisy = _pair_problem()
    rng = np.random.default_rng(1)
    right = rng.random(len(y)) < 0.7
    prediction = np.where(right, y, (y + rng.integers(1, 5, len(y))) % 5)
    model = LookupClassifier().fit(None, y)
    X = prediction.reshape(-1, 1)

    scorer = make_noise_corrected_scorer(pairflip_transition_matrix(5, 0.4))
    clean = np.mean(prediction == y)
    assert abs(scorer(model, X, y_noisy) - clean) < 0.02
    assert abs(np.mean(prediction == y_noisy) - clean) > 0.2


def test_noise_corrected_ranks_models_plain_accuracy_ranks_wrong():
    """Under pair flips, a model that learnt the flips wins on noisy accuracy only."""
    y, y_noisy = _pair_problem()
    rng = np.random.default_rng(2)
    # learnt_noise: 80% right, its mistakes are the class labels are flipped to.
    learnt_noise = np.where(rng.random(len(y)) < 0.8, y, (y + 1) % 5)
    # better: 85% right, its mistakes are elsewhere.
    better = np.where(rng.random(len(y)) < 0.85, y, (y + rng.integers(2, 5, len(y))) % 5)
    X = np.column_stack([learnt_noise, better])
    plain = [LookupClassifier(c).fit(None, y).score(X, y_noisy) for c in (0, 1)]
    scorer = make_noise_corrected_scorer(pairflip_transition_matrix(5, 0.4))
    corrected = [scorer(LookupClassifier(c).fit(None, y), X, y_noisy) for c in (0, 1)]
    assert plain[0] > plain[1]
    assert corrected[1] > corrected[0]
    np.testing.assert_allclose(corrected, [0.8, 0.85], atol=0.02)


def test_noise_corrected_scorer_maps_string_labels_through_classes():
    y = np.array(list("abc") * 100)
    model = LookupClassifier().fit(None, y)
    model.predict = lambda X: np.asarray(X)[:, 0]
    X = y.reshape(-1, 1)
    T = symmetric_transition_matrix(3, 0.0)
    assert make_noise_corrected_scorer(T)(model, X, y) == 1.0
    assert make_noise_corrected_scorer(T, classes=["c", "b", "a"])(model, X, y) == 1.0
    with pytest.raises(ValueError, match=r"not among the classes: \['z'\]"):
        make_noise_corrected_scorer(T)(model, X, np.r_[y[:-1], ["z"]])


@pytest.mark.parametrize(
    ("T", "kwargs", "match"),
    [
        (np.ones((2, 3)) / 3, {}, "square"),
        (np.array([[1.0, 0.0], [-0.1, 1.1]]), {}, "non-negative"),
        (np.array([[0.5, 0.4], [0.0, 1.0]]), {}, "sum to 1"),
        (np.full((3, 3), 1 / 3), {}, "ill-conditioned"),
        (np.eye(3), {"classes": [0, 1]}, "classes has 2 labels"),
        (np.eye(3), {"classes": [0, 1, 1]}, "distinct"),
    ],
)
def test_noise_corrected_scorer_rejects_bad_matrices(T, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_noise_corrected_scorer(T, **kwargs)


def test_noise_corrected_scorer_checks_the_matrix_against_the_classes():
    y = np.arange(30) % 3
    model = LookupClassifier().fit(None, y)
    with pytest.raises(ValueError, match=r"2x2 but estimator.classes_ has 3 classes"):
        make_noise_corrected_scorer(np.eye(2))(model, y.reshape(-1, 1), y)


# ------------------------------------------------------------ in a search, together


def test_all_scorers_in_one_search_with_a_sknoisy_estimator(routing):
    X, y = make_classification(
        n_samples=300, n_features=10, n_informative=6, n_classes=3, random_state=0
    )
    y_noisy = make_label_noise(y, "pairflip", 0.3, random_state=0)
    trusted = np.arange(len(y)) % 5 == 0
    y_fit = np.where(trusted, y, y_noisy)
    scoring = {
        "accuracy": "accuracy",
        "trusted": make_trusted_scorer(),
        "noise_corrected": make_noise_corrected_scorer(pairflip_transition_matrix(3, 0.3)),
        "label_quality": make_label_quality_scorer(),
    }
    search = GridSearchCV(
        RobustLossClassifier(
            max_epochs=3, hidden_layer_sizes=(16,), random_state=0
        ).set_fit_request(trusted=True),
        {"loss": ["ce", "gce"]}, scoring=scoring, refit="trusted", cv=3,
        error_score="raise",
    )
    search.fit(X, y_fit, trusted=trusted, label_quality=(y_fit == y).astype(float))
    for name in scoring:
        scores = search.cv_results_[f"mean_test_{name}"]
        assert np.all(np.isfinite(scores)) and np.all((0 <= scores) & (scores <= 1))
    assert search.best_params_["loss"] in ("ce", "gce")


def test_scorers_pickle_and_have_readable_reprs():
    scorers = [
        make_trusted_scorer(),
        make_label_quality_scorer(threshold=0.7),
        make_noise_corrected_scorer(np.eye(2)),
    ]
    y = np.arange(20) % 2
    model = LogisticRegression().fit(y.reshape(-1, 1), y)
    for scorer in scorers:
        copy = pickle.loads(pickle.dumps(scorer))
        assert repr(copy) == repr(scorer)
    assert repr(scorers[0]) == "make_trusted_scorer(accuracy_score)"
    assert "threshold=0.7" in repr(scorers[1])
    assert scorers[2](model, y.reshape(-1, 1), y) == 1.0
