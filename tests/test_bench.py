"""Smoke tests of the benchmark zoo's runner, benchmarks/run.py (its ``--quick`` mode)."""

import csv

import numpy as np
import pytest
import torch

from benchmarks import readme_tables, report, run, zoo
from sknoisy.discovery import all_estimators


def read_csv(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("bench")
    threads = torch.get_num_threads()
    assert run.main(["--quick", "--output", str(output)]) == 0
    torch.set_num_threads(threads)
    return output


def test_quick_run_fills_every_cell_and_writes_the_reports(quick_run):
    rows = read_csv(quick_run / "bench.csv")
    methods = run.default_methods()
    networks = [m for m in methods if run.Method.parse(m).is_network]
    assert len(networks) == 7
    # Per problem: every method at sym20 and real40 except the two oracles (once, on the
    # clean labels), and every network estimator on the raw features at sym20.
    assert len(rows) == 2 * (2 * (len(methods) - 2) + 2 + len(networks))
    assert {row["method"] for row in rows} == set(methods)
    failed = [(row["method"], row["error"]) for row in rows if row["status"] != "ok"]
    assert failed == []
    without_quality = ("oracle", "oracle_hgb", "HistGradientBoostingClassifier")
    for row in rows:
        assert row["dataset"] in ("wine", "breast_cancer", "wine@raw", "breast_cancer@raw")
        assert row["seed"] == "0" and row["max_epochs"] == "3"
        assert 0.0 <= float(row["accuracy"]) <= 1.0
        assert float(row["fit_s"]) > 0
        assert row["commit"]
        if row["dataset"].endswith("@raw"):
            assert row["noise"] == "sym20" and row["method"] in networks
        elif row["method"] not in without_quality:
            # Every estimator with label quality, cleanlab included, finds the flipped rows
            # better than chance, even after three epochs.
            assert float(row["quality_auroc"]) > 0.6, row
            assert 0 <= float(row["issue_f1"]) <= 1, row
        else:
            assert row["quality_auroc"] == "nan"
    noise = {row["noise"]: round(float(row["noise_rate_true"]), 2) for row in rows}
    assert noise == {"sym20": 0.2, "real40": 0.4, "none": 0.0}

    bench = (quick_run / "bench.md").read_text()
    assert "## wine (124 training rows)" in bench
    assert "| method | sym20 | real40 |" in bench
    assert "--quick" in bench and "max_epochs overridden to 3" in bench
    assert "Failed cells" not in bench
    summary = (quick_run / "zoo_summary.md").read_text()
    assert "## Win rates" in summary and "| `DualEMClassifier` |" in summary
    assert "## Checks of the defaults" in summary and "## Unscaled input" in summary
    assert "4 cells (problem x noise kind)" in summary
    # The excerpt README and the docs embed: the same table, links from the repository root
    # (the quick run writes outside it, so there the links are absolute).
    excerpt = (quick_run / "win_rates.md").read_text()
    table = [line for line in summary.split("## Checks")[0].splitlines() if line.startswith("|")]
    assert [line for line in excerpt.splitlines() if line.startswith("|")] == table
    assert f"![rank by cell]({quick_run.resolve().as_posix()}/zoo_ranks.png)" in excerpt
    for plot in ("accuracy.png", "precision_recall.png", "zoo_ranks.png"):
        assert (quick_run / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_default_run_has_every_exported_estimator_and_the_peers():
    methods = run.default_methods()
    assert {name for name, _ in all_estimators()} <= set(methods)
    peers = {"oracle", "oracle_hgb", "HistGradientBoostingClassifier", "cleanlab", "cleanlab_hgb"}
    assert peers <= set(methods)


def test_a_failing_cell_is_recorded_and_the_run_goes_on(tmp_path, capsys):
    argv = ["--quick", "--datasets", "wine", "--noise", "sym40", "--no-raw", "--output",
            str(tmp_path)]  # fmt: skip
    methods = "RobustLossClassifier:loss='no-such-loss',LogisticRegression"
    assert run.main([*argv, "--methods", methods]) == 0
    rows = {row["method"]: row for row in read_csv(tmp_path / "bench.csv")}
    bad = rows["RobustLossClassifier:loss=no-such-loss"]  # one spelling per method
    assert bad["status"] == "error"
    assert "InvalidParameterError" in bad["error"] and "no-such-loss" in bad["error"]
    assert rows["LogisticRegression"]["status"] == "ok"
    assert "1 cell(s) failed" in capsys.readouterr().out
    assert "## Failed cells" in (tmp_path / "bench.md").read_text()

    # --resume runs only the cells without an ok row: the failed one.
    assert run.main([*argv, "--methods", methods, "--resume"]) == 0
    out = capsys.readouterr().out
    assert "--resume: 1 cell(s) already in" in out and "1 cell(s): problems" in out
    assert len(read_csv(tmp_path / "bench.csv")) == 3


@pytest.mark.parametrize("method", ["cleanlab", "cleanlab_hgb"])
def test_the_cleanlab_peers_run_on_string_labels(method):
    # segment's classes are strings; CleanLearning itself takes class indices only.
    row = run.run_cell(("segment", "sym20", 0, method, 1), torch.get_num_threads())
    assert row["status"] == "ok", row["error"]
    assert row["accuracy"] > 1 / 7 and row["quality_auroc"] > 0.6


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--methods", "NoSuchClassifier"], "unknown method 'NoSuchClassifier'"),
        (["--methods", "CoTeachingClassifier:no_such_param=1"], "no_such_param"),
        (["--methods", "CoTeachingClassifier:forget_rate"], "expected Name:param=value"),
        (["--noise", "sym50"], "unknown noise ['sym50']"),
        (["--datasets", "cifar"], "unknown problem ['cifar']"),
        (["--half", "report", "--datasets", "wine"], "give --half or --datasets, not both"),
        (["--half", "other"], "invalid choice: 'other'"),
        (["--jobs", "0"], "--jobs must be at least 1"),
    ],
)
def test_bad_arguments_exit_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as excinfo:
        run.parse_args(argv)
    assert excinfo.value.code == 2
    assert message in capsys.readouterr().err


def test_the_oracles_train_on_clean_labels_and_the_rest_on_noisy_ones():
    X_train, X_test, y_train, y_noisy, y_test = run.make_cell_data("digits", "pair40", 1)
    assert len(X_train) == 1257 and len(X_test) == 540
    assert abs(X_train.mean()) < 1e-5  # standardised with the training split
    assert (y_noisy != y_train).mean() == pytest.approx(0.4, abs=0.01)
    clean = run.make_cell_data("digits", run.CLEAN, 1)
    assert (clean[3] == clean[2]).all() and (clean[2] == y_train).all()


def test_raw_cells_keep_the_features_and_get_the_same_noise():
    scaled = run.make_cell_data("wine", "real40", 2)
    raw = run.make_cell_data("wine@raw", "real40", 2)
    X, _ = zoo.load("wine")
    assert 100 < raw[0].max() <= X.max()
    assert abs(scaled[0].mean()) < 1e-5
    for s, r in zip(scaled[2:], raw[2:], strict=True):
        np.testing.assert_array_equal(s, r)


def test_cells_follow_each_problem_s_plan():
    cells = run.grid_cells(
        ["wine", "shuttle", "wine@raw"], None, None,
        ["CoTeachingClassifier", "FilterClassifier", "oracle"], None,
    )  # fmt: skip
    wine = {(c[1], c[2]) for c in cells if c[0] == "wine" and c[3] == "CoTeachingClassifier"}
    # Fewer than 500 test rows: seeds 0-4; three classes: no sym80.
    assert wine == {(n, s) for n in ("sym20", "sym40", "pair40", "inst40", "real40")
                    for s in range(5)}  # fmt: skip
    shuttle = {c[2] for c in cells if c[0] == "shuttle"}
    assert shuttle == {0}  # more than 10,000 training rows: one seed
    raw = {(c[1], c[3]) for c in cells if c[0] == "wine@raw"}
    assert raw == {("sym20", "CoTeachingClassifier")}  # networks only, at sym20
    oracle = [c for c in cells if c[3] == "oracle" and c[0] == "wine"]
    assert len(oracle) == 5 and {c[1] for c in oracle} == {run.CLEAN}


def test_two_workers_give_the_same_results_as_one(tmp_path):
    argv = ["--quick", "--datasets", "wine", "--noise", "sym40", "--no-raw",
            "--methods", "RobustLossClassifier,LogisticRegression"]  # fmt: skip
    results = []
    for jobs in ("1", "2"):
        output = tmp_path / jobs
        assert run.main([*argv, "--jobs", jobs, "--output", str(output)]) == 0
        rows = read_csv(output / "bench.csv")
        assert [row["status"] for row in rows] == ["ok", "ok"]
        results.append({row["method"]: (row["accuracy"], row["quality_auroc"]) for row in rows})
    assert results[0] == results[1]


def test_label_metrics_score_wrong_labels_as_the_positive_class():
    wrong = np.array([True, True, False, False, False, False])
    quality = np.array([0.1, 0.3, 0.2, 0.9, 0.8, 0.7])  # one right label scored below a wrong one
    issues = np.array([True, False, True, False, False, False])
    metrics = run.label_metrics(wrong, quality, issues, noise_rate_est=0.25)
    assert metrics["quality_auroc"] == pytest.approx(7 / 8)
    assert metrics["issue_precision"] == 0.5 and metrics["issue_recall"] == 0.5
    assert metrics["noise_rate_est"] == 0.25
    nothing_wrong = run.label_metrics(np.zeros(6, bool), quality, issues)
    assert np.isnan(nothing_wrong["quality_auroc"]) and np.isnan(nothing_wrong["issue_f1"])


def test_a_cell_s_last_ok_row_counts_and_csv_keys_round_trip():
    row = {"dataset": "digits", "noise": "sym40", "seed": "1", "method": "ce"}
    assert run.cell_key({**row, "max_epochs": ""}) == ("digits", "sym40", 1, "ce", None)
    assert run.cell_key({**row, "max_epochs": "3"})[-1] == 3

    base = {**row, "max_epochs": "", "threads": "1", "finished": "", "error": "", "n_train": "9"}
    base.update(dict.fromkeys(report.NUMERIC, "0.5"), seed="1", status="ok")
    rows = [
        {**base, "accuracy": "0.9"},
        {**base, "status": "error", "accuracy": "nan"},  # a later, failed rerun of the cell
        {**base, "seed": "2", "accuracy": "0.7"},
        {**base, "method": "gce", "accuracy": "0.6"},
        {**base, "method": "gce", "seed": "2", "status": "error", "accuracy": "nan"},
    ]
    df = report.frame(rows)
    assert list(zip(df["method"], df["seed"], df["status"], strict=True)) == [
        ("ce", 1, "ok"), ("ce", 2, "ok"), ("gce", 1, "ok"), ("gce", 2, "error"),
    ]  # fmt: skip
    table = report.metric_table(df, "accuracy")
    assert "| ce | **0.800 ± 0.141** |" in table  # the failed rerun did not replace seed 1
    assert "| gce | 0.600 (n=1) |" in table


def test_readme_blocks_are_filled_even_when_empty(tmp_path):
    (tmp_path / "table.md").write_text("# Title\n\n| a |\n|---|\n| 1 |\n")
    (tmp_path / "part.md").write_text("Some text.\n\n| b |\n")
    readme = (
        "intro\n<!-- results/table.md -->\nold\n<!-- /results/table.md -->\n"
        "<!-- include results/part.md -->\n<!-- /results/part.md -->\n"
        "<!-- results/missing.md -->\nkept\n<!-- /results/missing.md -->\n"
    )
    updated, count, missing = readme_tables.fill(readme, tmp_path)
    assert count == 3 and missing == ["missing.md"]
    assert updated == (
        "intro\n<!-- results/table.md -->\n| a |\n|---|\n| 1 |\n<!-- /results/table.md -->\n"
        "<!-- include results/part.md -->\nSome text.\n\n| b |\n<!-- /results/part.md -->\n"
        "<!-- results/missing.md -->\nkept\n<!-- /results/missing.md -->\n"
    )
    assert readme_tables.fill(updated, tmp_path)[0] == updated  # idempotent
