"""One network trained with a noise-robust per-sample loss."""

from __future__ import annotations

from ._base import BaseNoisyClassifier, fill_doc
from ._training import NoisyLabelNet
from ._validation import check_number, check_option
from .losses import LOSSES, get_loss

__all__ = ["RobustLossClassifier"]

# Defaults of ``beta`` per loss: SCE weighs its reverse term by 1 (Wang et al., 2019);
# bootstrapping keeps 95% (soft) or 80% (hard) of the given label (Reed et al., 2015).
_DEFAULT_BETA = {"sce": 1.0, "bootstrap_soft": 0.95, "bootstrap_hard": 0.8}


class RobustLossNet(NoisyLabelNet):
    """One network on the robust loss; trusted rows on cross-entropy, whose full
    gradient a robust loss gives up to resist wrong labels."""

    def compute_loss(self, X, y, index):
        logits = self.module_(X)
        self.record_logits(index, logits)
        losses = self.trusted_on_cross_entropy(self.criterion_(logits, y), logits, y, index)
        return self.weighted_mean(losses, index), (logits,)


@fill_doc
class RobustLossClassifier(BaseNoisyClassifier):
    """A network trained with a noise-robust loss (or plain cross-entropy).

    ``loss="ce"`` is the plain baseline every other estimator is compared with.

    Parameters
    ----------
    loss : {"ce", "gce", "sce", "mae", "bootstrap_soft", "bootstrap_hard"}, default="ce"
        Per-sample loss; see :mod:`sknoisy.losses`:

        - ``"ce"``: cross-entropy.
        - ``"gce"``: generalised cross-entropy (Zhang & Sabuncu, 2018), ``q``.
        - ``"sce"``: symmetric cross-entropy (Wang et al., 2019), ``alpha``, ``beta``.
        - ``"mae"``: mean absolute error (Ghosh et al., 2017).
        - ``"bootstrap_soft"``, ``"bootstrap_hard"``: bootstrapping (Reed et al., 2015),
          ``beta`` is the weight of the given label.
    q : float, default=0.7
        GCE exponent in (0, 1]; towards 0 it approaches cross-entropy, 1 gives MAE.
    alpha : float, default=0.1
        SCE weight of the cross-entropy term.
    beta : float or None, default=None
        SCE weight of the reverse cross-entropy term (default 1.0), or the bootstrapping
        weight of the given label (default 0.95 soft, 0.8 hard).
    {common_parameters}

    Attributes
    ----------
    {common_attributes}

    See Also
    --------
    CoTeachingClassifier : two networks teaching each other on small-loss samples.

    Notes
    -----
    ``label_quality_`` is the network's probability of the given label averaged over all
    epochs (recorded during training, at no extra forward pass); averaging keeps the
    evidence of the epochs before the network memorises wrong labels. ``noise_rate_``
    is the median over epochs of the confident-learning estimate
    (:func:`~sknoisy.quality.estimate_noise_rate`, history column ``noise_rate``).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknoisy import RobustLossClassifier, make_label_noise
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy = make_label_noise(y, "symmetric", 0.2, random_state=0)
    >>> clf = RobustLossClassifier("gce", max_epochs=5, random_state=0).fit(X / 16, y_noisy)
    >>> clf.predict(X[:3] / 16).shape
    (3,)
    >>> clf.label_quality_.shape
    (1797,)
    """

    _net_class = RobustLossNet

    def __init__(
        self,
        loss="ce",
        *,
        q=0.7,
        alpha=0.1,
        beta=None,
        standardize=True,
        module=None,
        module_params=None,
        hidden_layer_sizes=(256, 256),
        dropout=0.0,
        max_epochs="auto",
        batch_size=128,
        lr=1e-3,
        optimizer="adam",
        weight_decay=0.0,
        device="auto",
        precision="fp32",
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.loss = loss
        self.q = q
        self.alpha = alpha
        self.beta = beta
        self.standardize = standardize
        self.module = module
        self.module_params = module_params
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def _criterion(self):
        check_option(self.loss, "loss", LOSSES)
        params = {}
        if self.loss == "gce":
            params["q"] = self.q
        if self.loss == "sce":
            params["alpha"] = self.alpha
        if self.loss in _DEFAULT_BETA:
            beta = _DEFAULT_BETA[self.loss] if self.beta is None else self.beta
            check_number(beta, "beta", low=0)
            params["beta"] = beta
        return get_loss(self.loss, reduction="none", **params)
