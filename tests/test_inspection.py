"""task_permutation_importance: each task's permutation importance of each
input column, with missing labels left out of every task's score;
task_attributions: each person's integrated gradients per task, in the input
columns and the targets' units."""

import numpy as np
import pandas as pd
import pytest
from _estimator_helpers import NO_CONVERGENCE_NOISE, fast
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skhealth.datasets import make_health_data
from skhealth.inspection import task_attributions, task_permutation_importance
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


# ------------------------------------------------------------ attributions
def gaps(attributions, reg):
    """Each row's and task's sum of attributions less its prediction's
    difference from the baseline's, as a share of the task's standard
    deviation: (n_samples, n_tasks)."""
    per_task = attributions.groupby(["sample", "task"], sort=False).agg(
        total=("attribution", "sum"),
        prediction=("prediction", "first"),
        baseline=("baseline_prediction", "first"),
    )
    gap = per_task["total"] - (per_task["prediction"] - per_task["baseline"])
    return np.abs(gap.to_numpy()).reshape(-1, reg.n_tasks_) / reg._target_scaler.scale_


def table(attributions, task):
    """One task's attributions as (n_samples, n_features)."""
    chosen = attributions[attributions["task"] == task]
    return chosen.pivot(index="sample", columns="feature", values="attribution")


@pytest.fixture(scope="module")
def linear_health():
    """make_health_data with linear tasks, each weighing four columns in its
    own way (its coefficients), and three columns of noise that no task
    reads; and a network fitted to the noiseless targets."""
    X, Y, weights = make_health_data(
        n_samples=300,
        n_features=4,
        n_tasks=3,
        n_latent=4,
        task_relatedness=0,
        nonlinearity=0,
        noise=0,
        coef=True,
        random_state=0,
    )
    X = np.hstack([X, np.random.default_rng(0).normal(size=(300, 3))])
    reg = fast(n_members=1, hidden_layer_sizes=(64,), max_iter=30).fit(X, Y)
    return X, weights, reg


def test_attributions_have_a_row_per_sample_task_and_column(data, pipeline):
    X, _ = data
    rows = X.iloc[[5, 2]]
    attributions = task_attributions(pipeline, rows, baseline=X)
    assert attributions.columns.tolist() == [
        "sample",
        "task",
        "feature",
        "value",
        "attribution",
        "prediction",
        "baseline_prediction",
    ]
    assert attributions["sample"].tolist() == [5] * 8 + [2] * 8
    assert attributions["task"].tolist() == (["sbp"] * 4 + ["hdl"] * 4) * 2
    assert attributions["feature"].tolist() == ["age", "bmi", "steps", "site"] * 4
    assert attributions["value"].tolist()[:4] == rows.iloc[0].tolist()


def test_prediction_is_the_models_and_the_baseline_the_mean_input(data, pipeline):
    X, _ = data
    attributions = task_attributions(pipeline, X.iloc[:3], baseline=X)
    predicted = attributions.groupby(["sample", "task"], sort=False)["prediction"]
    # to float32 rounding: the network computes in float32, in batches of
    # other sizes than predict's
    assert_allclose(
        predicted.first().to_numpy().reshape(3, 2),
        pipeline.predict(X.iloc[:3]),
        rtol=1e-6,
    )
    mean_input = pipeline[:-1].transform(X).mean(axis=0, keepdims=True)
    baseline = attributions.groupby("task", sort=False)["baseline_prediction"]
    assert_allclose(
        baseline.first(), pipeline[-1].predict(mean_input).ravel(), rtol=1e-6
    )


@pytest.mark.parametrize("n_members", [1, 3])
def test_attributions_add_up_to_the_prediction_less_the_baselines(n_members):
    X, Y = make_health_data(
        n_samples=300, n_features=6, n_tasks=3, nonlinearity=0.5, random_state=0
    )
    reg = fast(n_members=n_members, early_stopping="auto").fit(X, Y)
    assert gaps(task_attributions(reg, X), reg).max() < 0.01


def test_each_tasks_top_columns_are_those_it_weighs(linear_health):
    X, weights, reg = linear_health
    attributions = task_attributions(reg, X)
    # a linear function's integrated gradients are weight * (x - baseline)
    truth = np.abs((X[:, :4] - X[:, :4].mean(axis=0))[:, :, None] * weights[None])
    for t, task in enumerate(reg.target_names_):
        sizes = table(attributions, task).abs().mean()
        weighed = [f"x{j}" for j in np.flatnonzero(truth[:, :, t].mean(axis=0) > 0.1)]
        ranked = sizes.sort_values(ascending=False).index.tolist()
        assert sorted(ranked[: len(weighed)]) == weighed
        assert ranked[0] == f"x{truth[:, :, t].mean(axis=0).argmax()}"
        assert_allclose(sizes.iloc[:4], truth[:, :, t].mean(axis=0), atol=0.05)


def test_each_tasks_most_important_column_by_permutation_is_its_largest_weight(
    linear_health,
):
    X, weights, reg = linear_health
    Y = X[:, :4] @ weights
    importances = task_permutation_importance(reg, X, Y, random_state=0)
    for t, task in enumerate(reg.target_names_):
        ranked = importances[importances["task"] == task].sort_values(
            "importance_mean", ascending=False
        )
        assert ranked["feature"].iloc[0] == f"x{np.abs(weights[:, t]).argmax()}"
        # the three noise columns rank last
        assert sorted(ranked["feature"].iloc[-3:]) == ["x4", "x5", "x6"]


def test_each_persons_attributions_are_the_true_ones(linear_health):
    # a linear function's integrated gradients are weight * (x - baseline)
    X, weights, reg = linear_health
    attributions = task_attributions(reg, X)
    truth = (X[:, :4] - X[:, :4].mean(axis=0))[:, :, None] * weights[None]
    for t, task in enumerate(reg.target_names_):
        found = table(attributions, task)[[f"x{j}" for j in range(4)]].to_numpy()
        assert np.corrcoef(found.ravel(), truth[:, :, t].ravel())[0, 1] > 0.97


def test_a_one_hot_block_is_its_one_column(data, pipeline):
    X, _ = data
    encoded = pipeline[:-1].transform(X)
    by_pipeline = task_attributions(pipeline, X.iloc[:20], baseline=X)
    on_array = task_attributions(pipeline[-1], encoded[:20], baseline=encoded)
    # the encoder's three site columns come first, then age, bmi and steps
    names = dict(zip(["x3", "x4", "x5"], ["age", "bmi", "steps"], strict=True))
    on_array["feature"] = on_array["feature"].map(names).fillna("site")
    on_array = on_array.groupby(["sample", "task", "feature"], sort=False)[
        "attribution"
    ].sum()
    by_pipeline = by_pipeline.set_index(["sample", "task", "feature"])["attribution"]
    assert_allclose(by_pipeline.sort_index(), on_array.sort_index(), atol=1e-6)


def test_a_search_is_explained_by_its_best_estimator(data, pipeline):
    X, Y = data
    model = make_pipeline(clone(pipeline[0]), fast(max_iter=3))
    search = GridSearchCV(model, {"multitaskhealthregressor__alpha": [1e-4]}, cv=2)
    search.fit(X, Y)
    expected = task_attributions(search.best_estimator_, X.iloc[:2], baseline=X)
    pd.testing.assert_frame_equal(
        task_attributions(search, X.iloc[:2], baseline=X), expected
    )


def test_a_missing_indicator_counts_for_its_column():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    y = X[:, 0] + np.where(rng.random(200) < 0.3, 3.0, 0.0)
    X[y > 2.5, 1] = np.nan  # missing where y is high: the indicator predicts
    model = make_pipeline(SimpleImputer(add_indicator=True), fast()).fit(X, y)
    attributions = task_attributions(model, X)
    assert attributions["feature"].unique().tolist() == ["x0", "x1"]
    assert gaps(attributions, model[-1]).max() < 0.01


def test_a_log_target_is_attributed_in_its_units():
    X, Y = make_health_data(n_samples=200, n_features=4, n_tasks=2, random_state=0)
    Y = np.exp(Y / 2)
    reg = fast(target_transform="log").fit(X, Y)
    attributions = task_attributions(reg, X)
    predicted = attributions.groupby(["sample", "task"], sort=False)["prediction"]
    assert_allclose(predicted.first().to_numpy().reshape(-1, 2), reg.predict(X))
    assert gaps(attributions, reg).max() < 0.01


def test_a_baseline_row_of_the_person_attributes_nothing(data, pipeline):
    X, _ = data
    person = X.iloc[7]
    attributions = task_attributions(pipeline, X.iloc[[7]], baseline=person)
    assert_allclose(attributions["attribution"], 0, atol=1e-6)
    assert_allclose(
        attributions["prediction"], attributions["baseline_prediction"], rtol=1e-6
    )


def test_a_one_dimensional_baseline_is_one_row(linear_health):
    X, _, reg = linear_health
    by_array = task_attributions(reg, X[:3], baseline=X[10])
    by_table = task_attributions(reg, X[:3], baseline=X[10:11])
    pd.testing.assert_frame_equal(by_array, by_table)


def test_the_network_is_left_in_the_mode_it_was_in(linear_health):
    X, _, reg = linear_health
    reg.net_.module_.train()
    try:
        task_attributions(reg, X[:3], baseline=X)
        assert reg.net_.module_.training
    finally:
        reg.net_.module_.eval()


def test_one_row_without_a_baseline_is_a_value_error(data, pipeline):
    X, _ = data
    with pytest.raises(ValueError, match="X has one row: its attributions would"):
        task_attributions(pipeline, X.iloc[[0]])


def test_a_step_that_mixes_columns_is_a_value_error(data):
    X, Y = data
    model = make_pipeline(PCA(2), fast(max_iter=2)).fit(X[["age", "bmi", "steps"]], Y)
    with pytest.raises(ValueError, match="step PCA makes columns that cannot be"):
        task_attributions(model, X[["age", "bmi", "steps"]])


@pytest.mark.parametrize("n_steps", [0, 2.5, True])
def test_n_steps_must_be_a_positive_integer(data, pipeline, n_steps):
    X, _ = data
    with pytest.raises(ValueError, match=f"n_steps must be .* got {n_steps!r}"):
        task_attributions(pipeline, X, n_steps=n_steps)


def test_attributions_of_an_unfitted_model_are_not_fitted_error(data):
    X, _ = data
    with pytest.raises(NotFittedError):
        task_attributions(fast(), X[["age"]])


def test_attributions_follow_the_columns_by_name_not_position(data, pipeline):
    X, Y = data
    # another order, and columns the model does not read (an id, the targets)
    shuffled = pd.concat([Y, X[["site", "steps", "bmi", "age"]]], axis=1)
    shuffled.insert(0, "person", range(len(X)))
    attributions = task_attributions(pipeline, shuffled.iloc[:3], baseline=shuffled)
    expected = task_attributions(pipeline, X.iloc[:3], baseline=X)
    pd.testing.assert_frame_equal(attributions, expected)


def test_a_baseline_without_the_models_columns_names_them(data, pipeline):
    X, _ = data
    message = r"baseline lacks 2 column\(s\) the model was fitted on: steps, site"
    with pytest.raises(ValueError, match=message):
        task_attributions(pipeline, X.iloc[:1], baseline=X[["age", "bmi"]])
