"""get_label_issues(): the table of given, predicted and suggested labels of every
estimator, aligned with the rows of X."""

import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknoisy import (
    AutoClassifier,
    DualEMClassifier,
    FilterClassifier,
    NeighborMixClassifier,
    RobustLossClassifier,
    make_label_noise,
)
from sknoisy._issues import ISSUE_COLUMNS
from sknoisy.discovery import all_estimators

NETWORKS = [cls for _, cls in all_estimators("network")]
FAST = dict(max_epochs=6, hidden_layer_sizes=(16,), random_state=0)
LABELS = np.array(["eel", "cat", "dog"])


@pytest.fixture(scope="module")
def frame():
    """A DataFrame of 240 rows whose index is neither 0..n-1 nor sorted, string labels
    with 20% of them flipped, and the true labels."""
    X, y = make_classification(
        n_samples=240, n_features=8, n_informative=5, n_classes=3, class_sep=2.0,
        random_state=0,
    )  # fmt: skip
    index = pd.Index(np.random.default_rng(0).permutation(240) * 7 + 1000, name="row")
    X = pd.DataFrame(X.astype(np.float32), index=index, columns=[f"f{i}" for i in range(8)])
    y_noisy = make_label_noise(y, "symmetric", 0.2, random_state=0)
    return X, LABELS[y_noisy], LABELS[y]


def check_table(clf, X, y):
    """The columns every estimator's table has, and what they must agree with."""
    table = clf.get_label_issues()
    assert tuple(table.columns) == ISSUE_COLUMNS
    assert table.index.equals(X.index)
    np.testing.assert_array_equal(table["given_label"], y)
    np.testing.assert_array_equal(table["label_quality"], clf.label_quality_)
    np.testing.assert_array_equal(table["is_label_issue"], clf.label_issues_)
    assert table["is_label_issue"].dtype == bool
    for column in ("predicted_label", "suggested_label"):
        assert set(table[column]) <= set(clf.classes_)
    return table


@pytest.mark.parametrize("Estimator", NETWORKS)
def test_every_network_estimator_tables_its_rows_in_the_order_of_X(Estimator, frame):
    X, y, _ = frame
    clf = Estimator(**FAST).fit(X, y)
    table = check_table(clf, X, y)
    # The prediction for a training row is what predict says for it.
    np.testing.assert_array_equal(table["predicted_label"], clf.predict(X))
    corrected = getattr(clf, "corrected_labels_", None)
    expected = table["predicted_label"] if corrected is None else corrected
    np.testing.assert_array_equal(table["suggested_label"], expected)


@pytest.mark.parametrize("Estimator", [DualEMClassifier, NeighborMixClassifier])
def test_a_method_that_corrects_labels_suggests_its_corrections(Estimator, frame):
    X, y, y_true = frame
    clf = Estimator(max_epochs=40, random_state=0).fit(X, y)
    table = clf.get_label_issues()
    np.testing.assert_array_equal(table["suggested_label"], clf.corrected_labels_)
    # The corrections change labels, mostly wrong ones to right ones.
    changed = table["suggested_label"] != table["given_label"]
    assert changed.sum() >= 10
    assert (table["suggested_label"][changed] == y_true[changed]).mean() > 0.5


def test_sorted_by_quality_lowest_first_ties_in_row_order(frame):
    X, y, _ = frame
    clf = RobustLossClassifier(**FAST).fit(X, y)
    table = clf.get_label_issues(sort=True)
    assert table["label_quality"].is_monotonic_increasing
    order = np.argsort(clf.label_quality_, kind="stable")
    assert table.index.equals(X.index[order])
    assert table.equals(clf.get_label_issues().iloc[order])


def test_the_wrong_labels_come_first(frame):
    X, y, y_true = frame
    clf = RobustLossClassifier(max_epochs=40, random_state=0).fit(X, y)
    top = clf.get_label_issues(sort=True).head(int((y != y_true).sum()))
    wrong = pd.Series(y != y_true, index=X.index)
    assert wrong[top.index].mean() > 0.6  # 20% of all rows are wrong


def test_inside_a_pipeline_rows_are_in_the_order_of_X(frame):
    X, y, _ = frame
    pipe = make_pipeline(StandardScaler(), RobustLossClassifier(**FAST)).fit(X.to_numpy(), y)
    table = pipe[-1].get_label_issues()
    assert table.index.equals(pd.RangeIndex(len(X)))
    np.testing.assert_array_equal(table["given_label"], y)


def test_filter_cross_validated_predictions_and_a_sknoisy_detector(frame):
    X, y, _ = frame
    clf = FilterClassifier(LogisticRegression(max_iter=500), random_state=0).fit(X, y)
    table = check_table(clf, X, y)
    predicted = clf.classes_[clf.pred_probs_.argmax(axis=1)]
    np.testing.assert_array_equal(table["predicted_label"], predicted)
    np.testing.assert_array_equal(table["suggested_label"], predicted)

    detector = DualEMClassifier(**FAST)
    clf = FilterClassifier(LogisticRegression(max_iter=500), detectors=detector).fit(X, y)
    table = check_table(clf, X, y)
    detected = clf.detectors_[0]
    np.testing.assert_array_equal(
        table["suggested_label"], clf.classes_[detected.corrected_labels_]
    )


def test_auto_tables_the_chosen_estimator_and_refuses_without_one(frame):
    X, y, _ = frame
    candidates = [("ce", RobustLossClassifier(**FAST))]
    clf = AutoClassifier(candidates, random_state=0).fit(X, y)
    table = check_table(clf, X, y)
    chosen = clf.best_estimator_.get_label_issues()
    np.testing.assert_array_equal(table.to_numpy(), chosen.to_numpy())

    clf = AutoClassifier([("lr", LogisticRegression(max_iter=500))]).fit(X, y)
    with pytest.raises(AttributeError, match="LogisticRegression.* does not score labels"):
        clf.get_label_issues()
    # A refit that chooses such a candidate keeps nothing of an earlier fit.
    clf.set_params(candidates=candidates).fit(X, y)
    clf.set_params(candidates=[("lr", LogisticRegression(max_iter=500))]).fit(X, y)
    with pytest.raises(AttributeError, match="does not score labels"):
        clf.get_label_issues()


def test_unfitted_is_not_fitted_error():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        RobustLossClassifier().get_label_issues()


def test_without_pandas_the_error_says_what_to_install(frame, monkeypatch):
    X, y, _ = frame
    clf = RobustLossClassifier(**FAST).fit(X.to_numpy(), y)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    with pytest.raises(ImportError, match="needs pandas.*pip install pandas"):
        clf.get_label_issues()
