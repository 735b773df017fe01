"""Scorers that leave missing labels out, for scikit-learn's model selection."""

import pickle

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics
from _estimator_helpers import NO_CONVERGENCE_NOISE, fast
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhealth.datasets import make_health_data
from skhealth.metrics import get_scorer, score_tasks, task_scorers, task_scores

pytestmark = NO_CONVERGENCE_NOISE

TASKS = ["sbp", "hdl", "hba1c"]


@pytest.fixture(scope="module")
def data():
    """Three tasks, a fifth of each task's labels missing."""
    X, Y = make_health_data(
        n_samples=200, n_features=5, n_tasks=3, missing_rate=0.2, random_state=0
    )
    return X, pd.DataFrame(Y, columns=TASKS)


@pytest.fixture(scope="module")
def model(data):
    return fast().fit(*data)


# ------------------------------------------------------------ model selection
def test_search_picks_the_better_setting_with_finite_scores(data):
    search = GridSearchCV(
        fast(),
        {"learning_rate_init": [1e-5, 1e-2]},  # the first barely trains
        cv=2,
        scoring=get_scorer("r2"),
        refit=False,
    ).fit(*data)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_ == {"learning_rate_init": 1e-2}


def test_search_with_scikit_learn_r2_scores_nan_and_picks_the_first_setting(data):
    search = GridSearchCV(
        fast(), {"learning_rate_init": [1e-5, 1e-2]}, cv=2, scoring="r2", refit=False
    )
    with (
        pytest.warns(UserWarning, match="Scoring failed"),
        pytest.warns(UserWarning, match="test scores are non-finite"),
    ):
        search.fit(*data)
    assert np.isnan(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_ == {"learning_rate_init": 1e-5}


def test_cross_validate_scores_each_task_as_task_scores_on_the_fold(data):
    X, Y = data
    names = [
        "r2",
        "neg_mean_absolute_error",
        "neg_mean_squared_error",
        "neg_root_mean_squared_error",
    ]
    results = cross_validate(
        fast(),
        X,
        Y,
        cv=KFold(2),
        scoring=task_scorers(Y.columns, names),
        return_estimator=True,
        return_indices=True,
    )
    for fold, (estimator, test) in enumerate(
        zip(results["estimator"], results["indices"]["test"], strict=True)
    ):
        table = task_scores(Y.iloc[test], estimator.predict(X[test]))
        expected = {
            "r2": table["r2"],
            "neg_mean_absolute_error": -table["mae"],
            "neg_mean_squared_error": -(table["rmse"] ** 2),
            "neg_root_mean_squared_error": -table["rmse"],
        }
        for name in names:
            assert results[f"test_{name}"][fold] == expected[name].mean()
            for task in TASKS:
                assert results[f"test_{name}_{task}"][fold] == expected[name][task]


def test_search_fitted_with_sample_weight_scores_with_it(data):
    X, Y = data
    weight = np.random.RandomState(0).uniform(0, 2, len(X))
    train, test = np.arange(150), np.arange(150, 200)
    search = GridSearchCV(
        fast(),
        {"alpha": [1e-4]},
        cv=[(train, test)],
        scoring=task_scorers(["hdl"], "neg_mean_absolute_error"),
        refit=False,
    ).fit(X, Y, sample_weight=weight)
    fitted = clone(fast()).fit(X[train], Y.iloc[train], sample_weight=weight[train])
    table = task_scores(
        Y.iloc[test], fitted.predict(X[test]), sample_weight=weight[test]
    )
    assert search.cv_results_["mean_test_neg_mean_absolute_error_hdl"][0] == (
        -table.loc["hdl", "mae"]
    )


def test_nested_cross_validation_scores_each_search_as_its_best_estimator(data):
    X, Y = data
    search = GridSearchCV(
        fast(max_iter=10), {"alpha": [1e-4, 1e-1]}, cv=2, scoring=get_scorer("r2")
    )
    results = cross_validate(
        search,
        X,
        Y,
        cv=KFold(2),
        scoring=get_scorer("r2"),
        return_estimator=True,
        return_indices=True,
    )
    expected = [
        fitted.best_estimator_.score(X[test], Y.iloc[test])
        for fitted, test in zip(
            results["estimator"], results["indices"]["test"], strict=True
        )
    ]
    assert np.isfinite(expected).all()
    assert results["test_score"].tolist() == expected


# ------------------------------------------------------------- what it scores
def test_mean_r2_over_tasks_is_the_estimator_score(model, data):
    assert get_scorer("r2")(model, *data) == model.score(*data)


def test_mean_over_tasks_leaves_out_a_task_whose_metric_is_undefined(model, data):
    X, Y = data
    Y = Y.copy()
    Y.loc[1:, "hdl"] = np.nan  # one label left: R² is undefined
    table = task_scores(Y, model.predict(X))
    assert get_scorer("r2")(model, X, Y) == table.loc[["sbp", "hba1c"], "r2"].mean()


def test_task_is_found_by_name_or_by_index(model, data):
    by_name = get_scorer("neg_mean_absolute_error", task="hba1c")(model, *data)
    by_index = get_scorer("neg_mean_absolute_error", task=2)(model, *data)
    assert by_name == by_index == -score_tasks(model, *data).loc["hba1c", "mae"]


def test_task_names_are_the_model_s_when_y_has_no_column_names(model, data):
    X, Y = data
    scorer = get_scorer("neg_root_mean_squared_error", task="hdl")
    assert scorer(model, X, Y.to_numpy()) == scorer(model, X, Y)


def test_sample_weight_weighs_the_scored_rows(model, data):
    X, Y = data
    weight = np.random.RandomState(1).uniform(0, 2, len(X))
    scorer = get_scorer("neg_mean_absolute_error", task="sbp")
    weighted = task_scores(Y, model.predict(X), sample_weight=weight)
    assert scorer(model, X, Y, sample_weight=weight) == -weighted.loc["sbp", "mae"]
    assert scorer(model, X, Y) != scorer(model, X, Y, sample_weight=weight)


def test_scorer_scores_a_pipeline_by_its_final_estimator_s_tasks(data):
    X, Y = data
    pipeline = make_pipeline(StandardScaler(), fast()).fit(X, Y)
    table = task_scores(Y, pipeline.predict(X))
    scorer = get_scorer("neg_root_mean_squared_error", task="hba1c")
    assert scorer(pipeline, X, Y.to_numpy()) == -table.loc["hba1c", "rmse"]


def test_scorer_round_trips_through_pickle(model, data):
    scorer = get_scorer("neg_mean_squared_error", task="hdl")
    restored = pickle.loads(pickle.dumps(scorer))
    assert repr(restored) == repr(scorer)
    assert restored(model, *data) == scorer(model, *data)


@pytest.mark.parametrize(
    ("scorer", "expected"),
    [
        (get_scorer("r2"), "skhealth.metrics.get_scorer('r2')"),
        (
            get_scorer("neg_mean_absolute_error", task="sbp"),
            "skhealth.metrics.get_scorer('neg_mean_absolute_error', task='sbp')",
        ),
        (
            get_scorer("r2", task=np.int64(1)),
            "skhealth.metrics.get_scorer('r2', task=1)",
        ),
    ],
)
def test_repr_is_the_call_that_makes_the_scorer(scorer, expected):
    assert repr(scorer) == expected


def test_task_scorers_give_each_metric_s_mean_then_its_tasks():
    scorers = task_scorers(["sbp", "hdl"], ["r2", "neg_mean_absolute_error"])
    assert [(key, repr(scorer)) for key, scorer in scorers.items()] == [
        ("r2", "skhealth.metrics.get_scorer('r2')"),
        ("r2_sbp", "skhealth.metrics.get_scorer('r2', task='sbp')"),
        ("r2_hdl", "skhealth.metrics.get_scorer('r2', task='hdl')"),
        (
            "neg_mean_absolute_error",
            "skhealth.metrics.get_scorer('neg_mean_absolute_error')",
        ),
        (
            "neg_mean_absolute_error_sbp",
            "skhealth.metrics.get_scorer('neg_mean_absolute_error', task='sbp')",
        ),
        (
            "neg_mean_absolute_error_hdl",
            "skhealth.metrics.get_scorer('neg_mean_absolute_error', task='hdl')",
        ),
    ]


# ------------------------------------------------------------------- errors
def test_unknown_task_name_is_a_value_error_naming_the_model_s_tasks(model, data):
    with pytest.raises(
        ValueError,
        match=(
            r"^task 'spb' is not one of the model's tasks "
            r"\['sbp', 'hdl', 'hba1c'\]\. Did you mean 'sbp'\?$"
        ),
    ):
        get_scorer("r2", task="spb")(model, *data)


def test_task_index_beyond_the_model_s_tasks_is_a_value_error(model, data):
    with pytest.raises(
        ValueError,
        match=(
            r"^task 3 is out of range: the model has 3 tasks, "
            r"\['sbp', 'hdl', 'hba1c'\], indexed from 0\.$"
        ),
    ):
        get_scorer("r2", task=3)(model, *data)


def test_unknown_scorer_name_is_a_value_error_listing_the_names():
    with pytest.raises(
        ValueError,
        match=(
            r"^'neg_mean_absolute_eror' is not one of skhealth's scorers, which "
            r"leave missing labels out: \['balanced_accuracy', 'neg_brier_score', "
            r"'neg_log_loss', 'neg_mean_absolute_error', 'neg_mean_squared_error', "
            r"'neg_root_mean_squared_error', 'r2', 'roc_auc'\]\. "
            r"Did you mean 'neg_mean_absolute_error'\?$"
        ),
    ):
        get_scorer("neg_mean_absolute_eror")


def test_scikit_learn_scorer_is_a_type_error_naming_skhealth_s(model, data):
    with pytest.raises(
        TypeError,
        match=(
            r"That is scikit-learn's 'neg_mean_absolute_error' scorer, which fails "
            r"where a label is missing \(NaN\): use "
            r"skhealth\.metrics\.get_scorer\('neg_mean_absolute_error'\) instead\.$"
        ),
    ):
        get_scorer(sklearn.metrics.get_scorer("neg_mean_absolute_error"))


def test_other_scorer_object_is_a_type_error_asking_for_a_name():
    with pytest.raises(
        TypeError,
        match=(
            r"^get_scorer takes a scorer's name, one of \[.*'r2', 'roc_auc'\]; got "
            r"make_scorer\(max_error, .*\)\.$"
        ),
    ):
        get_scorer(sklearn.metrics.get_scorer("neg_max_error"))


@pytest.mark.parametrize("task", [1.0, True, ["sbp"]])
def test_task_of_another_type_is_a_type_error(task):
    with pytest.raises(TypeError, match=r"^task must be a target name \(str\)"):
        get_scorer("r2", task=task)


@pytest.mark.parametrize(
    ("tasks", "scoring", "message"),
    [
        (["sbp", "sbp"], "r2", r"^tasks holds \['sbp'\] more than once"),
        ([0, "0"], "r2", r"^tasks holds \['0'\] more than once"),
        (["sbp"], ["r2", "r2"], r"^scoring holds \['r2'\] more than once"),
    ],
)
def test_task_scorers_refuse_a_name_given_twice(tasks, scoring, message):
    with pytest.raises(ValueError, match=message):
        task_scorers(tasks, scoring)
