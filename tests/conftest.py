import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sknoisy import RobustLossClassifier, make_label_noise


@pytest.fixture(scope="session")
def noisy_digits():
    """Digits, 30% stratified clean test split, 40% symmetric noise on the training labels."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    scaler = StandardScaler().fit(X_train)
    y_noisy = make_label_noise(y_train, "symmetric", 0.4, random_state=0)
    return (
        scaler.transform(X_train).astype(np.float32),
        scaler.transform(X_test).astype(np.float32),
        y_train,
        y_noisy,
        y_test,
    )


@pytest.fixture(scope="session")
def blobs_40():
    """5 classes of 2 clusters, 40% symmetric noise on the training labels."""
    X, y = make_classification(
        n_samples=2000, n_features=20, n_informative=10, n_classes=5, n_clusters_per_class=2,
        class_sep=2.0, random_state=0,
    )  # fmt: skip
    X = StandardScaler().fit_transform(X).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    y_noisy = make_label_noise(y_train, "symmetric", 0.4, random_state=0)
    return X_train, X_test, y_train, y_noisy, y_test


@pytest.fixture(scope="session")
def ce_score_40(blobs_40):
    """Plain cross-entropy's clean-test accuracy on ``blobs_40`` (30 epochs): the bar a
    noise-robust method must clear there."""
    X_train, X_test, _, y_noisy, y_test = blobs_40
    ce = RobustLossClassifier(max_epochs=30, random_state=0).fit(X_train, y_noisy)
    return ce.score(X_test, y_test)
