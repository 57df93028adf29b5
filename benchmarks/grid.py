"""What the benchmark grid is made of: names shared by run.py and report.py."""

NOISE = {
    "sym20": ("symmetric", 0.2),
    "sym40": ("symmetric", 0.4),
    "sym60": ("symmetric", 0.6),
    "sym80": ("symmetric", 0.8),
    "pair40": ("pairflip", 0.4),
    "inst40": ("instance", 0.4),
}
SYMMETRIC_RATES = {name: rate for name, (kind, rate) in NOISE.items() if kind == "symmetric"}
CLEAN = "none"  # the noise name of the oracle's cells: it trains on the true labels
DEFAULT_DATASETS = ("digits", "synthetic", "highdim")
OPTIONAL_DATASETS = ("letter", "covertype")
DEFAULT_SEEDS = (0, 1, 2)
BASELINES = (
    "oracle",
    "LogisticRegression",
    "HistGradientBoostingClassifier",
    "cleanlab",
    "cleanlab_hgb",
)
# A cell is identified by these CSV columns.
KEY = ("dataset", "noise", "seed", "method", "max_epochs")
