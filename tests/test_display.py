"""The Display classes: the noise matrix and label quality by class, drawn."""

import sys

import matplotlib
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from sknoisy import (
    AutoClassifier,
    DualEMClassifier,
    FilterClassifier,
    LossCorrectionClassifier,
    make_label_noise,
)
from sknoisy.display import LabelQualityDisplay, NoiseMatrixDisplay
from sknoisy.noise import transition_matrix

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FAST = dict(max_epochs=6, hidden_layer_sizes=(16,), random_state=0)
LABELS = np.array(["ant", "bee", "cat"])


@pytest.fixture(scope="module")
def pairflip():
    """Three well-separated classes with 30% of each class's labels flipped to the next
    class, labels as strings."""
    X, y = make_classification(
        n_samples=600, n_features=8, n_informative=6, n_classes=3, class_sep=2.5,
        random_state=0,
    )  # fmt: skip
    y_noisy = make_label_noise(y, "pairflip", 0.3, random_state=0)
    return X.astype(np.float32), LABELS[y_noisy], LABELS[y]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_the_noise_matrix_of_an_estimator_follows_its_suggested_labels(pairflip):
    X, y, _ = pairflip
    clf = DualEMClassifier(**FAST).fit(X, y)
    display = NoiseMatrixDisplay.from_estimator(clf)
    table = clf.get_label_issues()
    expected = transition_matrix(table["suggested_label"], table["given_label"], LABELS)
    np.testing.assert_allclose(display.matrix, expected)
    np.testing.assert_allclose(display.matrix.sum(axis=1), 1.0)
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == list(LABELS)
    assert display.ax_.get_xlabel() == "given label"
    assert display.text_[0, 0].get_text() == f"{display.matrix[0, 0]:.2f}"
    assert display.figure_ is display.ax_.figure


def test_the_noise_matrix_finds_the_flips_of_pairflip_noise(pairflip):
    X, y, y_true = pairflip
    estimated = NoiseMatrixDisplay.from_estimator(DualEMClassifier(random_state=0).fit(X, y))
    realised = NoiseMatrixDisplay.from_labels(y_true, y)
    # Each class's wrong labels go to the next class: the largest off-diagonal entry of
    # every row is where the noise put it.
    off = estimated.matrix - np.diag(np.diag(estimated.matrix))
    np.testing.assert_array_equal(off.argmax(axis=1), [1, 2, 0])
    assert np.abs(estimated.matrix - realised.matrix).max() < 0.15


def test_loss_correction_draws_its_own_transition_matrix(pairflip):
    X, y, _ = pairflip
    clf = LossCorrectionClassifier(**FAST).fit(X, y)
    display = NoiseMatrixDisplay.from_estimator(clf, values_format=None, colorbar=False)
    np.testing.assert_array_equal(display.matrix, clf.transition_matrix_)
    assert len(display.ax_.texts) == 0 and len(display.figure_.axes) == 1


def test_label_quality_display_draws_a_box_per_class_and_the_cut_off(pairflip):
    X, y, _ = pairflip
    clf = DualEMClassifier(**FAST).fit(X, y)
    fig, ax = plt.subplots()
    display = LabelQualityDisplay.from_estimator(clf, ax=ax)
    assert display.ax_ is ax
    np.testing.assert_array_equal(display.classes_, LABELS)
    issues, quality = clf.label_issues_, clf.label_quality_
    assert quality[issues].max() <= display.threshold_ <= quality[~issues].min()
    (line,) = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert line.get_ydata()[0] == display.threshold_
    names = [t.get_text() for t in ax.get_xticklabels()]
    counts = [int(issues[y == c].sum()) for c in LABELS]
    assert names == [f"{c}\n{n} issues" for c, n in zip(LABELS, counts, strict=True)]


def test_no_cut_off_where_the_issues_are_not_the_lowest_quality_rows():
    display = LabelQualityDisplay([0.9, 0.2, 0.5], [0, 0, 1], label_issues=[True, False, False])
    assert display.threshold_ is None
    display.plot()
    assert not [line for line in display.ax_.get_lines() if line.get_linestyle() == "--"]


@pytest.mark.parametrize(
    "estimator",
    [
        FilterClassifier(LogisticRegression(max_iter=300), random_state=0),
        AutoClassifier([("dualem", DualEMClassifier(**FAST))], random_state=0),
    ],
    ids=["filter", "auto"],
)
def test_the_meta_estimators_are_drawn_too(estimator, pairflip):
    X, y, _ = pairflip
    estimator.fit(X, y)
    assert NoiseMatrixDisplay.from_estimator(estimator).matrix.shape == (3, 3)
    LabelQualityDisplay.from_estimator(estimator)


def test_an_unfitted_estimator_is_an_error():
    with pytest.raises(NotFittedError):
        NoiseMatrixDisplay.from_estimator(DualEMClassifier())


def test_an_estimator_that_does_not_score_labels_is_named(pairflip):
    X, y, _ = pairflip
    with pytest.raises(AttributeError, match="LogisticRegression does not score labels"):
        LabelQualityDisplay.from_estimator(LogisticRegression().fit(X, y))


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: NoiseMatrixDisplay(np.ones((2, 3))), "square"),
        (lambda: NoiseMatrixDisplay(np.eye(2), display_labels=["a"]), "1 names for 2"),
        (lambda: LabelQualityDisplay([0.5, 0.2], [0]), "one entry per row"),
        (lambda: LabelQualityDisplay([0.5, 0.2], [0, 1], label_issues=[1, 0]), "boolean"),
        (lambda: LabelQualityDisplay([1.5, 0.2], [0, 1]), "label_quality"),
    ],
)
def test_bad_inputs_are_named(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_without_matplotlib_plot_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        NoiseMatrixDisplay(np.eye(2)).plot()
