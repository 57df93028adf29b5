import weakref

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknoisy import (
    AutoClassifier,
    DivideMixClassifier,
    FilterClassifier,
    LossCorrectionClassifier,
    RobustLossClassifier,
    make_label_noise,
)
from sknoisy.auto import default_candidates

FAST = {"max_epochs": 40, "hidden_layer_sizes": (32,)}


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=4.0, size=(3, 5))
    y = rng.integers(0, 3, size=400)
    X = (centers[y] + rng.normal(size=(400, 5))).astype(np.float32)
    return X, make_label_noise(y, "symmetric", 0.2, random_state=0), y


def test_chooses_the_candidate_that_predicts_held_out_labels_best(blobs):
    X, y_noisy, y = blobs
    candidates = [("prior", DummyClassifier()), ("ce", RobustLossClassifier(**FAST))]
    clf = AutoClassifier(candidates, random_state=0).fit(X, y_noisy)
    assert clf.best_name_ == "ce"
    assert set(clf.validation_scores_) == {"prior", "ce"}
    assert clf.validation_scores_["ce"] > clf.validation_scores_["prior"] + 0.3
    # Refitted on every row, and predicting through the chosen estimator.
    assert len(clf.label_quality_) == len(y_noisy)
    assert clf.label_issues_.shape == (len(y_noisy),)
    np.testing.assert_array_equal(clf.predict(X), clf.best_estimator_.predict(X))
    np.testing.assert_allclose(clf.predict_proba(X), clf.best_estimator_.predict_proba(X))
    assert clf.score(X, y) > 0.9


def test_a_tie_goes_to_the_earlier_candidate(blobs):
    X, y_noisy, _ = blobs
    candidates = [("first", DummyClassifier()), ("second", DummyClassifier())]
    clf = AutoClassifier(candidates, random_state=0).fit(X, y_noisy)
    assert clf.validation_scores_["first"] == clf.validation_scores_["second"]
    assert clf.best_name_ == "first"


class _Lookup(ClassifierMixin, BaseEstimator):
    """Predicts a fixed label per row, the row's number being its only feature."""

    def __init__(self, predictions=None):
        self.predictions = predictions

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return self.predictions[X[:, 0].astype(int)]


@pytest.mark.parametrize(
    "second_right_only, first_right_only, chosen",
    [(30, 25, "first"), (40, 0, "second")],
)
def test_a_lead_within_one_standard_error_goes_to_the_earlier_candidate(
    second_right_only, first_right_only, chosen
):
    # 400 rows. Both candidates are right on the first 200; the second alone is right on
    # the next rows, the first alone on the ones after. A lead of 5 rows in 55 where they
    # differ is within one standard error (about 7.4 rows); a lead of 40 in 40 is not.
    n = 400
    y = np.arange(n) % 2
    wrong = 1 - y
    first, second = wrong.copy(), wrong.copy()
    first[:200] = second[:200] = y[:200]
    second[200 : 200 + second_right_only] = y[200 : 200 + second_right_only]
    start = 200 + second_right_only
    first[start : start + first_right_only] = y[start : start + first_right_only]
    X = np.arange(n, dtype=np.float64)[:, None]
    candidates = [("first", _Lookup(first)), ("second", _Lookup(second))]
    clf = AutoClassifier(candidates, random_state=0).fit(X, y)
    lead = clf.validation_scores_["second"] - clf.validation_scores_["first"]
    assert lead == pytest.approx((second_right_only - first_right_only) / n)
    assert clf.validation_errors_["second"] == 0.0
    assert clf.best_name_ == chosen


class _TrustingLookup(_Lookup):
    def fit(self, X, y, trusted=None):
        return super().fit(X, y)


@pytest.mark.parametrize(
    "n_trusted, missed, clean_missed, chosen",
    [(100, 100, 0, "clean"), (40, 40, 0, "follows"), (100, 2, 1, "follows")],
)
def test_held_out_trusted_rows_overrule_the_choice_only_with_evidence(
    n_trusted, missed, clean_missed, chosen, capsys
):
    # 400 rows, 120 of them with wrong labels and n_trusted others checked. "follows"
    # predicts every given label but misses `missed` of the checked rows, "clean"
    # predicts every true label but `clean_missed` checked ones: the noisy labels prefer
    # the first. The checked rows overrule that when there are at least 50 of them and
    # the second's lead on them exceeds a standard error (1 row in 100, where they
    # differ on 3, does not: about 1.7 rows).
    n = 400
    true = np.arange(n) % 2
    given = true.copy()
    given[:120] = 1 - true[:120]
    trusted = np.zeros(n, bool)
    trusted[200 : 200 + n_trusted] = True
    follows = given.copy()
    follows[200 : 200 + missed] = 1 - true[200 : 200 + missed]
    clean = true.copy()
    last = 200 + n_trusted
    clean[last - clean_missed : last] = 1 - true[last - clean_missed : last]
    X = np.arange(n, dtype=np.float64)[:, None]
    candidates = [("clean", _TrustingLookup(clean)), ("follows", _TrustingLookup(follows))]
    clf = AutoClassifier(candidates, random_state=0, verbose=1)
    clf.fit(X, given, trusted=trusted)
    assert clf.validation_scores_["follows"] == pytest.approx(1 - missed / n)
    assert clf.validation_scores_["clean"] == pytest.approx(1 - (120 + clean_missed) / n)
    assert clf.best_name_ == chosen
    assert clf.chosen_by_trusted_ is (chosen == "clean")
    shown = "held-out trusted rows' accuracy" in capsys.readouterr().out
    if n_trusted >= 50:
        assert clf.trusted_scores_ == pytest.approx(
            {"clean": 1 - clean_missed / n_trusted, "follows": 1 - missed / n_trusted}
        )
        assert shown
    else:
        assert clf.trusted_scores_ is None
        assert not shown
    unchecked = AutoClassifier(candidates, random_state=0).fit(X, given)
    assert unchecked.trusted_scores_ is None and not unchecked.chosen_by_trusted_
    assert unchecked.best_name_ == "follows"


def test_candidates_are_cloned_and_any_classifier_will_do(blobs):
    X, y_noisy, _ = blobs
    ridge = RidgeClassifier()
    clf = AutoClassifier([("ridge", ridge)], random_state=0).fit(X, y_noisy)
    assert not hasattr(ridge, "coef_")  # the given instance stays unfitted
    assert not hasattr(clf, "label_quality_")  # RidgeClassifier has none
    assert not hasattr(clf, "predict_proba")  # nor probabilities
    assert clf.predict(X).shape == (len(X),)


def test_string_labels_in_a_pipeline_and_clone(blobs):
    X, y_noisy, y = blobs
    names = np.array(["ant", "bee", "cat"])
    candidates = [("lr", LogisticRegression()), ("ce", RobustLossClassifier(**FAST))]
    pipe = make_pipeline(StandardScaler(), AutoClassifier(candidates, random_state=0))
    pipe.fit(X * 100, names[y_noisy])
    assert set(pipe.predict(X * 100)) <= set(names)
    assert list(pipe[-1].classes_) == list(names)
    assert clone(pipe[-1]).get_params()["candidates"][0][0] == "lr"


def test_sample_weight_reaches_every_candidate_and_the_score(blobs):
    X, y_noisy, _ = blobs
    weight = np.ones(len(y_noisy))
    weight[y_noisy == 0] = 0.0  # class 0 does not count
    clf = AutoClassifier([("prior", DummyClassifier())], random_state=0)
    clf.fit(X, y_noisy, sample_weight=weight)
    assert clf.predict(X[:1])[0] != 0  # the weighted majority is another class
    assert clf.validation_scores_["prior"] < 0.6


def test_default_candidates_share_the_random_state():
    candidates = default_candidates(random_state=3)
    names = ["dividemix", "losscorrection", "neighbormix", "filter", "ce"]
    assert [name for name, _ in candidates] == names
    assert all(est.random_state == 3 for _, est in candidates)
    assert candidates[3][1].estimator.random_state == 3
    assert isinstance(candidates[0][1], DivideMixClassifier)
    assert isinstance(candidates[1][1], LossCorrectionClassifier)


def test_sparse_input_adds_the_linear_label_cleaning():
    names = [name for name, _ in default_candidates(random_state=3, sparse=True)]
    assert names == ["dividemix", "losscorrection", "neighbormix", "filter", "ce", "filter_logreg"]
    linear = default_candidates(random_state=3, sparse=True)[-1][1]
    assert isinstance(linear, FilterClassifier) and linear.random_state == 3
    assert isinstance(linear.estimator, LogisticRegression)


def test_sparse_input_scores_the_linear_label_cleaning(blobs):
    X, y_noisy, _ = blobs
    clf = AutoClassifier(random_state=0).fit(sp.csr_matrix(X[:150]), y_noisy[:150])
    assert list(clf.validation_scores_)[-1] == "filter_logreg"
    assert len(clf.validation_scores_) == 6


def test_default_candidates_fit(blobs):
    X, y_noisy, y = blobs
    clf = AutoClassifier(random_state=0).fit(X[:150], y_noisy[:150])
    assert clf.best_name_ in {"dividemix", "losscorrection", "neighbormix", "filter", "ce"}
    assert len(clf.validation_scores_) == 5
    assert 0 <= clf.noise_rate_ <= 1


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"candidates": []}, ValueError, "must not be empty"),
        ({"candidates": [DummyClassifier()]}, TypeError, r"\(name, estimator\) pairs"),
        ({"candidates": [("a", "not an estimator")]}, TypeError, "no fit method"),
        (
            {"candidates": [("a", DummyClassifier()), ("a", DummyClassifier())]},
            ValueError,
            "distinct",
        ),
        ({"validation_fraction": 0.0}, ValueError, "validation_fraction"),
        ({"validation_fraction": 1.0}, ValueError, "validation_fraction"),
        ({"random_state": np.random.RandomState(0)}, TypeError, "random_state"),
    ],
)
def test_bad_parameters_name_the_problem(blobs, params, error, match):
    X, y_noisy, _ = blobs
    with pytest.raises(error, match=match):
        AutoClassifier(**params).fit(X, y_noisy)


def test_a_single_class_is_an_error(blobs):
    X, _, _ = blobs
    with pytest.raises(ValueError, match="at least 2 classes"):
        AutoClassifier([("prior", DummyClassifier())]).fit(X, np.zeros(len(X)))


def test_tiny_classes_fall_back_to_an_unstratified_split():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = np.array([0] * 15 + [1] * 14 + [2])  # class 2 has one row
    clf = AutoClassifier([("prior", DummyClassifier())], random_state=0).fit(X, y)
    assert list(clf.classes_) == [0, 1, 2]


class _SizeRecorder(DummyClassifier):
    """A DummyClassifier that records the rows of every fit."""

    sizes = []

    def fit(self, X, y, sample_weight=None):
        _SizeRecorder.sizes.append(len(X))
        return super().fit(X, y, sample_weight)


@pytest.mark.parametrize("n_rows, fits", [(400, [320] * 5 + [400]), (2500, [2000, 2500])])
def test_small_data_is_scored_by_cross_validation(n_rows, fits):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(n_rows, 2)), rng.integers(0, 2, size=n_rows)
    _SizeRecorder.sizes = []
    AutoClassifier([("dummy", _SizeRecorder())], random_state=0).fit(X, y)
    assert _SizeRecorder.sizes == fits  # the folds (or the split), then the refit


class _LiveFitRecorder(DummyClassifier):
    """A DummyClassifier that records, at each fit, how many fitted instances are alive."""

    fitted = weakref.WeakSet()
    alive_at_fit = []

    def fit(self, X, y, sample_weight=None):
        _LiveFitRecorder.alive_at_fit.append(len(_LiveFitRecorder.fitted))
        _LiveFitRecorder.fitted.add(self)
        return super().fit(X, y, sample_weight)


@pytest.mark.parametrize("n_rows", [400, 2500])
def test_only_one_fitted_candidate_is_kept_at_a_time(n_rows):
    # A fitted network holds its weights and optimizer state; keeping the last fold's
    # model while the next candidate fits would double the peak memory.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(n_rows, 2)), rng.integers(0, 2, size=n_rows)
    _LiveFitRecorder.alive_at_fit = []
    candidates = [("a", _LiveFitRecorder()), ("b", _LiveFitRecorder())]
    AutoClassifier(candidates, random_state=0).fit(X, y)
    assert len(_LiveFitRecorder.alive_at_fit) > 2
    assert max(_LiveFitRecorder.alive_at_fit) == 0


def test_verbose_reports_each_candidate_and_the_choice(blobs, capsys):
    X, y_noisy, _ = blobs
    candidates = [("first", DummyClassifier()), ("second", DummyClassifier())]
    AutoClassifier(candidates, random_state=0, verbose=1).fit(X, y_noisy)
    out = capsys.readouterr().out
    assert "[AutoClassifier] first: held-out accuracy" in out
    assert "[AutoClassifier] second: held-out accuracy" in out
    assert "refitting first on all rows" in out
    AutoClassifier(candidates, random_state=0).fit(X, y_noisy)
    assert capsys.readouterr().out == ""
