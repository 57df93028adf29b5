import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sknoisy import make_label_noise


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
