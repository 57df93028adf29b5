"""Smoke test of the model-selection benchmark, benchmarks/model_selection.py."""

import csv

import pytest
import torch

from benchmarks import model_selection
from sknoisy.discovery import all_estimators


def test_every_exported_network_estimator_has_a_grid():
    # AutoClassifier is itself a choice among estimators that have grids here.
    classifiers = {name for name, _ in all_estimators()} - {"AutoClassifier"}
    assert set(model_selection.GRIDS) == classifiers


def test_a_short_run_writes_one_row_per_candidate_and_the_report(tmp_path, capsys):
    threads = torch.get_num_threads()
    argv = ["--datasets", "digits", "--noises", "pair40", "--estimators",
            "RobustLossClassifier", "--max-epochs", "2", "--jobs", "1",
            "--output", str(tmp_path)]  # fmt: skip
    assert model_selection.main(argv) == 0
    torch.set_num_threads(threads)
    with (tmp_path / "model_selection.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    _, param, values = model_selection.GRIDS["RobustLossClassifier"]
    assert [row["param"] for row in rows] == [param] * len(values)
    for row in rows:
        for column in ["clean_accuracy"] + [f"cv_{s}" for s in model_selection.SCORERS]:
            assert 0 <= float(row[column]) <= 1
    report = (tmp_path / "model_selection.md").read_text()
    assert "## digits, pair40 (seed 0)" in report
    assert "| RobustLossClassifier | `q` |" in report
    assert "at least one noise-aware scorer" in report
    summary = (tmp_path / "model_selection_summary.md").read_text()
    assert summary.strip() in report

    # A second run skips the finished cell.
    assert model_selection.main(argv) == 0
    torch.set_num_threads(threads)
    assert "searching 0 cells" in capsys.readouterr().out


def test_unknown_estimators_are_refused(tmp_path):
    with pytest.raises(SystemExit):
        model_selection.main(["--estimators", "NoSuchClassifier", "--output", str(tmp_path)])
