"""Whether every estimator still fits exactly as it did: a check for changes that mean to
keep behaviour (refactors, renames, moved code).

Every sknoisy estimator is fitted with its defaults on one zoo cell, ``digits`` at 40%
symmetric noise with seed 0, on the CPU with one torch thread. What it learnt is kept:
``predict_proba`` on the cell's test rows, and every public fitted attribute that is an
array, a number or a string (``label_quality_``, ``label_issues_``, ``noise_rate_``,
``corrected_labels_``, ``transition_matrix_``, ``warmup_epochs_``, ...).

``python -m benchmarks.behaviour --save`` writes these to
``benchmarks/results/behaviour/digits-sym40-seed0.npz``. Without ``--save`` the script
fits again and compares with that file: every value must be bit-identical (the same
bytes, NaNs in the same places). It prints each difference and exits with status 1 if
there is one. About two minutes on one core.

The comparison holds on the machine and torch build that wrote the file: another CPU or
another torch release may round differently. A change that means to alter an estimator's
behaviour saves the file anew, in the same commit, and says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from .run import make_cell_data, sknoisy_estimators

CELL = ("digits", "sym40", 0)
REFERENCE = (
    Path(__file__).resolve().parent / "results" / "behaviour" / "digits-sym40-seed0.npz"
)


def fitted_values(estimator, X_test):
    """``{key: array}``: the test rows' predicted probabilities and the estimator's public
    fitted attributes that are arrays, numbers or strings."""
    values = {"predict_proba": np.asarray(estimator.predict_proba(X_test))}
    for name, value in sorted(vars(estimator).items()):
        if not name.endswith("_") or name.startswith("_"):
            continue
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        if isinstance(value, (np.ndarray, np.generic, bool, int, float, str)):
            values[name] = np.asarray(value)
    return values


def fit_all(names=None):
    """``{"Estimator.key": array}`` for every estimator (or those ``names``) fitted on
    :data:`CELL`."""
    torch.set_num_threads(1)
    X_train, X_test, _, y_noisy, _ = make_cell_data(*CELL)
    estimators = sknoisy_estimators()
    values = {}
    for name in names or estimators:
        estimator = estimators[name](random_state=CELL[2]).fit(X_train, y_noisy)
        for key, value in fitted_values(estimator, X_test).items():
            values[f"{name}.{key}"] = value
        print(f"fitted {name}", file=sys.stderr, flush=True)
    return values


def differences(new, old):
    """The keys whose values are not bit-identical, with why, as lines."""
    lines = []
    for key in sorted(set(old) | set(new)):
        if key not in new:
            lines.append(f"{key}: missing now")
        elif key not in old:
            lines.append(f"{key}: new (not in the reference)")
        elif new[key].dtype != old[key].dtype or new[key].shape != old[key].shape:
            lines.append(
                f"{key}: {new[key].dtype}{new[key].shape} now, "
                f"{old[key].dtype}{old[key].shape} before"
            )
        elif new[key].tobytes() != old[key].tobytes():
            if new[key].dtype.kind in "fc":
                gap = np.nanmax(np.abs(new[key].astype(float) - old[key].astype(float)))
                lines.append(f"{key}: differs, by up to {gap:.3g}")
            else:
                lines.append(f"{key}: differs")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--save", action="store_true", help="write the reference file")
    parser.add_argument(
        "--estimators", help="comma-separated estimator names (default: every estimator)"
    )
    args = parser.parse_args(argv)
    names = args.estimators.split(",") if args.estimators else None
    values = fit_all(names)
    if args.save:
        if names:
            parser.error("--save writes the reference for every estimator: drop --estimators")
        REFERENCE.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(REFERENCE, **values)
        print(f"wrote {len(values)} values to {REFERENCE}")
        return 0
    with np.load(REFERENCE, allow_pickle=False) as saved:
        reference = {key: saved[key] for key in saved.files}
    if names:
        reference = {k: v for k, v in reference.items() if k.split(".")[0] in names}
    lines = differences(values, reference)
    for line in lines:
        print(line)
    print(f"{len(values)} values compared: {len(lines) or 'none'} differ")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
