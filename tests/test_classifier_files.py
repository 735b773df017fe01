"""Model files of binary tasks: MultiTaskHealthClassifier, and the regressor's
log_loss tasks beside continuous ones; what loading refuses of their values."""

import re

import numpy as np
import pandas as pd
import pytest
from forging import rewrite
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

import skhealth
from skhealth import (
    ModelFileError,
    MultiTaskHealthClassifier,
    MultiTaskHealthRegressor,
)
from skhealth.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# (cross-fitting, early_stopping="auto", is chosen where a test needs it)
FAST = dict(
    hidden_layer_sizes=(8,),
    max_iter=3,
    random_state=0,
    n_members=2,
    early_stopping=False,
)


@pytest.fixture
def X():
    return pd.DataFrame(
        np.random.RandomState(0).normal(size=(120, 4)), columns=["a", "b", "c", "d"]
    )


def _outcomes(X):
    """Two 0/1 tasks of ``X``, each with unknown labels."""
    Y = pd.DataFrame(
        {
            "diabetes": (X["a"] + X["b"] > 0).astype(float),
            "obesity": (X["c"] > 0.3).astype(float),
        }
    )
    Y.loc[::7, "diabetes"] = np.nan
    Y.loc[3::5, "obesity"] = np.nan
    return Y


def _answers(X):
    """A 1-D y of strings, None where unknown."""
    y = pd.Series(np.where(X["a"] > 0, "yes", "no"), name="smoker", dtype=object)
    y[::9] = None
    return y


def _round_trip(model, tmp_path):
    path = tmp_path / "model.skh"
    skhealth.save(model, path)
    return skhealth.load(path)


def _saved(model, tmp_path):
    path = tmp_path / "model.skh"
    skhealth.save(model, path)
    return path


# -------------------------------------------------------------- round trips
def test_classifier_of_string_classes_round_trips_to_the_same_probabilities(
    X, tmp_path
):
    # cross-fitted: with a linear path (on few rows: it fits logistic
    # regressions)
    X = X.iloc[:40]
    clf = MultiTaskHealthClassifier(**{**FAST, "early_stopping": "auto"})
    clf.fit(X, _answers(X))
    assert clf.cross_fit_
    loaded = _round_trip(clf, tmp_path)
    assert type(loaded) is MultiTaskHealthClassifier
    assert loaded.classes_.tolist() == ["no", "yes"]
    assert loaded.classes_.dtype == object
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.predict(X).tolist() == clf.predict(X).tolist()


def test_classifier_of_tasks_with_unknown_labels_round_trips_exactly(X, tmp_path):
    Y = _outcomes(X)
    clf = MultiTaskHealthClassifier(class_weight="balanced", **FAST).fit(X, Y)
    loaded = _round_trip(clf, tmp_path)
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert [c.tolist() for c in loaded.classes_] == [[0.0, 1.0], [0.0, 1.0]]
    assert np.array_equal(loaded.class_weight_, clf.class_weight_)
    assert loaded.class_weight == "balanced"
    assert loaded.score_tasks(X, Y).equals(clf.score_tasks(X, Y))


@pytest.mark.parametrize(
    ("y", "class_weight"),
    [
        (lambda X: _outcomes(X).fillna(0).astype(int), [{0: 1.0, 1: 3.0}, {1: 2}]),
        (lambda X: _outcomes(X), [{1.0: 2.5}, {0.0: 0.5}]),
        (lambda X: X["a"] > 0, {True: 4.0}),
        (_answers, {"yes": 2.0, "no": 1.0}),
    ],
    ids=["int_classes", "float_classes", "bool_classes", "str_classes"],
)
def test_class_weight_keyed_by_any_kind_of_class_is_restored(
    X, tmp_path, y, class_weight
):
    clf = MultiTaskHealthClassifier(class_weight=class_weight, **FAST).fit(X, y(X))
    loaded = _round_trip(clf, tmp_path)
    assert loaded.class_weight == class_weight
    assert [type(k) for k in _keys(loaded.class_weight)] == [
        type(k) for k in _keys(class_weight)
    ]
    assert np.array_equal(loaded.class_weight_, clf.class_weight_)
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def _keys(class_weight):
    dicts = [class_weight] if isinstance(class_weight, dict) else class_weight
    return [key for weights in dicts for key in weights]


def test_pipeline_ending_in_a_classifier_round_trips(X, tmp_path):
    X = X.copy()
    X.iloc[::4, 1] = np.nan
    pipe = make_pipeline(
        SimpleImputer(), StandardScaler(), MultiTaskHealthClassifier(**FAST)
    ).fit(X, _outcomes(X))
    loaded = _round_trip(pipe, tmp_path)
    assert type(loaded) is Pipeline
    assert type(loaded[-1]) is MultiTaskHealthClassifier
    assert np.array_equal(loaded.predict_proba(X), pipe.predict_proba(X))


def test_loaded_classifier_trains_on_with_its_classes(X, tmp_path):
    y = _answers(X)
    clf = MultiTaskHealthClassifier(**FAST).fit(X, y)
    loaded = _round_trip(clf, tmp_path).partial_fit(X, y)
    assert loaded.n_iter_ == clf.n_iter_ + 1
    assert loaded.classes_.tolist() == ["no", "yes"]


def test_regressor_of_continuous_and_binary_tasks_round_trips_exactly(X, tmp_path):
    Y = pd.DataFrame({"sbp": 120 + 10 * X["a"], "diabetes": _outcomes(X)["diabetes"]})
    reg = MultiTaskHealthRegressor(loss=["squared_error", "log_loss"], **FAST)
    reg.set_params(early_stopping=True).fit(X, Y)  # calibrated on held-out rows
    loaded = _round_trip(reg, tmp_path)
    assert loaded.loss == ["squared_error", "log_loss"]
    assert np.array_equal(loaded.predict(X), reg.predict(X))
    # the calibration of the continuous task's intervals is kept
    np.testing.assert_array_equal(loaded.predict_interval(X), reg.predict_interval(X))


# ------------------------------------------------------------- forgeries
def _array(values, dtype):
    """An array as the metadata encodes it."""
    return {"ndarray": values, "dtype": dtype, "shape": [len(values)]}


@pytest.fixture
def string_classifier_file(X, tmp_path):
    return _saved(MultiTaskHealthClassifier(**FAST).fit(X, _answers(X)), tmp_path)


@pytest.fixture
def two_task_classifier_file(X, tmp_path):
    return _saved(MultiTaskHealthClassifier(**FAST).fit(X, _outcomes(X)), tmp_path)


_CLASSES = (
    "two distinct classes per task, sorted (str, bools, ints or finite floats): "
    "an array for a 1-D y, else a list of one per task"
)


@pytest.mark.parametrize(
    ("classes", "shown"),
    [
        (_array(["yes", "no"], "|O"), "array(['yes',... dtype=object)"),
        (_array(["no", "no"], "|O"), "array(['no', ... dtype=object)"),
        (_array(["maybe", "no", "yes"], "|O"), "array(['maybe... dtype=object)"),
        (_array([0.0, float("nan")], "<f8"), "array([ 0., nan])"),
        (_array([0, "yes"], "|O"), "array([0, 'ye... dtype=object)"),
        ([_array(["no", "yes"], "|O")], "[array(['no', ... dtype=object)]"),
    ],
    ids=["unsorted", "one_class", "three_classes", "nan", "mixed", "list"],
)
def test_forged_classes_are_refused_by_name(string_classifier_file, classes, shown):
    # (the value shown as reprlib shortens it)
    path = string_classifier_file
    rewrite(path, lambda m: m["attributes"].update(classes_=classes))
    message = (
        f"{path} is damaged or not a skhealth model file: its classes_ is {shown}, "
        f"not {_CLASSES}."
    )
    with pytest.raises(ModelFileError, match=re.escape(message)):
        skhealth.load(path)


def test_forged_classes_of_one_task_of_two_are_refused(two_task_classifier_file):
    path = two_task_classifier_file
    edit = lambda m: m["attributes"].update(  # noqa: E731
        classes_=[_array([0.0, 1.0], "<f8")]
    )
    rewrite(path, edit)
    with pytest.raises(ModelFileError, match=r"its classes_ is \[array\(\[0\., 1\.\]"):
        skhealth.load(path)


@pytest.mark.parametrize(
    "weights",
    [
        {"ndarray": [[1.0, -2.0], [1.0, 1.0]], "dtype": "<f8", "shape": [2, 2]},
        {"ndarray": [[1.0, 0.0], [1.0, 1.0]], "dtype": "<f8", "shape": [2, 2]},
        {"ndarray": [[1.0, 1e400], [1.0, 1.0]], "dtype": "<f8", "shape": [2, 2]},
        {"ndarray": [1.0, 1.0], "dtype": "<f8", "shape": [2]},
        {"ndarray": [[1, 1], [1, 1]], "dtype": "<i8", "shape": [2, 2]},
    ],
    ids=["negative", "zero", "infinite", "one_pair", "ints"],
)
def test_forged_class_weights_are_refused(two_task_classifier_file, weights):
    path = two_task_classifier_file
    rewrite(path, lambda m: m["attributes"].update(class_weight_=weights))
    with pytest.raises(
        ModelFileError,
        match=r"(?s)its class_weight_ is .*, not positive finite floats of shape "
        r"\(n_tasks_, 2\)\.",
    ):
        skhealth.load(path)


@pytest.mark.parametrize("attribute", ["classes_", "class_weight_"])
def test_classifier_file_without_its_classes_is_refused(
    string_classifier_file, attribute
):
    path = string_classifier_file
    rewrite(path, lambda m: m["attributes"].pop(attribute))
    with pytest.raises(ModelFileError, match=f"is damaged: it lacks {attribute}."):
        skhealth.load(path)


@pytest.mark.parametrize(
    "class_weight",
    [
        {"dict": {"yes": -1.0}},
        {"dict": {"yes": "heavy"}},
        [{"dict": {"yes": True}}],
        {"items": [[{"tuple": [1, 2]}, 2.0]]},
    ],
    ids=["negative", "text", "bool_weight", "tuple_class"],
)
def test_forged_class_weight_parameter_is_refused(string_classifier_file, class_weight):
    path = string_classifier_file
    rewrite(path, lambda m: m["estimator"]["params"].update(class_weight=class_weight))
    with pytest.raises(
        ModelFileError,
        match=r"its parameter class_weight is .*, not None, \"balanced\", a dict "
        r"\{class: positive weight\} or a list of them\.",
    ):
        skhealth.load(path)


@pytest.mark.parametrize(
    "name", ["os.system", "sklearn.linear_model.LogisticRegression", ["x"]]
)
def test_file_naming_another_class_is_refused_without_importing_it(
    string_classifier_file, name, monkeypatch
):
    path = string_classifier_file
    rewrite(path, lambda m: m["estimator"].update({"class": name}))
    monkeypatch.setattr("importlib.import_module", pytest.fail)
    with pytest.raises(
        ModelFileError,
        match=r"which this skhealth cannot build \(it builds "
        r"MultiTaskHealthRegressor and MultiTaskHealthClassifier\)",
    ):
        skhealth.load(path)


def test_classifier_file_relabelled_as_a_regressor_is_refused(
    string_classifier_file,
):
    path = string_classifier_file
    rewrite(
        path, lambda m: m["estimator"].update({"class": "MultiTaskHealthRegressor"})
    )
    with pytest.raises(ModelFileError, match=r"upgrade skhealth|it lacks the param"):
        skhealth.load(path)


def test_regressor_file_relabelled_as_a_classifier_is_refused(X, tmp_path):
    reg = MultiTaskHealthRegressor(**FAST).fit(X, X["a"] * 2)
    path = _saved(reg, tmp_path)

    def relabel(m):
        m["estimator"]["class"] = "MultiTaskHealthClassifier"
        params = m["estimator"]["params"]
        del params["loss"]  # (and target_transform=None is left out)
        params["class_weight"] = None

    rewrite(path, relabel)
    with pytest.raises(
        ModelFileError, match=re.escape("is damaged: it lacks classes_.")
    ):
        skhealth.load(path)


def test_attributes_a_regressor_does_not_learn_are_refused(X, tmp_path):
    path = _saved(MultiTaskHealthRegressor(**FAST).fit(X, X["a"] * 2), tmp_path)
    edit = lambda m: m["attributes"].update(  # noqa: E731
        classes_=_array([0, 1], "<i8"), predict=1
    )
    rewrite(path, edit)
    message = (
        "is damaged: it holds the attributes classes_, predict, which a "
        "MultiTaskHealthRegressor does not learn."
    )
    with pytest.raises(ModelFileError, match=re.escape(message)):
        skhealth.load(path)


def test_standardised_binary_task_is_refused(two_task_classifier_file):
    path = two_task_classifier_file
    rewrite(path, lambda m: m["target_scaler"].update(mean_=_array([0.0, 0.5], "<f8")))
    with pytest.raises(
        ModelFileError,
        match=r"its target statistics of the binary tasks is .*, not a mean of 0 "
        r"and a scale and variance of 1, as for 0/1 labels\.",
    ):
        skhealth.load(path)


def test_calibration_in_a_classifier_file_is_refused(string_classifier_file):
    path = string_classifier_file
    rewrite(path, lambda m: m.update(calibration=None))
    with pytest.raises(
        ModelFileError,
        match=re.escape(
            "it holds a calibration of prediction intervals, which a "
            "MultiTaskHealthClassifier does not have."
        ),
    ):
        skhealth.load(path)


def test_calibration_of_every_task_of_a_mixed_regressor_is_refused(X, tmp_path):
    Y = pd.DataFrame({"sbp": 120 + 10 * X["a"], "diabetes": _outcomes(X)["diabetes"]})
    reg = MultiTaskHealthRegressor(loss=["squared_error", "log_loss"], **FAST)
    path = _saved(reg.set_params(early_stopping=True).fit(X, Y), tmp_path)

    def widen(m):  # a second task's intercept: as if both were continuous
        intercept = m["calibration"]["dict"]["intercept"]
        intercept.update(ndarray=intercept["ndarray"] * 2, shape=[2])

    rewrite(path, widen)
    with pytest.raises(ModelFileError, match=r"its calibration's intercept is"):
        skhealth.load(path)


# ------------------------------------------------------------ skhealth info
def test_info_names_each_binary_task_with_its_classes(X, tmp_path, capsys):
    y = _answers(X)
    path = _saved(MultiTaskHealthClassifier(**FAST).fit(X, y), tmp_path)
    assert main(["info", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "model: MultiTaskHealthClassifier"
    assert lines[3:5] == [
        "targets (1): smoker (binary: classes 'no' and 'yes', predicts P('yes'))",
        "prediction intervals: none (a classifier predicts probabilities)",
    ]
    assert "  class_weight = None" in lines


def test_info_names_the_binary_tasks_of_a_regressor(X, tmp_path, capsys):
    Y = pd.DataFrame({"sbp": 120 + 10 * X["a"], "diabetes": _outcomes(X)["diabetes"]})
    reg = MultiTaskHealthRegressor(loss=["squared_error", "log_loss"], **FAST)
    path = _saved(reg.fit(X, Y), tmp_path)
    assert main(["info", str(path)]) == 0
    assert (
        "targets (2): sbp, diabetes (binary: labels 0 and 1 (log_loss), predicts P(1))"
    ) in capsys.readouterr().out.splitlines()


def test_classifier_of_text_and_number_columns_round_trips(X, tmp_path):
    # a DataFrame of both holds each task's classes in object arrays
    Y = pd.DataFrame({"diabetes": _outcomes(X)["diabetes"], "smoker": _answers(X)})
    clf = MultiTaskHealthClassifier(**FAST).fit(X, Y)
    loaded = _round_trip(clf, tmp_path)
    assert [c.tolist() for c in loaded.classes_] == [[0.0, 1.0], ["no", "yes"]]
    assert loaded.predict(X).tolist() == clf.predict(X).tolist()
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
