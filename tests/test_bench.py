"""Smoke tests of the benchmark grid, benchmarks/run.py (its ``--quick`` mode)."""

import csv
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import run  # noqa: E402  (benchmarks/run.py, through the path above)

import sknoisy  # noqa: E402


def read_csv(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("bench")
    assert run.main(["--quick", "--output", str(output)]) == 0
    return output


def test_quick_run_fills_every_cell_and_writes_the_reports(quick_run):
    rows = read_csv(quick_run / "bench.csv")
    methods = run.default_methods()
    # Every method at sym20 and sym60, except the oracle: once, on the clean labels.
    assert len(rows) == 2 * (len(methods) - 1) + 1
    assert {row["method"] for row in rows} == set(methods)
    failed = [(row["method"], row["error"]) for row in rows if row["status"] != "ok"]
    assert failed == []
    for row in rows:
        assert row["dataset"] == "digits" and row["seed"] == "0" and row["max_epochs"] == "3"
        assert 0.0 <= float(row["accuracy"]) <= 1.0
        assert float(row["fit_s"]) > 0
        if row["method"] not in ("oracle", "LogisticRegression", "HistGradientBoostingClassifier"):
            # Every estimator with label quality, cleanlab included, finds the flipped rows
            # better than chance, even after three epochs.
            assert float(row["quality_auroc"]) > 0.75, row
            assert 0 < float(row["issue_f1"]) <= 1, row
        else:
            assert row["quality_auroc"] == "nan"
    noise = {row["noise"]: float(row["noise_rate_true"]) for row in rows}
    assert noise == pytest.approx({"sym20": 0.2, "sym60": 0.6, "none": 0.0}, abs=0.001)

    bench = (quick_run / "bench.md").read_text()
    assert "## digits (1257 training rows)" in bench
    assert "| method | sym20 | sym60 |" in bench
    assert "--quick" in bench and "max_epochs overridden to 3" in bench
    assert "Failed cells" not in bench
    headline = (quick_run / "headline.md").read_text()
    assert "**digits**" in headline and "| cleanlab |" in headline
    for plot in ("accuracy.png", "precision_recall.png"):
        assert (quick_run / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_default_grid_runs_every_exported_estimator_and_each_robust_loss():
    methods = run.default_methods()
    exported = [
        name for name in sknoisy.__all__ if name.endswith("Classifier") and name[0].isupper()
    ]
    assert set(exported) <= set(methods)
    for loss in sknoisy.losses.LOSSES:
        if loss != "ce":
            assert f"RobustLossClassifier:loss={loss}" in methods
    assert {"oracle", "LogisticRegression", "HistGradientBoostingClassifier", "cleanlab"} <= set(
        methods
    )


def test_a_failing_cell_is_recorded_and_the_run_goes_on(tmp_path, capsys):
    argv = ["--quick", "--noise", "sym40", "--output", str(tmp_path)]
    methods = "RobustLossClassifier:loss='no-such-loss',LogisticRegression"
    assert run.main([*argv, "--methods", methods]) == 0
    rows = {row["method"]: row for row in read_csv(tmp_path / "bench.csv")}
    bad = rows["RobustLossClassifier:loss='no-such-loss'"]
    assert bad["status"] == "error"
    assert "ValueError" in bad["error"] and "no-such-loss" in bad["error"]
    assert rows["LogisticRegression"]["status"] == "ok"
    assert "1 cell(s) failed" in capsys.readouterr().out
    assert "## Failed cells" in (tmp_path / "bench.md").read_text()

    # --resume runs only the cells without an ok row: the failed one.
    assert run.main([*argv, "--methods", methods, "--resume"]) == 0
    out = capsys.readouterr().out
    assert "--resume: 1 cell(s) already in" in out and "1 cell(s): datasets" in out
    assert len(read_csv(tmp_path / "bench.csv")) == 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--methods", "NoSuchClassifier"], "unknown method 'NoSuchClassifier'"),
        (["--methods", "CoTeachingClassifier:no_such_param=1"], "no_such_param"),
        (["--methods", "CoTeachingClassifier:forget_rate"], "expected Name:param=value"),
        (["--noise", "sym50"], "unknown noise ['sym50']"),
        (["--datasets", "mnist"], "unknown dataset ['mnist']"),
        (["--jobs", "0"], "--jobs must be at least 1"),
    ],
)
def test_bad_arguments_exit_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as excinfo:
        run.parse_args(argv)
    assert excinfo.value.code == 2
    assert message in capsys.readouterr().err


def test_unreachable_optional_dataset_is_skipped(monkeypatch, capsys):
    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr("sklearn.datasets.fetch_openml", offline)
    run.load_dataset.cache_clear()
    assert run.available_datasets(["letter", "digits"]) == ["digits"]
    assert "dataset letter: skipped: OpenML not reachable (no network)" in capsys.readouterr().out


def test_the_oracle_trains_on_clean_labels_and_the_rest_on_noisy_ones():
    X_train, X_test, y_train, y_noisy, y_test = run.make_cell_data("digits", "pair40", 1)
    assert len(X_train) == 1257 and len(X_test) == 540
    assert abs(X_train.mean()) < 1e-5  # standardised with the training split
    assert (y_noisy != y_train).mean() == pytest.approx(0.4, abs=0.01)
    clean = run.make_cell_data("digits", run.CLEAN, 1)
    assert (clean[3] == clean[2]).all() and (clean[2] == y_train).all()
