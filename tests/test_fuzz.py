"""Fuzz tests (issue "Reliability"): every public estimator, and every public function of
sknoisy.noise and sknoisy.quality, on generated inputs, valid and invalid.

The contract, for each input: the call succeeds with a result that looks right, or raises
a ValueError or TypeError with a message. Anything else fails: another exception type (a
FloatingPointError from a training run that became non-finite included), a RuntimeWarning
raised in sknoisy (an error everywhere in the suite), a wrong-looking result, or a call
running past ``TIMEOUT`` seconds. A fitted estimator must give finite probabilities whose
rows sum to 1, on its training X and on fresh rows of the same shape, predictions in
``classes_``, ``label_quality_`` in [0, 1], ``label_issues_`` as a bool mask and a finite
``noise_rate_``, and ``score`` with unseen labels must return an accuracy or raise
ValueError/TypeError. Functions must return the documented shapes without NaN (transition
matrices row-stochastic, the documented counts of flipped labels and of flagged rows).

The inputs: random shapes; ints, bools, float16/32/64, object arrays, nested lists,
DataFrames (numeric and string categorical columns), sparse matrices; NaN, inf, unscaled
(x1000), 1e30 and 1e-30 features; empty data, one row, one class, a class of one row;
labels of mixed types, continuous, 2-D or of the wrong length; 1-D and 3-D X; odd sample
weights and trusted masks; degenerate hyper-parameters (``max_epochs=0``,
``batch_size=1``, batches larger than the data, noise rates of 0, 1, <0, >1, NaN); for
the functions, bad probabilities, labels, quality scores and transition matrices. Half
the inputs break nothing, so that fitting is fuzzed and not only validation; the others
break one or two of the arguments.

Each input is drawn as a small dict of choices (a "spec") and built deterministically from
it: a failure's report quotes the spec, and ``_build_estimator_case(name, spec)`` or
``FUNCTIONS[name].build(spec)`` rebuilds the input. Failures are collected over all inputs
and reported together, each distinct one once, rather than stopping at the first.

Every target gets at least 200 inputs, the same ones on every run (derandomised, for CI):
``SKNOISY_FUZZ_EXAMPLES=N`` raises the count and ``SKNOISY_FUZZ_RANDOM=1`` draws new
inputs on each run. ``pytest -s`` (or ``-rP``) prints each target's tally.
"""

import contextlib
import math
import numbers
import os
import re
import signal
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

import sknoisy
from sknoisy import noise, quality

MIN_EXAMPLES = 200
N_EXAMPLES = max(MIN_EXAMPLES, int(os.environ.get("SKNOISY_FUZZ_EXAMPLES", MIN_EXAMPLES)))
RANDOM = os.environ.get("SKNOISY_FUZZ_RANDOM", "0") == "1"
TIMEOUT = 60  # seconds per input: a hang fails the test instead of stalling the suite
FUZZ_SETTINGS = settings(
    max_examples=N_EXAMPLES,
    deadline=None,  # the timeout above guards each input
    derandomize=not RANDOM,
    database=None,  # failures are reported by spec, not replayed from a database
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)


# --------------------------------------------------------------------------- #
# Running one input and tallying outcomes
# --------------------------------------------------------------------------- #
class FuzzTimeout(BaseException):
    """Raised by the alarm: a BaseException, so that no ``except Exception`` in the
    library (or in scikit-learn) swallows it."""


@contextlib.contextmanager
def _time_limit(seconds=TIMEOUT):
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return

    def alarm(signum, frame):
        raise FuzzTimeout(f"the call ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    outer_delay, outer_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_delay:  # an outer timer (e.g. pytest-timeout's) keeps its deadline
            remaining = max(outer_delay - (time.monotonic() - start), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, remaining, outer_interval)


@contextlib.contextmanager
def _suite_warnings():
    """As in the suite's configuration, a RuntimeWarning raised in sknoisy is an error;
    other warnings (convergence, data conversion, ...) are legitimate and silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.filterwarnings("error", category=RuntimeWarning, module="sknoisy")
        yield


PACKAGE_DIR = os.path.dirname(os.path.abspath(sknoisy.__file__))


def _where(exc):
    """The innermost sknoisy frame of the traceback (else the innermost), ``file:line``."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if os.path.abspath(f.filename).startswith(PACKAGE_DIR)]
    frame = (ours or frames)[-1]
    folder = os.path.basename(os.path.dirname(frame.filename))
    return f"{folder}/{os.path.basename(frame.filename)}:{frame.lineno}"


@dataclass
class Tally:
    inputs: int = 0
    succeeded: int = 0
    value_errors: int = 0
    type_errors: int = 0
    # distinct failure -> [count, first input's spec, message]
    failures: dict = field(default_factory=dict)

    def fail(self, exc, spec):
        what = "wrong result" if isinstance(exc, AssertionError) else type(exc).__name__
        lines = str(exc).strip().splitlines() or [""]
        message = next((line for line in lines if line.strip()), "")
        # Numbers vary between inputs of the same failure.
        key = f"{what} at {_where(exc)}: {re.sub(r'[-+]?[0-9][0-9.e+-]*', 'N', message)[:160]}"
        entry = self.failures.setdefault(key, [0, spec, message])
        entry[0] += 1

    def summary(self, name, word):
        failed = sum(count for count, *_ in self.failures.values())
        return (
            f"{name}: {self.inputs} inputs, {self.succeeded} {word}, {self.value_errors} "
            f"ValueError, {self.type_errors} TypeError, {failed} failed"
        )


def _rejected(tally, exc):
    """A ValueError or TypeError is an accepted outcome when it says why."""
    assert str(exc).strip(), f"{type(exc).__name__} raised without a message"
    if isinstance(exc, ValueError):
        tally.value_errors += 1
    else:
        tally.type_errors += 1


def _run(tally, spec, call, check):
    """One input: ``call()`` must raise ValueError/TypeError with a message, or return a
    result that passes ``check``; anything else is recorded as a failure."""
    tally.inputs += 1
    try:
        with _time_limit(), _suite_warnings():
            try:
                result = call()
            except (ValueError, TypeError) as exc:
                _rejected(tally, exc)
                return
            check(result)
            tally.succeeded += 1
    except (Exception, FuzzTimeout) as exc:
        tally.fail(exc, spec)


def _report(name, tally, word="succeeded"):
    print("\n" + tally.summary(name, word))
    failures = "\n".join(
        f"  [{count}x] {key}\n      first input: {spec!r}\n      message: {message}"
        for key, (count, spec, message) in tally.failures.items()
    )
    if tally.failures:
        pytest.fail(f"{name}: {len(tally.failures)} distinct failures\n{failures}", pytrace=False)
    # Counted in the test body: hypothesis really ran every input.
    assert tally.inputs >= MIN_EXAMPLES, tally.summary(name, word)


def _broken(draw, axes):
    """The axes an input breaks: none in half the inputs, else one or two."""
    n_broken = draw(st.sampled_from([0, 0, 0, 1, 1, 2]))
    return set(draw(st.permutations(axes))[:n_broken])


def _pick(draw, name, options, broken):
    """One of the valid options, or of the invalid ones when ``name`` is broken."""
    good, bad = options
    return draw(st.sampled_from(bad if name in broken else good))


ROWS = tuple(range(2, 41))  # sampled, so that small sizes are not over-represented


# --------------------------------------------------------------------------- #
# Data: features, labels, weights
# --------------------------------------------------------------------------- #
# Kinds of X. The first ones are valid inputs of every estimator (3-D rows: of the
# networks); the others are tried when X is the axis an input breaks.
X_GOOD = (
    "float64", "float64", "float32", "float16", "int", "bool", "object_num", "list",
    "frame", "frame_cat_num", "sparse_csr", "3d",
)  # fmt: skip
X_ODD = (
    "frame_cat_str", "frame_nullable", "frame_mixed_names", "sparse_coo",
    "object_words", "object_mixed", "object_none", "string_num", "complex", "1d",
    "3d_no_features", "scalar", "ragged", "uint8",
)  # fmt: skip
X_FILTER_GOOD = tuple(kind for kind in X_GOOD if kind != "3d")
# "large" is raw, unscaled features (e.g. pixel values); "huge" and "tiny" 1e30 and 1e-30.
SPECIAL_GOOD = (
    "none", "none", "none", "constant", "zero_column", "large", "huge", "tiny", "mixed_scale",
)  # fmt: skip
SPECIAL_ODD = ("nan", "inf", "all_nan", "float32_overflow")

Y_GOOD = (
    "int", "int", "int_noncontig", "str", "float_int", "bool", "object_str", "series",
    "categorical", "uint8", "unique",
)  # fmt: skip
Y_ODD = (
    "float_cont", "object_int", "mixed", "nan", "none", "one_class", "multilabel",
    "huge_int", "bytes", "str_numeric",
)  # fmt: skip
Y_SHAPE_GOOD = ("1d", "1d", "list", "column")
Y_SHAPE_ODD = ("short", "long", "row", "scalar")

WEIGHT_GOOD = ("none", "none", "ones", "random", "scalar", "some_zero", "list", "huge", "tiny")
WEIGHT_ODD = ("zeros", "negative", "nan", "inf", "short", "2d", "words", "negative_scalar")

TRUSTED_GOOD = ("none", "random", "all", "one", "list", "no_row", "int01", "float")
TRUSTED_ODD = ("short", "2d", "halves", "words")


def _n_rows(X):
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _special(base, special, rng):
    """Overwrite the standard-normal ``base`` with special values."""
    if special == "constant":
        base[:] = 1.5
    elif special == "zero_column":
        base[:, 0] = 0.0
    elif special == "large":
        base = base * 1e3 + 500
    elif special == "huge":
        base *= 1e30
    elif special == "tiny":
        base *= 1e-30
    elif special == "mixed_scale":
        base[:, ::2] *= 1e30
        base[:, 1::2] *= 1e-30
    elif special == "float32_overflow":
        base *= 1e39
    elif special == "all_nan":
        base[:] = np.nan
    elif special in ("nan", "inf") and base.size:
        base.flat[rng.integers(base.size)] = np.nan if special == "nan" else -np.inf
    return base


def _build_X(kind, special, n, d, rng):
    with np.errstate(all="ignore"):
        base = _special(rng.normal(size=(n, 2 * d if kind == "3d" else d)), special, rng)
        names = [f"x{j}" for j in range(d)]
        if kind == "float64":
            return base
        if kind == "float32":
            return base.astype(np.float32)
        if kind == "float16":
            return base.astype(np.float16)
        if kind == "int":
            big = 2.0**62
            return np.nan_to_num(np.round(base * 3), posinf=big, neginf=-big).clip(
                -big, big).astype(np.int64)  # fmt: skip
        if kind == "uint8":
            return np.nan_to_num(np.abs(base * 50)).clip(0, 255).astype(np.uint8)
        if kind == "bool":
            return base > 0
        if kind == "object_num":
            return base.astype(object)
        if kind == "list":
            return base.tolist()
        if kind.startswith("frame"):
            frame = pd.DataFrame(base, columns=names)
            if kind == "frame" and d > 1:
                frame["x1"] = np.nan_to_num(np.round(base[:, 1])).clip(-9, 9).astype(int)
            elif kind == "frame_cat_num":
                frame["x0"] = pd.Categorical(np.round(base[:, 0]).clip(-2, 2))
            elif kind == "frame_cat_str":
                frame["x0"] = pd.Categorical(np.where(base[:, 0] > 0, "yes", "no"))
            elif kind == "frame_nullable":
                frame = frame.astype("Float64")
                if n:
                    frame.iloc[0, 0] = pd.NA
            elif kind == "frame_mixed_names":
                frame.columns = ["a", *range(1, d)]
            return frame
        if kind == "sparse_csr":
            return sp.csr_matrix(np.where(np.abs(base) > 1, base, 0.0))
        if kind == "sparse_coo":
            return sp.coo_array(np.where(np.abs(base) > 1, base, 0.0))
        if kind == "object_words":
            return np.full((n, d), "word", dtype=object)
        if kind in ("object_mixed", "object_none"):
            out = base.astype(object)
            if out.size:
                out[0, 0] = "x" if kind == "object_mixed" else None
            return out
        if kind == "string_num":
            return base.astype(str)
        if kind == "complex":
            return base + 1j
        if kind == "1d":
            return base[:, 0]
        if kind == "3d":
            return base.reshape(n, d, 2)
        if kind == "3d_no_features":
            return np.zeros((n, d, 0))
        if kind == "scalar":
            return np.float64(1.0)
        if kind == "ragged":
            return [row[: 1 + i % 2].tolist() for i, row in enumerate(base)]
    raise AssertionError(f"unknown X kind {kind}")


LABEL_VALUES = {
    "int_noncontig": np.array([42, -3, 7, 1000, 5]),
    "str": np.array(["eel", "cat", "dog", "ant", "bee"]),
    "float_int": np.array([2.0, -1.0, 0.0, 7.0, 3.0]),
    "object_str": np.array(["eel", "cat", "dog", "ant", "bee"], dtype=object),
    "categorical": np.array(["lo", "mid", "hi", "top", "x"]),
    "uint8": np.array([0, 255, 3, 4, 9], dtype=np.uint8),
    "object_int": np.array([1, 2, 3, 4, 5], dtype=object),
    "mixed": np.array([1, "a", 2, "b", 3], dtype=object),
    "huge_int": np.array([2**62, -(2**62), 0, 1, 2]),
    "bytes": np.array([b"a", b"b", b"c", b"d", b"e"]),
    "str_numeric": np.array(["1", "2", "10", "-1", "0"]),
}


def _codes(n, n_classes, single, rng):
    """Class indices: every class present when there are rows enough; with ``single``,
    the last class has exactly one row."""
    if single and n_classes >= 2 and n >= n_classes:
        codes = np.concatenate([[n_classes - 1], np.arange(n - 1) % (n_classes - 1)])
    else:
        codes = np.arange(n) % n_classes
    return rng.permutation(codes)


def _build_y(kind, shape, n, n_classes, single, rng):
    codes = _codes(n, n_classes, single, rng)
    if kind == "int":
        y = codes
    elif kind == "unique":  # every row its own class
        y = rng.permutation(n) * 3
    elif kind in LABEL_VALUES:
        y = LABEL_VALUES[kind][codes]
    elif kind == "bool":
        y = codes % 2 == 1
    elif kind == "series":
        y = pd.Series(codes + 10)
    elif kind == "categorical":
        y = pd.Series(pd.Categorical(LABEL_VALUES["categorical"][codes]))
    elif kind == "float_cont":
        y = rng.normal(size=n)
    elif kind == "nan":
        y = codes.astype(float)
        y[:1] = np.nan
    elif kind == "none":
        y = codes.astype(object)
        y[:1] = None
    elif kind == "one_class":
        y = np.zeros(n, dtype=int)
    elif kind == "multilabel":
        y = np.stack([codes, codes % 2], axis=1)
    else:
        raise AssertionError(f"unknown y kind {kind}")
    if shape == "list":
        return list(y) if not isinstance(y, pd.Series) else y.tolist()
    if shape == "column":
        return np.asarray(y)[:, None] if np.ndim(y) == 1 else np.asarray(y)
    if shape == "short":
        return y[:-1]
    if shape == "long":
        return np.concatenate([np.asarray(y), np.asarray(y)[:1]])
    if shape == "row":
        return np.asarray(y).reshape(1, -1)
    if shape == "scalar":
        return np.asarray(y)[0] if len(y) else 0
    return y


def _build_weight(kind, n, rng):
    if kind == "ones":
        return np.ones(n)
    if kind == "random":
        return rng.uniform(0.1, 3.0, size=n)
    if kind == "scalar":
        return 2.0
    if kind in ("huge", "tiny"):  # 1e-40 underflows to 0 in float32
        return rng.uniform(0.5, 2.0, size=n) * (1e30 if kind == "huge" else 1e-40)
    if kind == "negative_scalar":
        return -1.0
    if kind == "some_zero":
        weight = rng.uniform(0.5, 2.0, size=n)
        weight[: n // 2] = 0.0
        return weight
    if kind == "list":
        return rng.uniform(0.5, 2.0, size=n).tolist()
    if kind == "zeros":
        return np.zeros(n)
    if kind in ("negative", "nan", "inf"):
        weight = np.ones(n)
        weight[:1] = {"negative": -1.0, "nan": np.nan, "inf": np.inf}[kind]
        return weight
    if kind == "short":
        return np.ones(max(n - 1, 0))
    if kind == "2d":
        return np.ones((n, 2))
    if kind == "words":
        return np.array(["heavy"] * n)
    raise AssertionError(f"unknown weight kind {kind}")


def _build_trusted(kind, n, rng):
    if kind == "random":
        mask = rng.random(n) < 0.3
        mask[:1] = True
        return mask
    if kind == "all":
        return np.ones(n, dtype=bool)
    if kind == "one":
        return np.arange(n) == 0
    if kind == "list":
        return [bool(i % 3 == 0) for i in range(n)]
    if kind == "no_row":
        return np.zeros(n, dtype=bool)
    if kind == "int01":
        return (np.arange(n) % 2).astype(int)
    if kind == "short":
        return np.ones(max(n - 1, 0), dtype=bool)
    if kind == "2d":
        return np.ones((n, 1), dtype=bool)
    if kind == "float":
        return np.ones(n)
    if kind == "halves":
        return np.full(n, 0.5)
    if kind == "words":
        return np.array(["yes"] * n)
    raise AssertionError(f"unknown trusted kind {kind}")


def _build_matrix(kind, k, rng):
    """A (candidate) transition matrix over ``k`` classes."""
    with np.errstate(all="ignore"):
        rows = rng.dirichlet(np.ones(k), size=k) if k else np.empty((0, 0))
        if kind == "stochastic":
            return rows
        if kind in ("identity", "zero_column", "int_identity", "bool_identity", "wrong_size"):
            eye = np.eye(k + (kind == "wrong_size"))
            if kind == "zero_column" and k >= 2:
                eye[0] = np.roll(eye[0], 1)
            return eye.astype({"int_identity": int, "bool_identity": bool}.get(kind, float))
        if kind == "symmetric":
            if k < 2:
                return np.eye(k)
            return np.full((k, k), 0.2 / (k - 1)) + np.eye(k) * (0.8 - 0.2 / (k - 1))
        if kind == "column":
            return rows.T
        if kind == "list":
            return rows.tolist()
        if kind == "float32":
            return rows.astype(np.float32)
        if kind == "object":
            return rows.astype(object)
        if kind == "strings":
            return rows.astype(str)
        if kind == "non_square":
            return np.full((k, k + 1), 1.0 / (k + 1))
        if kind == "not_stochastic":
            return rows * 2
        if kind in ("nan", "inf") and k:
            rows[0, 0] = np.nan if kind == "nan" else np.inf
            return rows
        if kind == "negative" and k >= 2:
            rows[0, 0] -= 1.0
            rows[0, 1] += 1.0
            return rows
        if kind == "singular":
            return np.full((k, k), 1.0 / max(k, 1))
        if kind == "off":
            return rows + 1e-5
        if kind == "1d":
            return np.full(k, 1.0 / max(k, 1))
        if kind == "3d":
            return rows[None]
        if kind == "words":
            return np.full((k, k), "a")
        if kind == "complex":
            return rows + 0j
        if kind == "empty":
            return np.empty((0, 0))
        if kind == "ragged":
            return [[1.0], [0.5, 0.5]]
        if kind == "none":
            return None
        return rows


def _unseen_label(classes):
    """A label of the type of ``classes`` that is not one of them."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "iu":
        return int(classes.max()) + 1
    if classes.dtype.kind == "f":
        return float(np.max(classes)) + 0.5
    if classes.dtype.kind == "b":
        return 2
    return "zz-unseen"


# --------------------------------------------------------------------------- #
# Estimators
# --------------------------------------------------------------------------- #
# Each parameter: (valid values, invalid values). Tiny networks and few epochs keep the
# whole file fast; max_epochs=0, batch_size=1 and batches larger than the data are in.
COMMON_PARAMS = {
    "hidden_layer_sizes": ([(4,), (8,), (), (4, 4)], [(0,), (-1,), "4"]),
    "max_epochs": ([1, 2, 3, 3], [0, -1, 2.0, True, None]),
    "batch_size": ([8, 1, 2, 5, 1000], [0, -3, 2.5]),
    "lr": ([1e-2, 1e-3, 0.1, 1.0], [0.0, -1.0, math.nan, math.inf, "fast"]),
    "optimizer": (["adam", "sgd", "adamw"], ["lbfgs", None]),
    "dropout": ([0.0, 0.5], [1.0, -0.1]),
    "weight_decay": ([0.0, 1e-3], [-1.0, math.nan]),
    "precision": (["fp32", "fp32", "bf16", "fp16"], ["fp64"]),
    "standardize": ([True, True, False], ["yes", None, 1]),
    "device": (["cpu"], ["tpu"]),
    "random_state": ([0, 1, 12345], [-1, "seed"]),
}
RATE_BAD = [1.0, -0.1, math.nan, 1.5, "x"]
METHOD_PARAMS = {
    "RobustLossClassifier": {
        "loss": (["ce", "gce", "sce", "mae", "bootstrap_soft", "bootstrap_hard"], ["huber"]),
        "q": ([0.7, 1.0, 0.01], [0.0, -1.0, math.nan, 2.0]),
        "alpha": ([0.1, 0.0, 1.0], [-1.0, math.inf]),
        "beta": ([None, 1.0, 0.0, 0.5], [-1.0, math.nan]),
    },
    "CoTeachingClassifier": {
        "forget_rate": (["auto", 0.2, 0.0, 0.5, 0.99], RATE_BAD),
        "num_gradual": ([0.1, 1, 0, 1.0, 5], [-1, 2.0, "x"]),
        "exponent": ([1.0, 0.5, 3.0], [0.0, -1.0, math.nan]),
        "inference": (["ensemble", "first"], ["mean"]),
    },
    "DualEMClassifier": {
        "noise_rate": (["auto", 0.2, 0.0, 0.5, 0.99], RATE_BAD),
        "corruption": (["transition", "uniform"], ["x"]),
        "selection": (["sample", "threshold", "topk"], ["x"]),
        "warmup_epochs": (["auto", 1, 0, 0.5, 2], [-1, 1.5, "x"]),
        "cr": (["cores", "entropy", "none"], ["x"]),
        "cr_beta": ([1.0, 0.0, 10.0], [-1.0]),
        "cr_ramp_epochs": ([0.15, 0, 1, 1.0], [-1]),
        "temperature": ([0.5, 1.0, 0.01], [0.0, -1.0]),
        "pl_threshold": ([0.9, 0.0, 1.0], [1.5, -0.1]),
        "lambda_u": ([1.0, 0.0], [-1.0]),
        "cleanness_momentum": ([0.5, 0.0, 0.99], [1.0, -0.1]),
        "augment_noise": ([0.5, 0.0], [-1.0]),
        "strong_augment_noise": ([1.0, 0.0], [-1.0]),
        "strong_augment_mask": ([0.15, 0.0, 0.99], [1.0]),
    },
    "NeighborMixClassifier": {
        "n_neighbors": ([1, 2, 5, 50], [0, 1.5]),
        "metric": (["euclidean", "cosine"], ["manhattan"]),
        "neighbor_scope": (["batch", "dataset"], ["x"]),
        "warmup_epochs": (["auto", 1, 0, 2], [-1]),
        "neighbor_start": ([0.2, 1, 0, 2], [-1, 1.5]),
        "momentum": ([0.9, 0.0], [1.0, -0.5]),
        "target_update_every": ([1, 2], [0]),
        "mixup_alpha": ([1.0, 0.1], [0.0, -1.0]),
        "loss_window": ([1, 3], [0]),
        "loss_target": (["corrected", "noisy"], ["x"]),
        "augment_noise": ([0.5, 0.0], [-1.0]),
    },
    "DivideMixClassifier": {
        "warmup_epochs": (["auto", 1, 0, 2], [-1, "x"]),
        "p_threshold": ([0.5, 0.01, 0.99], [0.0, 1.0]),
        "temperature": ([0.5, 1.0, 0.01], [0.0]),
        "mixup_alpha": ([4.0, 0.1], [0.0]),
        "lambda_u": (["auto", 0.0, 25.0], [-1.0, "x"]),
        "rampup_epochs": ([0.1, 0, 1], [-1]),
        "prior_penalty": ([True, False], ["yes"]),
        "augment_noise": ([0.5, 0.0], [-1.0]),
        "augment_mask": ([0.0, 0.5], [1.0]),
    },
    "LossCorrectionClassifier": {
        "correction": (["forward", "backward", "adaptation_layer"], ["x"]),
        "transition_matrix": (
            ["confident_joint", "anchor", "identity", "symmetric"],
            ["non_square", "not_stochastic", "nan", "singular", "zero_column", "words",
             "wrong_size", "complex", "x"],
        ),  # fmt: skip
        "anchor_percentile": ([97.0, 0.0, 100.0, 50], [101.0, -1.0, math.nan]),
        "revisions": ([2, 0, 5], [-1, 1.5]),
        "warmup_epochs": (["auto", 1, 0, 2], [-1]),
        "augment_noise": ([0.5, 0.0], [-1.0]),
    },
    "MentorNetClassifier": {
        "percentile": (["auto", 50.0, 100.0, 1.0], [0.0, 101.0, math.nan, "x"]),
        "burn_in_epochs": (["auto", 1, 0, 0.5, 2], [-1, 1.5]),
        "loss_decay": ([0.9, 0.0, 0.99], [1.0, -0.1]),
    },
}
FILTER_PARAMS = {
    # The default estimator (HistGradientBoosting) is slow: drawn rarely.
    "estimator": (["logistic", "logistic", "robust", "mentornet", "default"], ["string"]),
    "detectors": ([None, None, "logistic", "logistic_pair", "robust", "coteaching"],
                  ["empty_list", "string"]),  # fmt: skip
    "cv": ([2, 3, 5, "kfold"], [1, 0, 2.5, "x"]),
    "handling": (["prune", "weight"], ["drop"]),
    "quality_method": (list(quality.LABEL_QUALITY_METHODS), ["x"]),
    "noise_rate": (["auto", 0.1, 0.0, 0.5, 0.99], RATE_BAD),
    "random_state": ([0, 1], [-1]),
}
ESTIMATOR_NAMES = [*METHOD_PARAMS, "FilterClassifier"]
TINY = dict(hidden_layer_sizes=(4,), max_epochs=2, batch_size=8, random_state=0, device="cpu")


def _param_table(name):
    if name == "FilterClassifier":
        return FILTER_PARAMS
    return {**COMMON_PARAMS, **METHOD_PARAMS[name]}


def _filter_part(option):
    """FilterClassifier's estimator or detectors, from their spec names."""
    parts = {
        "logistic": lambda: LogisticRegression(max_iter=50),
        "robust": lambda: sknoisy.RobustLossClassifier(**TINY),
        "mentornet": lambda: sknoisy.MentorNetClassifier(**TINY),
        "coteaching": lambda: sknoisy.CoTeachingClassifier(forget_rate=0.2, **TINY),
        "logistic_pair": lambda: [LogisticRegression(max_iter=50), LogisticRegression(C=0.1)],
        "kfold": lambda: KFold(2),
        "empty_list": list,
        "default": lambda: None,
    }
    return parts[option]() if option in parts else option


@st.composite
def _estimator_specs(draw, name):
    # Half the inputs are valid throughout; the others break one or two of X, y,
    # sample_weight, the parameters and the trusted mask. Valid choices
    # still include dtypes, DataFrames, 3-D rows, a class of one row, 1e30 ...
    axes = ["X", "y", "sample_weight", "params", "trusted"]
    broken = _broken(draw, axes)
    spec = {"broken": sorted(broken), "seed": draw(st.integers(0, 2**32 - 1))}
    # X breaks by its kind, its values or its number of rows.
    x_break = draw(st.sampled_from(["kind", "special", "rows"])) if "X" in broken else None
    spec["n"] = draw(st.sampled_from([0, 1] if x_break == "rows" else ROWS))
    spec["n_features"] = draw(st.integers(1, 6))
    # FilterClassifier takes tables only (and sparse ones).
    good_x = X_FILTER_GOOD if name == "FilterClassifier" else X_GOOD
    spec["X"] = draw(st.sampled_from(X_ODD if x_break == "kind" else good_x))
    spec["special"] = draw(st.sampled_from(SPECIAL_ODD if x_break == "special" else SPECIAL_GOOD))
    # y breaks by its kind, its shape or by having one class.
    y_break = draw(st.sampled_from(["kind", "shape", "one_class"])) if "y" in broken else None
    spec["y"] = draw(st.sampled_from(Y_ODD if y_break == "kind" else Y_GOOD))
    spec["y_shape"] = draw(st.sampled_from(Y_SHAPE_ODD if y_break == "shape" else Y_SHAPE_GOOD))
    spec["n_classes"] = 1 if y_break == "one_class" else draw(st.integers(2, 4))
    spec["single_row_class"] = draw(st.booleans())
    spec["sample_weight"] = _pick(draw, "sample_weight", (WEIGHT_GOOD, WEIGHT_ODD), broken)
    spec["trusted"] = _pick(draw, "trusted", (TRUSTED_GOOD, TRUSTED_ODD), broken)
    table = _param_table(name)
    breakable = sorted(param for param, (_, bad_values) in table.items() if bad_values)
    bad = draw(st.sampled_from(breakable)) if "params" in broken else None
    spec["params"] = {
        param: draw(st.sampled_from(bad_values if param == bad else good))
        for param, (good, bad_values) in table.items()
    }
    spec["score_label"] = draw(st.sampled_from(["same_type", "other_type", "seen_only"]))
    return spec


def _build_estimator_case(name, spec):
    """``(estimator, X, y, fit keyword arguments, fresh X)`` of an estimator spec."""
    rng = np.random.default_rng(spec["seed"])
    n, d = spec["n"], spec["n_features"]
    X = _build_X(spec["X"], spec["special"], n, d, rng)
    X_fresh = _build_X(spec["X"], spec["special"], n, d, np.random.default_rng(spec["seed"] + 1))
    if spec["special"] in ("nan", "inf"):
        # At a random cell: the training X may have escaped it (e.g. into a categorical
        # column) where the fresh one would not.
        X_fresh = X
    y = _build_y(spec["y"], spec["y_shape"], n, spec["n_classes"], spec["single_row_class"], rng)
    fit_kwargs = {}
    if spec["sample_weight"] != "none":
        fit_kwargs["sample_weight"] = _build_weight(spec["sample_weight"], n, rng)
    if spec.get("trusted", "none") != "none":
        fit_kwargs["trusted"] = _build_trusted(spec["trusted"], n, rng)
    params = dict(spec["params"])
    if name == "FilterClassifier":
        params["estimator"] = _filter_part(params["estimator"])
        params["detectors"] = _filter_part(params["detectors"])
        params["cv"] = _filter_part(params["cv"])
        estimator = sknoisy.FilterClassifier(**params)
    else:
        if name == "LossCorrectionClassifier" and params["transition_matrix"] not in (
            "confident_joint", "anchor", "x"
        ):  # fmt: skip
            params["transition_matrix"] = _build_matrix(
                params["transition_matrix"], spec["n_classes"], rng
            )
        estimator = getattr(sknoisy, name)(**params)
    return estimator, X, y, fit_kwargs, X_fresh


def _check_fitted(clf, X, X_fresh, spec):
    """What a fitted estimator must satisfy."""
    classes = clf.classes_
    n = _n_rows(X)
    for data in (X, X_fresh):
        proba = clf.predict_proba(data)
        assert proba.shape == (n, len(classes)), f"predict_proba shape {proba.shape}"
        assert np.all(np.isfinite(proba)), "predict_proba is not finite"
        assert np.all(proba >= 0), "predict_proba has negative entries"
        assert np.allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-5), "rows do not sum to 1"
        predictions = clf.predict(data)
        assert np.shape(predictions) == (n,), f"predict shape {np.shape(predictions)}"
        assert set(predictions.tolist()) <= set(classes.tolist()), "predictions not in classes_"
    quality_ = np.asarray(clf.label_quality_)
    assert quality_.shape == (n,), f"label_quality_ shape {quality_.shape}"
    assert np.all(np.isfinite(quality_)), "label_quality_ is not finite"
    assert np.all((quality_ >= 0) & (quality_ <= 1)), "label_quality_ outside [0, 1]"
    issues = np.asarray(clf.label_issues_)
    assert issues.dtype == bool and issues.shape == (n,), "label_issues_ is not a bool mask"
    assert isinstance(clf.noise_rate_, numbers.Real), "noise_rate_ is not a number"
    assert math.isfinite(clf.noise_rate_), f"noise_rate_ = {clf.noise_rate_}"
    assert 0 <= clf.noise_rate_ <= 1, f"noise_rate_ = {clf.noise_rate_}"
    # score with labels never seen in fit: an accuracy, or a ValueError/TypeError.
    rng = np.random.default_rng(spec["seed"] + 2)
    y_score = classes[rng.integers(len(classes), size=n)].tolist()
    if spec["score_label"] == "same_type":
        y_score[0] = _unseen_label(classes)
    elif spec["score_label"] == "other_type":
        y_score[0] = "zz-unseen" if classes.dtype.kind in "biuf" else 12345
    try:
        score = clf.score(X, y_score)
    except (ValueError, TypeError) as exc:
        assert str(exc).strip(), f"score raised {type(exc).__name__} without a message"
    else:
        assert isinstance(score, numbers.Real) and 0 <= score <= 1, f"score = {score!r}"


@pytest.mark.parametrize("name", ESTIMATOR_NAMES)
def test_fuzz_estimator(name):
    tally = Tally()

    @FUZZ_SETTINGS
    @given(spec=_estimator_specs(name))
    def fuzz(spec):
        clf, X, y, fit_kwargs, X_fresh = _build_estimator_case(name, spec)
        _run(
            tally, spec,
            lambda: clf.fit(X, y, **fit_kwargs),
            lambda fitted: _check_fitted(fitted, X, X_fresh, spec),
        )  # fmt: skip

    fuzz()
    _report(name, tally, "fitted")
    # Fitting itself must be fuzzed, not only the validation in front of it.
    assert tally.succeeded >= tally.inputs // 4, tally.summary(name, "fitted")


# --------------------------------------------------------------------------- #
# Functions of sknoisy.quality
# --------------------------------------------------------------------------- #
PROBS_GOOD = (
    "dirichlet", "dirichlet", "onehot", "onehot_int", "uniform", "float32", "ties", "peaked",
    "list", "frame", "almost", "zero_column", "sparse_dirichlet", "bool_onehot",
)  # fmt: skip
PROBS_ODD = (
    "unnormalised", "negative", "nan", "inf", "1d", "3d", "no_columns", "words", "ragged",
    "float16", "complex", "none", "scalar", "off_tolerance", "numeric_strings",
)  # fmt: skip
INDEX_GOOD = ("valid", "valid", "all_same", "list", "int8", "uint8", "missing_class", "series")
INDEX_ODD = (
    "out_of_range", "negative", "float", "bool", "str", "object", "2d", "short", "long",
    "huge", "none", "scalar",
)  # fmt: skip
QUALITY_GOOD = ("uniform", "uniform", "ties", "extremes", "list", "float32", "int01", "bool")
QUALITY_ODD = ("nan", "inf", "negative", "above_one", "2d", "words", "scalar", "none", "complex")


def _build_probs(kind, n, k, rng):
    with np.errstate(all="ignore"):
        p = rng.dirichlet(np.ones(k), size=n)
        onehot = np.eye(k)[rng.integers(k, size=n)]
        if kind == "dirichlet":
            return p
        if kind == "onehot":
            return onehot
        if kind == "onehot_int":
            return onehot.astype(int)
        if kind == "bool_onehot":
            return onehot.astype(bool)
        if kind == "uniform":
            return np.full((n, k), 1.0 / k)
        if kind == "float32":
            return p.astype(np.float32)
        if kind == "ties":
            ties = np.zeros((n, k))
            ties[:, : min(k, 2)] = 1.0 / min(k, 2)
            return ties
        if kind == "peaked":
            logits = rng.normal(size=(n, k)) * 800
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        if kind == "sparse_dirichlet":
            return rng.dirichlet(np.full(k, 0.01), size=n)
        if kind == "list":
            return p.tolist()
        if kind == "frame":
            return pd.DataFrame(p)
        if kind == "almost":
            return p * (1 + 5e-5)
        if kind == "zero_column":
            if k >= 2:
                p[:, 0] = 0.0
                p /= p.sum(axis=1, keepdims=True)
            return p
        if kind == "unnormalised":
            return p * 2
        if kind == "negative":
            if k >= 2 and n:
                p[0, 0] -= 1.0
                p[0, 1] += 1.0
            return p
        if kind in ("nan", "inf"):
            if n:
                p[0, 0] = np.nan if kind == "nan" else np.inf
            return p
        if kind == "1d":
            return p[:, 0]
        if kind == "3d":
            return p[:, None, :]
        if kind == "no_columns":
            return np.empty((n, 0))
        if kind == "words":
            return np.full((n, k), "high")
        if kind == "numeric_strings":
            return p.astype(str)
        if kind == "ragged":
            return [row[: 1 + i % 2].tolist() for i, row in enumerate(p)]
        if kind == "float16":
            return p.astype(np.float16)
        if kind == "complex":
            return p + 0j
        if kind == "none":
            return None
        if kind == "scalar":
            return 1.0
        if kind == "off_tolerance":
            return p * (1 + 1e-3)
    raise AssertionError(f"unknown probabilities kind {kind}")


def _build_indices(kind, n, k, rng):
    y = rng.integers(0, k, size=n)
    if kind == "valid":
        return y
    if kind == "all_same":
        return np.zeros(n, dtype=int)
    if kind == "list":
        return y.tolist()
    if kind in ("int8", "uint8"):
        return y.astype(kind)
    if kind == "missing_class":
        return y % max(k - 1, 1)
    if kind == "series":
        return pd.Series(y)
    if kind in ("out_of_range", "negative", "huge"):
        if n:
            y[0] = {"out_of_range": k, "negative": -1, "huge": 2**62}[kind]
        return y
    if kind in ("float", "bool", "str", "object"):
        return y.astype(kind)
    if kind == "2d":
        return y.reshape(-1, 1)
    if kind == "short":
        return y[:-1]
    if kind == "long":
        return np.append(y, 0)
    if kind == "none":
        return None
    if kind == "scalar":
        return 0
    raise AssertionError(f"unknown labels kind {kind}")


def _build_quality(kind, n, rng):
    q = rng.random(n)
    if kind == "uniform":
        return q
    if kind == "ties":
        return rng.integers(0, 3, size=n) / 2
    if kind == "extremes":
        return (q > 0.5).astype(float)
    if kind == "list":
        return q.tolist()
    if kind == "float32":
        return q.astype(np.float32)
    if kind == "int01":
        return (q > 0.5).astype(int)
    if kind == "bool":
        return q > 0.5
    if kind in ("nan", "inf", "negative", "above_one"):
        if n:
            q[0] = {"nan": np.nan, "inf": np.inf, "negative": -0.1, "above_one": 1.1}[kind]
        return q
    if kind == "2d":
        return q.reshape(-1, 1)
    if kind == "words":
        return np.array(["good"] * n)
    if kind == "scalar":
        return 0.5
    if kind == "none":
        return None
    if kind == "complex":
        return q + 0j
    raise AssertionError(f"unknown label quality kind {kind}")


@st.composite
def _labels_probs_specs(draw, extras):
    """Given labels and predicted probabilities, plus the function's own arguments."""
    broken = _broken(draw, ["labels", "pred_probs", *extras])
    spec = {"broken": sorted(broken), "seed": draw(st.integers(0, 2**32 - 1))}
    spec["n"] = draw(st.sampled_from(range(41)))
    spec["n_classes"] = draw(st.integers(1, 5))
    spec["labels"] = _pick(draw, "labels", (INDEX_GOOD, INDEX_ODD), broken)
    spec["pred_probs"] = _pick(draw, "pred_probs", (PROBS_GOOD, PROBS_ODD), broken)
    for name, options in extras.items():
        spec[name] = _pick(draw, name, options, broken)
    return spec


def _labels_probs(spec):
    rng = np.random.default_rng(spec["seed"])
    n, k = spec["n"], spec["n_classes"]
    return _build_indices(spec["labels"], n, k, rng), _build_probs(spec["pred_probs"], n, k, rng)


def _as_inputs(labels, pred_probs):
    """The validated inputs as the functions read them (for the checks)."""
    return np.asarray(labels).astype(np.int64), np.asarray(pred_probs, dtype=float)


def _assert_stochastic(T, k, what="matrix", atol=1e-9):
    T = np.asarray(T)
    assert T.shape == (k, k), f"{what} shape {T.shape}, expected {(k, k)}"
    assert np.all(np.isfinite(T)), f"{what} is not finite: {T.tolist()}"
    assert np.all(T >= 0), f"{what} has negative entries"
    assert np.allclose(T.sum(axis=1), 1.0, rtol=0, atol=atol), f"{what} is not row-stochastic"


def _check_scores(scores, args):
    (labels, pred_probs), method = args
    y, p = _as_inputs(labels, pred_probs)
    assert isinstance(scores, np.ndarray) and scores.shape == (len(y),), "scores shape"
    assert np.all(np.isfinite(scores)), "scores are not finite"
    assert np.all((scores >= 0) & (scores <= 1)), "scores outside [0, 1]"
    if method == "self_confidence":
        expected = np.clip(p[np.arange(len(y)), y], 0, 1)
        assert np.allclose(scores, expected, rtol=0, atol=1e-12), "self_confidence != p[y]"


def _check_joint(joint, args):
    (labels, pred_probs), calibrate = args
    y, p = _as_inputs(labels, pred_probs)
    k = p.shape[1]
    counts = np.bincount(y, minlength=k)
    assert joint.shape == (k, k), f"joint shape {joint.shape}"
    assert np.all(np.isfinite(joint)) and np.all(joint >= 0), "joint not finite, non-negative"
    if calibrate:
        # Every labelled class has a confident row (its best row reaches the mean).
        assert np.allclose(joint.sum(axis=1), counts, rtol=0, atol=1e-9), "calibrated row sums"
    else:
        assert joint.dtype.kind == "i", f"uncalibrated joint of dtype {joint.dtype}"
        assert joint.sum() <= len(y) and np.all(joint.sum(axis=1)[counts > 0] >= 1)


def _check_noise_rate(rate, args):
    (labels, _), = args
    assert isinstance(rate, float) and 0 <= rate <= 1, f"noise rate {rate!r}"
    if len(np.asarray(labels)) == 0:
        assert rate == 0.0, "empty input must give 0.0"


def _check_estimated_transition(T, args):
    (_, pred_probs), *_ = args
    _assert_stochastic(T, np.asarray(pred_probs, dtype=float).shape[1], "estimated T")


def _check_pruned(is_issue, args):
    (labels, pred_probs), = args
    y, p = _as_inputs(labels, pred_probs)
    assert is_issue.dtype == bool and is_issue.shape == (len(y),), "not a bool mask"
    if len(y):
        assert not np.any(is_issue & (p.argmax(axis=1) == y)), "flags a row predicted as labelled"


def _check_issues(is_issue, args):
    q, mode, value = args
    q = np.asarray(q, dtype=float)
    assert is_issue.dtype == bool and is_issue.shape == q.shape, "not a bool mask"
    if mode == "threshold":
        assert np.array_equal(is_issue, q < value), "threshold: not q < threshold"
    else:
        assert is_issue.sum() == min(round(float(value) * len(q)), len(q)), "count of issues"
        if is_issue.any() and not is_issue.all():
            assert q[is_issue].max() <= q[~is_issue].min(), "flagged rows not the lowest"


def _check_rank(order, args):
    (q,) = args
    q = np.asarray(q, dtype=float)
    assert np.array_equal(np.sort(order), np.arange(len(q))), "not a permutation"
    assert np.all(np.diff(q[order]) >= 0), "not by increasing quality"


LQ_METHODS = (list(quality.LABEL_QUALITY_METHODS), ["margin", None, 3])


def _scores_call(spec):
    args = _labels_probs(spec)
    return (
        lambda: quality.label_quality_scores(*args, method=spec["method"]),
        (args, spec["method"]),
    )


def _joint_call(spec):
    args = _labels_probs(spec)
    return lambda: quality.confident_joint(*args, calibrate=spec["calibrate"]), (
        args, bool(spec["calibrate"]))  # fmt: skip


def _noise_rate_call(spec):
    args = _labels_probs(spec)
    return lambda: quality.estimate_noise_rate(*args), (args,)


def _transition_call(spec):
    args = _labels_probs(spec)
    return (
        lambda: quality.estimate_transition_matrix(
            *args, method=spec["method"], percentile=spec["percentile"]
        ),
        (args, spec["method"]),
    )


def _prune_call(spec):
    args = _labels_probs(spec)
    return lambda: quality.prune_by_noise_rate(*args), (args,)


ISSUE_MODES = {
    # (mode, value): a noise rate or a threshold, valid ...
    "good": [("rate", 0.1), ("rate", 0.0), ("rate", 1.0), ("rate", 0.5), ("rate", 1 / 3),
             ("threshold", 0.5), ("threshold", 0.0), ("threshold", 1.0), ("rate", 1)],
    # ... or not: both, neither, out of [0, 1], NaN, not a number.
    "bad": [("both", 0.1), ("neither", None), ("rate", -0.1), ("rate", 1.5),
            ("rate", math.nan), ("threshold", math.inf), ("rate", "0.1"), ("rate", True),
            ("threshold", None)],
}  # fmt: skip


@st.composite
def _issues_specs(draw):
    broken = _broken(draw, ["label_quality", "mode"])
    spec = {"broken": sorted(broken), "seed": draw(st.integers(0, 2**32 - 1))}
    spec["n"] = draw(st.sampled_from(range(41)))
    spec["label_quality"] = _pick(draw, "label_quality", (QUALITY_GOOD, QUALITY_ODD), broken)
    spec["mode"] = _pick(draw, "mode", (ISSUE_MODES["good"], ISSUE_MODES["bad"]), broken)
    return spec


def _issues_call(spec):
    q = _build_quality(spec["label_quality"], spec["n"], np.random.default_rng(spec["seed"]))
    mode, value = spec["mode"]
    if mode == "rate":
        call = lambda: quality.find_label_issues(q, value)  # noqa: E731
    elif mode == "threshold":
        call = lambda: quality.find_label_issues(q, threshold=value)  # noqa: E731
    elif mode == "both":
        call = lambda: quality.find_label_issues(q, value, threshold=value)  # noqa: E731
    else:
        call = lambda: quality.find_label_issues(q)  # noqa: E731
    return call, (q, mode, value)


@st.composite
def _rank_specs(draw):
    broken = _broken(draw, ["label_quality"])
    spec = {"broken": sorted(broken), "seed": draw(st.integers(0, 2**32 - 1))}
    spec["n"] = draw(st.sampled_from(range(41)))
    spec["label_quality"] = _pick(draw, "label_quality", (QUALITY_GOOD, QUALITY_ODD), broken)
    return spec


def _rank_call(spec):
    q = _build_quality(spec["label_quality"], spec["n"], np.random.default_rng(spec["seed"]))
    return lambda: quality.rank_label_issues(q), (q,)


# --------------------------------------------------------------------------- #
# Functions of sknoisy.noise
# --------------------------------------------------------------------------- #
NOISE_Y_GOOD = ("int", "int", "str", "float_int", "int_noncontig", "bool", "object_str")
NOISE_Y_ODD = ("mixed", "nan", "none", "one_class", "float_cont", "bytes", "multilabel")
RATE_OPTIONS = (
    [0.2, 0.0, 0.5, 0.999, 0.3],
    [1.0, -0.1, math.nan, math.inf, "0.2", True, None, 2, 1],
)
KIND_OPTIONS = (list(noise.KINDS), ["gaussian", None, 3])
NOISE_X_OPTIONS = (
    ["normal", "int", "constant", "3d"],
    ["none", "wrong_rows", "nan", "1d", "huge", "words", "empty", "complex"],
)
MAPPING_OPTIONS = (["pair", "identity", "cycle", "pairs_list"],
                   ["unknown_key", "unknown_value", "empty", "not_a_dict", "none"])  # fmt: skip
MATRIX_FOR_NOISE = (["stochastic", "identity", "symmetric", "list", "float32"],
                    ["column", "non_square", "wrong_size", "not_stochastic", "nan",
                     "negative", "1d", "words", "none", "off", "complex"])  # fmt: skip
CLASSES_OPTIONS = (["none", "none", "superset", "reversed"],
                   ["subset", "duplicates", "2d", "other_type", "fractional"])  # fmt: skip
RANDOM_STATE_OPTIONS = ([0, 12345, "generator", "randomstate", None], ["seed", -1, 1.5])


def _label_set(y):
    """np.unique of the labels, or None when they cannot be sorted."""
    try:
        return np.unique(np.asarray(y))
    except TypeError:
        return None


def _build_classes(option, y, rng):
    labels = _label_set(y)
    if option == "none" or labels is None or labels.ndim != 1 or labels.size == 0:
        return None
    if option == "superset":
        return np.append(labels, _unseen_label(labels)) if labels.dtype != object else None
    if option == "reversed":
        return labels[::-1]
    if option == "subset":
        return labels[:-1]
    if option == "duplicates":
        return np.append(labels, labels[:1])
    if option == "2d":
        return labels.reshape(1, -1)
    if option == "other_type":
        return labels.astype(str) if labels.dtype.kind in "biuf" else np.arange(len(labels))
    if option == "fractional":
        return np.arange(len(labels)) + 0.5
    raise AssertionError(f"unknown classes option {option}")


def _build_mapping(option, labels):
    if option == "none" or labels is None or labels.ndim != 1 or len(labels) < 2:
        return None
    labels = labels.tolist()  # Python scalars, as a user writes a mapping
    a, b = labels[0], labels[1]
    return {
        "pair": {a: b},
        "identity": {a: a},
        "cycle": {c: labels[(i + 1) % len(labels)] for i, c in enumerate(labels)},
        "pairs_list": [(a, b)],
        "unknown_key": {_unseen_label(labels): a},
        "unknown_value": {a: _unseen_label(labels)},
        "empty": {},
        "not_a_dict": 5,
    }[option]


def _build_noise_X(option, n, rng):
    with np.errstate(all="ignore"):
        X = rng.normal(size=(n, 3))
        return {
            "normal": X,
            "int": np.round(X * 3).astype(int),
            "constant": np.ones((n, 3)),
            "3d": X.reshape(n, 3, 1),
            "none": None,
            "wrong_rows": X[:-1] if n else np.ones((1, 3)),
            "nan": np.where(np.arange(n)[:, None] == 0, np.nan, X),
            "1d": X[:, 0],
            "huge": X * 1e300,
            "words": np.full((n, 3), "a"),
            "empty": np.empty((n, 0)),
            "complex": X + 1j,
        }[option]


@st.composite
def _make_noise_specs(draw):
    axes = ["y", "kind", "rate", "X", "mapping", "transition_matrix", "classes", "random_state"]
    broken = _broken(draw, axes)
    spec = {"broken": sorted(broken), "seed": draw(st.integers(0, 2**32 - 1))}
    odd_y = "y" in broken
    spec["n"] = draw(st.sampled_from(range(41)))
    spec["n_classes"] = draw(st.integers(1 if odd_y else 2, 5))
    spec["single_row_class"] = draw(st.booleans())
    spec["y"] = draw(st.sampled_from(NOISE_Y_ODD if odd_y else NOISE_Y_GOOD))
    spec["y_shape"] = draw(st.sampled_from(["1d", "list", "column"] if odd_y else ["1d", "list"]))
    spec["kind"] = _pick(draw, "kind", KIND_OPTIONS, broken)
    spec["rate"] = _pick(draw, "rate", RATE_OPTIONS, broken)
    # Arguments a kind does not use are left out, unless that axis is broken.
    for axis, options, kind in [
        ("X", NOISE_X_OPTIONS, "instance"),
        ("mapping", MAPPING_OPTIONS, "asymmetric"),
        ("transition_matrix", MATRIX_FOR_NOISE, "matrix"),
    ]:
        needed = spec["kind"] == kind
        spec[axis] = _pick(draw, axis, options, broken) if needed or axis in broken else "none"
    spec["classes"] = _pick(draw, "classes", CLASSES_OPTIONS, broken)
    spec["random_state"] = _pick(draw, "random_state", RANDOM_STATE_OPTIONS, broken)
    return spec


def _make_noise_call(spec):
    rng = np.random.default_rng(spec["seed"])
    n = spec["n"]
    y = _build_y(spec["y"], spec["y_shape"], n, spec["n_classes"], spec["single_row_class"], rng)
    classes = _build_classes(spec["classes"], y, rng)
    labels = _label_set(y) if classes is None else classes
    k = spec["n_classes"] if labels is None or labels.ndim != 1 else len(labels)
    random_state = {
        "generator": np.random.default_rng(0), "randomstate": np.random.RandomState(0),
    }.get(spec["random_state"], spec["random_state"])  # fmt: skip
    kwargs = {
        "X": None if spec["X"] == "none" else _build_noise_X(spec["X"], n, rng),
        "mapping": _build_mapping(spec["mapping"], labels),
        "transition_matrix": (
            None if spec["transition_matrix"] == "none"
            else _build_matrix(spec["transition_matrix"], k, rng)
        ),
        "classes": classes,
        "random_state": random_state,
    }  # fmt: skip
    call = lambda: noise.make_label_noise(y, spec["kind"], spec["rate"], **kwargs)  # noqa: E731
    return call, (y, spec["kind"], spec["rate"], kwargs)


def _check_make_noise(noisy, args):
    y, kind, rate, kwargs = args
    y = np.asarray(y)
    classes = np.unique(y) if kwargs["classes"] is None else np.asarray(kwargs["classes"])
    assert isinstance(noisy, np.ndarray) and noisy.shape == y.shape, "shape of the noisy labels"
    assert set(noisy.tolist()) <= set(classes.tolist()), "noisy labels outside the label set"
    if y.dtype.kind in "US":
        assert noisy.dtype.kind == y.dtype.kind, f"dtype {noisy.dtype} for labels {y.dtype}"
    else:
        assert noisy.dtype == y.dtype, f"dtype {noisy.dtype} for labels of dtype {y.dtype}"
    changed = noisy != y
    if kind == "symmetric":
        assert changed.sum() == int(np.round(rate * len(y))), "symmetric: count of flips"
    elif kind in ("pairflip", "asymmetric"):
        mapping = dict(kwargs["mapping"] or {})
        for i, label in enumerate(classes.tolist()):
            rows = y == label
            if kind == "pairflip":
                target = classes[(i + 1) % len(classes)]
            else:
                target = mapping.get(label, label)
            expected = 0 if target == label else int(np.round(rate * rows.sum()))
            assert changed[rows].sum() == expected, f"{kind}: flips of class {label!r}"
            assert np.all(noisy[rows & changed] == target), f"{kind}: flips to the wrong class"
    elif kind == "matrix":
        T = np.asarray(kwargs["transition_matrix"], dtype=float)
        for i, label in enumerate(classes.tolist()):
            rows = y == label
            counts = np.array([(noisy[rows] == c).sum() for c in classes.tolist()])
            assert np.all(np.abs(counts - rows.sum() * T[i]) <= 1 + 1e-9), "matrix: counts"
    elif kind == "instance" and rate == 0:
        assert not changed.any(), "instance noise at rate 0 changed labels"


@st.composite
def _transition_matrix_specs(draw):
    broken = _broken(draw, ["y_true", "y_noisy", "classes"])
    spec = {"broken": sorted(broken), "seed": draw(st.integers(0, 2**32 - 1))}
    spec["n"] = draw(st.sampled_from(range(41)))
    odd = "y_true" in broken
    spec["n_classes"] = draw(st.integers(1, 5))
    spec["y_true"] = draw(st.sampled_from(NOISE_Y_ODD if odd else NOISE_Y_GOOD))
    spec["y_noisy"] = _pick(
        draw, "y_noisy",
        (["flipped", "same", "shuffled", "list"], ["short", "unseen", "other_type", "2d"]),
        broken,
    )  # fmt: skip
    spec["classes"] = _pick(draw, "classes", CLASSES_OPTIONS, broken)
    return spec


def _transition_matrix_call(spec):
    rng = np.random.default_rng(spec["seed"])
    y_true = np.asarray(_build_y(spec["y_true"], "1d", spec["n"], spec["n_classes"], False, rng))
    option = spec["y_noisy"]
    if option in ("flipped", "list", "unseen"):
        y_noisy = y_true.copy()
        if len(y_true):
            y_noisy[: len(y_true) // 3] = y_true[-1]
        y_noisy = y_noisy.tolist() if option == "list" else y_noisy
        if option == "unseen" and len(y_true):
            y_noisy = y_noisy.astype(object)
            y_noisy[0] = _unseen_label(_label_set(y_true))
    elif option == "same":
        y_noisy = y_true.copy()
    elif option == "shuffled":
        y_noisy = rng.permutation(y_true)
    elif option == "short":
        y_noisy = y_true[:-1]
    elif option == "other_type":
        y_noisy = y_true.astype(str) if y_true.dtype.kind in "biuf" else np.arange(len(y_true))
    else:
        y_noisy = y_true.reshape(-1, 1)
    classes = _build_classes(spec["classes"], y_true, rng)
    return lambda: noise.transition_matrix(y_true, y_noisy, classes), (y_true, y_noisy, classes)


def _check_transition_matrix(T, args):
    y_true, y_noisy, classes = args
    y_true, y_noisy = np.asarray(y_true), np.asarray(y_noisy)
    if classes is None:
        classes = np.unique(np.concatenate([y_true, y_noisy]))
    classes = np.asarray(classes).tolist()
    _assert_stochastic(T, len(classes), "transition matrix")
    for i, label in enumerate(classes):  # the realised fractions, counted directly
        rows = y_true == label
        if rows.any():
            expected = [np.mean(y_noisy[rows] == c) for c in classes]
            assert np.allclose(T[i], expected), f"row of class {label!r}: {T[i].tolist()}"
        else:
            assert T[i, i] == 1.0, "a class absent from y_true must have the identity row"


N_CLASSES_OPTIONS = ([2, 3, 5, 40, np.int64(3)], [1, 0, -1, 2.0, True, "3", None])


@st.composite
def _expected_matrix_specs(draw):
    broken = _broken(draw, ["n_classes", "rate"])
    # Beside the listed values, any valid one: the listed ones alone are fewer than 200.
    return {
        "broken": sorted(broken),
        "n_classes": draw(
            st.sampled_from(N_CLASSES_OPTIONS[1]) if "n_classes" in broken
            else st.sampled_from(N_CLASSES_OPTIONS[0]) | st.integers(2, 60)
        ),
        "rate": draw(
            st.sampled_from(RATE_OPTIONS[1]) if "rate" in broken
            else st.sampled_from(RATE_OPTIONS[0]) | st.floats(0, 1, exclude_max=True)
        ),
    }  # fmt: skip


def _expected_matrix_call(function):
    def build(spec):
        return lambda: function(spec["n_classes"], spec["rate"]), (spec["n_classes"], spec["rate"])

    return build


def _check_expected_matrix(kind):
    def check(T, args):
        n_classes, rate = args
        k = int(n_classes)
        _assert_stochastic(T, k, f"{kind} transition matrix")
        assert np.allclose(np.diag(T), 1 - rate), "diagonal is not 1 - rate"
        if kind == "symmetric":
            off = T[~np.eye(k, dtype=bool)]
            assert np.allclose(off, rate / (k - 1)), "off-diagonal is not rate / (K - 1)"
        else:
            assert np.allclose(T[np.arange(k), (np.arange(k) + 1) % k], rate), "next class"

    return check


CLEANLAB_GOOD = ["stochastic", "stochastic", "identity", "symmetric", "list", "float32",
                 "int_identity", "bool_identity", "object"]  # fmt: skip
CLEANLAB_BAD = ["non_square", "not_stochastic", "nan", "inf", "negative", "1d", "3d", "words",
                "empty", "ragged", "none", "off", "strings", "complex"]  # fmt: skip


@st.composite
def _cleanlab_specs(draw):
    broken = _broken(draw, ["matrix"])
    return {
        "broken": sorted(broken),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "n_classes": draw(st.integers(1, 6)),
        "matrix": _pick(draw, "matrix", (CLEANLAB_GOOD, CLEANLAB_BAD), broken),
    }


def _cleanlab_call(function, transpose):
    def build(spec):
        rng = np.random.default_rng(spec["seed"])
        matrix = _build_matrix(spec["matrix"], spec["n_classes"], rng)
        # cleanlab's noise_matrix is column-stochastic: the transpose of a valid T.
        if transpose and isinstance(matrix, np.ndarray) and matrix.ndim == 2:
            matrix = matrix.T
        elif transpose and isinstance(matrix, list) and spec["matrix"] == "list":
            matrix = np.asarray(matrix).T.tolist()
        return lambda: function(matrix), (matrix, transpose)

    return build


def _check_cleanlab(out, args):
    matrix, transpose = args
    given = np.asarray(matrix, dtype=float)
    assert np.array_equal(out, given.T), "not the transpose"
    k = given.shape[0]
    # to_cleanlab: columns sum to 1; from_cleanlab: rows do (within the 1e-6 allowed).
    _assert_stochastic(out if transpose else out.T, k, "converted matrix", atol=1e-6)


class Function(NamedTuple):
    specs: st.SearchStrategy
    build: object  # spec -> (call, args for the check)
    check: object  # (result, args) -> None; AssertionError when wrong


FUNCTIONS = {
    "make_label_noise": Function(_make_noise_specs(), _make_noise_call, _check_make_noise),
    "transition_matrix": Function(
        _transition_matrix_specs(), _transition_matrix_call, _check_transition_matrix
    ),
    "symmetric_transition_matrix": Function(
        _expected_matrix_specs(), _expected_matrix_call(noise.symmetric_transition_matrix),
        _check_expected_matrix("symmetric"),
    ),  # fmt: skip
    "pairflip_transition_matrix": Function(
        _expected_matrix_specs(), _expected_matrix_call(noise.pairflip_transition_matrix),
        _check_expected_matrix("pairflip"),
    ),  # fmt: skip
    "to_cleanlab_noise_matrix": Function(
        _cleanlab_specs(), _cleanlab_call(noise.to_cleanlab_noise_matrix, False), _check_cleanlab
    ),
    "from_cleanlab_noise_matrix": Function(
        _cleanlab_specs(), _cleanlab_call(noise.from_cleanlab_noise_matrix, True), _check_cleanlab
    ),
    "confident_joint": Function(
        _labels_probs_specs({"calibrate": ([True, False], ["no", None, 0, np.bool_(True)])}),
        _joint_call, _check_joint,
    ),  # fmt: skip
    "estimate_noise_rate": Function(_labels_probs_specs({}), _noise_rate_call, _check_noise_rate),
    "estimate_transition_matrix": Function(
        _labels_probs_specs({
            "method": (["anchor", "confident_joint"], ["x", None]),
            "percentile": ([97.0, 100, 0, 50.0, 99.9], [-1, 101, math.nan, "97", None]),
        }),
        _transition_call, _check_estimated_transition,
    ),  # fmt: skip
    "find_label_issues": Function(_issues_specs(), _issues_call, _check_issues),
    "label_quality_scores": Function(
        _labels_probs_specs({"method": LQ_METHODS}), _scores_call, _check_scores
    ),
    "prune_by_noise_rate": Function(_labels_probs_specs({}), _prune_call, _check_pruned),
    "rank_label_issues": Function(_rank_specs(), _rank_call, _check_rank),
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_fuzz_function(name):
    function = FUNCTIONS[name]
    tally = Tally()

    @FUZZ_SETTINGS
    @given(spec=function.specs)
    def fuzz(spec):
        call, args = function.build(spec)
        _run(tally, spec, call, lambda result: function.check(result, args))

    fuzz()
    _report(name, tally)
    assert tally.succeeded >= tally.inputs // 4, tally.summary(name, "succeeded")
