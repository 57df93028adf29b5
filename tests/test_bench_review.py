"""The review-loop benchmark (benchmarks/review_loop.py) and the trusted-rows comparison
(benchmarks/trusted_report.py), on a small problem with a fast network."""

import numpy as np
import pytest
from sklearn.datasets import make_classification

import sknoisy
from benchmarks import review_loop, run, trusted_report, zoo
from sknoisy import make_label_noise

FAST = dict(max_epochs=4, hidden_layer_sizes=(16,))


@pytest.fixture
def small_cell(monkeypatch):
    """The benchmark's cell data and estimators replaced by 300 rows of 3 classes at 40%
    symmetric noise and fast networks."""
    X, y = make_classification(
        n_samples=400, n_features=6, n_informative=4, n_classes=3, random_state=0
    )
    X = X.astype(np.float32)
    y_noisy = make_label_noise(y[:300], "symmetric", 0.4, random_state=0)
    data = (X[:300], X[300:], y[:300], y_noisy, y[300:])
    monkeypatch.setattr(run, "make_cell_data", lambda dataset, noise, seed: data)

    def fast(Estimator):
        return lambda **params: Estimator(**{**FAST, **params})

    monkeypatch.setattr(zoo, "RECOMMENDED", "FastCE")
    monkeypatch.setattr(sknoisy, "FastCE", fast(sknoisy.RobustLossClassifier), raising=False)
    monkeypatch.setattr(sknoisy, "RobustLossClassifier", fast(sknoisy.RobustLossClassifier))
    return data


@pytest.mark.parametrize("arm", review_loop.ARMS)
def test_each_arm_reviews_new_rows_every_round_and_counts_what_it_finds(arm, small_cell):
    _, _, y_train, y_noisy, _ = small_cell
    rows = review_loop.run_arm("segment", "sym40", 0, arm, threads=1)
    assert [r["status"] for r in rows] == ["ok"] * (review_loop.ROUNDS + 1)
    assert [r["round"] for r in rows] == list(range(review_loop.ROUNDS + 1))
    per_round = round(review_loop.SHARE_PER_ROUND * len(y_train))
    assert [r["reviewed"] for r in rows] == [per_round * k for k in range(len(rows))]
    wrong = int((y_noisy != y_train).sum())
    for row in rows:
        # Every wrong label found is fixed: found + still wrong = wrong at the start.
        assert row["found"] + row["wrong_left"] == wrong
        assert 0 <= row["found"] <= row["reviewed"] and 0 <= row["accuracy"] <= 1
    if arm != "random":
        # A ranking of label quality finds wrong labels far above the noise rate.
        assert rows[-1]["found"] > 0.6 * rows[-1]["reviewed"]


def test_the_report_checks_the_last_round_of_complete_cells(tmp_path):
    def arm_rows(arm, found, accuracy):
        return [
            dict(dataset="segment", noise="sym40", seed="0", arm=arm, round=str(k),
                 reviewed=str(10 * k), found=str(found * k // review_loop.ROUNDS),
                 wrong_left=str(100 - found * k // review_loop.ROUNDS),
                 accuracy=str(accuracy), fit_s="1.0", status="ok", commit="abc")
            for k in range(review_loop.ROUNDS + 1)
        ]  # fmt: skip

    rows = arm_rows("sknoisy", 45, 0.9) + arm_rows("cleanlab", 40, 0.8) + arm_rows(
        "random", 20, 0.85
    )
    text = review_loop.report_markdown(rows)
    assert "| segment sym40 seed 0 | 100 | 45 | 40 | 20 |" in text
    assert "in 1 of 1 cells (holds: every cell), more in 1 (holds" in text
    assert "above CleanLearning's in 1 of 1 cells (holds" in text
    worse = arm_rows("sknoisy", 30, 0.7) + arm_rows("cleanlab", 40, 0.8)
    text = review_loop.report_markdown(worse + arm_rows("random", 20, 0.85))
    assert "in 0 of 1 cells (fails: every cell)" in text and "(fails: at least 90%)" in text
    # An arm without its last round leaves the cell out.
    assert "| segment" not in review_loop.report_markdown(rows[:-1])


def test_the_trusted_comparison_pairs_the_seeds_and_checks_every_cell():
    def row(method, seed, accuracy):
        return dict(dataset="segment", noise="sym40", seed=str(seed), method=method,
                    max_epochs="", accuracy=str(accuracy), status="ok")  # fmt: skip

    without = [row(zoo.RECOMMENDED, s, 0.90) for s in range(3)]
    with_trusted = [row(trusted_report.TRUSTED, s, 0.92) for s in range(2)]
    text = trusted_report.markdown(trusted_report.comparison(without, with_trusted))
    assert "| segment sym40 | 2 | 0.900 | 0.920 | +2.0 ± 0.0 |" in text
    assert "**holds** in all 1" in text and "mean difference +2.00" in text
    worse = [row(trusted_report.TRUSTED, s, 0.88) for s in range(3)]
    text = trusted_report.markdown(trusted_report.comparison(without, worse))
    assert "**fails** in 1 of 1: segment sym40 (-2.0)" in text
