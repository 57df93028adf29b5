"""Inputs standardised inside every network estimator (``standardize=True``), and the
warning of a fit that ends predicting a single class (``DegenerateModelWarning``)."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from test_estimators import ESTIMATORS, FAST

from sknoisy import (
    CoTeachingClassifier,
    DegenerateModelWarning,
    DualEMClassifier,
    RobustLossClassifier,
    _base,
    make_label_noise,
)


@pytest.fixture(scope="module")
def noisy_wine():
    """Wine's raw features (scales from 0.1 to 1000), a stratified split, 20% symmetric
    noise on the training labels."""
    X, y = load_wine(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    return X_train, X_test, make_label_noise(y_train, "symmetric", 0.2, random_state=0), y_test


def _degenerate_warnings(caught):
    return [w for w in caught if issubclass(w.category, DegenerateModelWarning)]


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_raw_tabular_features_train_as_well_as_behind_a_scaler(Estimator, noisy_wine):
    X_train, X_test, y_noisy, y_test = noisy_wine
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = Estimator(random_state=0).fit(X_train, y_noisy)
        scaled = make_pipeline(StandardScaler(), Estimator(random_state=0)).fit(X_train, y_noisy)
    raw_score, scaled_score = raw.score(X_test, y_test), scaled.score(X_test, y_test)
    assert raw_score > 0.8  # chance: 0.40 for the largest class
    assert abs(raw_score - scaled_score) <= 0.05
    assert not _degenerate_warnings(caught)
    assert raw.feature_mean_.shape == raw.feature_scale_.shape == (13,)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_without_standardizing_a_collapsed_fit_warns(Estimator, noisy_wine):
    # Raw wine without standardisation makes some estimators collapse to one class: those
    # fits warn, and fits that do not collapse do not.
    X_train, _, y_noisy, _ = noisy_wine
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = Estimator(standardize=False, max_epochs=20, random_state=0).fit(X_train, y_noisy)
    assert clf.feature_mean_ is None and clf.feature_scale_ is None
    collapsed = len(np.unique(clf.predict(X_train))) == 1
    single_class = [w for w in _degenerate_warnings(caught) if "single class" in str(w.message)]
    assert len(single_class) == int(collapsed)


def test_statistics_are_the_training_rows_mean_and_standard_deviation(noisy_wine):
    X_train, _, y_noisy, _ = noisy_wine
    weight = np.random.default_rng(0).uniform(0, 2, size=len(X_train))
    clf = RobustLossClassifier(**FAST).fit(X_train, y_noisy, sample_weight=weight)
    X32 = X_train.astype(np.float32).astype(np.float64)
    assert clf.feature_mean_.dtype == clf.feature_scale_.dtype == np.float64
    np.testing.assert_allclose(clf.feature_mean_, X32.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(clf.feature_scale_, X32.std(axis=0), rtol=1e-12)


def test_prediction_applies_the_training_statistics(noisy_wine):
    X_train, X_test, y_noisy, _ = noisy_wine
    clf = DualEMClassifier(**FAST).fit(X_train, y_noisy)

    def transform(X):
        X = np.asarray(X, dtype=np.float32).astype(np.float64)
        return ((X - clf.feature_mean_) / clf.feature_scale_).astype(np.float32)

    # The same training on data scaled by hand, without the estimator's standardisation.
    manual = DualEMClassifier(standardize=False, **FAST).fit(transform(X_train), y_noisy)
    np.testing.assert_array_equal(manual.label_quality_, clf.label_quality_)
    # Single rows and a few shifted rows: their own statistics would differ.
    for X in (X_test[:1], X_test[:5] + 10.0, X_test):
        np.testing.assert_allclose(
            clf.predict_proba(X), manual.predict_proba(transform(X)), rtol=1e-6, atol=1e-7
        )


def test_already_standardized_data_are_left_almost_unchanged(noisy_wine):
    X_train, X_test, y_noisy, _ = noisy_wine
    scaler = StandardScaler().fit(X_train)
    X_fit, X_new = scaler.transform(X_train), scaler.transform(X_test)
    on = RobustLossClassifier(**FAST).fit(X_fit, y_noisy)
    off = RobustLossClassifier(standardize=False, **FAST).fit(X_fit, y_noisy)
    np.testing.assert_allclose(on.feature_mean_, 0.0, atol=1e-6)
    np.testing.assert_allclose(on.feature_scale_, 1.0, rtol=1e-6)
    np.testing.assert_allclose(on.predict_proba(X_new), off.predict_proba(X_new), atol=1e-4)


def test_constant_features_are_only_centred():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    X[:, 1] = 7.0
    X[:, 2] = 0.1  # not exact in binary
    y = (X[:, 0] > 0).astype(int)
    clf = RobustLossClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(clf.feature_scale_[1:3], 1.0)
    assert np.all(np.isfinite(clf.label_quality_))
    proba = clf.predict_proba(np.array([[0.5, 7.0, 0.1, 0.0], [0.5, 8.0, -3.0, 0.0]]))
    assert np.all(np.isfinite(proba))


def test_large_float32_values_do_not_overflow_the_statistics():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    X[:, 0] = X[:, 0] * np.float32(1e37) + np.float32(3e38)  # near float32's maximum
    clf = RobustLossClassifier(**{**FAST, "max_epochs": 20}).fit(X, y)
    assert np.all(np.isfinite(clf.feature_mean_)) and np.all(np.isfinite(clf.feature_scale_))
    np.testing.assert_allclose(clf.feature_scale_[0], X[:, 0].astype(np.float64).std(),
                               rtol=1e-9)  # fmt: skip
    assert clf.score(X, y) > 0.8


def test_images_are_standardized_per_pixel():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(40, 1, 4, 4)).astype(np.float32)
    X[:, 0, 0, 0] = 0.0  # a constant pixel
    y = np.repeat([0, 1], 20)
    clf = RobustLossClassifier(**FAST).fit(X, y)
    assert clf.feature_mean_.shape == clf.feature_scale_.shape == (1, 4, 4)
    assert clf.feature_scale_[0, 0, 0] == 1.0
    np.testing.assert_allclose(clf.feature_mean_, X.mean(axis=0), rtol=1e-5)


def test_prediction_in_blocks_equals_one_block(noisy_wine, monkeypatch):
    X_train, X_test, y_noisy, _ = noisy_wine
    clf = CoTeachingClassifier(forget_rate=0.2, **FAST).fit(X_train, y_noisy)
    whole = clf.predict_proba(X_test)
    blocks = []
    original = type(clf.net_).predict_proba

    def recording(net, X):
        blocks.append(len(X))
        return original(net, X)

    monkeypatch.setattr(_base, "_BLOCK_ROWS", 7)
    monkeypatch.setattr(type(clf.net_), "predict_proba", recording)
    np.testing.assert_allclose(clf.predict_proba(X_test), whole, rtol=1e-6, atol=1e-7)
    assert max(blocks) == 7 and sum(blocks) == len(X_test) and len(blocks) > 1


def test_statistics_in_blocks_equal_one_block(monkeypatch):
    X = np.random.default_rng(0).normal(3.0, 2.0, size=(100, 5)).astype(np.float32)
    mean, scale = _base.feature_statistics(X)
    out = _base.standardize_rows(X, mean, scale, np.empty_like(X))
    monkeypatch.setattr(_base, "_BLOCK_ROWS", 7)
    mean_b, scale_b = _base.feature_statistics(X)
    np.testing.assert_allclose(mean_b, mean, rtol=1e-13)
    np.testing.assert_allclose(scale_b, scale, rtol=1e-13)
    np.testing.assert_array_equal(_base.standardize_rows(X, mean, scale, np.empty_like(X)), out)


def test_the_users_data_are_not_changed_and_a_validation_copy_is_reused(monkeypatch):
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    calls = []
    original = _base.standardize_rows

    def recording(X, mean, scale, out):
        calls.append(out is X)
        return original(X, mean, scale, out)

    monkeypatch.setattr(_base, "standardize_rows", recording)
    X32 = rng.normal(5.0, 3.0, size=(40, 3)).astype(np.float32)
    before = X32.copy()
    RobustLossClassifier(**FAST).fit(X32, y)  # float32: used as it is, so not overwritten
    np.testing.assert_array_equal(X32, before)
    X64 = X32.astype(np.float64)
    RobustLossClassifier(**FAST).fit(X64, y)  # float64: validation's float32 copy is reused
    np.testing.assert_array_equal(X64, before)
    RobustLossClassifier(**FAST).fit(X32[::1, :2], y)  # a view of the user's array
    np.testing.assert_array_equal(X32, before)
    assert calls == [False, True, False]


def test_standardize_must_be_a_bool(noisy_wine):
    X_train, _, y_noisy, _ = noisy_wine
    with pytest.raises(TypeError, match="standardize must be True or False"):
        RobustLossClassifier(standardize="yes", **FAST).fit(X_train, y_noisy)


class _Constant(torch.nn.Module):
    """Logits that do not depend on the input: one learnt bias per class."""

    def __init__(self, n_classes=3):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(n_classes))

    def forward(self, X):
        return self.bias.expand(len(X), -1)


def test_a_model_predicting_one_class_warns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = np.array(["a"] * 10 + ["b"] * 40 + ["c"] * 10)  # "b" is the majority
    clf = RobustLossClassifier(module=_Constant, **{**FAST, "max_epochs": 10, "lr": 0.05})
    with pytest.warns(DegenerateModelWarning) as record:
        clf.fit(X, y)
    (warning,) = _degenerate_warnings(record)
    message = str(warning.message)
    assert message.startswith("RobustLossClassifier predicts a single class, 'b',")
    assert "y has 3 classes" in message
    assert "standardize" in message and "lr" in message and "max_epochs" in message
    assert warning.filename == __file__  # points at the call of fit
    assert set(clf.predict(X)) == {"b"}  # fitted all the same


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_every_estimator_warns_when_it_cannot_tell_rows_apart(Estimator):
    X = np.ones((40, 3))  # identical rows: one prediction for all of them
    y = np.repeat([0, 1], [30, 10])
    with pytest.warns(DegenerateModelWarning, match=f"^{Estimator.__name__} predicts a single"):
        Estimator(**FAST).fit(X, y)


def test_a_normal_fit_does_not_warn(noisy_wine):
    X_train, _, y_noisy, _ = noisy_wine
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateModelWarning)
        RobustLossClassifier(**{**FAST, "max_epochs": 10}).fit(X_train, y_noisy)


def test_classes_without_weight_do_not_count():
    # Trained on one class (the others weigh 0), a model that predicts it is not degenerate.
    X = np.ones((40, 3))
    y = np.repeat([0, 1], 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateModelWarning)
        RobustLossClassifier(**FAST).fit(X, y, sample_weight=(y == 0).astype(float))
