"""scikit-learn's own estimator checks.

One check cannot pass for a float32 network and is listed with its reason:
sklearn lists its own stochastic-gradient estimators (e.g.
``MLPRegressor(solver="sgd")``) as expected failures of it too.
``tests/test_estimator.py`` pins the equivalence it tests at float32 precision.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skhealth import MultiTaskHealthRegressor

_WEIGHTS_VS_REPEATS = (
    "Training runs in float32: integer weights and repeated rows give the same "
    "loss but gradients rounded differently, so predictions agree only to float32 "
    "precision (relative 1e-7, the check's own tolerance). With minibatches, "
    "dropout or a validation split, repeated rows also change the batches drawn."
)

ESTIMATORS = [
    MultiTaskHealthRegressor(),
    MultiTaskHealthRegressor(
        hidden_layer_sizes=(32,),
        head_layer_sizes=(16, 8),
        activation="tanh",
        dropout=0.1,
        loss="huber",
        early_stopping=True,
        validation_fraction=0.2,
        batch_size=32,
        max_iter=60,
    ),
]


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHTS_VS_REPEATS
    },
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
