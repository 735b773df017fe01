"""scikit-learn's own estimator checks.

Two checks ask for more than a float32 network gives, and are listed with their
reasons: sklearn lists its own stochastic-gradient estimators (e.g.
``MLPRegressor(solver="sgd")``) as expected failures of the first too, and the
second fails for some of sklearn's estimators as well (e.g. ``NuSVC``).
``tests/test_estimator_training.py`` (integer weights as repeated rows) and
``tests/test_estimator_predict_and_score.py`` (one row alone as in a batch) pin
both equivalences at float32 precision.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skhealth import MultiTaskHealthClassifier, MultiTaskHealthRegressor

_WEIGHTS_VS_REPEATS = (
    "Training runs in float32: integer weights and repeated rows give the same "
    "loss but gradients rounded differently, so predictions agree only to float32 "
    "precision (relative 1e-7, the check's own tolerance). With minibatches, "
    "dropout or a validation split, repeated rows also change the batches drawn."
)

_ROW_ALONE_VS_IN_A_BATCH = (
    "Prediction runs in float32, and BLAS computes a lone row with other kernels "
    "than the rows of a batch: a row's prediction alone and in a batch agree to "
    "float32 rounding (about 1e-7 relative, which grows through the layers), not "
    "to the check's absolute 1e-7. Padding every batch to a multiple of 8 rows "
    "made them bit-identical but cost a one-row predict 1.4 to 6 times its time."
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
    MultiTaskHealthClassifier(),
]


@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: {
        "check_sample_weight_equivalence_on_dense_data": _WEIGHTS_VS_REPEATS,
        "check_methods_subset_invariance": _ROW_ALONE_VS_IN_A_BATCH,
    },
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
