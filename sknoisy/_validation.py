"""Validation shared by every estimator and function: numbers, options, ``"auto"``,
stochastic matrices, and the specs the methods declare their parameters with.

Every invalid parameter raises scikit-learn's ``InvalidParameterError``, a ``ValueError``
and a ``TypeError`` at once, as scikit-learn's own estimators do: a caller catching
either sees it. This module is the one place that imports it from scikit-learn's
private parameter validation.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError

__all__ = [
    "Epochs",
    "Flag",
    "Given",
    "InvalidParameterError",
    "Number",
    "Option",
    "check_auto_or_number",
    "check_auto_or_rate",
    "check_number",
    "check_option",
    "check_stochastic_matrix",
    "check_trusted",
    "checked_rows",
    "is_auto",
]


def check_number(value, name, *, low=None, high=None, integer=False, low_open=False,
                 high_open=False, to_float=False):
    """``value`` if it is a finite number (an int with ``integer``) in the interval from
    ``low`` to ``high`` (closed unless ``low_open``/``high_open``); otherwise an
    ``InvalidParameterError`` naming ``name``. Booleans and strings are not numbers.

    With ``to_float``, a 0-d array or tensor counts as the number it holds, and the
    value is returned as a Python float (as the losses, torch modules, keep it)."""
    if to_float and getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()
    kind = numbers.Integral if integer else numbers.Real
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidParameterError(
            f"{name} must be {'an int' if integer else 'a number'}, got {value!r}"
        )
    if to_float:
        value = float(value)
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if not math.isfinite(value) or too_low or too_high:
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise InvalidParameterError(
            f"{name} must be in {'(' if low_open else '['}{lo}, {hi}{')' if high_open else ']'}"
            f", got {value!r}"
        )
    return value


def is_auto(value):
    """Whether a parameter is the string ``"auto"`` (and not, say, an array)."""
    return isinstance(value, str) and value == "auto"


def check_auto_or_number(value, name, **bounds):
    """Validate a parameter that is ``"auto"`` or a number within ``bounds`` (those of
    :func:`check_number`)."""
    if is_auto(value):
        return
    if not isinstance(value, numbers.Real):
        raise InvalidParameterError(f"{name} must be 'auto' or a float, got {value!r}")
    check_number(value, name, **bounds)


def check_auto_or_rate(value, name):
    """Validate a parameter that is ``"auto"`` or a rate in [0, 1)."""
    check_auto_or_number(value, name, low=0, high=1, high_open=True)


def check_option(value, name, options):
    """Raise an ``InvalidParameterError`` naming ``name`` unless ``value`` is one of the
    strings ``options``."""
    if not isinstance(value, str) or value not in options:
        raise InvalidParameterError(f"{name} must be one of {list(options)}, got {value!r}")


def check_stochastic_matrix(matrix, name, *, axis=1, atol, rtol=0.0):
    """``matrix`` as a float array if it is square, finite and non-negative with rows
    (``axis=1``) or columns (``axis=0``) summing to 1 within ``atol`` (and ``rtol``, as
    ``numpy.allclose``); otherwise a ``ValueError`` naming ``name``."""
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"{name} must be a square 2-D matrix, got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)) or np.any(matrix < 0):
        raise ValueError(f"{name} must have finite, non-negative entries")
    sums = matrix.sum(axis=axis)
    if not np.allclose(sums, 1.0, rtol=rtol, atol=atol):
        which = "rows" if axis == 1 else "columns"
        raise ValueError(
            f"{name} {which} must sum to 1 (atol {atol:g}), got sums "
            f"{np.round(sums, 6).tolist()}"
        )
    return matrix


def check_trusted(trusted, n_samples):
    """The rows whose labels were checked, ``trusted``, as a boolean array of shape
    ``(n_samples,)``. Booleans and 0/1 numbers are accepted; anything else, or another
    shape, raises a ``ValueError`` that says what was given."""
    mask = np.asarray(trusted)
    if mask.shape != (n_samples,):
        raise ValueError(
            f"trusted must be a boolean mask with one entry per row, shape ({n_samples},); "
            f"got shape {mask.shape}"
        )
    if mask.dtype != bool:
        numeric = np.issubdtype(mask.dtype, np.number) and not np.iscomplexobj(mask)
        if not (numeric and np.isin(mask, (0, 1)).all()):
            raise ValueError(
                f"trusted must be a boolean mask (or 0/1), got values of dtype {mask.dtype}"
            )
        mask = mask.astype(bool)
    return mask


def checked_rows(trusted, n_samples):
    """``trusted`` as :func:`check_trusted` returns it, or None when it is None or marks
    no row (a review that has not started): how every ``fit`` reads its ``trusted``."""
    if trusted is None:
        return None
    mask = check_trusted(trusted, n_samples)
    return mask if mask.any() else None


# ------------------------------------------------------------------ declared parameters
# A method declares each of its own parameters once, as ``{name: spec}`` in its
# estimator's ``_parameters``; ``fit`` resolves every one (checks it, turns "auto" or a
# fraction of the run into what the net uses) and hands them to the net in one
# ``settings`` object.


class Number:
    """A finite number in an interval (:func:`check_number`), or ``"auto"`` with
    ``auto``; resolved as a float (an int with ``integer``), ``"auto"`` as it is."""

    def __init__(self, low=None, high=None, *, integer=False, low_open=False,
                 high_open=False, auto=False):  # fmt: skip
        self.bounds = dict(low=low, high=high, low_open=low_open, high_open=high_open)
        self.integer = integer
        self.auto = auto

    def resolve(self, value, name, max_epochs):
        if self.auto:
            check_auto_or_number(value, name, integer=self.integer, **self.bounds)
            if is_auto(value):
                return value
        else:
            check_number(value, name, integer=self.integer, **self.bounds)
        return int(value) if self.integer else float(value)


class Option:
    """One of the strings ``options``."""

    def __init__(self, *options):
        self.options = options

    def resolve(self, value, name, max_epochs):
        check_option(value, name, self.options)
        return value


class Flag:
    """A bool (or an int, as 0 and 1), resolved as a bool."""

    def resolve(self, value, name, max_epochs):
        if not isinstance(value, (bool, numbers.Integral)):
            raise InvalidParameterError(f"{name} must be a bool, got {value!r}")
        return bool(value)


class Epochs:
    """A number of epochs (int) or a fraction of the run (float in [0, 1]), resolved as
    epochs (:func:`~sknoisy.selection.resolve_epochs`). With ``warmup``, also
    ``"auto"``, kept for the net to resolve, and at least one epoch: a warm-up ends with
    a step that needs a trained network."""

    def __init__(self, *, warmup=False):
        self.warmup = warmup

    def resolve(self, value, name, max_epochs):
        from .selection import resolve_epochs

        if self.warmup and is_auto(value):
            return value
        epochs = resolve_epochs(value, max_epochs, name)
        return max(1, epochs) if self.warmup else epochs


class Given:
    """Checked with the data (e.g. a matrix against the classes): passed on as it is."""

    def resolve(self, value, name, max_epochs):
        return value
