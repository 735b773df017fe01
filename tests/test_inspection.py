"""task_permutation_importance: each task's permutation importance of each
input column, with missing labels left out of every task's score."""

import numpy as np
import pandas as pd
import pytest
from _estimator_helpers import NO_CONVERGENCE_NOISE, fast
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.inspection import permutation_importance
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skhealth.inspection import task_permutation_importance
from skhealth.metrics import get_scorer

pytestmark = NO_CONVERGENCE_NOISE


@pytest.fixture(scope="module")
def data():
    """Two tasks, each driven by its own columns (sbp by age and the site,
    hdl by steps), a quarter of hdl's labels missing."""
    rng = np.random.default_rng(0)
    n = 300
    X = pd.DataFrame(
        {
            "age": rng.normal(size=n),
            "bmi": rng.normal(size=n),
            "steps": rng.normal(size=n),
            "site": rng.choice(["a", "b", "c"], n),
        }
    )
    site = X["site"].map({"a": -1.0, "b": 0.0, "c": 1.0})
    Y = pd.DataFrame(
        {
            "sbp": 2 * X["age"] + 1.5 * site + 0.1 * rng.normal(size=n),
            "hdl": -2 * X["steps"] + 0.1 * rng.normal(size=n),
        }
    )
    Y.loc[::4, "hdl"] = np.nan
    return X, Y


@pytest.fixture(scope="module")
def pipeline(data):
    X, Y = data
    encode = ColumnTransformer(
        [("site", OneHotEncoder(sparse_output=False), ["site"])],
        remainder=StandardScaler(),
    )
    return make_pipeline(encode, fast(max_iter=60)).fit(X, Y)


def test_importances_name_each_task_and_each_column_of_x_in_order(data, pipeline):
    X, Y = data
    importances = task_permutation_importance(pipeline, X, Y, n_repeats=2)
    assert importances.columns.tolist() == [
        "task",
        "feature",
        "importance_mean",
        "importance_std",
    ]
    assert importances["task"].tolist() == ["sbp"] * 4 + ["hdl"] * 4
    assert importances["feature"].tolist() == ["age", "bmi", "steps", "site"] * 2


def test_each_task_relies_on_its_own_columns_a_category_counted_once(data, pipeline):
    X, Y = data
    importances = task_permutation_importance(pipeline, X, Y, random_state=0)
    table = importances.pivot(index="feature", columns="task", values="importance_mean")
    assert table["sbp"].nlargest(2).index.tolist() == ["age", "site"]
    assert table["hdl"].idxmax() == "steps"
    assert (table.loc[["bmi", "steps"], "sbp"] < 0.05).all()
    assert (table.loc[["age", "bmi", "site"], "hdl"] < 0.05).all()


def test_importances_are_scikit_learns_with_each_tasks_scorer(data, pipeline):
    X, Y = data
    importances = task_permutation_importance(
        pipeline, X, Y, scoring="neg_mean_absolute_error", random_state=3
    )
    for task in ["sbp", "hdl"]:
        expected = permutation_importance(
            pipeline,
            X,
            Y,
            scoring=get_scorer("neg_mean_absolute_error", task=task),
            n_repeats=5,
            random_state=3,
        )
        got = importances[importances["task"] == task]
        np.testing.assert_allclose(got["importance_mean"], expected.importances_mean)
        np.testing.assert_allclose(got["importance_std"], expected.importances_std)


def test_columns_of_an_array_are_named_by_position(data):
    X, Y = data
    numbers = X[["age", "bmi", "steps"]].to_numpy()
    reg = fast(max_iter=5).fit(numbers, Y.to_numpy())
    importances = task_permutation_importance(reg, numbers, Y.to_numpy(), n_repeats=1)
    assert importances["task"].unique().tolist() == ["task_0", "task_1"]
    assert importances["feature"].tolist() == ["x0", "x1", "x2"] * 2


def test_an_unknown_metric_is_a_value_error(data, pipeline):
    X, Y = data
    with pytest.raises(ValueError, match="'accuracy'"):
        task_permutation_importance(pipeline, X, Y, scoring="accuracy")


def test_an_unfitted_model_is_not_fitted_error(data):
    X, Y = data
    with pytest.raises(NotFittedError):
        task_permutation_importance(fast(), X[["age"]], Y)
