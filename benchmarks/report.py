"""Summaries of the benchmark CSV: Markdown tables and plots.

``benchmarks/run.py`` calls :func:`write` after each run, over every row of the CSV
(``--resume`` with nothing left to run just redraws). Files written to the output
directory:

- ``bench.md``: per dataset, tables of clean-test accuracy, label-quality AUROC,
  label-issue precision / recall / F1 and fit time, methods x noise kinds, mean ± std
  over seeds; failed cells listed at the end.
- ``accuracy.png``: accuracy against the symmetric noise rate, one panel per dataset.
- ``precision_recall.png``: label-issue precision against recall, one panel per dataset.

When a cell was run more than once, its last row counts. Datasets, noise kinds and
methods appear in the order of their first row (``run.py`` sorts the rows in grid order).
"""

from __future__ import annotations

import os
import platform
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from .grid import CLEAN, KEY, ORACLES, SYMMETRIC_RATES

METRICS = {
    "accuracy": "Clean-test accuracy",
    "quality_auroc": "AUROC of label quality (wrong vs right labels)",
    "issue_f1": "Label-issue F1",
    "issue_precision": "Label-issue precision",
    "issue_recall": "Label-issue recall",
    "transition_error": "Transition-matrix error (largest absolute error per entry)",
    "fit_s": "Fit time (s)",
}
LOWER_IS_BETTER = ("transition_error", "fit_s")
NUMERIC = [*METRICS, "noise_rate_true", "noise_rate_est", "seed"]
LEGEND = (
    "`RobustLossClassifier` is plain cross-entropy; `oracle` is the same network trained "
    "on the true labels (it does not depend on the noise, so one value per seed fills "
    "every column); `cleanlab` is `CleanLearning` around that network, `cleanlab_hgb` "
    "around `HistGradientBoostingClassifier` (beside `FilterClassifier`, which wraps the "
    "same model by default). Best non-oracle "
    "mean per column in bold; a cell with fewer seeds than the others says how many "
    "(n=...)."
)


def frame(rows):
    """The rows as a DataFrame, numbers parsed: one row per cell, its last ok row if any,
    else its last row."""
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df = df.sort_values("status", key=lambda status: status == "ok", kind="stable")
    df = df.drop_duplicates(list(KEY), keep="last").sort_index()
    for column in NUMERIC:
        # A column added after the CSV was written is empty.
        df[column] = pd.to_numeric(df[column], errors="coerce") if column in df else np.nan
    return df


def _ordered(values):
    return list(dict.fromkeys(values))


def _cell(values, digits, n_seeds):
    values = values.dropna()
    if values.empty:
        return "–"
    text = f"{values.mean():.{digits}f}"
    if len(values) > 1:
        text += f" ± {values.std(ddof=1):.{digits}f}"
    if len(values) < n_seeds:
        text += f" (n={len(values)})"
    return text


def metric_table(df, metric, digits=3, bold_best=True):
    """Markdown table: methods x noise kinds, mean ± std over seeds of ``metric``."""
    ok = df[df["status"] == "ok"]
    noises = [n for n in _ordered(df["noise"]) if n != CLEAN]
    methods = _ordered(df["method"])
    n_seeds = df["seed"].nunique()
    means = {}
    lines = ["| method | " + " | ".join(noises) + " |", "|---|" + "---:|" * len(noises)]
    cells = {}
    for method in methods:
        for noise in noises:
            # The oracles never see the noise: their clean-label runs fill every column.
            select = ok["method"] == method
            select &= ok["noise"].isin([noise, CLEAN] if method in ORACLES else [noise])
            values = ok.loc[select, metric]
            cells[method, noise] = _cell(values, digits, n_seeds)
            if method not in ORACLES and not values.dropna().empty:
                means[method, noise] = values.mean()
    if bold_best:
        for noise in noises:
            candidates = {m: v for (m, n), v in means.items() if n == noise}
            if candidates:
                best = (min if metric in LOWER_IS_BETTER else max)(
                    candidates, key=candidates.get
                )
                cells[best, noise] = f"**{cells[best, noise]}**"
    for method in methods:
        if all(cells[method, noise] == "–" for noise in noises):
            continue
        lines.append(f"| {method} | " + " | ".join(cells[method, n] for n in noises) + " |")
    return "\n".join(lines)


@cache
def commit():
    """The commit of the code that ran (the sknoisy package's checkout), ``+dirty`` when
    sknoisy or benchmarks had uncommitted changes; "unknown" outside a git checkout."""
    import subprocess

    import sknoisy

    root = Path(sknoisy.__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "sknoisy", "benchmarks/*.py"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def provenance(df, command, jobs):
    import torch

    import sknoisy

    finished = df["finished"].dropna().max() if "finished" in df else ""
    seeds = ", ".join(str(int(s)) for s in sorted(df["seed"].unique()))
    threads = ", ".join(sorted(df["threads"].astype(str).unique()))
    epochs = sorted(set(df["max_epochs"].astype(str)) - {"", "nan"})
    commits = sorted(set(df["commit"].astype(str)) - {"", "nan"}) if "commit" in df else []
    return (
        f"This report was last written by `{command}`; cells ran on commit "
        f"{', '.join(commits) or 'unknown'}, the last finished "
        f"{finished[:16].replace('T', ' ')} UTC; "
        f"seeds {seeds}; {os.cpu_count()} CPU cores ({platform.machine()}), "
        f"{jobs} worker(s) with {threads} torch thread(s) each; sknoisy {sknoisy.__version__}, "
        f"torch {torch.__version__}, Python {platform.python_version()}"
        + (f"; max_epochs overridden to {', '.join(epochs)}" if epochs else "; default epochs")
        + "."
    )


def failures(df):
    failed = df[df["status"] != "ok"]
    if failed.empty:
        return ""
    lines = [
        "## Failed cells",
        "",
        "| dataset | noise | seed | method | error |",
        "|---|---|---|---|---|",
    ]
    for row in failed.itertuples():
        error = str(row.error).replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {row.dataset} | {row.noise} | {row.seed} | {row.method} | {error} |")
    return "\n".join(lines)


def bench_markdown(df, command, jobs, speed_table=""):
    parts = ["# Benchmark grid", "", provenance(df, command, jobs), "", LEGEND, ""]
    for dataset in _ordered(df["dataset"]):
        subset = df[df["dataset"] == dataset]
        n_train = int(pd.to_numeric(subset["n_train"], errors="coerce").max())
        parts += [f"## {dataset} ({n_train} training rows)", ""]
        if not (subset["status"] == "ok").any():
            parts += ["No cell of this dataset ran successfully; see Failed cells.", ""]
            continue
        for metric, title in METRICS.items():
            table = metric_table(subset, metric, digits=1 if metric == "fit_s" else 3)
            if table.count("\n") > 1:  # a row beyond the header (no method has this metric)
                parts += [f"### {title}", "", table, ""]
    if speed_table:
        parts += ["## Fit time against a hand-written PyTorch loop", "", speed_table, ""]
    parts.append(failures(df))
    return "\n".join(parts).rstrip() + "\n"


def _style(index):
    """Colour, marker and line style of the index-th method: ten dark colours with solid
    lines, then ten light ones with dashed lines, then dotted."""
    import matplotlib.pyplot as plt

    colors = plt.get_cmap("tab20").colors
    color = colors[2 * (index % 10) + (index // 10) % 2]
    return color, "osD^vP*Xh<"[index % 10], ("-", "--", ":")[index // 10 % 3]


def plot_accuracy(df, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = df[df["status"] == "ok"]
    datasets = _ordered(df["dataset"])
    methods = _ordered(df["method"])
    fig, axes = _panels(plt, len(datasets))
    for ax, dataset in zip(axes.flat, datasets, strict=False):
        subset = ok[ok["dataset"] == dataset]
        for i, method in enumerate(methods):
            color, marker, linestyle = _style(i)
            rows = subset[subset["method"] == method]
            if method in ORACLES:
                if not rows.empty:
                    ax.axhline(rows["accuracy"].mean(), color=color, ls="--", lw=1, label=method)
                continue
            stats = (
                rows[rows["noise"].isin(SYMMETRIC_RATES)]
                .assign(rate=lambda d: d["noise"].map(SYMMETRIC_RATES))
                .groupby("rate")["accuracy"]
                .agg(["mean", "std"])
            )
            if stats.empty:
                continue
            ax.errorbar(
                stats.index, stats["mean"], yerr=stats["std"].fillna(0), color=color,
                marker=marker, ls=linestyle, ms=4, lw=1.2, capsize=2, label=method,
            )  # fmt: skip
        ax.set_title(dataset)
        ax.set_xlabel("symmetric noise rate")
        ax.set_ylabel("clean-test accuracy")
        ax.set_xticks(list(SYMMETRIC_RATES.values()))
        ax.grid(alpha=0.3)
    handles, labels = _legend(axes)
    fig.tight_layout()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1, 0.5), fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_precision_recall(df, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = df[(df["status"] == "ok") & (df["noise"] != CLEAN)]
    ok = ok.dropna(subset=["issue_precision", "issue_recall"])
    datasets = _ordered(df["dataset"])
    methods = _ordered(df["method"])  # the accuracy plot's order, hence its colours
    noises = _ordered(ok["noise"])
    markers = dict(zip(noises, "osD^vP*Xh", strict=False))
    fig, axes = _panels(plt, len(datasets))
    for ax, dataset in zip(axes.flat, datasets, strict=False):
        means = (
            ok[ok["dataset"] == dataset]
            .groupby(["method", "noise"])[["issue_precision", "issue_recall"]]
            .mean()
        )
        for i, method in enumerate(methods):
            color, _, _ = _style(i)
            face = color if i < 10 else "none"  # hollow markers from the 11th method on
            for noise in noises:
                if (method, noise) in means.index:
                    precision, recall = means.loc[(method, noise)]
                    ax.scatter(
                        recall, precision, edgecolors=color, facecolors=face,
                        marker=markers[noise], s=22,
                    )  # fmt: skip
        ax.set_title(dataset)
        ax.set_xlabel("label-issue recall")
        ax.set_ylabel("label-issue precision")
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    with_issues = set(ok["method"])
    handles = [
        plt.Line2D(
            [],
            [],
            color=_style(i)[0],
            mfc=_style(i)[0] if i < 10 else "none",
            marker="o",
            ls="",
            label=m,
        )
        for i, m in enumerate(methods)
        if m in with_issues
    ] + [
        plt.Line2D([], [], color="black", mfc="none", marker=markers[n], ls="", label=n)
        for n in noises
    ]
    fig.tight_layout()
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1, 0.5), fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def _panels(plt, n, columns=4):
    """A figure with one panel per problem, ``columns`` to a row; unused panels hidden."""
    ncols = min(columns, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5 * ncols, 4.5 * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes


def _legend(axes):
    seen = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    return list(seen.values()), list(seen)


def write(rows, output, *, command, jobs):
    """Write bench.md and the plots for the rows into ``output``."""
    output = Path(output)
    df = frame(rows)
    if df.empty:
        return
    speed = output / "speed.md"
    speed_table = ""
    if speed.exists():
        speed_table = "\n".join(
            line for line in speed.read_text().splitlines() if line.startswith("|")
        )
    (output / "bench.md").write_text(bench_markdown(df, command, jobs, speed_table))
    plot_accuracy(df, output / "accuracy.png")
    plot_precision_recall(df, output / "precision_recall.png")


def run_summary(rows):
    """One line per dataset, noise kind and method: means over the seeds run."""
    df = frame(rows)
    if df.empty:
        return "no results"
    df["errors"] = (df["status"] != "ok").astype(int)
    ok = df["status"] == "ok"
    columns = ["accuracy", "quality_auroc", "issue_precision", "issue_recall", "issue_f1", "fit_s"]
    df.loc[~ok, columns] = np.nan
    df["seeds"] = ok.astype(int)
    df["noise"] = pd.Categorical(df["noise"], _ordered([CLEAN, *df["noise"]]))
    df["method"] = pd.Categorical(df["method"], _ordered(df["method"]))
    summary = df.groupby(["dataset", "noise", "method"], sort=True, observed=True).agg(
        {**dict.fromkeys(columns, "mean"), "seeds": "sum", "errors": "sum"}
    )
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        return summary.to_string(float_format=lambda v: f"{v:.3f}", na_rep="–")
