"""ONNX export (skhealth.onnx, ``skhealth export``): onnxruntime answers as
the fitted model does, from raw columns, and what cannot be exported says so."""

import json
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    QuantileTransformer,
    StandardScaler,
)

from skhealth import MultiTaskHealthClassifier, MultiTaskHealthRegressor, save
from skhealth.architectures import ARCHITECTURES
from skhealth.cli import main
from skhealth.datasets import load_nhanes
from skhealth.preprocessing import make_default_preprocessor

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
pytest.importorskip("skl2onnx")

from skhealth.onnx import onnx_inputs, to_onnx  # noqa: E402

RTOL = 1e-5
TARGETS = ["systolic_bp", "hdl_cholesterol", "hba1c"]


@pytest.fixture(scope="module")
def nhanes():
    """200 NHANES rows to fit on, three targets, and 10,000 rows to predict
    (the 5,263 rows, twice over)."""
    X, Y = load_nhanes(return_X_y=True)
    many = pd.concat([X, X], ignore_index=True).iloc[:10_000]
    return X.iloc[:200], Y[TARGETS].iloc[:200], many


def _fit(nhanes, estimator, Y=None):
    X, Y_default, _ = nhanes
    model = make_pipeline(make_default_preprocessor(X), estimator)
    return model.fit(X, Y_default if Y is None else Y)


def _run(onnx_model, X):
    session = ort.InferenceSession(onnx_model.SerializeToString())
    return session.run(None, onnx_inputs(onnx_model, X))


def _interval(model, X, confidence):
    return model[-1].predict_interval(model[0].transform(X), confidence=confidence)


@pytest.fixture(scope="module")
def regressor(nhanes, tmp_path_factory):
    """An ensemble on NHANES's default preprocessing, exported with its std
    and 90 % intervals, and written to a file."""
    model = _fit(nhanes, MultiTaskHealthRegressor(max_iter=3, random_state=0))
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    return model, to_onnx(model, return_std=True, interval=0.9, path=path), path


# ------------------------------------------------------------ the regressor
def test_inputs_are_the_raw_columns_typed_string_or_double(regressor, nhanes):
    _, onnx_model, _ = regressor
    X = nhanes[0]
    types = {
        value.name: value.type.tensor_type.elem_type for value in onnx_model.graph.input
    }
    assert list(types) == list(X.columns)
    strings = {"sex", "race_ethnicity", "education", "smoking_status"}
    assert {name for name, t in types.items() if t == onnx.TensorProto.STRING} == (
        strings
    )
    assert set(types.values()) == {onnx.TensorProto.STRING, onnx.TensorProto.DOUBLE}


def test_outputs_are_named_with_a_dynamic_batch_and_a_column_per_task(regressor):
    _, onnx_model, _ = regressor
    outputs = onnx_model.graph.output
    assert [value.name for value in outputs] == ["prediction", "std", "lower", "upper"]
    for value in outputs:
        batch, tasks = value.type.tensor_type.shape.dim
        assert batch.dim_param == "batch"
        assert tasks.dim_value == len(TARGETS)


def test_exported_graph_passes_the_onnx_checker(regressor):
    onnx.checker.check_model(regressor[1], full_check=True)


def test_one_row_matches_predict(regressor, nhanes):
    model, onnx_model, _ = regressor
    row = nhanes[2].iloc[[3]]
    prediction, *_ = _run(onnx_model, row)
    assert prediction.shape == (1, len(TARGETS))
    np.testing.assert_allclose(prediction, model.predict(row), rtol=RTOL)


def test_ten_thousand_rows_match_predict_std_and_intervals(regressor, nhanes):
    model, onnx_model, _ = regressor
    X = nhanes[2]
    prediction, std, lower, upper = _run(onnx_model, X)
    expected, expected_std = model.predict(X, return_std=True)
    bounds = _interval(model, X, 0.9)
    assert prediction.shape == (10_000, len(TARGETS))
    np.testing.assert_allclose(prediction, expected, rtol=RTOL)
    np.testing.assert_allclose(std, expected_std, rtol=RTOL)
    np.testing.assert_allclose(lower, bounds[..., 0], rtol=RTOL)
    np.testing.assert_allclose(upper, bounds[..., 1], rtol=RTOL)


def test_missing_values_are_nan_numbers_and_empty_categories(regressor, nhanes):
    model, onnx_model, _ = regressor
    rows = nhanes[2].iloc[:5].copy()
    rows.loc[:, "education"] = np.nan
    rows.loc[:, "energy_kcal"] = np.nan
    inputs = onnx_inputs(onnx_model, rows)
    assert inputs["education"].ravel().tolist() == [""] * 5
    prediction, *_ = _run(onnx_model, rows)
    np.testing.assert_allclose(prediction, model.predict(rows), rtol=RTOL)


def test_metadata_describes_inputs_outputs_and_targets(regressor):
    props = {p.key: p.value for p in regressor[1].metadata_props}
    assert json.loads(props["skhealth.target_names"]) == TARGETS
    assert json.loads(props["skhealth.outputs"]) == [
        "prediction",
        "std",
        "lower",
        "upper",
    ]
    assert json.loads(props["skhealth.confidence"]) == 0.9
    inputs = json.loads(props["skhealth.inputs"])
    assert inputs[1] == {
        "name": "sex",
        "kind": "string",
        "categories": ["Female", "Male"],
        "handle_unknown": "ignore",
    }


def test_to_onnx_writes_the_graph_it_returns_to_path(regressor):
    _, onnx_model, path = regressor
    assert onnx.load(path) == onnx_model


# --------------------------------------------- targets, tasks and classifiers
@pytest.fixture(scope="module")
def mixed(nhanes):
    """A regressor with a log target, a PowerTransformer target, a binary
    (log_loss) task and a plain one, exported with std and intervals."""
    from sklearn.preprocessing import PowerTransformer

    Y = nhanes[1].copy()
    Y["high_bp"] = (Y["systolic_bp"] > 125).astype(float)
    estimator = MultiTaskHealthRegressor(
        max_iter=3,
        random_state=0,
        loss=["squared_error"] * 3 + ["log_loss"],
        target_transform={"hba1c": "log", "hdl_cholesterol": PowerTransformer()},
    )
    model = _fit(nhanes, estimator, Y)
    return model, to_onnx(model, return_std=True, interval=0.8)


def test_target_transforms_and_binary_tasks_match_predict(mixed, nhanes):
    model, onnx_model = mixed
    X = nhanes[2].iloc[:2000]
    prediction, std, lower, upper = _run(onnx_model, X)
    expected, expected_std = model.predict(X, return_std=True)
    bounds = _interval(model, X, 0.8)
    np.testing.assert_allclose(prediction, expected, rtol=RTOL)
    np.testing.assert_allclose(std, expected_std, rtol=RTOL)
    np.testing.assert_allclose(lower, bounds[..., 0], rtol=RTOL)
    np.testing.assert_allclose(upper, bounds[..., 1], rtol=RTOL)
    # the binary task: a probability, its Bernoulli std, no interval
    assert ((prediction[:, 3] > 0) & (prediction[:, 3] < 1)).all()
    assert np.isnan(lower[:, 3]).all()
    assert np.isnan(upper[:, 3]).all()


@pytest.fixture(scope="module")
def classifier(nhanes):
    Y = nhanes[1]
    y = np.where(Y["systolic_bp"] > 125, "high", "normal")
    model = _fit(nhanes, MultiTaskHealthClassifier(max_iter=3, random_state=0), y)
    return model, to_onnx(model)


def test_classifier_outputs_its_classes_and_positive_probabilities(classifier, nhanes):
    model, onnx_model = classifier
    X = nhanes[2].iloc[:2000]
    label, probabilities = _run(onnx_model, X)
    assert [o.name for o in onnx_model.graph.output] == ["label", "probabilities"]
    assert label.shape == probabilities.shape == (2000, 1)
    assert label.ravel().tolist() == model.predict(X).tolist()
    np.testing.assert_allclose(
        probabilities[:, 0], model.predict_proba(X)[:, 1], rtol=RTOL
    )


def test_classifier_has_no_std_or_interval(classifier):
    with pytest.raises(ValueError, match="return_std and interval are a regressor's"):
        to_onnx(classifier[0], interval=0.9)


def test_codes_encoded_beside_text_read_numbers_and_dropped_columns_are_no_inputs():
    # as `skhealth fit --categorical stage` makes: a part of the preprocessing
    # reads the text column "sex" and the number codes "stage" together
    rng = np.random.RandomState(0)
    X = pd.DataFrame(
        {
            "age": rng.uniform(20, 80, 120),
            "sex": rng.choice(["female", "male"], 120),
            "stage": rng.choice([1.0, 2.0, 3.0, np.nan], 120),
            "notes": rng.choice(["seen", "called"], 120),
        }
    )
    Y = np.column_stack([X["age"] / 10 + X["stage"].fillna(0), rng.normal(size=120)])
    preprocess = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), ["age"]),
        (
            make_pipeline(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            ),
            ["sex", "stage"],
        ),
    )  # "notes" is dropped
    estimator = MultiTaskHealthRegressor(max_iter=2, n_members=1, random_state=0)
    model = make_pipeline(preprocess, estimator).fit(X, Y)
    onnx_model = to_onnx(model)
    types = [(i.name, i.type.tensor_type.elem_type) for i in onnx_model.graph.input]
    assert types == [
        ("age", onnx.TensorProto.DOUBLE),
        ("sex", onnx.TensorProto.STRING),
        ("stage", onnx.TensorProto.DOUBLE),
    ]
    X.loc[0, "stage"] = 4.0  # a code the encoder ignores
    (prediction,) = _run(onnx_model, X)
    np.testing.assert_allclose(prediction, model.predict(X), rtol=RTOL)


def test_a_search_of_a_model_fitted_on_an_array_reads_one_input_x():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 4))
    Y = X[:, :2] @ np.array([[1.0, 0.5], [-0.5, 2.0]]) + 0.1 * rng.normal(size=(100, 2))
    estimator = MultiTaskHealthRegressor((8,), max_iter=2, n_members=1, random_state=0)
    search = GridSearchCV(estimator, {"alpha": [1e-4, 1e-3]}, cv=2).fit(X, Y)
    onnx_model = to_onnx(search)
    (value,) = onnx_model.graph.input
    assert value.name == "X"
    assert value.type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert [d.dim_value for d in value.type.tensor_type.shape.dim] == [0, 4]
    (prediction,) = _run(onnx_model, X)
    np.testing.assert_allclose(prediction, search.predict(X), rtol=RTOL)


# ------------------------------------------------------------------ failures
def test_a_step_skl2onnx_cannot_convert_is_named(nhanes):
    X, Y, _ = nhanes
    model = make_pipeline(
        make_default_preprocessor(X),
        FunctionTransformer(np.tanh),
        MultiTaskHealthRegressor(max_iter=1, n_members=1, random_state=0),
    ).fit(X, Y)
    with pytest.raises(
        ValueError,
        match=r"cannot convert the step 'functiontransformer' \(FunctionTransformer\)",
    ):
        to_onnx(model)


def test_a_target_transform_without_onnx_form_names_its_task(nhanes):
    estimator = MultiTaskHealthRegressor(
        max_iter=1,
        n_members=1,
        random_state=0,
        target_transform={"hba1c": QuantileTransformer(n_quantiles=50)},
    )
    model = _fit(nhanes, estimator)
    with pytest.raises(
        ValueError, match=r"task 'hba1c' \(QuantileTransformer\) has no ONNX form"
    ):
        to_onnx(model)


def test_intervals_of_an_uncalibrated_model_are_refused(nhanes):
    model = _fit(nhanes, MultiTaskHealthRegressor(max_iter=1, n_members=1))
    with pytest.raises(ValueError, match="no calibration"):
        to_onnx(model, return_std=True)


def test_grouped_calibration_needs_a_group(regressor, nhanes):
    import copy

    model = copy.deepcopy(regressor[0])
    X, Y, _ = nhanes
    groups = X["sex"].astype(str).to_numpy()
    model[-1].calibrate(model[0].transform(X), Y, groups=groups)
    with pytest.raises(ValueError, match=r"calibrated per group \('Female', 'Male'\)"):
        to_onnx(model, interval=0.8)
    with pytest.raises(ValueError, match="which the calibration has no scores"):
        to_onnx(model, interval=0.8, group="Other")


@pytest.mark.slow
def test_a_group_s_intervals_match_predict_interval_of_its_rows(regressor, nhanes):
    import copy

    model = copy.deepcopy(regressor[0])
    X, Y, many = nhanes
    groups = X["sex"].astype(str).to_numpy()
    model[-1].calibrate(model[0].transform(X), Y, groups=groups)
    onnx_model = to_onnx(model, interval=0.8, group="Female")
    rows = many[many["sex"] == "Female"].iloc[:500]
    _, lower, upper = _run(onnx_model, rows)
    expected = model[-1].predict_interval(
        model[0].transform(rows), confidence=0.8, groups=["Female"] * len(rows)
    )
    np.testing.assert_allclose(lower, expected[..., 0], rtol=RTOL)
    np.testing.assert_allclose(upper, expected[..., 1], rtol=RTOL)


def test_missing_dependency_names_the_extra(monkeypatch, regressor):
    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    with pytest.raises(ImportError, match=r'pip install "skhealth\[onnx\]"'):
        to_onnx(regressor[0])


# ---------------------------------------------------------------------- CLI
def test_cli_export_writes_a_graph_that_predicts_as_the_model(
    regressor, nhanes, tmp_path, capsys
):
    model = regressor[0]
    save(model, tmp_path / "model.skh")
    out = tmp_path / "model.onnx"
    status = main(["export", str(tmp_path / "model.skh"), "-o", str(out)])
    assert status == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"wrote {out}: Pipeline, ONNX opset 20"
    assert printed[1].startswith("inputs (21): age (double), sex (string),")
    assert printed[2] == "outputs, one column per target: prediction (double)"
    X = nhanes[2].iloc[:100]
    (prediction,) = _run(onnx.load(out), X)
    np.testing.assert_allclose(prediction, model.predict(X), rtol=RTOL)


def test_cli_export_errors_are_one_line(tmp_path, capsys):
    status = main(
        ["export", str(tmp_path / "none.skh"), "-o", str(tmp_path / "x.onnx")]
    )
    assert status == 1
    err = capsys.readouterr().err
    assert (
        err == f"skhealth: error: {tmp_path / 'none.skh'}: No such file or directory\n"
    )


def test_cli_group_needs_interval(tmp_path, capsys):
    status = main(["export", "m.skh", "-o", str(tmp_path / "x.onnx"), "--group", "F"])
    assert status == 2
    assert "--group chooses the intervals' group" in capsys.readouterr().err


# ------------------------------------------- every architecture, 1 and 5 members
@pytest.mark.slow
@pytest.mark.parametrize("n_members", [1, 5])
@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_every_architecture_matches_predict(nhanes, architecture, n_members):
    estimator = MultiTaskHealthRegressor(
        hidden_layer_sizes=(16, 8),
        architecture=architecture,
        n_members=n_members,
        max_iter=3,
        random_state=0,
    )
    model = _fit(nhanes, estimator)
    onnx_model = to_onnx(model)
    X = nhanes[2]
    (prediction,) = _run(onnx_model, X)
    np.testing.assert_allclose(prediction, model.predict(X), rtol=RTOL)
    (one,) = _run(onnx_model, X.iloc[[0]])
    np.testing.assert_allclose(one, model.predict(X.iloc[[0]]), rtol=RTOL)
