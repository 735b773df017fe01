"""Per-task scores on observed labels, and the functions that score and
predict for any fitted model: an estimator or a pipeline ending in one."""

import numpy as np
import pandas as pd
import pytest
from _estimator_helpers import NO_CONVERGENCE_NOISE, fast
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skhealth
from skhealth.datasets import make_health_data
from skhealth.metrics import get_scorer, task_scores

pytestmark = NO_CONVERGENCE_NOISE  # the models here are quick fits

Y_TRUE = np.array([[1.0, 10.0], [2.0, np.nan], [3.0, 30.0], [4.0, 35.0]])
Y_PRED = np.array([[1.5, 12.0], [2.0, 20.0], [2.5, 30.0], [4.0, 31.0]])


def test_missing_labels_are_left_out_of_their_task():
    scores = task_scores(Y_TRUE, Y_PRED)
    expected = task_scores(Y_TRUE[[0, 2, 3], 1], Y_PRED[[0, 2, 3], 1])
    assert scores.loc["task_1"].tolist() == expected.loc["task_0"].tolist()
    assert scores["n_observed"].tolist() == [4, 3]


def test_rows_of_zero_weight_are_left_out_like_missing_labels():
    weight = np.array([1.0, 2.0, 0.0, 1.0])
    scores = task_scores(Y_TRUE, Y_PRED, sample_weight=weight)
    kept = weight > 0
    expected = task_scores(Y_TRUE[kept], Y_PRED[kept], sample_weight=weight[kept])
    pd.testing.assert_frame_equal(scores, expected)
    assert scores["n_observed"].tolist() == [3, 2]


def test_task_whose_labels_all_weigh_zero_has_nan_scores():
    weight = np.array([0.0, 1.0, 0.0, 0.0])  # task 1's only label-less row weighs
    scores = task_scores(Y_TRUE, Y_PRED, sample_weight=weight)
    assert scores.loc["task_1"].isna()[["r2", "mae", "rmse"]].all()
    assert scores.loc["task_1", "n_observed"] == 0
    assert scores.loc["task_0", "mae"] == 0.0


def test_pandas_na_in_an_object_column_is_a_missing_label():
    y_true = pd.DataFrame(Y_TRUE, columns=["sbp", "hdl"], dtype=object)
    y_true.iloc[1, 1] = pd.NA
    pd.testing.assert_frame_equal(
        task_scores(y_true, Y_PRED),
        task_scores(Y_TRUE, Y_PRED, target_names=["sbp", "hdl"]),
    )


def test_predictions_with_nan_are_a_value_error():
    with pytest.raises(ValueError, match="y_pred contains NaN"):
        task_scores(Y_TRUE, np.where(Y_PRED > 30, np.nan, Y_PRED))


# ------------------------------------------------- functions of a fitted model
@pytest.fixture(scope="module")
def data():
    """Two tasks, a fifth of each task's labels missing, rows indexed by id."""
    X, Y = make_health_data(
        n_samples=120, n_features=4, n_tasks=2, missing_rate=0.2, random_state=0
    )
    ids = pd.RangeIndex(1000, 1120, name="id")
    return pd.DataFrame(X, index=ids).add_prefix("x"), pd.DataFrame(
        Y, columns=["sbp", "hdl"], index=ids
    )


@pytest.fixture(scope="module")
def pipeline(data):
    return make_pipeline(StandardScaler(), fast(max_iter=10)).fit(*data)


def test_score_tasks_of_a_pipeline_is_its_estimator_s_on_transformed_inputs(
    pipeline, data
):
    X, Y = data
    pd.testing.assert_frame_equal(
        skhealth.score_tasks(pipeline, X, Y),
        pipeline[-1].score_tasks(pipeline[:-1].transform(X), Y),
    )


def test_score_tasks_of_an_estimator_is_its_method_s(data):
    X, Y = data
    reg = fast(max_iter=10).fit(X, Y)
    weight = np.linspace(0, 2, len(X))
    pd.testing.assert_frame_equal(
        skhealth.score_tasks(reg, X, Y, sample_weight=weight),
        reg.score_tasks(X, Y, sample_weight=weight),
    )


def test_score_tasks_refuses_y_whose_columns_are_not_the_model_s_tasks(pipeline, data):
    X, Y = data
    with pytest.raises(ValueError, match=r"pass y\[\['sbp', 'hdl'\]\]"):
        skhealth.score_tasks(pipeline, X, Y[["hdl", "sbp"]])


def test_predict_frame_has_the_target_names_and_the_rows_of_x(pipeline, data):
    X, _ = data
    frame = skhealth.predict_frame(pipeline, X)
    expected = pd.DataFrame(pipeline.predict(X), columns=["sbp", "hdl"], index=X.index)
    pd.testing.assert_frame_equal(frame, expected)


def test_predict_frame_of_an_array_is_indexed_from_0(data):
    X, Y = data
    reg = fast(max_iter=10).fit(X.to_numpy(), Y.to_numpy())
    frame = skhealth.predict_frame(reg, X.to_numpy())
    assert frame.columns.tolist() == ["task_0", "task_1"]
    pd.testing.assert_index_equal(frame.index, pd.RangeIndex(120))


def test_predict_frame_of_a_one_dimensional_target_has_one_column(data):
    X, Y = data
    reg = fast(max_iter=10).fit(X, Y["hdl"])
    frame = skhealth.predict_frame(reg, X)
    assert frame.columns.tolist() == ["hdl"]
    np.testing.assert_array_equal(frame["hdl"].to_numpy(), reg.predict(X))


@pytest.fixture(scope="module")
def calibrated(data):
    """A pipeline whose estimator cross-fits, so is calibrated."""
    model = fast(max_iter=10, early_stopping="cross_fit")
    return make_pipeline(StandardScaler(), model).fit(*data)


def test_predict_frame_interval_puts_each_targets_bounds_after_it(calibrated, data):
    X, _ = data
    frame = skhealth.predict_frame(calibrated, X, interval=0.8)
    assert frame.columns.tolist() == [
        "sbp", "sbp_lower", "sbp_upper", "hdl", "hdl_lower", "hdl_upper"
    ]  # fmt: skip
    bounds = calibrated[-1].predict_interval(calibrated[:-1].transform(X), 0.8)
    np.testing.assert_array_equal(frame[["sbp_lower", "sbp_upper"]], bounds[:, 0])
    np.testing.assert_array_equal(frame[["hdl_lower", "hdl_upper"]], bounds[:, 1])
    pd.testing.assert_index_equal(frame.index, X.index)


def test_predict_frame_interval_of_a_search_is_its_best_estimator_s(calibrated, data):
    search = GridSearchCV(
        calibrated, {"multitaskhealthregressor__max_iter": [5]}, cv=2
    ).fit(*data)
    X, _ = data
    pd.testing.assert_frame_equal(
        skhealth.predict_frame(search, X, interval=0.5),
        skhealth.predict_frame(search.best_estimator_, X, interval=0.5),
    )


def test_predict_frame_groups_without_interval_is_a_value_error(pipeline, data):
    X, _ = data
    with pytest.raises(
        ValueError, match=r"pass it with interval=\.\.\., or leave it out"
    ):
        skhealth.predict_frame(pipeline, X, groups=np.zeros(len(X)))


def test_saved_pipeline_loads_with_the_same_predictions_and_scores(
    pipeline, data, tmp_path
):
    X, Y = data
    skhealth.save(pipeline, tmp_path / "model.skh")
    loaded = skhealth.load(tmp_path / "model.skh")
    pd.testing.assert_frame_equal(
        skhealth.predict_frame(loaded, X), skhealth.predict_frame(pipeline, X)
    )
    pd.testing.assert_frame_equal(
        skhealth.score_tasks(loaded, X, Y), skhealth.score_tasks(pipeline, X, Y)
    )


def call(function, model, data):
    """``skhealth.score_tasks(model, X, Y)`` or ``skhealth.predict_frame(model, X)``."""
    X, Y = data
    args = (X, Y) if function == "score_tasks" else (X,)
    return getattr(skhealth, function)(model, *args)


@pytest.mark.parametrize("function", ["score_tasks", "predict_frame"])
def test_unfitted_model_is_not_fitted_error(function, data):
    with pytest.raises(NotFittedError, match="MultiTaskHealthRegressor instance"):
        call(function, make_pipeline(StandardScaler(), fast()), data)


@pytest.mark.parametrize(
    ("model", "got"),
    [
        (Ridge(), "Ridge"),
        (make_pipeline(StandardScaler(), Ridge()), "Pipeline ending in Ridge"),
        (GridSearchCV(Ridge(), {"alpha": [1.0]}, cv=2), "GridSearchCV ending in Ridge"),
    ],
)
@pytest.mark.parametrize("function", ["score_tasks", "predict_frame"])
def test_model_of_another_kind_is_a_type_error_naming_it(function, model, got, data):
    X, Y = data
    model.fit(X, Y.fillna(0.0))
    with pytest.raises(
        TypeError,
        match=(
            r"^model must be a MultiTaskHealthRegressor or "
            r"MultiTaskHealthClassifier, or a Pipeline whose last step is one, or "
            r"a search \(GridSearchCV, \.\.\.\) fitted with "
            rf"refit=True whose best_estimator_ is either; got {got}\.$"
        ),
    ):
        call(function, model, data)


# ----------------------------------------------------- searches, as fitted
@pytest.fixture(scope="module")
def search(data):
    """A search over a pipeline: its best estimator is a pipeline."""
    grid = {"multitaskhealthregressor__alpha": [1e-4, 1e-2]}
    model = make_pipeline(StandardScaler(), fast(max_iter=5))
    return GridSearchCV(model, grid, cv=2, scoring=get_scorer("r2")).fit(*data)


def test_score_tasks_of_a_search_is_its_best_estimator_s(search, data):
    pd.testing.assert_frame_equal(
        skhealth.score_tasks(search, *data),
        skhealth.score_tasks(search.best_estimator_, *data),
    )


def test_predict_frame_of_a_search_is_its_best_estimator_s(search, data):
    X, _ = data
    pd.testing.assert_frame_equal(
        skhealth.predict_frame(search, X),
        skhealth.predict_frame(search.best_estimator_, X),
    )


def test_pipeline_ending_in_a_search_scores_as_the_search_s_best_estimator(data):
    X, Y = data
    inner = GridSearchCV(fast(max_iter=5), {"alpha": [1e-4]}, cv=2)
    pipeline = make_pipeline(StandardScaler(), inner).fit(X, Y)
    expected = inner.best_estimator_.score_tasks(pipeline[:-1].transform(X), Y)
    pd.testing.assert_frame_equal(skhealth.score_tasks(pipeline, X, Y), expected)


@pytest.mark.parametrize("function", ["score_tasks", "predict_frame"])
def test_search_fitted_without_refit_is_a_value_error(function, data):
    X, Y = data
    search = GridSearchCV(
        fast(max_iter=2), {"alpha": [1e-4]}, cv=2, scoring=get_scorer("r2"), refit=False
    ).fit(X, Y)
    with pytest.raises(
        ValueError,
        match=(
            r"^This GridSearchCV was fitted with refit=False, so it holds no model "
            r"to predict or score with: fit it with refit=True, or fit its "
            r"estimator with the search's best_params_\.$"
        ),
    ):
        call(function, search, data)


@pytest.mark.parametrize("function", ["score_tasks", "predict_frame"])
def test_unfitted_search_is_not_fitted_error(function, data):
    with pytest.raises(NotFittedError, match="This GridSearchCV instance"):
        call(function, GridSearchCV(fast(), {"alpha": [1e-4]}), data)
