"""DualEM: the two EM cycles, the confidence regulariser and learning under noise."""

import numpy as np
import pytest
import torch

from sknoisy import DualEMClassifier
from sknoisy.dualem import (
    assign,
    auxiliary_e_step,
    auxiliary_m_step_loss,
    main_e_step,
    main_m_step_loss,
)


# -- the steps, on tensors made by hand ---------------------------------------------------
def test_the_main_e_step_is_bayes_rule_over_clean_and_corrupted():
    # gamma = 0.8: 0.8 * 0.9 / (0.8 * 0.9 + 0.2 * 0.25), 0.8 * 0.05 / (0.04 + 0.05).
    w, evidence = main_e_step(torch.tensor([0.9, 0.05]), torch.tensor([0.25, 0.25]), 0.8)
    np.testing.assert_allclose(w, [0.72 / 0.77, 0.04 / 0.09], rtol=1e-6)
    np.testing.assert_allclose(evidence, [0.77, 0.09], rtol=1e-6)
    # Both densities underflow: no evidence of being clean, and no division by zero.
    w, evidence = main_e_step(torch.tensor([0.0]), torch.tensor([0.0]), 1.0)
    assert w.item() == 0.0 and evidence.item() > 0


def test_the_assignment_follows_the_selection_rule():
    cleanness = torch.tensor([0.2, 0.5, 0.9, 0.7])
    assert assign(cleanness, 0.5, "threshold").tolist() == [0.0, 1.0, 1.0, 1.0]
    assert assign(cleanness, 0.5, "topk").tolist() == [0.0, 0.0, 1.0, 1.0]  # ceil(0.5 * 4)
    assert assign(cleanness, 0.6, "topk").tolist() == [0.0, 1.0, 1.0, 1.0]  # ceil(2.4) = 3
    # Sampling: certain rows are certain.
    assert assign(torch.tensor([0.0, 1.0]), 0.5, "sample").tolist() == [0.0, 1.0]


def test_the_auxiliary_e_step_refurbishes_the_corrupted_rows_only():
    aux = torch.tensor([[0.6, 0.4], [0.1, 0.9]])
    targets, refurbished, pseudo, mask = auxiliary_e_step(
        aux, torch.tensor([1, 0]), torch.tensor([1.0, 0.0]), temperature=0.5, pl_threshold=0.8
    )
    # Sharpened at T = 0.5: p ** 2, renormalised.
    expected = [[0.36 / 0.52, 0.16 / 0.52], [0.01 / 0.82, 0.81 / 0.82]]
    np.testing.assert_allclose(refurbished, expected, rtol=1e-6)
    # Row 0 is clean: its given label; row 1 is corrupted: its refurbished label.
    np.testing.assert_allclose(targets[0], [0.0, 1.0])
    np.testing.assert_allclose(targets[1], refurbished[1])
    assert pseudo.tolist() == [0, 1] and mask.tolist() == [0.0, 1.0]


def test_the_m_step_losses_weigh_rows_as_the_e_steps_say():
    # Auxiliary: row 0 clean with cleanness 0.5, row 1 corrupted with a confident
    # pseudo-label, row 2 corrupted without one.
    loss = auxiliary_m_step_loss(
        supervised=torch.tensor([2.0, 2.0, 2.0]), pseudo=torch.tensor([3.0, 3.0, 3.0]),
        clean=torch.tensor([1.0, 0.0, 0.0]), cleanness=torch.tensor([0.5, 0.1, 0.1]),
        pseudo_mask=torch.tensor([1.0, 1.0, 0.0]), lambda_u=0.5,
    )  # fmt: skip
    np.testing.assert_allclose(loss, [1.0, 1.5, 0.0])
    # Main: cross-entropy against soft targets, plus the penalty.
    log_proba = torch.tensor([[0.5, 0.5]]).log()
    loss = main_m_step_loss(torch.tensor([[0.25, 0.75]]), log_proba, torch.tensor([0.1]))
    np.testing.assert_allclose(loss, [np.log(2) + 0.1], rtol=1e-6)


def test_cleanness_posterior_separates_rows_and_beats_plain_ce(blobs_40, ce_score_40):
    X_train, X_test, y_train, y_noisy, y_test = blobs_40
    flipped = y_noisy != y_train
    clf = DualEMClassifier(max_epochs=30, random_state=0).fit(X_train, y_noisy)
    assert clf.label_quality_[flipped].mean() < 0.3
    assert clf.label_quality_[~flipped].mean() > 0.7
    assert clf.score(X_test, y_test) > ce_score_40 + 0.05
    assert abs(clf.noise_rate_ - 0.4) < 0.1 and clf.gamma_ == pytest.approx(1 - clf.noise_rate_)
    # Refurbished labels repair more rows than they break.
    assert (clf.corrected_labels_ == y_train).mean() > (y_noisy == y_train).mean() + 0.2


def test_confidence_regulariser_prevents_the_collapse(blobs_40):
    # Without it, the main network memorises the wrong labels in a long run: the flipped
    # rows' posterior cleanness climbs towards the clean rows' and the split disappears.
    # The weak view's noise also slows memorisation, so it is off here to isolate the
    # regulariser.
    X_train, X_test, y_train, y_noisy, y_test = blobs_40
    flipped = y_noisy != y_train
    params = dict(max_epochs=100, augment_noise=0.0, random_state=0)
    without = DualEMClassifier(cr="none", **params).fit(X_train, y_noisy)
    with_cr = DualEMClassifier(cr="cores", **params).fit(X_train, y_noisy)
    assert without.label_quality_[flipped].mean() > 0.5
    assert with_cr.label_quality_[flipped].mean() < 0.3
    assert with_cr.score(X_test, y_test) > without.score(X_test, y_test) + 0.1


def test_history_records_both_cycles(blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    clf = DualEMClassifier(
        max_epochs=6, warmup_epochs=2, cr="cores", cr_ramp_epochs=2, hidden_layer_sizes=(16,),
        random_state=0,
    ).fit(X_train, y_noisy)
    assert clf.warmup_epochs_ == 2
    np.testing.assert_allclose(clf.history_[:, "cr_beta"], [0, 0, 0.5, 1, 1, 1])
    cleanness = clf.history_[2:, "cleanness"]
    assert len(cleanness) == 4 and all(0 < c < 1 for c in cleanness)
    assert all(np.isfinite(clf.history_[2:, "objective"]))
    assert all(0 < s < 1 for s in clf.history_[2:, "selected_clean"])


@pytest.mark.parametrize("batch_size, expected", [(128, 3), (16, 2)])
def test_auto_warmup_lasts_about_100_steps_and_at_most_a_tenth_of_the_run(
    batch_size, expected, blobs_40
):
    # 1,400 rows: in batches of 128, 11 steps an epoch, so 100 steps take 10 epochs and
    # the cap (10% of 30 epochs) decides; in batches of 16, 88 steps, so 2 epochs.
    X_train, _, _, y_noisy, _ = blobs_40
    clf = DualEMClassifier(
        max_epochs=30, batch_size=batch_size, hidden_layer_sizes=(16,), random_state=0
    ).fit(X_train, y_noisy)
    assert clf.warmup_epochs_ == expected
    # The first E-step is at the start of the first epoch after the warm-up.
    assert "cleanness" not in clf.history_[expected - 1]
    assert "cleanness" in clf.history_[expected]


@pytest.mark.parametrize("selection", ["sample", "threshold", "topk"])
def test_every_selection_learns(selection, blobs_40):
    X_train, X_test, _, y_noisy, y_test = blobs_40
    clf = DualEMClassifier(
        0.4, selection=selection, max_epochs=15, random_state=0
    ).fit(X_train, y_noisy)
    assert clf.gamma_ == pytest.approx(0.6)
    assert clf.score(X_test, y_test) > 0.7


def test_corrected_labels_are_in_the_label_space(blobs_40):
    X_train, _, y_train, y_noisy, _ = blobs_40
    names = np.array(["ant", "bee", "cow", "dog", "elk"])
    clf = DualEMClassifier(max_epochs=8, random_state=0).fit(X_train, names[y_noisy])
    assert clf.corrected_labels_.dtype == names.dtype
    assert set(clf.corrected_labels_) <= set(names)
    kept = ~clf.label_issues_
    np.testing.assert_array_equal(clf.corrected_labels_[kept], names[y_noisy][kept])
    # The fitted net keeps no per-row training data.
    assert not hasattr(clf.net_, "given_labels_") and not hasattr(clf.net_, "X_train_")


def test_only_the_main_network_predicts(blobs_40):
    X_train, X_test, _, y_noisy, _ = blobs_40
    clf = DualEMClassifier(max_epochs=4, random_state=0).fit(X_train, y_noisy)
    import torch

    X = torch.as_tensor((X_test - clf.feature_mean_) / clf.feature_scale_, dtype=torch.float32)
    with torch.no_grad():  # the networks take standardised rows
        main = clf.net_.module_.eval()(X).softmax(dim=1).numpy()
    np.testing.assert_allclose(clf.predict_proba(X_test), main, rtol=1e-5, atol=1e-6)


def test_a_run_shorter_than_the_warm_up_still_scores_every_row(blobs_40):
    X_train, _, _, y_noisy, _ = blobs_40
    clf = DualEMClassifier(max_epochs=1, warmup_epochs=5, random_state=0).fit(X_train, y_noisy)
    assert clf.label_quality_.shape == (len(X_train),)
    assert np.all((clf.label_quality_ >= 0) & (clf.label_quality_ <= 1))
