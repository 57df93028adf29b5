"""How the estimated noise rate and label-quality ranking depend on training length.

Digits, stratified 70/30 split (seed 0), 40% symmetric noise on the training labels;
each estimator behind a StandardScaler with default parameters except ``max_epochs``.
For each run: ``noise_rate_`` (true rate 0.40), recall of ``label_issues_`` against the
flipped rows, and the AUROC of ``label_quality_`` for telling right labels from wrong.

Run: ``make noise-rate`` (``.venv/bin/python -m benchmarks.noise_rate``); writes
``benchmarks/results/noise_rate.md``.
"""

from __future__ import annotations

import datetime
import pathlib
from functools import partial

from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sknoisy import CoTeachingClassifier, RobustLossClassifier, make_label_noise

RUNS = [
    ('RobustLossClassifier("ce")', partial(RobustLossClassifier, "ce"), (20, 50, 100, 200)),
    ('RobustLossClassifier("gce")', partial(RobustLossClassifier, "gce"), (50, 200)),
    ("CoTeachingClassifier()", CoTeachingClassifier, (50, 200)),
]
OUTPUT = pathlib.Path(__file__).parent / "results" / "noise_rate.md"


def main():
    X, y = load_digits(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    X_train = StandardScaler().fit_transform(X_train)
    y_noisy = make_label_noise(y_train, "symmetric", 0.4, random_state=0)
    flipped = y_noisy != y_train
    lines = [
        "# Noise-rate estimate against training length",
        "",
        f"Measured {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC with "
        "`benchmarks/noise_rate.py`: digits, 40% symmetric noise (true rate "
        f"{flipped.mean():.2f}), seed 0.",
        "",
        "| estimator | max_epochs | noise_rate_ | issue recall | quality AUROC |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, factory, epochs in RUNS:
        for max_epochs in epochs:
            est = factory(max_epochs=max_epochs, random_state=0).fit(X_train, y_noisy)
            recall = (est.label_issues_ & flipped).sum() / flipped.sum()
            auroc = roc_auc_score(~flipped, est.label_quality_)
            row = (
                f"| `{name}` | {max_epochs} | {est.noise_rate_:.3f} | {recall:.3f} | {auroc:.3f} |"
            )
            print(row, flush=True)
            lines.append(row)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text("\n".join(lines) + "\n")
    print(f"written to {OUTPUT.relative_to(pathlib.Path.cwd())}")


if __name__ == "__main__":
    main()
