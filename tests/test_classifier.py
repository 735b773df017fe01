"""MultiTaskHealthClassifier: binary tasks with unknown labels, and binary
tasks beside continuous ones in the regressor (loss="log_loss")."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhealth import MultiTaskHealthClassifier, MultiTaskHealthRegressor
from skhealth.datasets import make_health_data
from skhealth.metrics import get_scorer, task_scorers

FAST = dict(max_iter=15, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, Y = make_health_data(
        n_samples=240, n_features=5, n_tasks=3, noise=0.3, random_state=0
    )
    labels = (Y > 0).astype(float)
    labels[::6, 1] = np.nan
    return X, labels, Y


@pytest.fixture(scope="module")
def fitted(data):
    X, labels, _ = data
    return MultiTaskHealthClassifier(**FAST).fit(X, labels)


def test_predict_proba_is_each_tasks_probability_of_a_one(fitted, data):
    X = data[0]
    proba = fitted.predict_proba(X)
    assert proba.shape == (240, 3)
    assert ((proba > 0) & (proba < 1)).all()
    np.testing.assert_array_equal(fitted.predict(X), (proba > 0.5).astype(float))


def test_classes_are_each_tasks_two_labels(fitted):
    assert [list(c) for c in fitted.classes_] == [[0.0, 1.0]] * 3


def test_the_classifier_learns_every_task_with_unknown_labels(fitted, data):
    X, labels, _ = data
    proba = fitted.predict_proba(X)
    for t in range(3):
        seen = ~np.isnan(labels[:, t])
        assert roc_auc_score(labels[seen, t], proba[seen, t]) > 0.85


def test_score_tasks_scores_observed_labels_only(fitted, data):
    X, labels, _ = data
    scores = fitted.score_tasks(X, labels)
    assert scores["n_observed"].tolist() == [240, 200, 240]
    seen = ~np.isnan(labels[:, 1])
    expected = roc_auc_score(labels[seen, 1], fitted.predict_proba(X)[seen, 1])
    assert scores.loc["task_1", "roc_auc"] == pytest.approx(expected)
    assert fitted.score(X, labels) == pytest.approx(scores["roc_auc"].mean())


def test_string_classes_of_a_1d_target_round_trip(data):
    X, labels, _ = data
    y = np.where(labels[:, 0] == 1, "yes", "no")
    clf = MultiTaskHealthClassifier(**FAST).fit(X, y)
    assert list(clf.classes_) == ["no", "yes"]
    assert clf.predict_proba(X).shape == (240, 2)
    assert set(clf.predict(X)) <= {"no", "yes"}


def test_a_dataframe_names_the_tasks(data):
    X, labels, _ = data
    Y = pd.DataFrame(labels, columns=["htn", "dm", "obese"])
    clf = MultiTaskHealthClassifier(**FAST).fit(X, Y)
    assert list(clf.target_names_) == ["htn", "dm", "obese"]
    assert list(clf.score_tasks(X, Y).index) == ["htn", "dm", "obese"]


def test_balanced_class_weight_weighs_each_class_by_its_rarity(data):
    X, labels, _ = data
    y = labels[:, 0].copy()
    y[np.flatnonzero(y == 1)[:90]] = 0  # make 1 rare
    clf = MultiTaskHealthClassifier(class_weight="balanced", **FAST).fit(X, y)
    n0, n1 = np.sum(y == 0), np.sum(y == 1)
    np.testing.assert_allclose(clf.class_weight_, [[240 / (2 * n0), 240 / (2 * n1)]])
    plain = MultiTaskHealthClassifier(**FAST).fit(X, y)
    assert clf.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean()


def test_a_class_weight_for_an_unknown_class_is_a_value_error(data):
    X, labels, _ = data
    with pytest.raises(ValueError, match=r"class 2 of task 0 \('task_0'\)"):
        MultiTaskHealthClassifier(class_weight={2: 3.0}, **FAST).fit(X, labels[:, 0])


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.array([0, 1, 2] * 80, dtype=float), r"Only binary classification"),
        (np.ones(240), r"has only one class, 1\.0 among its observed labels"),
        (
            np.r_[np.inf, np.zeros(119), np.ones(120)],
            r"infinity in task 2 \('task_2'\)",
        ),
    ],
    ids=["multiclass", "one_class", "inf"],
)
def test_bad_labels_are_value_errors_naming_the_task(data, bad, message):
    X, labels, _ = data
    Y = labels.copy()
    Y[:, 2] = bad
    with pytest.raises(ValueError, match=message):
        MultiTaskHealthClassifier(**FAST).fit(X, Y)


def test_continuous_labels_say_to_use_the_regressor(data):
    X, _, Y = data
    with pytest.raises(ValueError, match="Unknown label type: 'continuous'"):
        MultiTaskHealthClassifier(**FAST).fit(X, Y)


def test_a_bad_label_of_a_named_series_names_the_series(data):
    X, _, Y = data
    y = pd.Series(Y[:, 0], name="hba1c")
    with pytest.raises(ValueError, match=r"continuous' in task 0 \('hba1c'\)"):
        MultiTaskHealthClassifier(**FAST).fit(X, y)


def test_a_label_outside_the_fitted_classes_is_a_value_error(fitted, data):
    X, labels, _ = data
    Y = labels.copy()
    Y[0, 2] = 3.0
    with pytest.raises(ValueError, match=r"label 3\.0, which is not one of its"):
        fitted.score_tasks(X, Y)


def test_the_classifier_works_in_a_pipeline_and_a_search(data):
    X, labels, _ = data
    search = GridSearchCV(
        make_pipeline(StandardScaler(), MultiTaskHealthClassifier(**FAST)),
        {"multitaskhealthclassifier__alpha": [1e-4, 1e-2]},
        cv=KFold(2),  # StratifiedKFold, a classifier's default, refuses NaN
    ).fit(X, labels)
    assert search.predict_proba(X).shape == (240, 3)


# ------------------------------------------------ mixed tasks, in the regressor
def test_a_log_loss_task_predicts_probabilities_beside_measurements(data):
    X, labels, Y = data
    mixed = np.column_stack([Y[:, 0], labels[:, 1]])
    reg = MultiTaskHealthRegressor(loss=["squared_error", "log_loss"], **FAST)
    prediction = reg.fit(X, mixed).predict(X)
    assert ((prediction[:, 1] > 0) & (prediction[:, 1] < 1)).all()
    seen = ~np.isnan(labels[:, 1])
    assert roc_auc_score(labels[seen, 1], prediction[seen, 1]) > 0.85
    assert reg.score_tasks(X, mixed).loc["task_0", "r2"] > 0.5


def test_a_log_loss_task_with_another_label_is_a_value_error(data):
    X, labels, Y = data
    mixed = np.column_stack([Y[:, 0], labels[:, 1] * 2])
    with pytest.raises(ValueError, match=r"task 1 .* has the label 2: its labels"):
        MultiTaskHealthRegressor(loss=["squared_error", "log_loss"], **FAST).fit(
            X, mixed
        )


def test_a_binary_tasks_interval_is_nan_and_its_std_bernoulli(data):
    X, labels, Y = data
    mixed = np.column_stack([Y[:, 0], labels[:, 2]])
    reg = MultiTaskHealthRegressor(loss=["squared_error", "log_loss"], **FAST)
    reg.fit(X, mixed)
    prediction, std = reg.predict(X[:5], return_std=True)
    np.testing.assert_allclose(
        std[:, 1], np.sqrt(prediction[:, 1] * (1 - prediction[:, 1]))
    )
    interval = reg.predict_interval(X[:5])
    assert np.isnan(interval[:, 1]).all()
    assert np.isfinite(interval[:, 0]).all()


def test_a_transform_of_a_binary_task_is_a_value_error(data):
    X, labels, Y = data
    mixed = np.column_stack([Y[:, 0] + 10, labels[:, 2]])
    with pytest.raises(ValueError, match=r"binary task 1 .* the transform 'log'"):
        MultiTaskHealthRegressor(
            loss=["squared_error", "log_loss"], target_transform="log", **FAST
        ).fit(X, mixed)


def test_skhealths_roc_auc_scorer_scores_a_search_with_unknown_labels(data):
    X, labels, _ = data
    search = GridSearchCV(
        MultiTaskHealthClassifier(**FAST),
        {"alpha": [1e-4, 1e-2]},
        cv=KFold(2),
        scoring=task_scorers(["task_0", "task_1"], "roc_auc"),
        refit="roc_auc",
    ).fit(X, labels)
    assert np.isfinite(search.cv_results_["mean_test_roc_auc_task_1"]).all()
    best = search.best_estimator_
    expected = best.score_tasks(X, labels).loc["task_1", "roc_auc"]
    assert get_scorer("roc_auc", task=1)(search, X, labels) == expected


def test_a_regression_scorer_of_a_classifier_is_a_value_error(fitted, data):
    X, labels, _ = data
    with pytest.raises(ValueError, match=r"get_scorer\('r2'\) cannot score a Multi"):
        get_scorer("r2")(fitted, X, labels)


def test_a_first_partial_fit_of_one_class_is_a_value_error(data):
    X = data[0]
    clf = MultiTaskHealthClassifier(early_stopping=False, **FAST)
    with pytest.raises(ValueError, match=r"are all of one class: it needs labels"):
        clf.partial_fit(X[:20], np.array(["a"] * 20), classes=["a", "b"])
