"""The estimator registry that tests and benchmarks discover the estimators from."""

import pytest
from sklearn.base import is_classifier

import sknoisy
from sknoisy._base import BaseNoisyClassifier
from sknoisy.discovery import all_estimators


def test_the_kinds_split_every_exported_classifier():
    every = dict(all_estimators())
    network = dict(all_estimators("network"))
    meta = dict(all_estimators("meta"))
    assert set(network) | set(meta) == set(every) and not set(network) & set(meta)
    exported = {n for n in sknoisy.__all__ if isinstance(getattr(sknoisy, n), type)}
    assert set(every) == exported - {"DegenerateModelWarning"}
    assert all(issubclass(cls, BaseNoisyClassifier) for cls in network.values())
    assert set(meta) == {"AutoClassifier", "FilterClassifier"}
    assert list(every) == sorted(every)
    assert all(is_classifier(cls()) for cls in every.values())


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be one of"):
        all_estimators("transformer")
