"""fit(X, y, trusted=mask): rows whose label was checked count as clean in every
estimator, are never flagged, and reach the estimator through pipelines and searches."""

import numpy as np
import pytest
import sklearn
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from sknoisy import (
    AutoClassifier,
    CoTeachingClassifier,
    DivideMixClassifier,
    DualEMClassifier,
    FilterClassifier,
    LossCorrectionClassifier,
    MentorNetClassifier,
    NeighborMixClassifier,
    RobustLossClassifier,
    make_label_noise,
)
from sknoisy.discovery import all_estimators

NETWORKS = [cls for _, cls in all_estimators("network")]
FAST = dict(max_epochs=6, hidden_layer_sizes=(16,), random_state=0)


def every_estimator():
    """One fast instance of each estimator, the two meta-estimators included."""
    estimators = [Estimator(**FAST) for Estimator in NETWORKS]
    estimators.append(FilterClassifier(LogisticRegression(max_iter=300), random_state=0))
    estimators.append(FilterClassifier(detectors=DualEMClassifier(**FAST), random_state=0))
    candidates = [("ce", RobustLossClassifier(**FAST)), ("dualem", DualEMClassifier(**FAST))]
    estimators.append(AutoClassifier(candidates, random_state=0))
    return estimators


def name(estimator):
    detectors = getattr(estimator, "detectors", None)
    return type(estimator).__name__ + ("" if detectors is None else "-detector")


@pytest.fixture(scope="module")
def noisy():
    """600 rows of 3 classes with 40% of the labels flipped, and every tenth row checked
    and relabelled with a label that the data contradicts (the next class): a method
    that counts the checked rows as clean fits those labels, one that does not sets them
    aside as noise."""
    X, y = make_classification(
        n_samples=600, n_features=8, n_informative=5, n_classes=3, class_sep=1.5,
        random_state=0,
    )  # fmt: skip
    y_noisy = make_label_noise(y, "symmetric", 0.4, random_state=0)
    trusted = np.arange(len(y)) % 10 == 0
    return X.astype(np.float32), np.where(trusted, (y + 1) % 3, y_noisy), trusted


@pytest.mark.parametrize("estimator", every_estimator(), ids=name)
def test_trusted_rows_are_never_flagged_and_keep_their_label(estimator, noisy):
    X, y, trusted = noisy
    estimator.fit(X, y, trusted=trusted)
    np.testing.assert_array_equal(estimator.label_quality_[trusted], 1.0)
    assert not estimator.label_issues_[trusted].any()
    assert estimator.label_issues_[~trusted].any()
    table = estimator.get_label_issues()
    np.testing.assert_array_equal(table["suggested_label"][trusted], y[trusted])


@pytest.mark.parametrize("Estimator", NETWORKS)
def test_a_mask_that_marks_no_row_is_the_same_as_none(Estimator, noisy):
    X, y, _ = noisy
    given = Estimator(**FAST).fit(X, y, trusted=np.zeros(len(y), dtype=bool))
    none = Estimator(**FAST).fit(X, y)
    np.testing.assert_array_equal(given.label_quality_, none.label_quality_)
    np.testing.assert_array_equal(given.predict_proba(X), none.predict_proba(X))


@pytest.mark.parametrize(
    ("Estimator", "params"),
    [
        (RobustLossClassifier, {"loss": "gce"}),
        (CoTeachingClassifier, {"forget_rate": 0.6}),
        (DualEMClassifier, {}),
        (NeighborMixClassifier, {}),
        (LossCorrectionClassifier, {}),
        (MentorNetClassifier, {}),
    ],
)
def test_trusted_rows_are_learnt_as_clean(Estimator, params, noisy):
    """The checked rows' labels, which the data contradicts, are fitted far more often
    when they are trusted than when the method judges them itself. (DivideMix's mixup
    keeps it from fitting such labels either way; the next test reads its division.)"""
    X, y, trusted = noisy

    def fitted(**fit_params):
        clf = Estimator(hidden_layer_sizes=(32,), random_state=0, **params)
        clf.fit(X, y, **fit_params)
        return np.mean(clf.get_label_issues()["predicted_label"][trusted] == y[trusted])

    assert fitted(trusted=trusted) > fitted() + 0.08


class RecordState(Callback):
    """Keeps, at each epoch's end, the named per-row state of the net."""

    def __init__(self, *names):
        self.names = names

    def initialize(self):
        self.records_ = []
        return self

    def on_epoch_end(self, net, **kwargs):
        state = net.state_
        self.records_.append({n: getattr(state, n, None) for n in self.names})


def records(clf):
    """What the fitted estimator's :class:`RecordState` kept (the estimator trains a
    copy of the callbacks it is given)."""
    return dict(clf.net_.callbacks_)["record"].records_


@pytest.mark.parametrize(
    ("Estimator", "names"),
    [
        (DivideMixClassifier, ("clean",)),
        (DualEMClassifier, ("cleanness", "selected")),
        (NeighborMixClassifier, ("clean",)),
    ],
)
def test_every_division_counts_trusted_rows_clean(Estimator, names, noisy):
    X, y, trusted = noisy
    clf = Estimator(**FAST, callbacks=[("record", RecordState(*names))])
    divided = [r for r in records(clf.fit(X, y, trusted=trusted)) if r[names[0]] is not None]
    assert divided, "no epoch after the warm-up"
    for state in divided:
        for values in state.values():
            values = values.cpu().numpy()
            np.testing.assert_array_equal(values[..., trusted], 1.0)
            assert values[..., ~trusted].min() < 1.0


def test_neighbormix_keeps_the_given_label_as_a_trusted_rows_target(noisy):
    X, y, trusted = noisy
    clf = NeighborMixClassifier(
        **FAST, neighbor_start=1, callbacks=[("record", RecordState("soft_targets"))]
    )
    final = records(clf.fit(X, y, trusted=trusted))[-1]["soft_targets"].cpu().numpy()
    np.testing.assert_array_equal(final[trusted], np.eye(3)[y[trusted]])
    assert not np.isin(final[~trusted], (0.0, 1.0)).all()


def test_loss_correction_estimates_the_matrix_from_the_untrusted_rows():
    """Pair-flip noise, a sixth of the rows checked and relabelled right: counted as
    given, their labels would pull the estimate of T towards the identity."""
    X, y = make_classification(
        n_samples=900, n_features=8, n_informative=6, n_classes=3, class_sep=2.0,
        random_state=1,
    )  # fmt: skip
    y_noisy = make_label_noise(y, "pairflip", 0.35, random_state=0)
    trusted = np.arange(len(y)) % 6 == 0
    y_given = np.where(trusted, y, y_noisy)
    params = dict(hidden_layer_sizes=(32,), revisions=0, random_state=0)
    true_T = np.array([[np.mean(y_noisy[y == i] == j) for j in range(3)] for i in range(3)])
    errors = {}
    for key, fit_params in [("trusted", {"trusted": trusted}), ("none", {})]:
        clf = LossCorrectionClassifier(**params).fit(X, y_given, **fit_params)
        errors[key] = np.abs(clf.transition_matrix_ - true_T).sum()
    assert errors["trusted"] < 0.75 * errors["none"]


# ------------------------------------------------------------------ bad masks


@pytest.mark.parametrize(
    ("trusted", "match"),
    [
        (np.ones(599, dtype=bool), r"one entry per row, shape \(600,\)"),
        (np.ones((600, 1), dtype=bool), r"shape \(600,\)"),
        (np.full(600, 0.5), "boolean mask"),
        (np.array(["yes"] * 600), "boolean mask"),
    ],
)
@pytest.mark.parametrize("estimator", every_estimator(), ids=name)
def test_a_bad_mask_is_named(estimator, trusted, match, noisy):
    X, y, _ = noisy
    with pytest.raises(ValueError, match=match):
        estimator.fit(X, y, trusted=trusted)


def test_a_0_1_mask_is_a_boolean_one(noisy):
    X, y, trusted = noisy
    ints = RobustLossClassifier(**FAST).fit(X, y, trusted=trusted.astype(int))
    bools = RobustLossClassifier(**FAST).fit(X, y, trusted=trusted)
    np.testing.assert_array_equal(ints.label_quality_, bools.label_quality_)


def test_auto_names_a_candidate_that_does_not_take_trusted(noisy):
    X, y, trusted = noisy
    auto = AutoClassifier([("lr", LogisticRegression())])
    with pytest.raises(TypeError, match="'lr'.*does not take trusted"):
        auto.fit(X, y, trusted=trusted)


# ------------------------------------------------------- pipelines and searches


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def test_a_pipeline_routes_trusted_to_the_estimator(routing, noisy):
    X, y, trusted = noisy
    clf = DualEMClassifier(**FAST).set_fit_request(trusted=True)
    pipe = make_pipeline(StandardScaler(), clf).fit(X, y, trusted=trusted)
    np.testing.assert_array_equal(pipe[-1].label_quality_[trusted], 1.0)


def test_a_search_splits_trusted_with_its_folds(routing, noisy):
    X, y, trusted = noisy
    pipe = Pipeline([
        ("scale", StandardScaler()),
        ("clf", FilterClassifier(LogisticRegression(max_iter=300)).set_fit_request(trusted=True)),
    ])  # fmt: skip
    search = GridSearchCV(pipe, {"clf__handling": ["prune", "weight"]}, cv=2)
    search.fit(X, y, trusted=trusted)
    np.testing.assert_array_equal(search.best_estimator_[-1].label_quality_[trusted], 1.0)


def test_without_routing_a_pipeline_takes_trusted_as_a_step_parameter(noisy):
    X, y, trusted = noisy
    pipe = make_pipeline(StandardScaler(), CoTeachingClassifier(**FAST))
    pipe.fit(X, y, coteachingclassifier__trusted=trusted)
    assert not pipe[-1].label_issues_[trusted].any()
