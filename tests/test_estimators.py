"""Behaviour shared by every estimator: labels, modules, errors, seeds, weights, state."""

import pickle
import re

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.metrics import roc_auc_score
from skorch.callbacks import Callback

import sknoisy
from sknoisy import (
    CoTeachingClassifier,
    DualEMClassifier,
    MentorNetClassifier,
    RobustLossClassifier,
    make_label_noise,
)
from sknoisy.discovery import all_estimators

# Every estimator that trains a network of its own.
ESTIMATORS = [cls for _, cls in all_estimators("network")]
FAST = dict(max_epochs=3, hidden_layer_sizes=(16,), random_state=0)


@pytest.fixture(scope="module")
def small():
    X, y = make_classification(
        n_samples=240, n_features=8, n_informative=5, n_classes=3, class_sep=2.0,
        random_state=0,
    )
    return X.astype(np.float32), y


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize(
    "labels", [np.array(["eel", "cat", "dog"]), np.array([42, 3, 7]), np.array([2.0, -1.0, 0.0])]
)
def test_any_label_type(Estimator, labels, small):
    X, y = small
    y_labels = labels[y]  # not in sorted order: classes_ must sort them
    params = {**FAST, "max_epochs": 30, "batch_size": 32}
    if Estimator is CoTeachingClassifier:  # clean labels: "auto" is tested elsewhere
        params["forget_rate"] = 0.1
    if Estimator is DualEMClassifier:
        params["noise_rate"] = 0.0
    clf = Estimator(**params).fit(X, y_labels)
    np.testing.assert_array_equal(clf.classes_, np.sort(labels))
    assert set(clf.predict(X)) <= set(labels)
    assert clf.predict(X).dtype == y_labels.dtype
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    # Columns follow classes_: each class's column is highest, on average, on its rows.
    for column, label in enumerate(clf.classes_):
        assert proba[y_labels == label].mean(axis=0).argmax() == column


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_fitted_noise_attributes(Estimator, small):
    X, y = small
    clf = Estimator(**FAST).fit(X, y)
    assert clf.label_quality_.shape == (len(X),)
    assert np.all((clf.label_quality_ >= 0) & (clf.label_quality_ <= 1))
    assert clf.label_issues_.dtype == bool
    assert 0.0 <= clf.noise_rate_ <= 1.0
    assert clf.label_issues_.sum() == round(clf.noise_rate_ * len(X))
    # The flagged rows are the lowest-quality ones.
    if clf.label_issues_.any() and not clf.label_issues_.all():
        assert clf.label_quality_[clf.label_issues_].max() <= (
            clf.label_quality_[~clf.label_issues_].min()
        )
    assert clf.n_iter_ == 3 and len(clf.history_) == 3
    assert "noise_rate" in clf.history_[-1]


class SmallCNN(torch.nn.Module):
    """With ``features`` and ``classifier``, as methods in representation space need."""

    def __init__(self, n_classes=3, channels=4):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, channels, 3, padding=1)
        self.head = torch.nn.Linear(channels * 8 * 8, n_classes)

    def features(self, X):
        return torch.relu(self.conv(X)).flatten(1)

    def classifier(self, representation):
        return self.head(representation)

    def forward(self, X):
        return self.classifier(self.features(X))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_custom_module_class_on_images(Estimator):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 1, 8, 8)).astype(np.float32)
    y = np.repeat([0, 1, 2], 30)
    X[y == 1, :, :4] += 2.0
    X[y == 2, :, 4:] += 2.0
    clf = Estimator(module=SmallCNN, module_params={"channels": 2}, **FAST).fit(X, y)
    assert clf.n_features_in_ == 1
    assert isinstance(clf.net_.module_, SmallCNN)
    assert clf.predict_proba(X).shape == (90, 3)


def test_module_instance_is_a_template(small):
    X, y = small
    template = torch.nn.Sequential(torch.nn.Linear(8, 3))
    before = template[0].weight.detach().clone()
    clf = CoTeachingClassifier(module=template, **FAST).fit(X, y)
    # The user's instance is neither trained nor shared; the two networks differ.
    torch.testing.assert_close(template[0].weight, before)
    w1, w2 = clf.net_.module_[0].weight, clf.net_.module2_[0].weight
    assert clf.net_.module_ is not template and not torch.equal(w1, w2)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_module_output_width_must_match_classes(Estimator, small):
    X, y = small
    with pytest.raises(ValueError, match=r"output must have shape .* 3 classes.*got \(2, 5\)"):
        Estimator(module=torch.nn.Linear, module_params={"in_features": 8, "out_features": 5},
                  **FAST).fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_module_failing_on_input_is_reported(Estimator, small):
    X, y = small
    with pytest.raises(ValueError, match=r"module failed on input rows of shape \(8,\)"):
        Estimator(module=torch.nn.Linear, module_params={"in_features": 5, "out_features": 3},
                  **FAST).fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_bad_input_errors(Estimator, small):
    X, y = small
    X_nan = X.copy()
    X_nan[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Estimator(**FAST).fit(X_nan, y)
    X_inf = X.copy()
    X_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        Estimator(**FAST).fit(X_inf, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        Estimator(**FAST).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        Estimator(**FAST).fit(X, y[:-1])
    with pytest.raises(ValueError, match="sample_weight has shape"):
        Estimator(**FAST).fit(X, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="non-negative"):
        Estimator(**FAST).fit(X, y, sample_weight=-np.ones(len(X)))


@pytest.mark.parametrize(
    "name, params, message",
    [
        ("CoTeachingClassifier", dict(max_epochs=0), "max_epochs must be in"),
        ("CoTeachingClassifier", dict(batch_size=0), "batch_size must be in"),
        ("CoTeachingClassifier", dict(lr=0.0), "lr must be in"),
        ("CoTeachingClassifier", dict(dropout=1.0), "dropout must be in"),
        ("CoTeachingClassifier", dict(hidden_layer_sizes=(8, 0)), "hidden_layer_sizes"),
        ("CoTeachingClassifier", dict(optimizer="lbfgs"), "optimizer must be one of"),
        ("CoTeachingClassifier", dict(device="tpu9"), "device must be"),
        ("CoTeachingClassifier", dict(dropout=float("nan")), "dropout must be in"),
        ("CoTeachingClassifier", dict(exponent=float("nan")), "exponent must be in"),
        ("CoTeachingClassifier", dict(forget_rate=float("nan")), "forget_rate must be in"),
        ("CoTeachingClassifier", dict(forget_rate=1.0), "forget_rate must be in"),
        ("CoTeachingClassifier", dict(forget_rate="half"), "forget_rate must be 'auto'"),
        ("CoTeachingClassifier", dict(inference="both"), "inference must be"),
        ("CoTeachingClassifier", dict(num_gradual=1.5), "num_gradual"),
        ("LossCorrectionClassifier", {"correction": "sideways"}, "correction must be one of"),
        ("LossCorrectionClassifier", {"transition_matrix": "guess"},
         "transition_matrix must be one of"),
        ("LossCorrectionClassifier", {"transition_matrix": np.eye(3)}, r"shape \(5, 5\)"),
        ("LossCorrectionClassifier", {"transition_matrix": np.full((5, 5), 0.5)},
         "rows must sum to 1"),
        ("LossCorrectionClassifier", {"transition_matrix": -np.eye(5) + 2 / 5}, "non-negative"),
        ("LossCorrectionClassifier", {"transition_matrix": np.eye(5)[[0, 0, 1, 2, 3]]},
         r"probability 0 to labels .*\[4\]"),
        ("LossCorrectionClassifier",
         {"correction": "backward", "transition_matrix": np.full((5, 5), 0.2)}, "invertible"),
        ("LossCorrectionClassifier", {"anchor_percentile": 101}, "anchor_percentile"),
        ("LossCorrectionClassifier", {"revisions": -1}, "revisions"),
        ("LossCorrectionClassifier", {"augment_noise": -1.0}, "augment_noise"),
        ("DivideMixClassifier", {"p_threshold": 1.0}, "p_threshold"),
        ("DivideMixClassifier", {"temperature": 0}, "temperature must be"),
        ("DivideMixClassifier", {"mixup_alpha": -1}, "mixup_alpha"),
        ("DivideMixClassifier", {"mixup_alpha": "strong"}, "mixup_alpha must be 'auto' or a"),
        ("DivideMixClassifier", {"augment_noise": None}, "augment_noise must be 'auto' or a"),
        ("DivideMixClassifier", {"lambda_u": "high"}, "lambda_u must be 'auto' or a float"),
        ("DivideMixClassifier", {"lambda_u": -1.0}, "lambda_u"),
        ("DivideMixClassifier", {"augment_noise": -0.1}, "augment_noise"),
        ("DivideMixClassifier", {"augment_mask": 1.0}, "augment_mask"),
        ("DivideMixClassifier", {"rampup_epochs": 2.0}, "rampup_epochs"),
        ("DualEMClassifier", {"noise_rate": 1.0}, "noise_rate"),
        ("DualEMClassifier", {"noise_rate": "high"}, "noise_rate must be 'auto' or a float"),
        ("DualEMClassifier", {"selection": "best"}, "selection must be one of"),
        ("DualEMClassifier", {"cr": "l2"}, "cr must be one of"),
        ("DualEMClassifier", {"temperature": 0}, "temperature"),
        ("DualEMClassifier", {"pl_threshold": 1.5}, "pl_threshold"),
        ("DualEMClassifier", {"cleanness_momentum": 1.0}, "cleanness_momentum"),
        ("DualEMClassifier", {"strong_augment_mask": -0.1}, "strong_augment_mask"),
        ("DualEMClassifier", {"warmup_epochs": -1}, "warmup_epochs"),
        ("MentorNetClassifier", {"percentile": 0}, "percentile must be in"),
        ("MentorNetClassifier", {"percentile": "most"}, "percentile must be 'auto' or a float"),
        ("MentorNetClassifier", {"loss_decay": 1.0}, "loss_decay"),
        ("MentorNetClassifier", {"burn_in_epochs": 1.5}, "burn_in_epochs"),
        ("NeighborMixClassifier", {"n_neighbors": 0}, "n_neighbors"),
        ("NeighborMixClassifier", {"metric": "manhattan"}, "metric must be one of"),
        ("NeighborMixClassifier", {"neighbor_scope": "all"}, "neighbor_scope must be one of"),
        ("NeighborMixClassifier", {"loss_target": "given"}, "loss_target must be one of"),
        ("NeighborMixClassifier", {"momentum": 1.0}, "momentum"),
        ("NeighborMixClassifier", {"target_update_every": 0}, "target_update_every"),
        ("NeighborMixClassifier", {"mixup_alpha": 0}, "mixup_alpha"),
        ("NeighborMixClassifier", {"loss_window": 0}, "loss_window"),
        ("NeighborMixClassifier", {"augment_noise": -0.5}, "augment_noise"),
        ("NeighborMixClassifier", {"neighbor_start": 1.5}, "neighbor_start"),
        ("NeighborMixClassifier", {"warmup_epochs": -1}, "warmup_epochs"),
    ],
)
def test_bad_parameters_are_named(name, params, message, blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    with pytest.raises(ValueError, match=message):
        getattr(sknoisy, name)(**{"max_epochs": 1, **params}).fit(X_train, y_noisy)


def _no_rows_left_unlabelled(clf, y_train, y_noisy):
    return clf.lambda_u_ == 0.0  # "auto" at an estimated 40% noise: labelled rows only


def _soft_targets_repair_more_than_they_break(clf, y_train, y_noisy):
    return (clf.corrected_labels_ == y_train).mean() > (y_noisy == y_train).mean() + 0.2


@pytest.mark.parametrize(
    "name, holds",
    [
        ("DivideMixClassifier", _no_rows_left_unlabelled),
        ("NeighborMixClassifier", _soft_targets_repair_more_than_they_break),
    ],
)
def test_loss_mixture_methods_find_the_wrong_labels_and_beat_plain_ce(
    name, holds, blobs_40, ce_score_40
):
    X_train, X_test, y_train, y_noisy, y_test = blobs_40
    clf = getattr(sknoisy, name)(max_epochs=30, random_state=0).fit(X_train, y_noisy)
    assert roc_auc_score(y_noisy == y_train, clf.label_quality_) > 0.9
    assert clf.score(X_test, y_test) > ce_score_40 + 0.05
    assert abs(clf.noise_rate_ - 0.4) < 0.1
    assert holds(clf, y_train, y_noisy)


@pytest.mark.parametrize(
    "name, old, new, value",
    [
        ("DivideMixClassifier", "T", "temperature", 0.25),
        ("DivideMixClassifier", "alpha", "mixup_alpha", 1.0),
        ("DualEMClassifier", "weak_noise", "augment_noise", 0.25),
        ("DualEMClassifier", "strong_noise", "strong_augment_noise", 0.5),
        ("DualEMClassifier", "strong_mask", "strong_augment_mask", 0.3),
    ],
)
def test_a_renamed_parameter_still_works_with_a_warning(name, old, new, value, small):
    X, y = small
    Estimator = getattr(sknoisy, name)
    with pytest.warns(FutureWarning, match=f"{old} was renamed {new}"):
        renamed = Estimator(**FAST, **{old: value}).fit(X, y)
    current = Estimator(**FAST, **{new: value}).fit(X, y)
    np.testing.assert_array_equal(renamed.predict_proba(X), current.predict_proba(X))
    assert Estimator().get_params()[old] == "deprecated"


def test_unknown_loss_is_named(small):
    X, y = small
    with pytest.raises(ValueError, match="loss must be one of"):
        RobustLossClassifier("hinge", **FAST).fit(X, y)


class _PoisonAfter(torch.nn.Module):
    """A linear model whose training output turns to NaN from its 20th training call
    (calls with gradients; NeighborMix's search for each batch's neighbours runs the
    network without)."""

    def __init__(self, n_in=8, n_out=3):
        super().__init__()
        self.linear = torch.nn.Linear(n_in, n_out)
        self.calls = 0

    def features(self, X):
        return X

    def classifier(self, representation):
        return self.forward(representation)

    def forward(self, X):
        out = self.linear(X)
        if self.training and torch.is_grad_enabled():
            self.calls += 1
            if self.calls >= 20:
                out = out * float("nan")
        return out


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_non_finite_loss_names_the_epoch(Estimator, small):
    X, y = small  # 240 rows, batch 128: two batches an epoch, NaN from epoch 10
    with pytest.raises(FloatingPointError, match="non-finite at epoch 10"):
        Estimator(module=_PoisonAfter, **{**FAST, "max_epochs": 20}).fit(X, y)


def test_non_finite_training_is_a_value_error(small):
    # As scikit-learn's MLP: the usual causes are the data's scale and the learning rate.
    X, y = small
    with pytest.raises(ValueError, match="non-finite at epoch 10"):
        RobustLossClassifier(module=_PoisonAfter, **{**FAST, "max_epochs": 20}).fit(X, y)


@pytest.mark.parametrize("Estimator", [RobustLossClassifier, CoTeachingClassifier])
def test_fit_fails_when_the_trained_network_overflows_on_its_training_data(Estimator):
    # Finite weights, but outputs on 1e30-sized features overflow: found by the fuzz
    # test, where such a fit succeeded and predict_proba then raised.
    X, y = [[1e30], [-2e30]], [0, 1]
    clf = Estimator(hidden_layer_sizes=(4,), max_epochs=1, optimizer="sgd", random_state=0,
                    standardize=False)  # fmt: skip
    with pytest.raises(ValueError, match="outputs on the training data are non-finite"):
        clf.fit(X, y)


def test_dualem_fits_unscaled_data_whose_densities_underflow():
    # A saturated main network (p of the given label 0) and an auxiliary network sure of
    # the given label (corruption density 0) made the cleanness 0/0 (fuzz test).
    X = np.random.default_rng(0).normal(size=(20, 2)) * 1000
    y = np.arange(20) % 2
    for selection in ["sample", "threshold", "topk"]:
        clf = DualEMClassifier(hidden_layer_sizes=(4,), max_epochs=3, batch_size=8,
                               selection=selection, standardize=False,
                               random_state=0).fit(X, y)  # fmt: skip
        assert np.all(np.isfinite(clf.label_quality_))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_same_seed_same_predictions_and_global_rng_untouched(Estimator, small):
    X, y = small
    torch.manual_seed(123)
    np.random.seed(123)
    torch_state, np_state = torch.get_rng_state(), np.random.get_state()
    a = Estimator(**{**FAST, "dropout": 0.2}).fit(X, y)
    b = Estimator(**{**FAST, "dropout": 0.2}).fit(X, y)
    Estimator(**{**FAST, "random_state": None}).fit(X, y)
    torch.testing.assert_close(torch.get_rng_state(), torch_state)
    assert np.random.get_state()[2] == np_state[2]
    np.testing.assert_array_equal(np.random.get_state()[1], np_state[1])
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.label_quality_, b.label_quality_)
    c = Estimator(**{**FAST, "random_state": 1}).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_sample_weight_zero_on_wrong_labels_recovers_clean_accuracy():
    X, y = make_classification(
        n_samples=1500, n_features=20, n_informative=10, n_classes=4, random_state=0
    )
    X_test, y_test = X[1000:], y[1000:]
    X, y = X[:1000], y[:1000]
    y_noisy = make_label_noise(y, "pairflip", 0.4, random_state=0)
    params = dict(max_epochs=30, hidden_layer_sizes=(64,), random_state=0)
    plain = RobustLossClassifier(**params).fit(X, y_noisy)
    weighted = RobustLossClassifier(**params).fit(
        X, y_noisy, sample_weight=(y_noisy == y).astype(float)
    )
    assert weighted.score(X_test, y_test) > plain.score(X_test, y_test) + 0.1


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_label_quality_separates_wrong_labels(Estimator, noisy_digits):
    X_train, _, y_train, y_noisy, _ = noisy_digits
    clf = Estimator(max_epochs=20, random_state=0).fit(X_train, y_noisy)
    assert roc_auc_score(y_noisy == y_train, clf.label_quality_) > 0.9
    assert abs(clf.noise_rate_ - 0.4) < 0.15


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_verbose_prints_progress_and_zero_is_silent(Estimator, small, capsys):
    X, y = small
    Estimator(**FAST).fit(X, y)
    assert capsys.readouterr().out == ""
    clf = Estimator(**{**FAST, "verbose": 1}).fit(X, y)
    captured = capsys.readouterr()
    assert "epoch" in captured.out and "train_loss" in captured.out
    assert "it/s" not in captured.err  # no progress bar at verbose=1
    # The last line sums the fit up.
    summary = captured.out.rstrip("\n").rsplit("\n", 1)[-1]
    issues = int(clf.label_issues_.sum())
    assert summary.startswith(f"{Estimator.__name__}: fitted on {len(y):,} rows in ")
    assert f"({clf.n_iter_} epochs); estimated noise rate {clf.noise_rate_:.1%}" in summary
    assert summary.endswith(f"{issues:,} label issues ({issues / len(y):.1%})")


@pytest.mark.parametrize("Estimator", [RobustLossClassifier, DualEMClassifier])
def test_verbose_2_adds_a_progress_bar(Estimator, small, capsys):
    X, y = small
    Estimator(**{**FAST, "max_epochs": 2, "verbose": 2}).fit(X, y)
    captured = capsys.readouterr()
    # tqdm's bar over each epoch's batches
    assert f"0/{-(-len(y) // 128)} [" in captured.err and "it/s" in captured.err
    assert ": fitted on " in captured.out


@pytest.mark.parametrize("verbose", [-1, 1.5, "yes"])
def test_a_bad_verbose_is_named(verbose, small):
    X, y = small
    with pytest.raises(ValueError, match="verbose"):
        RobustLossClassifier(**{**FAST, "verbose": verbose}).fit(X, y)


def epoch_table_rows(out):
    """``[(header names, {column: value})]`` for each row of ``verbose=1``'s table, each
    value read from under its heading; fails where a value is under no heading."""
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in out.splitlines()]
    rows, spans = [], None
    for i, line in enumerate(lines):
        previous = lines[i - 1] if i else ""
        if line and set(line) <= {"-", " "}:  # the rule under a header
            spans = [m.span() for m in re.finditer(r"-+", line)]
            names = [previous[a:b].strip() for a, b in spans]
            assert all(names) and len(previous.rstrip()) <= spans[-1][1], previous
        elif line and spans is not None and not line.lstrip().startswith("epoch"):
            for token in re.finditer(r"\S+", line):
                assert any(a <= token.start() and token.end() <= b for a, b in spans), line
            values = {n: line[a:b].strip() for n, (a, b) in zip(names, spans, strict=True)}
            rows.append((names, values))
    return rows


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_verbose_table_has_a_heading_for_every_value(Estimator, small, capsys):
    X, y = small
    # Long enough for every method's later columns (after its warm-up) to appear.
    Estimator(**{**FAST, "max_epochs": 8, "verbose": 1}).fit(X, y)
    table, summary = capsys.readouterr().out.rstrip("\n").rsplit("\n", 1)
    assert summary.startswith(f"{Estimator.__name__}: fitted on ")
    rows = epoch_table_rows(table)
    assert [int(row["epoch"]) for _, row in rows] == list(range(1, 9))
    for names, row in rows:
        assert names[0] == "epoch" and names[-1] == "dur" and row["train_loss"]


def test_the_verbose_table_check_fails_on_a_value_without_heading():
    table = "  epoch    dur\n-------  -----\n      1  0.1\n      2  0.1   0.5\n"
    assert len(epoch_table_rows(table.rsplit("\n", 2)[0])) == 1
    with pytest.raises(AssertionError):
        epoch_table_rows(table)


class CountEpochs(Callback):
    """Counts the epochs a fit runs (``epochs_run``) and records the count in the
    history (``counted``)."""

    def initialize(self):
        self.epochs_run = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        self.epochs_run += 1
        net.history.record("counted", self.epochs_run)


def test_user_callbacks_run_and_are_not_mutated(small):
    X, y = small
    callback = CountEpochs()
    clf = RobustLossClassifier(callbacks=[callback], **FAST).fit(X, y)
    assert clf.history_[:, "counted"] == [1, 2, 3]
    assert not hasattr(callback, "epochs_run")  # the parameter itself stays untouched


def _arrays(value):
    """The tensors and arrays in a value and in the containers and objects it holds."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _arrays(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _arrays(item)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_the_fitted_net_keeps_no_training_state(Estimator, small):
    X, y = small
    fit_params = {"trusted": np.arange(len(y)) < 40} if Estimator is MentorNetClassifier else {}
    net = Estimator(**FAST).fit(X, y, **fit_params).net_
    assert not {"data_", "state_", "result_"} & set(vars(net))
    # Nothing with one entry per training row, outside the networks' own weights.
    modules = {name + "_" for name in net._modules}
    for name, value in vars(net).items():
        if name in modules or name == "history_":
            continue
        for array in _arrays(value):
            assert len(array) != len(y), f"net_.{name} holds a per-row array"


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_pickle_round_trip(Estimator, small):
    X, y = small
    clf = Estimator(**FAST).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(restored.label_quality_, clf.label_quality_)


def test_device_auto_resolves_to_an_available_device(small):
    X, y = small
    clf = RobustLossClassifier(device="auto", **FAST).fit(X, y)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert next(clf.net_.module_.parameters()).device.type == expected


class _InterruptAt(Callback):
    """Simulates Ctrl-C in the first batch of the given (1-based) epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_begin(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_interrupt_keeps_the_completed_epochs(Estimator, small):
    X, y = small
    clf = Estimator(callbacks=[_InterruptAt(3)], **{**FAST, "max_epochs": 10}).fit(X, y)
    assert clf.n_iter_ == 2 == len(clf.history_)  # the interrupted third epoch is dropped
    assert len(clf.history_[:, "noise_rate"]) == 2
    assert clf.predict_proba(X).shape == (len(X), 3)
    assert np.all(np.isfinite(clf.label_quality_))


def test_interrupt_in_the_first_epoch_leaves_the_estimator_unfitted(small):
    from sklearn.exceptions import NotFittedError

    X, y = small
    clf = RobustLossClassifier(callbacks=[_InterruptAt(1)], **FAST)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        clf.predict(X)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_failed_refit_leaves_the_estimator_unfitted(Estimator, small):
    from sklearn.exceptions import NotFittedError

    X, y = small
    clf = Estimator(**FAST).fit(X, y)
    clf.set_params(module=_PoisonAfter, max_epochs=20)
    with pytest.raises(FloatingPointError):
        clf.fit(X, np.array(list("abc"))[y])
    assert not hasattr(clf, "classes_")
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_module_instance_that_cannot_be_reinitialised_is_refused(small):
    X, y = small

    class Bare(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(8, 3))

        def forward(self, X):
            return X @ self.w

    with pytest.raises(ValueError, match=r"cannot be re-initialised \(w: .*pass the module class"):
        CoTeachingClassifier(module=Bare(), **FAST).fit(X, y)
    # The class itself is fine: each network is built by calling it.
    CoTeachingClassifier(module=Bare, **FAST).fit(X, y)


def test_optimizer_class_and_closure_optimizers(small):
    X, y = small
    clf = RobustLossClassifier(optimizer=torch.optim.RMSprop, **FAST).fit(X, y)
    assert isinstance(clf.net_.optimizer_, torch.optim.RMSprop)
    with pytest.raises(ValueError, match="closure"):
        RobustLossClassifier(optimizer=torch.optim.LBFGS, **FAST).fit(X, y)


def test_predict_checks_the_row_shape_of_nd_input():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2, 3, 3)).astype(np.float32)
    y = np.repeat([0, 1], 20)
    clf = RobustLossClassifier(**FAST).fit(X, y)
    assert clf.input_shape_ == (2, 3, 3)
    with pytest.raises(ValueError, match=r"rows of shape \(2, 4, 4\).*fitted on rows of shape"):
        clf.predict(rng.normal(size=(5, 2, 4, 4)))


def test_batch_norm_module_with_a_last_batch_of_one():
    class Normed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Linear(8, 2)
            )

        def forward(self, X):
            return self.net(X)

    rng = np.random.default_rng(0)
    X = rng.normal(size=(257, 4)).astype(np.float32)  # 2 * 128 + 1
    y = (X[:, 0] > 0).astype(int)
    clf = RobustLossClassifier(module=Normed, **{**FAST, "max_epochs": 20}).fit(X, y)
    assert clf.score(X, y) > 0.65  # it trains (chance is 0.5); before, it crashed


def test_callbacks_must_be_a_list(small):
    X, y = small
    with pytest.raises(TypeError, match="callbacks must be a list"):
        RobustLossClassifier(callbacks="print_log", **FAST).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only error")
def test_cuda_without_cuda_is_named(small):
    X, y = small
    with pytest.raises(ValueError, match="CUDA, which is not available"):
        RobustLossClassifier(device="cuda", **FAST).fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@pytest.mark.parametrize("use_caching", [True, False])
def test_skorch_scoring_callbacks_on_training_data(Estimator, use_caching, small):
    from skorch.callbacks import EpochScoring

    X, y = small
    y_binary = (y > 0).astype(int)
    clf = Estimator(
        callbacks=[
            EpochScoring("accuracy", on_train=True, name="train_acc", use_caching=use_caching),
            EpochScoring("roc_auc", on_train=True, name="train_auc", use_caching=use_caching),
        ],
        # Batches of 64: enough steps in 30 epochs for the standardised features (the
        # raw ones, of standard deviation 2-4, took larger steps at the same lr).
        **{**FAST, "max_epochs": 30, "batch_size": 64},
    ).fit(X, y_binary)
    accuracies = clf.history_[:, "train_acc"]
    assert len(accuracies) == 30 and accuracies[-1] > accuracies[0]
    assert clf.history_[-1, "train_auc"] > 0.6  # a probability-based scorer runs (chance 0.5)


def test_callbacks_that_need_a_validation_split_are_refused(small):
    from skorch.callbacks import EarlyStopping, EpochScoring

    X, y = small
    for callback in [EpochScoring("accuracy"), EarlyStopping()]:
        with pytest.raises(ValueError, match="no validation split"):
            RobustLossClassifier(callbacks=[callback], **FAST).fit(X, y)
    clf = RobustLossClassifier(
        callbacks=[EarlyStopping(monitor="train_loss", patience=2)], **FAST
    ).fit(X, y)
    assert clf.n_iter_ >= 1


def test_a_callback_predicting_mid_epoch_does_not_turn_off_dropout(small):
    from skorch.callbacks import BatchScoring

    X, y = small
    modes = []

    class RecordMode(Callback):
        def on_batch_begin(self, net, training=False, **kwargs):
            if training:
                modes.append(net.module_.training)

        def on_grad_computed(self, net, named_parameters, **kwargs):
            modes.append(net.module_.training)

    RobustLossClassifier(
        callbacks=[BatchScoring("accuracy", on_train=True, use_caching=False), RecordMode()],
        **{**FAST, "dropout": 0.5, "batch_size": 64},
    ).fit(X, y)
    assert all(modes[1::2])  # during every gradient computation


def test_module_instances_reset_like_torch_does():
    class ParentInit(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(8, 3)

        def reset_parameters(self):
            torch.nn.init.zeros_(self.lin.weight)

        def forward(self, X):
            return self.lin(X)

    from sknoisy.modules import reset_parameters

    weight = reset_parameters(ParentInit()).lin.weight.detach()
    assert float(weight.abs().sum()) == 0.0  # the parent's reset runs last
    reset_parameters(torch.nn.TransformerEncoderLayer(8, 2))  # _reset_parameters inside
