"""What the tests/test_estimator_*.py files share: a quick estimator to fit, the
weight decay each parameter trains with, and quiet about convergence."""

import pytest

from skhealth import MultiTaskHealthRegressor

# Quick fits stop at max_iter: their ConvergenceWarning is noise, except where
# a test asks for it with pytest.warns.
NO_CONVERGENCE_NOISE = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


def fast(**params):
    """A small, quick configuration for behavioural tests: one that trains
    every epoch asked for (no early stopping unless a test asks for it)."""
    defaults = dict(
        hidden_layer_sizes=(32,), max_iter=30, random_state=0, early_stopping=False
    )
    return MultiTaskHealthRegressor(**{**defaults, **params})


def decay_by_parameter(reg):
    decay = {
        id(p): group["weight_decay"]
        for group in reg.net_.optimizer_.param_groups
        for p in group["params"]
    }
    return {name: decay[id(p)] for name, p in reg.net_.module_.named_parameters()}
