"""The estimators sknoisy ships, found by kind: for tests, benchmarks and tools that run
every one of them (as ``sklearn.utils.discovery.all_estimators`` does for scikit-learn).
"""

from __future__ import annotations

import inspect

__all__ = ["all_estimators"]

KINDS = ("network", "meta")


def all_estimators(kind=None):
    """Every sknoisy classifier, as ``(name, class)`` pairs sorted by name.

    Parameters
    ----------
    kind : {"network", "meta"} or None, default=None
        ``"network"``: the estimators that train a skorch-managed network of their own
        (the subclasses of the shared network base: they take ``module``,
        ``max_epochs``, ``device``, ``standardize``, ...). ``"meta"``: the estimators
        that wrap other estimators (:class:`~sknoisy.FilterClassifier`,
        :class:`~sknoisy.AutoClassifier`). None: both.

    Returns
    -------
    estimators : list of (str, type)

    Examples
    --------
    >>> from sknoisy.discovery import all_estimators
    >>> [name for name, _ in all_estimators("meta")]
    ['AutoClassifier', 'FilterClassifier']
    >>> "DualEMClassifier" in dict(all_estimators("network"))
    True
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS} or None, got {kind!r}")
    from sklearn.base import ClassifierMixin

    import sknoisy

    from ._base import BaseNoisyClassifier

    found = []
    for name in sorted(sknoisy.__all__):
        obj = getattr(sknoisy, name)
        if not (inspect.isclass(obj) and issubclass(obj, ClassifierMixin)):
            continue
        network = issubclass(obj, BaseNoisyClassifier)
        if kind is None or (kind == "network") == network:
            found.append((name, obj))
    return found
