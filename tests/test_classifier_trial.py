"""MultiTaskHealthClassifier and mixed tasks as a scikit-learn user meets
them: targets of every pandas kind, continuing, class weights, inspection
and displays (#20)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skhealth
from skhealth import MultiTaskHealthClassifier, MultiTaskHealthRegressor
from skhealth.datasets import make_health_data
from skhealth.inspection import task_attributions, task_permutation_importance

FAST = dict(max_iter=5, n_members=1, early_stopping=False, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, Y = make_health_data(
        n_samples=200,
        n_features=4,
        n_tasks=3,
        n_binary_tasks=3,
        missing_rate=0.1,
        random_state=0,
    )
    X = pd.DataFrame(X, columns=["age", "bmi", "steps", "sleep"])
    return X, pd.DataFrame(Y, columns=["htn", "dm", "obese"])


@pytest.fixture(scope="module")
def answers(data):
    """The first task as "yes"/"no", None where unknown."""
    labels = data[1]["htn"].to_numpy()
    return np.array(
        [None if np.isnan(v) else ("yes" if v else "no") for v in labels],
        dtype=object,
    )


@pytest.fixture(scope="module")
def fitted(data):
    X, Y = data
    return MultiTaskHealthClassifier(**FAST).fit(X, Y)


# ------------------------------------------------------------------ targets
def test_fit_on_an_empty_y_is_a_value_error_naming_the_shape(data):
    X, Y = data
    with pytest.raises(ValueError, match=r"0 sample\(s\) \(shape=\(0, 3\)\)"):
        MultiTaskHealthClassifier(**FAST).fit(X[:0], Y[:0])


def test_score_on_an_empty_y_is_a_value_error_naming_the_shape(fitted, data):
    X, Y = data
    with pytest.raises(ValueError, match=r"0 sample\(s\) \(shape=\(0, 3\)\)"):
        fitted.score(X[:0], Y[:0])


def test_continuing_a_2d_fit_with_a_1d_y_names_both_shapes(data):
    X, Y = data
    clf = MultiTaskHealthClassifier(warm_start=True, **FAST).fit(X, Y)
    with pytest.raises(
        ValueError,
        match=r"y has 1 task \(shape \(200,\)\) but the classifier was fitted on "
        r"a 2-D y of 3 tasks",
    ):
        clf.fit(X, Y["htn"])


def test_a_column_vector_y_scores_a_classifier_fitted_on_a_1d_y(data, answers):
    X = data[0]
    clf = MultiTaskHealthClassifier(**FAST).fit(X, answers)
    assert clf.score(X, answers[:, None]) == clf.score(X, answers)


@pytest.mark.parametrize("dtype", ["boolean", "Int64"])
def test_classes_of_nullable_columns_are_numpy_typed_as_after_a_model_file(
    data, dtype, tmp_path
):
    X, Y = data
    labels = Y.astype("Int64").astype(dtype)  # NaN as pd.NA
    clf = MultiTaskHealthClassifier(**FAST).fit(X, labels)
    kind = "b" if dtype == "boolean" else "i"
    assert [c.dtype.kind for c in clf.classes_] == [kind] * 3
    skhealth.save(clf, tmp_path / "clf.skh")
    loaded = skhealth.load(tmp_path / "clf.skh")
    assert loaded.predict(X).dtype == clf.predict(X).dtype
    assert loaded.predict(X).dtype.kind == kind


# ------------------------------------------------------------ class weights
@pytest.mark.parametrize("weight", ["3", None, True])
def test_a_class_weight_that_is_not_a_number_is_a_value_error(data, answers, weight):
    X = data[0]
    clf = MultiTaskHealthClassifier(class_weight={"yes": weight}, **FAST)
    with pytest.raises(
        ValueError,
        match=rf"class 'yes' of task 0 must be a positive number; got {weight!r}",
    ):
        clf.fit(X, answers)


def test_a_class_weight_list_entry_that_is_not_a_dict_is_a_value_error(data):
    X, Y = data
    clf = MultiTaskHealthClassifier(class_weight=[{1: 3}, None, {}], **FAST)
    with pytest.raises(
        ValueError,
        match=r"class_weight's entry for task 1 \('dm'\) must be a dict "
        r"\{class: weight\} \(\{\} for no weights\); got None",
    ):
        clf.fit(X, Y)


# --------------------------------------------------------------- inspection
def _sums(attributions):
    """Each row and task's summed attributions, prediction and baseline's."""
    return attributions.groupby(["sample", "task"], sort=False).agg(
        attribution=("attribution", "sum"),
        prediction=("prediction", "first"),
        baseline=("baseline_prediction", "first"),
    )


def test_permutation_importance_of_a_classifier_scores_its_roc_auc(fitted, data):
    X, Y = data
    default = task_permutation_importance(fitted, X, Y, n_repeats=2, random_state=0)
    roc_auc = task_permutation_importance(
        fitted, X, Y, scoring="roc_auc", n_repeats=2, random_state=0
    )
    pd.testing.assert_frame_equal(default, roc_auc)


def test_attributions_of_a_classifier_add_up_to_its_probabilities(fitted, data):
    X = data[0]
    sums = _sums(task_attributions(fitted, X.iloc[:3], baseline=X))
    proba = fitted.predict_proba(X.iloc[:3])
    np.testing.assert_allclose(sums["prediction"], proba.ravel(), atol=1e-6)
    np.testing.assert_allclose(
        sums["attribution"], sums["prediction"] - sums["baseline"], atol=0.005
    )


def test_attributions_of_a_regressors_binary_task_are_in_its_predict_units():
    X, Y = make_health_data(
        n_samples=200,
        n_features=4,
        n_tasks=2,
        n_binary_tasks=1,
        prevalence=0.3,
        random_state=0,
    )
    reg = MultiTaskHealthRegressor(loss=["squared_error", "log_loss"], **FAST).fit(X, Y)
    sums = _sums(task_attributions(reg, X[:2], baseline=X))
    np.testing.assert_allclose(
        sums["prediction"], reg.predict(X[:2]).ravel(), atol=1e-6
    )
    np.testing.assert_allclose(
        sums["attribution"], sums["prediction"] - sums["baseline"], atol=0.005
    )


# ----------------------------------------------------------------- displays
def test_roc_display_draws_a_pipeline_classifier_of_string_classes(data, answers):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skhealth.plot import TaskROCDisplay

    X = data[0]
    pipe = make_pipeline(StandardScaler(), MultiTaskHealthClassifier(**FAST))
    pipe.fit(X, answers)
    try:
        display = TaskROCDisplay.from_estimator(pipe, X, answers)
        seen = pd.notna(answers)
        proba = pipe.predict_proba(X)[seen, 1]
        expected = roc_auc_score(answers[seen] == "yes", proba)
        assert display.roc_auc.tolist() == [pytest.approx(expected)]
    finally:
        plt.close("all")


def test_importance_display_of_a_classifier_draws_with_its_default_scoring(
    fitted, data
):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skhealth.plot import TaskImportanceDisplay

    X, Y = data
    try:
        display = TaskImportanceDisplay.from_estimator(
            fitted, X, Y, n_repeats=1, random_state=0
        )
        assert display.importances.shape == (4, 3)
    finally:
        plt.close("all")
