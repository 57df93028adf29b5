"""Smoke test of the scale benchmark, benchmarks/scale.py."""

import csv

import numpy as np

import sknoisy
from benchmarks import scale
from sknoisy.discovery import all_estimators


def test_every_exported_estimator_is_measured():
    measured = {name.split("(")[0] for name in scale.ESTIMATORS}
    # AutoClassifier fits its candidates, each measured here, one after another.
    assert measured == {name for name, _ in all_estimators()} - {"AutoClassifier"}


def test_generated_data_are_float32_with_the_noise_rate():
    X, y = scale.make_data(5000)
    assert X.dtype == np.float32 and X.shape == (5000, scale.N_FEATURES)
    assert set(np.unique(y)) == set(range(scale.N_CLASSES))
    X_again, y_again = scale.make_data(5000)  # the same data every time
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(y, y_again)


def test_the_filter_entries_wrap_the_stated_estimators():
    around_network = scale.make_estimator("FilterClassifier(RobustLossClassifier)")
    assert isinstance(around_network.estimator, sknoisy.RobustLossClassifier)
    assert around_network.estimator.max_epochs == scale.MAX_EPOCHS
    assert scale.make_estimator("FilterClassifier(HGB)").estimator is None  # its default


def test_a_short_run_measures_in_subprocesses_and_writes_the_reports(tmp_path):
    names = "RobustLossClassifier"
    argv = ["--sizes", "600,1200", "--estimators", names, "--output", str(tmp_path),
            "--data-dir", str(tmp_path / "data")]  # fmt: skip
    assert scale.main(argv) == 0
    with (tmp_path / "scale.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["estimator"], r["n_samples"]) for r in rows] == [
        (name, n) for n in ("600", "1200") for name in names.split(",")
    ]
    for row in rows:
        assert row["status"] == "ok", row["error"]
        # The peak includes the data, which the process loaded after its baseline.
        assert float(row["fit_peak_mb"]) >= float(row["data_mb"]) > 0
        assert float(row["fit_s"]) > 0
    report = (tmp_path / "scale.md").read_text()
    assert "| `RobustLossClassifier` | 1,200 |" in report
    assert "600→1,200" in report
    summary = (tmp_path / "scale_summary.md").read_text()
    assert "| `RobustLossClassifier` |" in summary and "peak / bound at 1,200 rows" in summary
    # The reports can be rewritten from the CSV alone.
    (tmp_path / "scale_summary.md").unlink()
    assert scale.main(["--report-only", "--output", str(tmp_path)]) == 0
    assert (tmp_path / "scale_summary.md").read_text() == summary


def test_a_failing_fit_becomes_an_error_row(tmp_path):
    row = scale.run_in_subprocess("NoSuchClassifier", 600, tmp_path)
    assert row["status"] == "error" and "NoSuchClassifier" in row["error"]


def test_hashed_text_rows_are_sparse_with_about_100_terms():
    X, y = scale.make_hashing_data(2000)
    assert X.format == "csr" and X.dtype == np.float32 and X.has_canonical_format
    assert X.shape == (2000, scale.HASHING_FEATURES)
    assert 85 <= X.nnz / X.shape[0] <= 115
    np.testing.assert_allclose(np.asarray(X.multiply(X).sum(axis=1)).ravel(), 1.0, rtol=1e-5)
    assert set(np.unique(y)) == set(range(scale.N_CLASSES))
    X_again, _ = scale.make_hashing_data(2000)
    assert (X != X_again).nnz == 0


def test_the_hashed_text_run_measures_the_sparse_fit_and_resumes(tmp_path):
    argv = ["--hashing", "--sizes", "600", "--estimators", "RobustLossClassifier",
            "--output", str(tmp_path), "--data-dir", str(tmp_path / "data")]  # fmt: skip
    assert scale.main(argv) == 0
    with (tmp_path / "scale_hashing.csv").open(newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["status"] == "ok", row["error"]
    # The bound counts the network's 2^18 x 256 first layer and its Adam state.
    parameters = scale.network_parameters(scale.HASHING_FEATURES, scale.N_CLASSES)
    assert float(row["bound_mb"]) > 16 * parameters / 2**20
    assert "| `RobustLossClassifier` | 600 |" in (tmp_path / "scale_hashing.md").read_text()
    modified = (tmp_path / "scale_hashing.csv").stat().st_mtime_ns
    assert scale.main(argv) == 0  # measured already: not again
    assert (tmp_path / "scale_hashing.csv").stat().st_mtime_ns == modified
