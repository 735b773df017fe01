"""Training on with partial_fit or warm_start, and the parameters that may change."""

import re

import numpy as np
import pytest
from _estimator_helpers import NO_CONVERGENCE_NOISE, decay_by_parameter, fast

from skhealth.architectures import HardSharing, MMoE

pytestmark = NO_CONVERGENCE_NOISE


# --------------------------------------------------------------- partial_fit
def test_partial_fit_trains_one_epoch_per_call(regression_data):
    X, Y = regression_data
    reg = fast()
    for _ in range(3):
        reg.partial_fit(X, Y)
    assert reg.n_iter_ == 3
    assert reg.loss_curve_[2] < reg.loss_curve_[0]


def test_partial_fit_with_other_tasks_is_a_value_error(regression_data):
    X, Y = regression_data
    reg = fast().partial_fit(X, Y)
    with pytest.raises(
        ValueError, match="y has 2 tasks but the estimator was fitted with 3"
    ):
        reg.partial_fit(X, Y[:, :2])


def test_partial_fit_with_other_features_is_a_value_error(regression_data):
    X, Y = regression_data
    reg = fast().partial_fit(X, Y)
    with pytest.raises(ValueError, match="X has 5 features"):
        reg.partial_fit(X[:, :5], Y)


def test_partial_fit_on_a_batch_without_labels_for_a_task_trains_the_others(
    regression_data,
):
    X, Y = regression_data
    reg = fast().partial_fit(X, Y)
    batch = Y[:20].copy()
    batch[:, 1] = np.nan
    before = reg.predict(X)
    reg.partial_fit(X[:20], batch)
    assert reg.n_iter_ == 2
    assert not np.array_equal(reg.predict(X), before)


def test_partial_fit_on_a_batch_without_any_label_is_a_value_error(regression_data):
    X, Y = regression_data
    reg = fast().partial_fit(X, Y)
    with pytest.raises(ValueError, match="NaN only for task 0"):
        reg.partial_fit(X[:20], np.full((20, 3), np.nan))


def test_partial_fit_never_stops_early(regression_data):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(1200, 3)), rng.normal(size=1200)
    reg = fast(n_members=1)
    for _ in range(3):
        reg.partial_fit(X, y)
    assert reg.do_early_stopping_ is False
    assert reg.validation_scores_ is None
    assert reg.best_loss_ == min(reg.loss_curve_)


def test_partial_fit_is_unavailable_with_early_stopping(regression_data):
    reg = fast(early_stopping=True)
    assert not hasattr(reg, "partial_fit")
    with pytest.raises(AttributeError) as raised:
        reg.partial_fit(*regression_data)
    # scikit-learn's available_if chains the reason to its generic message
    assert "does not support early_stopping=True" in str(raised.value.__cause__)


# ---------------------------------------------------------------- warm_start
def test_warm_start_continues_from_the_fitted_weights(regression_data):
    X, Y = regression_data
    reg = fast(warm_start=True, max_iter=5, tol=0.0, n_iter_no_change=5).fit(X, Y)
    first_loss = reg.loss_curve_[-1]
    reg.fit(X, Y)
    assert reg.n_iter_ == 10
    assert reg.loss_curve_[5] < first_loss * 1.05


def test_fit_without_warm_start_starts_again(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=5, tol=0.0, n_iter_no_change=5).fit(X, Y)
    first = reg.predict(X)
    np.testing.assert_array_equal(reg.fit(X, Y).predict(X), first)
    assert reg.n_iter_ == 5


# -------------------------------------------- changing parameters in between
def test_continued_training_uses_the_current_optimisation_parameters(
    regression_data,
):
    X, Y = regression_data
    reg = fast(warm_start=True, max_iter=2, alpha=0.0).fit(X, Y)
    reg.set_params(learning_rate_init=0.01, alpha=0.1, batch_size=50).fit(X, Y)
    assert {g["lr"] for g in reg.net_.optimizer_.param_groups} == {0.01}
    assert decay_by_parameter(reg) == {
        name: 0.0 if name.endswith("bias") else 0.1
        for name, _ in reg.net_.module_.named_parameters()
    }
    # 240 rows in batches of 32 ("auto"), then of 50: 8, then 5 steps per epoch
    assert [len(epoch["batches"]) for epoch in reg.history_] == [8, 8, 5, 5]


def test_partial_fit_uses_the_current_stopping_parameters(regression_data):
    X, Y = regression_data
    reg = fast().partial_fit(X, Y).set_params(n_iter_no_change=7, tol=0.5)
    reg.partial_fit(X, Y)
    stopper = dict(reg.net_.callbacks_)["plateau_stopping"]
    assert (stopper.patience, stopper.threshold) == (7, 0.5)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            dict(hidden_layer_sizes=(8,)),
            "hidden_layer_sizes=(8,), but the network "
            "was built with hidden_layer_sizes=(32,)",
        ),
        (
            dict(architecture="mmoe"),
            "architecture='mmoe', but the network was built with architecture='hard'",
        ),
        (dict(n_members=2), "n_members=2, but the network was built with n_members=5"),
        (dict(loss="huber"), "loss='huber'"),
    ],
)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_continuing_after_changing_the_network_is_a_value_error(
    regression_data, params, message, method
):
    X, Y = regression_data
    reg = fast(warm_start=True, max_iter=2).fit(X, Y).set_params(**params)
    with pytest.raises(ValueError, match=re.escape(message) + ".* Set .* back"):
        getattr(reg, method)(X, Y)


def test_changed_nested_architecture_parameter_is_a_change(regression_data):
    X, Y = regression_data
    reg = fast(warm_start=True, max_iter=2, architecture=MMoE(n_experts=2))
    reg.fit(X, Y).set_params(architecture__n_experts=3)
    with pytest.raises(ValueError, match=r"architecture=MMoE\(n_experts=3\)"):
        reg.fit(X, Y)


def test_equal_values_of_another_type_are_not_a_change(regression_data):
    X, Y = regression_data
    reg = fast(warm_start=True, max_iter=2).fit(X, Y)
    reg.set_params(hidden_layer_sizes=[32], architecture=HardSharing()).fit(X, Y)
    assert reg.n_iter_ == 4
