"""The zoo's summary: win rates, the checks of the defaults, and ranks by cell.

``benchmarks/run.py`` calls :func:`write` after each run, over every row of its CSV. A
*cell* is one problem at one noise kind; its figure is the mean over the seeds that ran.
Comparisons of two methods in a cell use the per-seed differences of accuracy: "within x
points" allows x points or the standard error of the mean difference over seeds,
whichever is larger. Files written to the output directory:

- ``zoo_summary.md``: the win-rate table (for each sknoisy estimator, the share of cells
  where its mean accuracy is above each peer's, and its worst cell against plain
  cross-entropy), the checks of the defaults (below), and the unscaled-input table.
- ``zoo_ranks.png``: the rank of every method in every cell.

The checks, each listing the cells that fail it:

- do no harm: every network estimator within 1 point of plain cross-entropy, or above;
- DualEM and the recommended estimator: within 0.5 points of ``cleanlab`` in every cell
  and above it in at least 80% of cells; above ``cleanlab_hgb`` in at least 80%;
- the recommended estimator: within 1.5 points of the best sknoisy estimator in at least
  90% of cells; within 2 points of the network oracle in every ``sym20`` cell; a
  label-quality AUROC above ``cleanlab``'s in every cell;
- unscaled input: on each tabular problem at ``sym20``, every network estimator on raw
  features within 1 point of the same estimator on standardised features.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from . import zoo
from .grid import CLEAN, ORACLES, RAW

ROOT = Path(__file__).resolve().parent.parent

CE = "RobustLossClassifier"
PEERS = ("RobustLossClassifier", "cleanlab", "cleanlab_hgb", "HistGradientBoostingClassifier")
PEER_NAMES = {
    "RobustLossClassifier": "plain CE",
    "cleanlab": "cleanlab (network)",
    "cleanlab_hgb": "cleanlab (HGB)",
    "HistGradientBoostingClassifier": "HGB",
}


def _sknoisy_estimators(methods):
    from . import run

    known = run.sknoisy_estimators()
    return [m for m in methods if m.split(":")[0] in known]


def _network_estimators(methods):
    from . import run

    return [m for m in _sknoisy_estimators(methods) if run.Method.parse(m).is_network]


class Cells:
    """Per-seed results of one half, scaled features only, keyed by (problem, noise)."""

    def __init__(self, df, metric="accuracy"):
        ok = df[(df["status"] == "ok") & ~df["dataset"].str.endswith(RAW)]
        self.metric = metric
        self.table = ok.pivot_table(
            index=["dataset", "noise", "seed"], columns="method", values=metric,
            aggfunc="last",
        )  # fmt: skip
        has_clean = CLEAN in self.table.index.get_level_values("noise")
        oracles = self.table.xs(CLEAN, level="noise") if has_clean else None
        noisy = self.table.drop(index=CLEAN, level="noise", errors="ignore")
        if oracles is not None:
            for oracle in ORACLES:
                if oracle in oracles:
                    # The oracles' clean-label runs stand in every noise kind of their seed.
                    keys = pd.MultiIndex.from_arrays(
                        [noisy.index.get_level_values(0), noisy.index.get_level_values(2)]
                    )
                    noisy[oracle] = oracles[oracle].reindex(keys).to_numpy()
        self.seeds = noisy
        self.methods = list(noisy.columns)
        self.cells = list(dict.fromkeys((d, n) for d, n, _ in noisy.index))

    def values(self, cell, method):
        if method not in self.seeds:
            return pd.Series(dtype=float)
        return self.seeds.loc[cell, method]

    def mean(self, cell, method):
        values = self.values(cell, method).dropna()
        return values.mean() if len(values) else math.nan

    def difference(self, cell, method, other):
        """Mean difference over the seeds both ran, and its standard error (nan with one
        seed)."""
        both = pd.concat([self.values(cell, method), self.values(cell, other)], axis=1)
        both = both.dropna()
        if both.empty:
            return math.nan, math.nan
        diff = both.iloc[:, 0] - both.iloc[:, 1]
        se = diff.std(ddof=1) / math.sqrt(len(diff)) if len(diff) > 1 else math.nan
        return diff.mean(), se

    def within(self, cell, method, other, points):
        """Whether ``method`` is within ``points`` (or the standard error) of ``other``,
        or above it; None when either has no result in the cell."""
        diff, se = self.difference(cell, method, other)
        if math.isnan(diff):
            return None
        allowance = max(points / 100, 0.0 if math.isnan(se) else se)
        return bool(diff >= -allowance)


def _name(cell):
    return f"{cell[0]} {cell[1]}"


def _share(flags):
    flags = [f for f in flags if f is not None]
    return (sum(flags) / len(flags), len(flags)) if flags else (math.nan, 0)


def _percent(share):
    value, n = share
    return "–" if n == 0 else f"{100 * value:.0f}% of {n}"


def win_rate_table(cells):
    """Per sknoisy estimator: share of cells above each peer, worst cell against CE."""
    estimators = _sknoisy_estimators(cells.methods)
    peers = [p for p in PEERS if p in cells.methods]
    lines = [
        "| estimator | " + " | ".join(f"beats {PEER_NAMES[p]}" for p in peers)
        + " | worst cell against plain CE (points) | mean rank |",
        "|---|" + "---:|" * len(peers) + "---|---:|",
    ]
    ranks = rank_table(cells)
    for estimator in estimators:
        row = [f"`{estimator}`"]
        for peer in peers:
            if peer == estimator:
                row.append("–")
                continue
            flags = []
            for cell in cells.cells:
                diff, _ = cells.difference(cell, estimator, peer)
                flags.append(None if math.isnan(diff) else diff > 0)
            row.append(_percent(_share(flags)))
        worst = min(
            ((cells.difference(cell, estimator, CE)[0], cell) for cell in cells.cells
             if not math.isnan(cells.difference(cell, estimator, CE)[0])),
            default=None,
        )  # fmt: skip
        if estimator == CE or worst is None:
            row.append("–")
        else:
            row.append(f"{100 * worst[0]:+.1f} ({_name(worst[1])})")
        row.append(f"{ranks.loc[estimator].mean():.1f}" if estimator in ranks.index else "–")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def rank_table(cells):
    """Methods x cells: rank of the mean accuracy (1 = best), oracles left out."""
    methods = [m for m in cells.methods if m not in ORACLES]
    means = pd.DataFrame(
        {_name(c): {m: cells.mean(c, m) for m in methods} for c in cells.cells}
    )
    return means.rank(axis=0, ascending=False, method="min")


def _failures(cells, method, other, points):
    failed, checked = [], 0
    for cell in cells.cells:
        ok = cells.within(cell, method, other, points)
        if ok is None:
            continue
        checked += 1
        if not ok:
            diff, _ = cells.difference(cell, method, other)
            failed.append(f"{_name(cell)} ({100 * diff:+.1f})")
    return failed, checked


def _check_line(text, failed, checked):
    if not checked:
        return f"- {text}: **not run**."
    if not failed:
        return f"- {text}: **holds** in all {checked}."
    return f"- {text}: **fails** in {len(failed)} of {checked}: " + ", ".join(failed) + "."


def _above_share(cells, method, other):
    flags = []
    for cell in cells.cells:
        diff, _ = cells.difference(cell, method, other)
        flags.append(None if math.isnan(diff) else diff > 0)
    return _share(flags)


def checks(df, recommended):
    """The checks of the defaults, as Markdown lines."""
    accuracy = Cells(df)
    lines = []
    for estimator in _network_estimators(accuracy.methods):
        if estimator == CE:
            continue
        failed, checked = _failures(accuracy, estimator, CE, 1.0)
        lines.append(
            _check_line(f"`{estimator}` within 1 point of plain CE (cells)", failed, checked)
        )
    for estimator in dict.fromkeys(["DualEMClassifier", recommended]):
        if estimator not in accuracy.methods:
            continue
        failed, checked = _failures(accuracy, estimator, "cleanlab", 0.5)
        lines.append(
            _check_line(
                f"`{estimator}` within 0.5 points of cleanlab (network) (cells)", failed, checked
            )
        )
        for peer, name in (("cleanlab", "cleanlab (network)"), ("cleanlab_hgb", "cleanlab (HGB)")):
            share = _above_share(accuracy, estimator, peer)
            verdict = "not run" if not share[1] else "holds" if share[0] >= 0.8 else "fails"
            lines.append(
                f"- `{estimator}` above {name} in at least 80% of cells: **{verdict}** "
                f"({_percent(share)})."
            )
    if recommended in accuracy.methods:
        estimators = [m for m in _sknoisy_estimators(accuracy.methods) if m != recommended]
        flags, short = [], []
        for cell in accuracy.cells:
            means = {m: accuracy.mean(cell, m) for m in estimators}
            means = {m: v for m, v in means.items() if not math.isnan(v)}
            if not means:
                continue
            best = max(means, key=means.get)
            ok = accuracy.within(cell, recommended, best, 1.5)
            if ok is not None:
                flags.append(ok)
                if not ok:
                    short.append(f"{_name(cell)} ({best})")
        share = _share(flags)
        verdict = "not run" if not share[1] else "holds" if share[0] >= 0.9 else "fails"
        lines.append(
            f"- `{recommended}` within 1.5 points of the best sknoisy estimator in at least "
            f"90% of cells: **{verdict}** ({_percent(share)})"
            + (f"; short in: {', '.join(short)}." if short else ".")
        )
        sym20 = [c for c in accuracy.cells if c[1] == "sym20"]
        failed = []
        for cell in sym20:
            ok = accuracy.within(cell, recommended, "oracle", 2.0)
            if ok is not None and not ok:
                diff, _ = accuracy.difference(cell, recommended, "oracle")
                failed.append(f"{_name(cell)} ({100 * diff:+.1f})")
        lines.append(
            _check_line(f"`{recommended}` within 2 points of the network oracle (sym20 cells)",
                        failed, len(sym20))
        )  # fmt: skip
        auroc = Cells(df, "quality_auroc")
        failed, checked = [], 0
        for cell in auroc.cells:
            diff, _ = auroc.difference(cell, recommended, "cleanlab")
            if math.isnan(diff):
                continue
            checked += 1
            if diff <= 0:
                failed.append(f"{_name(cell)} ({diff:+.3f})")
        lines.append(
            _check_line(f"`{recommended}` label-quality AUROC above cleanlab (network)'s "
                        "(cells)", failed, checked)
        )  # fmt: skip
    return lines


def raw_table(df):
    """Per tabular problem and network estimator at sym20: raw minus scaled accuracy."""
    ok = df[(df["status"] == "ok") & (df["noise"] == "sym20")]
    raw = ok[ok["dataset"].str.endswith(RAW)]
    if raw.empty:
        return "", [], 0
    problems = list(dict.fromkeys(raw["dataset"].str.removesuffix(RAW)))
    methods = list(dict.fromkeys(raw["method"]))
    lines = [
        "| estimator | " + " | ".join(problems) + " |",
        "|---|" + "---:|" * len(problems),
    ]
    failed, checked = [], 0
    for method in methods:
        row = [f"`{method}`"]
        for problem in problems:
            scaled = ok[(ok["dataset"] == problem) & (ok["method"] == method)]
            unscaled = raw[(raw["dataset"] == problem + RAW) & (raw["method"] == method)]
            both = pd.merge(scaled, unscaled, on="seed", suffixes=("", "_raw"))
            if both.empty:
                row.append("–")
                continue
            checked += 1
            diff = both["accuracy_raw"] - both["accuracy"]
            se = diff.std(ddof=1) / math.sqrt(len(diff)) if len(diff) > 1 else 0.0
            row.append(f"{both['accuracy_raw'].mean():.3f} ({100 * diff.mean():+.1f})")
            if diff.mean() < -max(0.01, se):
                failed.append(f"{method} on {problem} ({100 * diff.mean():+.1f})")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines), failed, checked


def plot_ranks(cells, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ranks = rank_table(cells)
    ranks = ranks.loc[ranks.mean(axis=1).sort_values().index]
    fig, ax = plt.subplots(figsize=(max(6, 0.32 * ranks.shape[1] + 3), 0.4 * len(ranks) + 2))
    image = ax.imshow(ranks.to_numpy(), cmap="viridis_r", aspect="auto")
    ax.set_yticks(range(len(ranks)), ranks.index, fontsize=8)
    ax.set_xticks(range(ranks.shape[1]), ranks.columns, rotation=90, fontsize=7)
    middle = np.nanmean(ranks.to_numpy())
    for (i, j), value in np.ndenumerate(ranks.to_numpy()):
        if not math.isnan(value):
            color = "white" if value > middle else "black"
            ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=6, color=color)
    ax.set_title("Rank of clean-test accuracy per cell\n(1 = best; by mean rank)", fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.02)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summary_markdown(df, recommended, provenance=""):
    cells = Cells(df)
    problems = list(dict.fromkeys(d for d, _ in cells.cells))
    parts = [
        "# Zoo summary",
        "",
        provenance,
        "",
        f"Problems: {', '.join(problems)}; {len(cells.cells)} cells (problem x noise kind). "
        "Each cell's figure is the mean clean-test accuracy over its seeds; a comparison "
        "allows the stated points or the standard error of the mean difference over seeds, "
        "whichever is larger.",
        "",
        "## Win rates",
        "",
        "Share of cells where the estimator's mean accuracy is above the peer's; its worst "
        "cell against plain cross-entropy (`RobustLossClassifier`), in points; its mean "
        "rank among all methods except the oracles.",
        "",
        win_rate_table(cells),
        "",
        f"## Checks of the defaults (recommended estimator: `{recommended}`)",
        "",
        *checks(df, recommended),
        "",
    ]
    table, failed, checked = raw_table(df)
    if table:
        parts += [
            "## Unscaled input",
            "",
            "Accuracy on raw features at sym20, and in brackets its difference in points "
            "from the same estimator on standardised features.",
            "",
            table,
            "",
            _check_line("every network estimator on raw features within 1 point of "
                        "standardised ones (problem x estimator)", failed, checked),
            "",
        ]  # fmt: skip
    parts += ["![rank by cell](zoo_ranks.png)", ""]
    return "\n".join(parts)


def win_rates_markdown(df, folder):
    """The win-rate table and the rank plot, linked from ``folder`` as the repository
    root sees it."""
    cells = Cells(df)
    problems = list(dict.fromkeys(d for d, _ in cells.cells))
    return "\n".join([
        f"Win rates over {len(cells.cells)} cells ({', '.join(problems)}; each cell's "
        "figure the mean over its seeds): the share of cells where the estimator's mean "
        "clean-test accuracy is above the peer's, its worst cell against plain "
        "cross-entropy (`RobustLossClassifier`) in points, and its mean rank among all "
        f"methods but the oracles. The [summary]({folder}/zoo_summary.md) has the checks "
        "of the defaults and the run's provenance.",
        "",
        win_rate_table(cells),
        "",
        f"![rank by cell]({folder}/zoo_ranks.png)",
        "",
    ])  # fmt: skip


def write(rows, output, *, provenance="", recommended=None):
    """Write zoo_summary.md, win_rates.md and zoo_ranks.png for the rows into ``output``."""
    from .report import frame

    output = Path(output)
    df = frame(rows)
    # Every figure of the summary is against plain cross-entropy or the peers: a run of
    # other methods alone (a variant of one estimator, say) has no summary.
    if df.empty or not (df["status"] == "ok").any() or not (df["method"] == CE).any():
        return
    recommended = recommended or zoo.RECOMMENDED
    (output / "zoo_summary.md").write_text(summary_markdown(df, recommended, provenance))
    resolved = output.resolve()
    folder = resolved.relative_to(ROOT) if resolved.is_relative_to(ROOT) else resolved
    (output / "win_rates.md").write_text(win_rates_markdown(df, folder.as_posix()))
    cells = Cells(df)
    if cells.cells:
        plot_ranks(cells, output / "zoo_ranks.png")
