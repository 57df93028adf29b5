"""Co-teaching: the schedule, the cross update and learning under noise."""

import pickle

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknoisy import (
    CoTeachingClassifier,
    DegenerateModelWarning,
    RobustLossClassifier,
    make_label_noise,
)
from sknoisy.coteaching import peer_selection
from sknoisy.selection import forget_rate_schedule


def test_the_forget_rate_ramps_to_its_target():
    # R(t) = forget_rate * min((t / num_gradual) ** exponent, 1)
    assert [forget_rate_schedule(0.4, t, 4, 1.0) for t in range(6)] == pytest.approx(
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.4]
    )
    assert forget_rate_schedule(0.4, 2, 4, 2.0) == pytest.approx(0.1)


def test_each_network_learns_from_the_rows_its_peer_kept():
    import torch

    loss1 = torch.tensor([0.1, 0.2, 3.0, 4.0])  # network 1 finds rows 0 and 1 clean
    loss2 = torch.tensor([5.0, 0.3, 0.1, 6.0])  # network 2 finds rows 1 and 2 clean
    for_1, for_2 = peer_selection(loss1, loss2, forget_rate=0.5)
    assert for_1.tolist() == [0.0, 1.0, 1.0, 0.0]  # network 2's choice
    assert for_2.tolist() == [1.0, 1.0, 0.0, 0.0]  # network 1's choice
    # A row of weight 0 never takes a kept slot, however small its loss.
    unused = torch.tensor([True, False, False, False])
    _, for_2 = peer_selection(loss1, loss2, 0.5, unused)
    assert for_2.tolist() == [0.0, 1.0, 1.0, 0.0]


def test_forget_rate_ramps_as_the_paper_says(noisy_digits):
    X_train, _, _, y_noisy, _ = noisy_digits
    clf = CoTeachingClassifier(
        0.4, num_gradual=4, exponent=2.0, max_epochs=6, hidden_layer_sizes=(16,), random_state=0
    ).fit(X_train, y_noisy)
    expected = [0.4 * min((t / 4) ** 2, 1) for t in range(6)]
    np.testing.assert_allclose(clf.history_[:, "forget_rate"], expected)
    assert clf.forget_rate_ == 0.4 and clf.num_gradual_ == 4


def test_num_gradual_as_a_fraction_fits_any_run_length(noisy_digits):
    X_train, _, _, y_noisy, _ = noisy_digits
    clf = CoTeachingClassifier(
        0.3, num_gradual=0.5, max_epochs=4, hidden_layer_sizes=(16,), random_state=0
    ).fit(X_train, y_noisy)
    assert clf.num_gradual_ == 2
    np.testing.assert_allclose(clf.history_[:, "forget_rate"], [0.0, 0.15, 0.3, 0.3])


def test_auto_forget_rate_tracks_the_noise(noisy_digits):
    X_train, _, _, y_noisy, _ = noisy_digits
    clf = CoTeachingClassifier(max_epochs=20, random_state=0).fit(X_train, y_noisy)
    assert abs(clf.forget_rate_ - 0.4) < 0.1
    # Fixed after the ramp.
    targets = clf.history_[:, "target_forget_rate"]
    assert len(set(targets[clf.num_gradual_:])) == 1


def test_auto_forget_rate_is_small_on_clean_labels(noisy_digits):
    X_train, _, y_train, _, _ = noisy_digits
    clf = CoTeachingClassifier(max_epochs=20, random_state=0).fit(X_train, y_train)
    assert clf.forget_rate_ < 0.1


def test_inference_first_uses_network_one_only(noisy_digits):
    X_train, X_test, _, y_noisy, _ = noisy_digits
    params = dict(max_epochs=3, hidden_layer_sizes=(16,), random_state=0)
    first = CoTeachingClassifier(inference="first", **params).fit(X_train, y_noisy)
    both = CoTeachingClassifier(inference="ensemble", **params).fit(X_train, y_noisy)
    # Same training (same seed); only inference differs.
    np.testing.assert_array_equal(first.label_quality_, both.label_quality_)
    import torch

    X = (X_test - first.feature_mean_) / first.feature_scale_  # what the networks take
    with torch.no_grad():
        logits = first.net_.module_.eval()(torch.as_tensor(X, dtype=torch.float32))
    np.testing.assert_allclose(first.predict_proba(X_test), logits.softmax(1).numpy(), atol=1e-6)
    assert not np.allclose(first.predict_proba(X_test), both.predict_proba(X_test))


def test_beats_plain_cross_entropy_at_40_percent_noise(noisy_digits):
    X_train, X_test, _, y_noisy, y_test = noisy_digits
    coteaching = CoTeachingClassifier(random_state=0).fit(X_train, y_noisy)
    plain = RobustLossClassifier("ce", random_state=0).fit(X_train, y_noisy)
    acc_co, acc_ce = coteaching.score(X_test, y_test), plain.score(X_test, y_test)
    assert acc_co >= 0.9
    assert acc_co > acc_ce + 0.1


@pytest.mark.parametrize("n_jobs", [2])
def test_grid_search_on_string_labels_in_a_pipeline_pickles(n_jobs):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    y = np.array(["low", "mid", "high"])[(X[:, 0] > -0.4).astype(int) + (X[:, 0] > 0.4)]
    y_noisy = make_label_noise(y, "symmetric", 0.2, random_state=0)
    X_train, X_test, y_train, _, _, y_test = train_test_split(
        X, y_noisy, y, test_size=0.3, random_state=0
    )
    clf = CoTeachingClassifier(max_epochs=30, batch_size=32, random_state=0)
    pipe = make_pipeline(StandardScaler(), clf)
    search = GridSearchCV(
        pipe,
        {
            "coteachingclassifier__forget_rate": ["auto", 0.2],
            "coteachingclassifier__hidden_layer_sizes": [(16,), (32, 16)],
        },
        cv=3,
        n_jobs=n_jobs,
    ).fit(X_train, y_train)
    restored = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(restored.predict(X_test), search.predict(X_test))
    assert set(restored.predict(X_test)) <= {"low", "mid", "high"}
    assert restored.score(X_test, y_test) > 0.7


def test_warns_when_the_auto_estimate_carries_no_information():
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=240, n_features=8, n_informative=5, n_classes=3,
                               random_state=0)
    clf = CoTeachingClassifier(max_epochs=6, hidden_layer_sizes=(8,), random_state=0)
    with pytest.warns(DegenerateModelWarning, match="close to 2/3, where labels carry no"):
        clf.fit(X, y)


def test_short_runs_still_estimate_the_forget_rate_after_some_training(noisy_digits):
    X_train, X_test, _, y_noisy, y_test = noisy_digits
    clf = CoTeachingClassifier(max_epochs=5, random_state=0).fit(X_train, y_noisy)
    assert clf.num_gradual_ == 2  # at least min(5, max_epochs // 2) epochs of ramp
    assert abs(clf.forget_rate_ - 0.4) < 0.1
    assert clf.score(X_test, y_test) > 0.85
