"""scikit-learn's estimator checks for each architecture and task weighting.

The default (hard sharing, equal weights) is checked in
``tests/test_estimator_checks.py``, whose docstring explains the two expected
failures; here every other architecture and weighting strategy runs the checks
once, in a small configuration. Its learning rate is raised because the
checks train on 200 rows, one minibatch: 50 epochs are 50 steps, too few at the
default rate to reach the R² of 0.5 that ``check_regressors_train`` asks for.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skhealth import MultiTaskHealthRegressor
from skhealth.architectures import Hierarchical
from skhealth.weighting import WEIGHTINGS


def small(**params):
    defaults = dict(hidden_layer_sizes=(16,), max_iter=50, learning_rate_init=1e-2)
    return MultiTaskHealthRegressor(**{**defaults, **params})


ESTIMATORS = [
    small(architecture="mmoe"),
    small(architecture="cross_stitch"),
    # by name it is hard sharing: check a real hierarchy instead, task 0 read
    # after the first of two layers (a dict works for y of any width)
    small(hidden_layer_sizes=(16, 8), architecture=Hierarchical(task_depths={0: 1})),
    *(small(task_weighting=name) for name in sorted(set(WEIGHTINGS) - {"equal"})),
]


@pytest.mark.slow
@parametrize_with_checks(
    ESTIMATORS,
    expected_failed_checks=lambda est: {
        "check_sample_weight_equivalence_on_dense_data": (
            "float32 training (see tests/test_estimator_checks.py)"
        ),
        "check_methods_subset_invariance": (
            "float32 prediction (see tests/test_estimator_checks.py)"
        ),
    },
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
