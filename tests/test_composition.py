"""MultiTaskHealthRegressor inside scikit-learn's composition tools."""

import os
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.metrics import make_scorer, r2_score
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.multioutput import MultiOutputRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skorch.callbacks import Callback

from skhealth import MultiTaskHealthRegressor


@pytest.fixture(autouse=True)
def _no_convergence_noise():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def health_pipeline(**params):
    """The pipeline a data scientist writes for a mixed-type health table."""
    preprocess = ColumnTransformer(
        [
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ["sex", "smoker"],
            ),
            (
                "numeric",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                ["age", "sleep_hours", "steps"],
            ),
        ]
    )
    defaults = dict(hidden_layer_sizes=(32,), max_iter=150, random_state=0)
    return Pipeline(
        [
            ("preprocess", preprocess),
            ("regressor", MultiTaskHealthRegressor(**{**defaults, **params})),
        ]
    )


def _task_r2(task):
    def score(y_true, y_pred):
        return r2_score(np.asarray(y_true)[:, task], y_pred[:, task])

    return make_scorer(score)


def test_pipeline_with_column_transformer_learns_every_task(health_frame):
    X, Y = health_frame
    X_train, X_test, Y_train, Y_test = X[:200], X[200:], Y[:200], Y[200:]
    pipe = health_pipeline().fit(X_train, Y_train)
    pred = pipe.predict(X_test)
    assert pred.shape == (100, 3)
    assert list(pipe[-1].target_names_) == ["systolic_bp", "hdl", "hba1c"]
    assert pipe[-1].n_features_in_ == 2 + 3 + 3
    assert min(r2_score(Y_test, pred, multioutput="raw_values")) > 0.5


def test_grid_search_over_estimator_and_pipeline_parameters_in_parallel(health_frame):
    X, Y = health_frame
    grid = {
        "regressor__hidden_layer_sizes": [(8,), (32,)],
        "preprocess__numeric__simpleimputer__strategy": ["median", "mean"],
    }
    search = GridSearchCV(health_pipeline(max_iter=40), grid, cv=2, n_jobs=2)
    search.fit(X, Y)
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict(X).shape == (300, 3)
    assert search.best_params_ in search.cv_results_["params"]


class _RecordThreads(Callback):
    def on_epoch_end(self, net, **kwargs):
        net.history.record("torch_threads", torch.get_num_threads())


def test_parallel_search_workers_do_not_oversubscribe_the_cores(regression_data):
    X, Y = regression_data
    reg = MultiTaskHealthRegressor(
        hidden_layer_sizes=(8,), n_members=1, max_iter=2, callbacks=[_RecordThreads()]
    )
    result = cross_validate(reg, X, Y, cv=2, n_jobs=2, return_estimator=True)
    # joblib's workers each get their share of the cores, and torch keeps to it
    share = max(1, os.cpu_count() // 2)
    for fitted in result["estimator"]:
        assert set(fitted.history_[:, "torch_threads"]) <= set(range(1, share + 1))


def test_cross_validate_with_overall_and_per_task_scoring(health_frame):
    X, Y = health_frame
    scoring = {"r2": "r2", **{name: _task_r2(t) for t, name in enumerate(Y.columns)}}
    result = cross_validate(
        health_pipeline(),
        X,
        Y,
        cv=KFold(3, shuffle=True, random_state=0),
        scoring=scoring,
    )
    per_task = np.column_stack([result[f"test_{name}"] for name in Y.columns])
    np.testing.assert_allclose(result["test_r2"], per_task.mean(axis=1))
    assert per_task.min() > 0.3


def test_clone_gives_an_unfitted_estimator_with_the_same_parameters(health_frame):
    X, Y = health_frame
    pipe = health_pipeline(dropout=0.1).fit(X, Y)
    cloned = clone(pipe)
    assert cloned.get_params()["regressor__dropout"] == 0.1
    assert not hasattr(cloned[-1], "net_")
    np.testing.assert_array_equal(cloned.fit(X, Y).predict(X), pipe.predict(X))


def _pickle_round_trip(obj, tmp_path):
    return pickle.loads(pickle.dumps(obj))


def _joblib_round_trip(obj, tmp_path):
    joblib.dump(obj, tmp_path / "model.joblib")
    return joblib.load(tmp_path / "model.joblib")


@pytest.mark.parametrize("round_trip", [_pickle_round_trip, _joblib_round_trip])
def test_serialisation_round_trip_keeps_predictions_identical(
    health_frame, round_trip, tmp_path
):
    X, Y = health_frame
    pipe = health_pipeline().fit(X, Y)
    restored = round_trip(pipe, tmp_path)
    np.testing.assert_array_equal(restored.predict(X), pipe.predict(X))
    assert list(restored[-1].target_names_) == list(Y.columns)


def test_round_tripped_model_can_continue_training(health_frame):
    X, Y = health_frame
    pipe = health_pipeline(max_iter=5).fit(X, Y)
    restored = pickle.loads(pickle.dumps(pipe))
    Xt = restored[0].transform(X)
    restored[-1].partial_fit(Xt, Y)
    assert restored[-1].n_iter_ == pipe[-1].n_iter_ + 1


def test_transformed_target_regressor_maps_predictions_back(health_frame):
    X, Y = health_frame
    reg = TransformedTargetRegressor(
        regressor=health_pipeline(), func=np.log, inverse_func=np.exp
    ).fit(X, Y)
    pred = reg.predict(X)
    assert pred.shape == (300, 3)
    assert (pred > 0).all()
    assert r2_score(Y, pred) > 0.5


def test_joint_model_matches_one_model_per_task(health_frame):
    """One shared network does as well as one network per task."""
    X, Y = health_frame
    cv = KFold(3, shuffle=True, random_state=0)
    joint = cross_validate(health_pipeline(), X, Y, cv=cv, scoring="r2")["test_score"]
    separate = health_pipeline()
    separate.steps[-1] = ("regressor", MultiOutputRegressor(separate[-1]))
    per_task = cross_validate(separate, X, Y, cv=cv, scoring="r2")["test_score"]
    assert joint.mean() > per_task.mean() - 0.05
