"""A fitted model's raw input columns (skhealth._inputs), which ONNX export,
the prediction service and drift reports read."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from skhealth import MultiTaskHealthRegressor
from skhealth._inputs import InputColumn, input_columns


def _frame():
    rng = np.random.default_rng(0)
    n = 60
    X = pd.DataFrame(
        {
            "age": rng.uniform(20, 80, n),
            "sex": rng.choice(["F", "M"], n),
            "stage": rng.choice([1, 2, 3], n),
            "smoker": rng.choice(["never", "former", "current"], n),
        }
    )
    X.loc[3, "smoker"] = np.nan
    Y = rng.normal(size=(n, 2))
    return X, Y


def _regressor():
    return MultiTaskHealthRegressor(max_iter=1, random_state=0)


def test_columns_read_by_a_text_encoder_are_strings_with_its_categories():
    X, Y = _frame()
    model = make_pipeline(
        make_column_transformer(
            (StandardScaler(), ["age"]),
            (OneHotEncoder(handle_unknown="ignore"), ["sex"]),
            remainder="drop",
        ),
        _regressor(),
    ).fit(X, Y)
    columns = input_columns(model)
    assert columns[:2] == [
        InputColumn("age", "number"),
        InputColumn("sex", "string", ("F", "M"), "ignore"),
    ]
    # columns the model drops are still inputs it was fitted on: numbers
    assert [(c.name, c.kind) for c in columns[2:]] == [
        ("stage", "number"),
        ("smoker", "number"),
    ]


def test_an_encoder_after_an_imputer_gives_the_column_its_categories():
    X, Y = _frame()
    text = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
    )
    model = make_pipeline(
        make_column_transformer(
            (text, ["smoker"]), (OneHotEncoder(), ["stage"]), remainder="passthrough"
        ),
        _regressor(),
    ).fit(X[["age", "stage", "smoker"]], Y)
    assert input_columns(model) == [
        InputColumn("age", "number"),
        InputColumn("stage", "number", (1, 2, 3), "error"),
        InputColumn(
            "smoker", "string", ("current", "former", "never"), "use_encoded_value"
        ),
    ]


def test_an_imputer_that_adds_indicators_hides_the_encoder_behind_it():
    # the encoder reads more columns than the raw ones: which is which is
    # not told, so nothing is claimed
    X, Y = _frame()
    model = make_pipeline(
        make_column_transformer(
            (
                make_pipeline(
                    SimpleImputer(add_indicator=True),
                    OneHotEncoder(sparse_output=False),
                ),
                ["age"],
            )
        ),
        _regressor(),
    ).fit(X[["age"]], Y)
    assert input_columns(model) == [InputColumn("age", "number")]


def test_a_model_fitted_on_an_array_has_numbered_number_columns():
    X, Y = _frame()
    model = _regressor().fit(X[["age", "stage"]].to_numpy(), Y)
    assert input_columns(model) == [
        InputColumn("x0", "number"),
        InputColumn("x1", "number"),
    ]


def test_a_search_is_read_through_its_best_estimator():
    X, Y = _frame()
    search = GridSearchCV(
        make_pipeline(
            make_column_transformer(
                (OneHotEncoder(sparse_output=False), ["sex"]),
                remainder=StandardScaler(),
            ),
            _regressor(),
        ),
        {"multitaskhealthregressor__alpha": [1e-4]},
        cv=KFold(2),
    ).fit(X[["age", "sex"]], Y)
    assert input_columns(search) == [
        InputColumn("age", "number"),
        InputColumn("sex", "string", ("F", "M"), "error"),
    ]


def test_to_dict_gives_json_ready_categories():
    column = InputColumn("stage", "number", (np.int64(1), np.float64(2.5)), "ignore")
    assert column.to_dict() == {
        "name": "stage",
        "kind": "number",
        "categories": [1, 2.5],
        "handle_unknown": "ignore",
    }
    assert type(column.to_dict()["categories"][0]) is int


def test_an_unfitted_model_is_a_not_fitted_error():
    with pytest.raises(NotFittedError):
        input_columns(_regressor())


def test_another_model_is_a_type_error():
    with pytest.raises(
        TypeError, match="MultiTaskHealthRegressor or MultiTaskHealthClassifier"
    ):
        input_columns(StandardScaler().fit([[1.0], [2.0]]))
