"""Weakly labelled text: the zoo's text problems (TF-IDF rows, a SciPy sparse matrix) at
rule-based and 40% symmetric noise, every sknoisy estimator against the usual models for
text on the same features.

The peers are ``LogisticRegression`` (``max_iter=1000``), scikit-learn's
``MLPClassifier`` (defaults) and cleanlab's ``CleanLearning`` around the logistic
regression (``cleanlab_logreg``), with ``CleanLearning`` around sknoisy's default network
(``cleanlab``) and the network oracle; ``filter_logreg`` is sknoisy's
``FilterClassifier`` around the same logistic regression. Results in
``zoo/text/bench.csv``; written to ``zoo/text/text.md``: per cell, each method's mean
clean-test accuracy over the seeds,
and the check that the recommended estimator is above the three peers in every cell of
the report half's text problem.

    python -m benchmarks.text_report
"""

from __future__ import annotations

from pathlib import Path

from . import report, run, zoo
from .zoo_report import Cells, _name

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "benchmarks" / "results" / "zoo" / "text"
NOISES = ("rule", "sym40")
PEERS = ("LogisticRegression", "MLPClassifier", "cleanlab_logreg")
OTHERS = ("cleanlab", "oracle")
# FilterClassifier around the logistic regression: sknoisy's label cleaning of a linear model.
METHODS = (*run.sknoisy_estimators(), "filter_logreg", *PEERS, *OTHERS)
TEXT_PROBLEMS = tuple(name for name, problem in zoo.PROBLEMS.items() if problem.text)
COMMAND = (
    "python -m benchmarks.run --datasets " + ",".join(TEXT_PROBLEMS)
    + " --noise " + ",".join(NOISES) + " --methods " + ",".join(METHODS)
    + " --output benchmarks/results/zoo/text --resume"
)  # fmt: skip


def _half(problem):
    return next(half for half, names in zoo.HALVES.items() if problem in names)


def markdown(cells, errors, provenance=""):
    columns = [m for m in METHODS if m in cells.methods]
    lines = [
        "# Weakly labelled text",
        "",
        provenance,
        "",
        "TF-IDF rows of generated documents (`zoo.generated_text`: topic mixtures with "
        "Zipf-distributed words, neighbouring topics sharing words), given to every "
        "estimator as a sparse matrix. `rule`: the labels of keyword rules, one per "
        "class; `sym40`: 40% symmetric noise. Mean clean-test accuracy over the seeds; "
        "`oracle` is the default network on the true labels.",
        "",
        "| cell | half | " + " | ".join(f"`{m}`" for m in columns) + " |",
        "|---|---|" + "---:|" * len(columns),
    ]
    for cell in cells.cells:
        values = [cells.mean(cell, m) for m in columns]
        row = " | ".join("–" if v != v else f"{v:.3f}" for v in values)
        lines.append(f"| {_name(cell)} | {_half(cell[0])} | {row} |")
    checks = []
    for problem in TEXT_PROBLEMS:
        if _half(problem) != "report":
            continue
        for noise in NOISES:
            cell = (problem, noise)
            if cell not in cells.cells:
                checks.append(f"{_name(cell)}: not run")
                continue
            best = cells.mean(cell, zoo.RECOMMENDED)
            below = [p for p in PEERS if not best > cells.mean(cell, p)]
            verdict = "holds" if not below else "fails: not above " + ", ".join(below)
            checks.append(f"{_name(cell)}: **{verdict}**")
    lines += [
        "",
        f"- `{zoo.RECOMMENDED}` above {', '.join(f'`{p}`' for p in PEERS)} on the report "
        "half's text problem: " + "; ".join(checks) + ".",
    ]
    if errors:
        lines.append(
            "- Failed fits (a row with `status=error`): "
            + "; ".join(f"`{m}`: {e.rstrip('.')}" for m, e in sorted(errors.items())) + "."
        )
    return "\n".join(lines) + "\n"


def main():
    rows = run.read_rows(OUTPUT / run.CSV_NAME)
    if not rows:
        raise SystemExit(f"no results in {OUTPUT / run.CSV_NAME} yet")
    errors = {row["method"]: row["error"] for row in rows if row["status"] != "ok"}
    commits = sorted({row["commit"] for row in rows if row.get("commit")})
    minutes = sum(float(row["fit_s"]) for row in rows if row["fit_s"] not in ("", "nan")) / 60
    provenance = (
        f"`make zoo-text` (`{COMMAND}`, then `python -m benchmarks.text_report`); runs at "
        f"commit(s) {', '.join(commits)}, {len(rows)} cells, {minutes:.0f} fit-minutes."
    )
    text = markdown(Cells(report.frame(rows)), errors, provenance)
    (OUTPUT / "text.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
