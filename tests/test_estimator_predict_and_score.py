"""A fitted estimator's attributes, predictions, score and score_tasks."""

import re

import numpy as np
import pandas as pd
import pytest
import torch
from _estimator_helpers import NO_CONVERGENCE_NOISE, fast
from sklearn.exceptions import NotFittedError

from skhealth import MultiTaskHealthRegressor
from skhealth._net import _EVAL_ROWS
from skhealth.architectures import ARCHITECTURES
from skhealth.metrics import task_scores

pytestmark = NO_CONVERGENCE_NOISE


def test_default_estimator_fits_tasks_on_different_scales(regression_data):
    X, Y = regression_data
    reg = MultiTaskHealthRegressor(random_state=0).fit(X, Y)
    pred = reg.predict(X)
    r2 = 1 - ((Y - pred) ** 2).sum(0) / ((Y - Y.mean(0)) ** 2).sum(0)
    assert r2.min() > 0.9


def test_fitted_attributes(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=7, tol=0.0, n_iter_no_change=7).fit(X, Y)
    assert reg.n_features_in_ == 6
    assert reg.n_tasks_ == 3
    assert list(reg.target_names_) == ["task_0", "task_1", "task_2"]
    assert reg.n_iter_ == 7
    assert len(reg.loss_curve_) == 7
    assert reg.loss_curve_ == list(reg.history_[:, "train_loss"])
    assert reg.best_loss_ == min(reg.loss_curve_)
    assert reg.validation_scores_ is None
    assert not hasattr(reg, "feature_names_in_")
    assert isinstance(reg.net_.module_, torch.nn.Module)


def test_unfitted_estimator_raises_not_fitted(regression_data):
    X, _ = regression_data
    with pytest.raises(NotFittedError):
        fast().predict(X)
    with pytest.raises(NotFittedError):
        _ = fast().history_


# ------------------------------------------------------------------- predict
def test_predict_is_float64_with_one_column_per_task(regression_data):
    X, Y = regression_data
    pred = fast().fit(X, Y).predict(X)
    assert pred.dtype == np.float64
    assert pred.shape == (240, 3)


def test_one_dimensional_y_gives_one_dimensional_predictions(regression_data):
    X, Y = regression_data
    reg = fast().fit(X, Y[:, 0])
    assert reg.predict(X).shape == (240,)
    assert reg.n_tasks_ == 1


def test_single_column_y_gives_single_column_predictions(regression_data):
    X, Y = regression_data
    assert fast().fit(X, Y[:, :1]).predict(X).shape == (240, 1)


def test_ensemble_predicts_the_mean_of_its_members(regression_data):
    X, Y = regression_data
    reg = fast(n_members=3, max_iter=5).fit(X, Y)
    predicted = reg.predict(X)  # leaves the members in evaluation mode
    scale, mean = reg._target_scaler.scale_, reg._target_scaler.mean_
    with torch.no_grad():
        X32 = torch.as_tensor(X, dtype=torch.float32)
        each = [m(X32).numpy() * scale + mean for m in reg.net_.module_.members]
    assert len(each) == 3
    assert not np.allclose(each[0], each[1])
    np.testing.assert_allclose(predicted, np.mean(each, axis=0), rtol=1e-5)


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_predictions_agree_alone_and_in_a_batch_to_float32_precision(
    regression_data, architecture
):
    X, Y = regression_data
    # BLAS computes a lone row with other kernels than a batch's rows: the
    # last bits may differ.
    reg = fast(
        architecture=architecture, hidden_layer_sizes=(64, 64), batch_size=16
    ).fit(X, Y)
    together = reg.predict(X[:37])
    alone = np.vstack([reg.predict(X[i : i + 1]) for i in range(37)])
    np.testing.assert_allclose(alone, together, rtol=1e-5, atol=1e-6)


def test_predicting_more_rows_than_one_pass_joins_the_passes(regression_data):
    X, Y = regression_data
    reg = fast().fit(X, Y)
    copies = _EVAL_ROWS // len(X) + 1  # one pass of _EVAL_ROWS rows, then the rest
    np.testing.assert_allclose(
        reg.predict(np.tile(X, (copies, 1))),
        np.tile(reg.predict(X), (copies, 1)),
        rtol=1e-5,
    )


# --------------------------------------------------------------------- score
def test_score_without_missing_labels_equals_sklearn_r2(regression_data):
    from sklearn.metrics import r2_score

    X, Y = regression_data
    reg = fast().fit(X, Y)
    assert reg.score(X, Y) == pytest.approx(r2_score(Y, reg.predict(X)))


def test_missing_labels_are_allowed_and_ignored_by_score(regression_data):
    X, Y = regression_data
    Y_missing = Y.copy()
    Y_missing[np.random.RandomState(0).rand(*Y.shape) < 0.3] = np.nan
    reg = MultiTaskHealthRegressor(random_state=0).fit(X, Y_missing)
    pred = reg.predict(X)
    assert np.isfinite(pred).all()
    observed = ~np.isnan(Y_missing)
    r2 = [
        1
        - ((Y[o, t] - pred[o, t]) ** 2).sum() / ((Y[o, t] - Y[o, t].mean()) ** 2).sum()
        for t, o in enumerate(observed.T)
    ]
    assert reg.score(X, Y_missing) == pytest.approx(np.mean(r2))


def test_score_tasks_is_task_scores_indexed_by_target_name(health_frame):
    X, Y = health_frame
    X = pd.get_dummies(X, dtype=float).fillna(0.0)
    X = (X - X.mean()) / X.std()
    Y = Y.copy()
    Y.iloc[::4, 1] = np.nan
    reg = fast().fit(X, Y)
    expected = task_scores(Y, reg.predict(X), target_names=list(Y.columns))
    pd.testing.assert_frame_equal(reg.score_tasks(X, Y), expected)
    assert reg.score_tasks(X, Y).loc["hdl", "n_observed"] == 225


@pytest.mark.parametrize("method", ["score", "score_tasks"])
def test_y_with_fewer_columns_than_tasks_is_a_value_error_naming_them(
    regression_data, method
):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, pd.DataFrame(Y, columns=["sbp", "chol", "sleep"]))
    message = (
        "y has 2 columns but the model has 3 tasks ['sbp', 'chol', 'sleep']: pass "
        "one column per task, in that order, with NaN where a label is missing."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        getattr(reg, method)(X, Y[:, :2])


def test_one_dimensional_y_on_a_multi_task_model_is_a_value_error(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, Y)
    message = (
        "y is 1-D, the labels of one task, but the model has 3 tasks ['task_0', "
        "'task_1', 'task_2']: pass one column per task, in that order, with NaN "
        "where a label is missing."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        reg.score(X, Y[:, 0])


def test_y_with_more_columns_than_the_one_task_is_a_value_error(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, pd.Series(Y[:, 0], name="sbp"))
    with pytest.raises(
        ValueError, match=re.escape("y has 3 columns but the model has 1 task ['sbp']")
    ):
        reg.score(X, Y)


def test_unnamed_model_scores_named_columns_by_position(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, Y)
    named = pd.DataFrame(Y, columns=["sbp", "chol", "sleep"])
    assert reg.score_tasks(X, named).equals(reg.score_tasks(X, Y))


_TASKS = "the model's tasks ['sbp', 'chol', 'sleep']"


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (
            ["sbp", "sleep"],
            f"y lacks the column ['chol'] of {_TASKS}: give y one column per task, "
            "named as the task (rename a column that holds a task under another "
            "name).",
        ),
        (
            ["sbp", "cholesterol", "bmi"],
            f"y lacks the columns ['chol', 'sleep'] of {_TASKS}, and has the "
            "columns ['cholesterol', 'bmi'] of no task: give y one column per "
            "task, named as the task (rename a column that holds a task under "
            "another name).",
        ),
        (
            ["bmi", "sleep", "sbp", "chol"],
            "y has the columns ['bmi', 'sleep', 'sbp', 'chol'], but the model's "
            "tasks are ['sbp', 'chol', 'sleep']: pass y[['sbp', 'chol', 'sleep']], "
            "so that each column meets its own task.",
        ),
    ],
)
def test_score_on_y_of_other_columns_names_the_missing_ones_or_suggests_y_names(
    regression_data, columns, message
):
    X, Y = regression_data
    Y = pd.DataFrame(Y, columns=["sbp", "chol", "sleep"])
    reg = fast(max_iter=2).fit(X, Y)
    y = Y.assign(cholesterol=Y["chol"], bmi=25.0)[columns]
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        reg.score(X, y)
