"""Checked rows on the zoo's report half: the recommended estimator with 5% of the
training rows trusted against the same estimator without them.

A simulated reviewer checks a random 5% of each cell's training rows
(``benchmarks.run.trusted_rows``, drawn by the cell's seed): they get their true labels
and are passed as ``fit(X, y, trusted=mask)`` (method ``AutoClassifier:trusted=0.05`` of
``benchmarks.run``, results in ``zoo/trusted/bench.csv``). The rows without them are the
report half's own (``zoo/report/bench.csv``), same cells, seeds and noise. Written to
``zoo/trusted/trusted.md``: per cell, both mean accuracies and their difference; the
check that the trusted run is within 0.5 points of the other (or the standard error of
the mean difference over seeds, whichever is larger) or above it in every cell, and
above it on average.

    python -m benchmarks.trusted_report
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from . import report, run, zoo
from .zoo_report import Cells, _name

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "zoo"
FRACTION = 0.05
TRUSTED = f"{zoo.RECOMMENDED}:trusted={FRACTION}"
ALLOWANCE = 0.5  # points


def comparison(report_rows, trusted_rows):
    """``Cells`` holding the recommended estimator's runs as ``"without"`` and the runs
    with trusted rows as ``"with"``."""
    df = pd.concat([report.frame(report_rows), report.frame(trusted_rows)])
    names = {zoo.RECOMMENDED: "without", TRUSTED: "with"}
    df = df[df["method"].isin(names)].assign(method=lambda d: d["method"].map(names))
    return Cells(df)


def markdown(cells, provenance=""):
    lines = [
        f"# Checked rows: `{zoo.RECOMMENDED}` with {FRACTION:.0%} of the rows trusted",
        "",
        provenance,
        "",
        f"A random {FRACTION:.0%} of each cell's training rows get their true labels and are "
        "passed as `trusted`; the other rows keep their noisy labels. Mean clean-test "
        "accuracy over the seeds that both runs have, and the mean difference in points "
        "(± its standard error).",
        "",
        "| cell | seeds | without | with | difference |",
        "|---|---:|---:|---:|---:|",
    ]
    failed, checked, differences = [], 0, []
    for cell in cells.cells:
        both = pd.concat(
            [cells.values(cell, "without"), cells.values(cell, "with")], axis=1
        ).dropna()
        if both.empty:
            continue
        diff, se = cells.difference(cell, "with", "without")
        checked += 1
        differences.append(diff)
        if not cells.within(cell, "with", "without", ALLOWANCE):
            failed.append(f"{_name(cell)} ({100 * diff:+.1f})")
        error = "" if math.isnan(se) else f" ± {100 * se:.1f}"
        lines.append(
            f"| {_name(cell)} | {len(both)} | {both.iloc[:, 0].mean():.3f} | "
            f"{both.iloc[:, 1].mean():.3f} | {100 * diff:+.1f}{error} |"
        )
    mean = sum(differences) / len(differences) if differences else math.nan
    lines += [
        "",
        f"- within {ALLOWANCE} points of the run without trusted rows, or above, in every "
        + (
            f"cell: **holds** in all {checked}."
            if not failed
            else f"cell: **fails** in {len(failed)} of {checked}: {', '.join(failed)}."
        ),
        f"- above it on average: **{'holds' if mean > 0 else 'fails'}** "
        f"(mean difference {100 * mean:+.2f} points over {checked} cells).",
        "",
    ]
    return "\n".join(lines)


def main():
    report_rows = run.read_rows(RESULTS / "report" / run.CSV_NAME)
    trusted_rows = run.read_rows(RESULTS / "trusted" / run.CSV_NAME)
    if not trusted_rows:
        raise SystemExit(f"no results in {RESULTS / 'trusted' / run.CSV_NAME} yet")
    commits = sorted({row["commit"] for row in trusted_rows if row.get("commit")})
    minutes = sum(float(row["fit_s"]) for row in trusted_rows if row["fit_s"]) / 60
    provenance = (
        f"`make zoo-trusted` (`python -m benchmarks.run --half report --no-raw --methods "
        f"{TRUSTED} --output benchmarks/results/zoo/trusted --resume`, then `python -m "
        f"benchmarks.trusted_report`); trusted runs at commit(s) {', '.join(commits)}, "
        f"{len(trusted_rows)} cells, {minutes:.0f} fit-minutes."
    )
    text = markdown(comparison(report_rows, trusted_rows), provenance)
    (RESULTS / "trusted" / "trusted.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
