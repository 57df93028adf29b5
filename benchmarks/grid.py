"""What a benchmark run is made of: names shared by run.py and report.py.

The problems and noise kinds themselves are defined in ``zoo.py``.
"""

from .zoo import HALVES, NOISE_KINDS

NOISE = NOISE_KINDS
SYMMETRIC_RATES = {name: int(name[3:]) / 100 for name in NOISE if name.startswith("sym")}
CLEAN = "none"  # the noise name of the oracles' cells: they train on the true labels
# A dataset name "PROBLEM@raw" is PROBLEM fitted on its raw, unscaled features.
RAW = "@raw"
BASELINES = (
    "oracle",
    "oracle_hgb",
    "HistGradientBoostingClassifier",
    "cleanlab",
    "cleanlab_hgb",
)
# Baselines trained on the true labels: they run once per problem and seed.
ORACLES = ("oracle", "oracle_hgb")
# Methods that exist but are not in a default run.
EXTRA_METHODS = (
    "LogisticRegression", "MLPClassifier", "cleanlab_logreg", "filter_logreg", "auto_linear",
)  # fmt: skip
# Methods around HistGradientBoosting (which takes no sparse matrix).
HGB_BASED = ("HistGradientBoostingClassifier", "cleanlab_hgb", "oracle_hgb")
# CleanLearning around a network, HistGradientBoosting or a logistic regression.
CLEANLAB = ("cleanlab", "cleanlab_hgb", "cleanlab_logreg")
DEFAULT_HALF = "tuning"
HALF_NAMES = tuple(HALVES)
# A cell is identified by these CSV columns.
KEY = ("dataset", "noise", "seed", "method", "max_epochs")
