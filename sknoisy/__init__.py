"""sknoisy: scikit-learn classifiers that learn from noisily-labelled data.

Estimators
----------
AutoClassifier
    The method that suits the data: DivideMix, loss correction, NeighborMix, label
    cleaning and plain cross-entropy fitted on part of the rows, the best on the rest
    refitted on all.
RobustLossClassifier
    One network with a noise-robust loss; ``loss="ce"`` is the plain baseline.
CoTeachingClassifier
    Two networks teaching each other on their small-loss samples.
DualEMClassifier
    Two interconnected EM cycles: a main network separates clean from corrupted labels,
    an auxiliary network refurbishes the corrupted ones.
DivideMixClassifier
    Two networks divide the data into clean and noisy parts for each other and learn from
    both, semi-supervised (co-refined labels, co-guessed targets, mixup).
FilterClassifier
    Model-agnostic label cleaning for any scikit-learn classifier: out-of-sample
    probabilities (or a sknoisy detector) score the labels; the issues are pruned or
    down-weighted and the classifier refitted.
LossCorrectionClassifier
    One network whose loss is corrected by the noise transition matrix (forward,
    backward, or a learned noise-adaptation layer); the matrix given or estimated.
MentorNetClassifier
    A student network whose samples are weighted by a mentor (MentorNet's predefined,
    self-paced curriculum).
NeighborMixClassifier
    Synthetic rows mixed with their nearest neighbours in representation space, weighted
    by a loss mixture model, with gradually corrected soft labels.

Every estimator exposes ``fit``/``predict``/``predict_proba`` and, after fit,
``label_quality_`` (per training row, higher = label more likely right),
``label_issues_`` and ``noise_rate_``. The network estimators standardise their inputs
by default (``standardize=True``) and issue a ``DegenerateModelWarning`` when a fit ends
predicting a single class.

Modules
-------
sknoisy.noise      label-noise simulation (``make_label_noise``)
sknoisy.quality    label quality scores and label issues from predicted probabilities
sknoisy.losses     robust per-sample losses as torch modules
sknoisy.selection  schedules, small-loss selection, the loss mixture model, mixup,
                   augmentation of feature vectors
sknoisy.modules    the default MLP and access to a network's penultimate representation
sknoisy.callbacks  a training checkpoint that an interrupted fit resumes from
sknoisy.discovery  every estimator sknoisy ships, by kind (``all_estimators``)
sknoisy.display    pictures of a fitted estimator's noise matrix and label quality by
                   class (matplotlib optional)
"""

from ._base import DegenerateModelWarning
from .auto import AutoClassifier
from .correction import LossCorrectionClassifier
from .coteaching import CoTeachingClassifier
from .dividemix import DivideMixClassifier
from .dualem import DualEMClassifier
from .filter import FilterClassifier
from .mentornet import MentorNetClassifier
from .neighbormix import NeighborMixClassifier
from .noise import make_label_noise
from .robust import RobustLossClassifier

__all__ = [
    "AutoClassifier",
    "CoTeachingClassifier",
    "DegenerateModelWarning",
    "DivideMixClassifier",
    "DualEMClassifier",
    "FilterClassifier",
    "LossCorrectionClassifier",
    "MentorNetClassifier",
    "NeighborMixClassifier",
    "RobustLossClassifier",
    "make_label_noise",
]

__version__ = "0.1.0.dev0"
