"""FilterClassifier: label cleaning for any scikit-learn classifier."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV
from sklearn.tree import DecisionTreeClassifier

from sknoisy import FilterClassifier, RobustLossClassifier
from sknoisy.quality import label_quality_scores


def test_cleaning_beats_the_estimator_alone(blobs_40):
    X_train, X_test, y_train, y_noisy, y_test = blobs_40
    wrong = y_noisy != y_train
    tree = DecisionTreeClassifier(min_samples_leaf=5, random_state=0)
    alone = tree.fit(X_train, y_noisy).score(X_test, y_test)
    clf = FilterClassifier(
        tree, detectors=LogisticRegression(max_iter=500), random_state=0
    ).fit(X_train, y_noisy)
    assert clf.score(X_test, y_test) > alone + 0.1
    assert f1_score(wrong, clf.label_issues_) > 0.7
    assert abs(clf.noise_rate_ - wrong.mean()) < 0.1
    # Pruned: the final tree saw only the rows not flagged.
    assert clf.estimator_.tree_.n_node_samples[0] == (~clf.label_issues_).sum()


def test_multiple_models_average_their_probabilities(blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    one = FilterClassifier(LogisticRegression(max_iter=500), random_state=0).fit(X_train, y_noisy)
    two = FilterClassifier(
        LogisticRegression(max_iter=500),
        detectors=[LogisticRegression(max_iter=500), DecisionTreeClassifier(random_state=0)],
        random_state=0,
    ).fit(X_train, y_noisy)
    tree = FilterClassifier(
        DecisionTreeClassifier(random_state=0), random_state=0
    ).fit(X_train, y_noisy)
    np.testing.assert_allclose(two.pred_probs_, (one.pred_probs_ + tree.pred_probs_) / 2)


def test_a_sknoisy_detector_scores_the_labels(blobs_40):
    X_train, X_test, y_train, y_noisy, y_test = blobs_40
    detector = RobustLossClassifier("gce", max_epochs=10, random_state=0)
    clf = FilterClassifier(LogisticRegression(max_iter=500), detectors=detector).fit(
        X_train, y_noisy
    )
    fitted = clf.detectors_[0]
    np.testing.assert_array_equal(clf.label_quality_, fitted.label_quality_)
    assert clf.noise_rate_ == fitted.noise_rate_ and clf.pred_probs_ is None


def test_a_sknoisy_estimator_without_detectors_is_cross_validated(blobs_40):
    # Its own label_quality_ comes from the rows it trained on; the default scores the
    # labels out of sample, as for any other estimator.
    X_train, _, _, y_noisy, _ = blobs_40
    estimator = RobustLossClassifier("ce", max_epochs=10, random_state=0)
    clf = FilterClassifier(estimator, cv=3, random_state=0).fit(X_train, y_noisy)
    assert clf.detectors_ == [] and clf.pred_probs_.shape == (len(y_noisy), 5)
    expected = label_quality_scores(np.unique(y_noisy, return_inverse=True)[1], clf.pred_probs_)
    np.testing.assert_allclose(clf.label_quality_, expected)


def test_weighting_keeps_every_row_weighted_by_quality(blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    clf = FilterClassifier(
        DecisionTreeClassifier(random_state=0), handling="weight", random_state=0
    ).fit(X_train, y_noisy)
    root_weight = clf.estimator_.tree_.weighted_n_node_samples[0]
    np.testing.assert_allclose(root_weight, clf.label_quality_.sum(), rtol=1e-6)


def test_string_labels_sparse_input_and_a_grid_search(blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    labels = np.array(["ant", "bee", "cat", "dog", "eel"])[y_noisy]
    search = GridSearchCV(
        FilterClassifier(LogisticRegression(max_iter=300), random_state=0),
        {"handling": ["prune", "weight"]}, cv=2,
    ).fit(sp.csr_matrix(X_train), labels)  # fmt: skip
    assert set(search.predict(sp.csr_matrix(X_train[:20]))) <= set(labels)


def test_a_class_all_flagged_is_kept():
    X = np.r_[np.zeros((20, 2)), np.ones((20, 2)), np.full((3, 2), 0.5)]
    y = np.r_[np.zeros(20), np.ones(20), np.full(3, 2)].astype(int)
    clf = FilterClassifier(LogisticRegression(), noise_rate=0.2, random_state=0).fit(X, y)
    assert clf.label_issues_[y == 2].all()
    assert set(clf.estimator_.classes_) == {0, 1, 2}


@pytest.mark.parametrize(
    "params, message",
    [
        ({"handling": "drop"}, "handling must be one of"),
        ({"quality_method": "vibes"}, "quality_method must be one of"),
        ({"noise_rate": 1.0}, "noise_rate"),
        ({"noise_rate": "high"}, "noise_rate must be 'auto' or a float"),
        ({"cv": 1}, "cv must be in"),
        ({"detectors": []}, "detectors must not be an empty list"),
    ],
)
def test_bad_parameters_are_named(params, message, blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    with pytest.raises(ValueError, match=message):
        FilterClassifier(LogisticRegression(), **params).fit(X_train, y_noisy)


@pytest.mark.parametrize("estimator", ["logistic", LogisticRegression, 3])
def test_estimator_that_is_not_a_classifier_instance_is_a_type_error(estimator, blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    with pytest.raises(TypeError, match="estimator must be a scikit-learn classifier"):
        FilterClassifier(estimator).fit(X_train, y_noisy)
    with pytest.raises(TypeError, match="detectors must be a scikit-learn classifier"):
        FilterClassifier(LogisticRegression(), detectors=[estimator]).fit(X_train, y_noisy)


def test_folds_that_train_on_one_class_are_refused():
    # Two classes, one of them a single row: the fold holding it out trains on one class.
    X, y = np.arange(5.0)[:, None], [0, 1, 1, 1, 1]
    with pytest.raises(ValueError, match="training rows hold a single class"):
        FilterClassifier(random_state=0).fit(X, y)
