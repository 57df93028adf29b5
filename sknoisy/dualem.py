"""DualEM: two interconnected EM cycles with a confidence regulariser.

Kim et al., "Learning with Noisy Labels: Interconnection of Two
Expectation-Maximizations", arXiv:2401.04390 (the paper's "LNL-flywheel"). The docs page
``docs/dualem.md`` says which parts follow the paper and which are reconstructions.

Model: each given label comes from the clean manifold with probability ``gamma`` (the
main network's ``p(y~|x)``) or from corruption with probability ``1 - gamma``
(uniform, ``1/K``). Per epoch, after a warm-up on all labels:

1. main E-step (:func:`main_e_step`): every row's posterior cleanness
   ``w = gamma p / (gamma p + (1-gamma)/K)`` from the main network (eval mode, whole
   training set), smoothed across epochs;
2. assignment (:func:`assign`): each row is judged clean or corrupted from ``w``
   (``selection``);
3. auxiliary E-step (:func:`auxiliary_e_step`): the auxiliary network's sharpened
   probabilities are the refurbished soft labels of the corrupted rows;
4. auxiliary M-step (:func:`auxiliary_m_step_loss`, per batch): the auxiliary network
   learns the clean rows' given labels, weighted by ``w``, and its own confident
   pseudo-labels on a strongly augmented view of the corrupted rows;
5. main M-step (:func:`main_m_step_loss`, per batch): the main network learns every
   row, clean rows with their given label and corrupted rows with their refurbished
   label, plus (``cr``, off by default) the confidence regulariser, which makes fitting
   the corrupted labels costly.

Steps 1 to 3 run at the start of every epoch after the warm-up (``DualEMNet.e_steps``),
steps 4 and 5 on every batch.

The main network alone predicts.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ._base import BaseNoisyClassifier, fill_doc
from ._training import NoisyLabelNet
from ._validation import Epochs, Number, Option
from .losses import get_loss
from .quality import confident_joint, estimate_noise_rate
from .selection import linear_ramp, loss_mixture_clean_posterior, sharpen

__all__ = ["DualEMClassifier"]

CORRUPTIONS = ("transition", "uniform")
SELECTIONS = ("sample", "threshold", "topk")
REGULARISERS = ("cores", "entropy", "none")
# The clean fraction gamma is kept in this range: at 0 or 1 the posterior is constant.
_GAMMA_RANGE = (0.05, 0.995)
# Floor of the log-probabilities in the confidence regulariser.
_LOG_PROBA_FLOOR = math.log(1e-8)


# -- the algorithm's steps, on tensors ----------------------------------------------------
def main_e_step(p_given, corruption_density, gamma):
    """Main E-step: each row's posterior cleanness by Bayes' rule, under the mixture of
    the clean manifold (probability ``gamma``, density ``p_given``, the main network's
    probability of the given label) and the corruption process (``1 - gamma``,
    ``corruption_density``).

    Returns ``(w, evidence)``: the posterior and the mixture's density of each given
    label. Both densities can underflow to 0 (a saturated network with ``gamma = 1``):
    the evidence is kept above the smallest positive number, and such a row gets
    ``w = 0``, no evidence of being clean.

    Examples
    --------
    >>> import torch
    >>> w, evidence = main_e_step(torch.tensor([0.9, 0.1]), torch.tensor([0.5, 0.5]), 0.5)
    >>> [round(v, 3) for v in w.tolist()]  # 0.45 / (0.45 + 0.25), 0.05 / (0.05 + 0.25)
    [0.643, 0.167]
    """
    clean = gamma * p_given
    corrupted = (1.0 - gamma) * corruption_density
    evidence = (clean + corrupted).clamp_min(torch.finfo(clean.dtype).tiny)
    return clean / evidence, evidence


def assign(cleanness, gamma, selection):
    """Assignment: each row to the clean (1.0) or the corrupted (0.0) component, from
    its cleanness: drawn with that probability (``"sample"``, stochastic EM), at least
    0.5 (``"threshold"``), or the ``ceil(gamma * n)`` cleanest rows (``"topk"``)."""
    if selection == "sample":
        return torch.bernoulli(cleanness)
    if selection == "threshold":
        return (cleanness >= 0.5).to(torch.float32)
    k = max(1, int(np.ceil(gamma * len(cleanness))))
    selected = torch.zeros_like(cleanness)
    selected[torch.topk(cleanness, k).indices] = 1.0
    return selected


def auxiliary_e_step(aux_proba, labels, selected, temperature, pl_threshold):
    """Auxiliary E-step: the auxiliary network's probabilities sharpened at
    ``temperature`` are the refurbished soft labels; the main M-step's targets are the
    given labels of the rows assigned clean and the refurbished ones of the others; the
    auxiliary network's most likely class is a row's pseudo-label where its probability
    is at least ``pl_threshold``.

    Returns ``(targets, refurbished, pseudo_labels, pseudo_mask)``.
    """
    refurbished = sharpen(aux_proba, temperature)
    given = F.one_hot(labels, aux_proba.shape[1]).to(refurbished.dtype)
    targets = torch.where(selected[:, None] > 0, given, refurbished)
    confidence, pseudo_labels = aux_proba.max(dim=1)
    return targets, refurbished, pseudo_labels, (confidence >= pl_threshold).to(torch.float32)


def auxiliary_m_step_loss(supervised, pseudo, clean, cleanness, pseudo_mask, lambda_u):
    """Auxiliary M-step, per row: a clean row's loss on its given label (``supervised``)
    weighted by its cleanness; a corrupted row's loss on its pseudo-label (``pseudo``)
    where that is confident (``pseudo_mask``), weighted by ``lambda_u``. No regulariser
    here: on weak pseudo-labels (80% noise, say) it makes the refurbishing network
    collapse onto a few confident classes, and the main network follows."""
    return clean * cleanness * supervised + lambda_u * ((1 - clean) * pseudo_mask * pseudo)


def main_m_step_loss(targets, log_proba, penalty):
    """Main M-step, per row: cross-entropy of the main network's log-probabilities
    against the targets (the given label of a clean row, the refurbished label of a
    corrupted one), plus ``penalty`` (``beta`` times the confidence regulariser)."""
    return -(targets * log_proba).sum(dim=1) + penalty


class DualEMNet(NoisyLabelNet):
    """The main network (``module_``) and the auxiliary network (``module2_``)."""

    # -- state -------------------------------------------------------------------------
    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X, y, **kwargs)
        counts = torch.bincount(X.y, minlength=int(X.y.max()) + 1).to(torch.float32)
        self.state_.label_prior = counts / counts.sum()
        noise_rate = self.settings.noise_rate
        self.state_.gamma = None if noise_rate == "auto" else 1.0 - noise_rate
        self.state_.cleanness = None  # w per row, smoothed across epochs
        self.state_.targets = None  # (n, K) main M-step targets; None during warm-up
        self.state_.beta = 0.0
        self.state_.warmup_end = self.warmup_length(self.settings.warmup_epochs, len(X.y))

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        epoch = self.current_epoch
        after_warmup = epoch - self.state_.warmup_end
        self.state_.beta = 0.0
        if after_warmup >= 0:
            ramp = linear_ramp(after_warmup, self.settings.cr_ramp_epochs)
            self.state_.beta = self.settings.cr_beta * ramp if self.settings.cr != "none" else 0.0
            self.e_steps()
            self.history.record("cleanness", float(self.state_.cleanness.mean()))
            self.history.record("objective", self.state_.objective)
            self.history.record("selected_clean", float(self.state_.selected.mean()))
        self.history.record("cr_beta", self.state_.beta)

    # -- E-steps -----------------------------------------------------------------------
    @torch.no_grad()
    def e_steps(self):
        """The main E-step (smoothed across epochs), the assignment and the auxiliary
        E-step, over the whole training set.

        With noise_rate="auto", the first call (the end of the warm-up) sets gamma to
        one minus :meth:`warmup_noise_rate`."""
        state, settings, y = self.state_, self.settings, self.data_.y
        proba = self.full_pass(self.module_)[0].softmax(dim=1)
        aux = self.full_pass(self.module2_)[0].softmax(dim=1)
        if state.gamma is None:
            estimate = self.warmup_noise_rate(proba.double().cpu().numpy())
            state.gamma = float(np.clip(1.0 - estimate, *_GAMMA_RANGE))
        gamma = state.gamma
        p_given = proba.gather(1, y[:, None]).squeeze(1)
        w, evidence = main_e_step(p_given, self.corruption_density(aux, proba), gamma)
        w = self.trust(w)  # a checked label is clean
        m = settings.cleanness_momentum
        previous = state.cleanness
        state.cleanness = w if previous is None else m * previous + (1 - m) * w
        log_likelihood = torch.log(evidence).mean()
        penalty = self.regulariser(proba.clamp_min(1e-12).log()).mean()
        state.objective = float(log_likelihood - state.beta * penalty)
        state.selected = self.trust(assign(state.cleanness, gamma, settings.selection))
        state.targets, state.refurbished, state.pseudo_labels, state.pseudo_mask = (
            auxiliary_e_step(aux, y, state.selected, settings.temperature,
                             settings.pl_threshold)
        )  # fmt: skip

    def warmup_noise_rate(self, proba):
        """The share of wrong labels, from the main network's probabilities at the end of
        the warm-up: the larger of the confident-learning estimate and the mass of the
        high-loss component of a two-component mixture of the rows' losses.

        Confident learning needs out-of-sample probabilities. A network that fits its
        rows quickly (many features for its rows) has already fitted most wrong labels
        in-sample by the end of the warm-up, and the estimate falls towards 0; the wrong
        labels' losses are still higher than the others', which the mixture sees.
        """
        given = np.take_along_axis(proba, self.data_.labels[:, None], axis=1)[:, 0]
        losses = -np.log(np.clip(given, 1e-12, 1.0))
        mixture = 1.0 - float(loss_mixture_clean_posterior(losses).mean())
        return max(estimate_noise_rate(self.data_.labels, proba), mixture)

    def corruption_density(self, aux, proba):
        """``eps(y~ | x)`` per row: the probability of the given label under corruption.

        ``"uniform"``: ``1 / K``. ``"transition"``: ``sum_y q(y | x) T[y, y~]``, with ``q``
        the auxiliary network's estimate of the true label and ``T`` the transition
        between true and given labels among the rows judged corrupted at the previous
        epoch (diagonal excluded: a corrupted label differs from the true one). Under
        symmetric noise ``T`` is flat; under pair-flip noise it concentrates on one class
        per row, which the uniform density misses. At the first E-step no row has been
        judged yet, so ``T`` comes from the main network's confident joint (``proba``):
        a uniform first step would call most pair-flipped rows clean, and the posterior
        smoothing would carry that on.
        """
        n_classes = aux.shape[1]
        if self.settings.corruption == "uniform":
            return torch.full_like(aux[:, 0], 1.0 / n_classes)
        if self.state_.cleanness is None:
            joint = confident_joint(self.data_.labels, proba.double().cpu().numpy())
            transition = torch.as_tensor(joint.T, dtype=aux.dtype, device=aux.device)
        else:
            given = F.one_hot(self.data_.y, n_classes).to(aux.dtype)
            transition = ((1 - self.state_.cleanness)[:, None] * aux).T @ given
        off_diagonal = 1 - torch.eye(n_classes, dtype=aux.dtype, device=aux.device)
        transition = transition * off_diagonal + 1e-6 * off_diagonal
        transition = transition / transition.sum(dim=1, keepdim=True)
        return (aux @ transition).gather(1, self.data_.y[:, None]).squeeze(1)

    # -- M-steps -----------------------------------------------------------------------
    def regulariser(self, log_proba):
        """Per-row confidence regulariser; adding ``beta`` times it to the loss rewards
        confident predictions."""
        if self.settings.cr == "cores":  # CORES2 (Cheng et al., 2021): E_{c ~ prior}[log p(c)]
            # Bounded below as in CORES2's log(p + 1e-8): unbounded, it outweighs the
            # likelihood and drives the logits to infinity.
            return (self.state_.label_prior * log_proba.clamp_min(_LOG_PROBA_FLOOR)).sum(dim=1)
        if self.settings.cr == "entropy":
            return -(log_proba.exp() * log_proba).sum(dim=1)
        return torch.zeros(len(log_proba), device=log_proba.device)

    def compute_loss(self, X, y, index):
        X_weak = self.augment(X, index, self.settings.augment_noise)
        logits_main = self.module_(X_weak)
        self.record_logits(index, logits_main)
        log_main = logits_main.log_softmax(dim=1)
        if self.state_.targets is None:  # warm-up: both networks on every given label
            logits_aux = self.module2_(X_weak)
            loss_main = F.nll_loss(log_main, y, reduction="none")
            loss_aux = self.criterion_(logits_aux, y)
            loss = self.weighted_mean(loss_main + loss_aux, index)
            return loss, (logits_main,)
        state, settings = self.state_, self.settings
        loss_main = main_m_step_loss(
            state.targets[index], log_main, state.beta * self.regulariser(log_main)
        )
        # The auxiliary network sees the clean rows' weak view and a strong view of the
        # corrupted rows, whose pseudo-labels it learns.
        clean = state.selected[index]
        shape = (-1,) + (1,) * (X.dim() - 1)
        X_strong = self.augment(
            X, index, settings.strong_augment_noise, settings.strong_augment_mask
        )
        X_aux = torch.where(clean.view(shape) > 0, X_weak, X_strong)
        logits_aux = self.module2_(X_aux)
        loss_aux = auxiliary_m_step_loss(
            self.criterion_(logits_aux, y),
            self.criterion_(logits_aux, state.pseudo_labels[index]),
            clean, state.cleanness[index], state.pseudo_mask[index], settings.lambda_u,
        )  # fmt: skip
        return self.weighted_mean(loss_main + loss_aux, index), (logits_main,)

    # -- results -----------------------------------------------------------------------
    def estimate_label_quality(self):
        """Label quality: a last main E-step after training (the final cleanness
        posterior); the noise rate: ``1 - gamma``."""
        self.e_steps()
        return self.state_.cleanness.double().cpu().numpy(), 1.0 - self.state_.gamma

    def method_results(self):
        """``gamma``, the warm-up's length and each row's refurbished label (the
        auxiliary network's, as the last auxiliary E-step sharpened it)."""
        return {
            "gamma": self.state_.gamma,
            "warmup_end": self.state_.warmup_end,
            "refurbished_labels": self.state_.refurbished.argmax(dim=1).cpu().numpy(),
            "given_labels": self.data_.labels,
        }

    def proba_from_logits(self, logits_main, *others):
        return logits_main.softmax(dim=1)

    def infer_proba(self, X):
        return self.proba_from_logits(self.module_(X))  # the main network alone


@fill_doc
class DualEMClassifier(BaseNoisyClassifier):
    """Two interconnected EM cycles: a main network separates clean from corrupted
    labels, an auxiliary network refurbishes the corrupted ones.

    Kim et al., "Learning with Noisy Labels: Interconnection of Two
    Expectation-Maximizations", arXiv:2401.04390 ("LNL-flywheel"). The main network
    models the clean labels; each given label is clean with prior probability
    ``gamma = 1 - noise_rate``. Each epoch after the warm-up, the main E-step computes
    every row's posterior cleanness by Bayes' rule, the rows are assigned to the clean or
    the corrupted component, the auxiliary network refurbishes the corrupted rows' labels
    (auxiliary E-step) and is trained on the clean rows and on its own confident
    pseudo-labels (auxiliary M-step), and the main network is trained on every row with
    the given or the refurbished label, optionally plus a confidence regulariser (main
    M-step). Only the main network predicts. See ``docs/dualem.md`` for which parts
    follow the paper and which are reconstructions.

    Parameters
    ----------
    noise_rate : float in [0, 1) or "auto", default="auto"
        Prior fraction of wrong labels, ``1 - gamma``. ``"auto"`` estimates it from the
        main network's probabilities at the end of the warm-up, kept in [0.005, 0.95]:
        the larger of the confident-learning estimate
        (:func:`~sknoisy.quality.estimate_noise_rate`) and the mass of the high-loss
        component of a two-component mixture of the rows' losses
        (:func:`~sknoisy.selection.loss_mixture_clean_posterior`). The first falls
        towards 0 when the network has already fitted the wrong labels in-sample, as it
        does quickly on data with many features for its rows.
    corruption : {"transition", "uniform"}, default="transition"
        Density of a given label under corruption in the main E-step: ``1 / K`` (the
        paper's basic model), or ``sum_y q(y | x) T[y, y~]`` with ``q`` the auxiliary
        network's estimate of the true label and ``T`` the transition between true and
        given labels estimated from the rows judged corrupted (a reconstruction of the
        paper's relaxed density); at the first E-step, before any row is judged, ``T``
        is the off-diagonal part of the main network's confident joint.
    selection : {"sample", "threshold", "topk"}, default="sample"
        How rows are assigned to the clean component each epoch: drawn with probability
        equal to their cleanness (stochastic EM), cleanness at least 0.5, or the
        ``ceil(gamma * n)`` cleanest rows.
    warmup_epochs : "auto", int or float, default="auto"
        Epochs (int) or fraction of ``max_epochs`` (float) in which both networks learn
        every given label, before the first E-step. It must end before the networks
        memorise wrong labels, which starts after a number of optimisation steps rather
        than of epochs: ``"auto"`` warms up for about 100 steps (whole epochs, at least
        one) and at most 10% of ``max_epochs``. At least 1.
    cr : {"none", "cores", "entropy"}, default="none"
        Confidence regulariser of the main M-step: ``"cores"`` adds
        ``cr_beta * sum_c prior_c log p_c`` (CORES2), ``"entropy"`` adds
        ``cr_beta * H(p)``. Both reward confident predictions, which keeps a network
        that can memorise every label (many features for its rows, long runs) from
        fitting the wrong ones, and adds accuracy there. Where the classes overlap, or
        the features are a heterogeneous table, they force confidence the data do not
        support and fall below plain cross-entropy, so the default is off
        (``docs/dualem.md`` gives the benchmark figures).
    cr_beta : float, default=1.0
        Weight of the regulariser, reached linearly over ``cr_ramp_epochs`` after the
        warm-up.
    cr_ramp_epochs : int or float, default=0.15
        Length of that ramp in epochs (int) or as a fraction of ``max_epochs`` (float).
    temperature : float, default=0.5
        Sharpening temperature of the refurbished labels (``p ** (1 / T)``, normalised).
    pl_threshold : float in [0, 1], default=0.9
        Confidence an auxiliary pseudo-label needs to be trained on.
    lambda_u : float, default=1.0
        Weight of the auxiliary network's pseudo-label loss on corrupted rows.
    cleanness_momentum : float in [0, 1), default=0.5
        Weight of the previous epochs' cleanness in each new posterior (0: none).
    augment_noise : float, default=0.5
        Standard deviation of the Gaussian noise of the weak view, on which both
        networks train, in each feature's normal scores (its quantiles among the
        training rows, through the inverse normal CDF), mapped back through the
        feature's quantiles (:func:`~sknoisy.selection.augment`). It also slows the
        memorisation of wrong labels; 0 turns it off.
    strong_augment_noise : float, default=1.0
        Standard deviation of the Gaussian noise of the strong view (the auxiliary
        network's pseudo-label training), in the same normal scores.
    strong_augment_mask : float in [0, 1), default=0.15
        Probability that the strong view replaces a feature by its training mean.
    {common_parameters}
    weak_noise, strong_noise, strong_mask : deprecated
        Renamed ``augment_noise``, ``strong_augment_noise`` and ``strong_augment_mask``:
        set, each is used for its new name, with a ``FutureWarning``, until sknoisy 0.3.

    Attributes
    ----------
    corrected_labels_ : ndarray of shape (n_samples,)
        Per training row, the given label where it is judged right (not in
        ``label_issues_``), else the auxiliary network's refurbished label.
    gamma_ : float
        The clean fraction used by the E-steps, ``1 - noise_rate_``.
    warmup_epochs_ : int
        Warm-up length in epochs.
    {common_attributes}

    See Also
    --------
    CoTeachingClassifier : two networks teaching each other on small-loss samples.

    Notes
    -----
    ``label_quality_`` is the cleanness posterior of a last main E-step after training
    (smoothed with the previous epochs' as during training). History columns per epoch:
    ``cleanness`` (mean posterior), ``noise_rate`` (confident-learning estimate from the
    main network), ``objective`` (mean log-likelihood of the mixture minus the
    regulariser), ``selected_clean`` (fraction assigned to the clean component) and
    ``cr_beta``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknoisy import DualEMClassifier, make_label_noise
    >>> X, y = load_digits(return_X_y=True)
    >>> y_noisy = make_label_noise(y, "symmetric", 0.4, random_state=0)
    >>> clf = DualEMClassifier(max_epochs=5, random_state=0).fit(X / 16, y_noisy)
    >>> clf.predict(X[:3] / 16).shape
    (3,)
    >>> clf.corrected_labels_.shape
    (1797,)
    """

    _net_class = DualEMNet
    _parameters = {
        "noise_rate": Number(0, 1, high_open=True, auto=True),
        "corruption": Option(*CORRUPTIONS),
        "selection": Option(*SELECTIONS),
        "warmup_epochs": Epochs(warmup=True),
        "cr": Option(*REGULARISERS),
        "cr_beta": Number(0),
        "cr_ramp_epochs": Epochs(),
        "temperature": Number(0, low_open=True),
        "pl_threshold": Number(0, 1),
        "lambda_u": Number(0),
        "cleanness_momentum": Number(0, 1, high_open=True),
        "augment_noise": Number(0),
        "strong_augment_noise": Number(0),
        "strong_augment_mask": Number(0, 1, high_open=True),
    }
    _renamed = {
        "weak_noise": "augment_noise",
        "strong_noise": "strong_augment_noise",
        "strong_mask": "strong_augment_mask",
    }
    _n_networks = 2

    def __init__(
        self,
        noise_rate="auto",
        *,
        corruption="transition",
        selection="sample",
        warmup_epochs="auto",
        cr="none",
        cr_beta=1.0,
        cr_ramp_epochs=0.15,
        temperature=0.5,
        pl_threshold=0.9,
        lambda_u=1.0,
        cleanness_momentum=0.5,
        augment_noise=0.5,
        strong_augment_noise=1.0,
        strong_augment_mask=0.15,
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
        weak_noise="deprecated",
        strong_noise="deprecated",
        strong_mask="deprecated",
    ):
        self.noise_rate = noise_rate
        self.corruption = corruption
        self.selection = selection
        self.warmup_epochs = warmup_epochs
        self.cr = cr
        self.cr_beta = cr_beta
        self.cr_ramp_epochs = cr_ramp_epochs
        self.temperature = temperature
        self.pl_threshold = pl_threshold
        self.lambda_u = lambda_u
        self.cleanness_momentum = cleanness_momentum
        self.augment_noise = augment_noise
        self.strong_augment_noise = strong_augment_noise
        self.strong_augment_mask = strong_augment_mask
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
        self.weak_noise = weak_noise
        self.strong_noise = strong_noise
        self.strong_mask = strong_mask

    def _criterion(self):
        return get_loss("ce", reduction="none")

    def _copy_fitted_state(self, result):
        self.gamma_ = float(result.gamma)
        self.warmup_epochs_ = int(result.warmup_end)
        refurbished, given = result.refurbished_labels, result.given_labels
        self.corrected_labels_ = self.classes_[np.where(self.label_issues_, refurbished, given)]
