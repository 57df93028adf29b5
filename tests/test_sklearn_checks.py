"""scikit-learn's own estimator checks, on small networks so the suite stays fast."""

from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from sknoisy import (
    AutoClassifier,
    CoTeachingClassifier,
    DivideMixClassifier,
    DualEMClassifier,
    FilterClassifier,
    LossCorrectionClassifier,
    MentorNetClassifier,
    NeighborMixClassifier,
    RobustLossClassifier,
)

# Mini-batch gradient descent does not make an integer weight equal to repeating a row:
# batches differ in composition and count, so predictions differ slightly.
_WEIGHT_IS_NOT_REPETITION = (
    "mini-batch training: a row of weight 2 is not the same as the row repeated"
)


_SMALL = {"max_epochs": 20, "hidden_layer_sizes": (32,), "random_state": 0}


def _expected_failures(estimator):
    if isinstance(estimator, FilterClassifier):  # no mini-batches: weights are exact
        return {}
    return {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHT_IS_NOT_REPETITION,
        "check_sample_weight_equivalence_on_sparse_data": _WEIGHT_IS_NOT_REPETITION,
    }


@parametrize_with_checks(
    [
        RobustLossClassifier(max_epochs=20, hidden_layer_sizes=(32,), random_state=0),
        CoTeachingClassifier(max_epochs=40, hidden_layer_sizes=(32,), random_state=0),
        DualEMClassifier(max_epochs=40, hidden_layer_sizes=(32,), random_state=0),
        NeighborMixClassifier(max_epochs=40, hidden_layer_sizes=(32,), random_state=0),
        DivideMixClassifier(max_epochs=40, hidden_layer_sizes=(32,), random_state=0),
        LossCorrectionClassifier(max_epochs=20, hidden_layer_sizes=(32,), random_state=0),
        LossCorrectionClassifier(
            "adaptation_layer", max_epochs=20, hidden_layer_sizes=(32,), random_state=0
        ),
        # MentorNet estimates its percentile after the burn-in: 20 epochs of two batches
        # leave it too few steps to fit the binary problem first on some seeds.
        MentorNetClassifier(max_epochs=40, hidden_layer_sizes=(32,), random_state=0),
        FilterClassifier(LogisticRegression(), random_state=0),
        AutoClassifier(
            [
                ("ce", RobustLossClassifier(**_SMALL)),
                ("gce", RobustLossClassifier("gce", **_SMALL)),
            ],
            random_state=0,
        ),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
