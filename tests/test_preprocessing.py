"""make_default_preprocessor: numbers imputed and scaled, the rest one-hot."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.pipeline import make_pipeline

import skhealth
from skhealth import MultiTaskHealthRegressor
from skhealth.preprocessing import make_default_preprocessor


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "age": [30.0, np.nan, 50.0, 70.0],
            "steps": [1000, 3000, 5000, 7000],
            "sex": ["f", "m", None, "f"],
            "smoker": pd.Categorical(["never", "current", "never", "former"]),
            "insured": [True, False, True, True],
        }
    )


def test_numeric_columns_are_median_imputed_then_standardised(table):
    preprocessor = make_default_preprocessor(table).fit(table)
    columns = preprocessor.named_transformers_["numeric"].feature_names_in_
    assert list(columns) == ["age", "steps"]
    age = preprocessor.transform(table)[:, 0]
    imputed = np.array([30.0, 50.0, 50.0, 70.0])
    assert_allclose(age, (imputed - imputed.mean()) / imputed.std())


def test_other_columns_are_imputed_with_their_mode_then_one_hot_encoded(table):
    preprocessor = make_default_preprocessor(table).fit(table)
    names = list(preprocessor.get_feature_names_out())
    assert names[2:] == [
        "categorical__sex_f",
        "categorical__sex_m",
        "categorical__smoker_current",
        "categorical__smoker_former",
        "categorical__smoker_never",
        "categorical__insured_False",
        "categorical__insured_True",
    ]
    encoded = preprocessor.transform(table)[:, 2:4]
    assert_array_equal(encoded, [[1, 0], [0, 1], [1, 0], [1, 0]])  # None is "f"


def test_a_category_unseen_in_fit_is_encoded_as_none(table):
    preprocessor = make_default_preprocessor(table).fit(table)
    other = table.assign(sex=["x", "f", "m", "f"])
    assert_array_equal(
        preprocessor.transform(other)[:, 2:4], [[0, 0], [1, 0], [0, 1], [1, 0]]
    )


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    ("columns", "steps"),
    [(["age", "steps"], ["numeric"]), (["sex", "smoker"], ["categorical"])],
    ids=["numbers_only", "categories_only"],
)
def test_a_kind_of_column_the_table_lacks_gets_no_step(columns, steps, table, tmp_path):
    X = table[columns]
    preprocessor = make_default_preprocessor(X)
    assert [name for name, _, _ in preprocessor.transformers] == steps
    # a step of no column would stay unfitted, and a model file refuses it
    model = make_pipeline(preprocessor, MultiTaskHealthRegressor(max_iter=1))
    model.fit(X, np.arange(len(X), dtype=float))
    skhealth.save(model, tmp_path / "model.skh")
    assert_array_equal(
        skhealth.load(tmp_path / "model.skh").predict(X), model.predict(X)
    )


def test_an_array_is_a_type_error_naming_the_fix():
    with pytest.raises(TypeError, match=r"needs X as a pandas DataFrame.*got ndarray"):
        make_default_preprocessor(np.zeros((3, 2)))


def test_categorical_columns_of_numbers_are_one_hot_encoded(table):
    X = table.assign(stage=[1, 3, 1, 2], edema=[0.0, 0.5, np.nan, 0.0])
    preprocessor = make_default_preprocessor(X, categorical=["stage", "edema"])
    preprocessor.fit(X)
    columns = {name: list(c) for name, _, c in preprocessor.transformers_}
    assert columns == {
        "numeric": ["age", "steps"],
        "categorical": ["sex", "smoker", "insured", "stage", "edema"],
    }
    names = list(preprocessor.get_feature_names_out())
    assert names[-5:] == [
        "categorical__stage_1",
        "categorical__stage_2",
        "categorical__stage_3",
        "categorical__edema_0.0",
        "categorical__edema_0.5",
    ]
    # edema's missing value is its most frequent one, 0.0
    assert_array_equal(
        preprocessor.transform(X)[:, -5:],
        [[1, 0, 0, 1, 0], [0, 0, 1, 0, 1], [1, 0, 0, 1, 0], [0, 1, 0, 1, 0]],
    )


def test_categorical_naming_a_column_x_lacks_is_a_value_error(table):
    with pytest.raises(
        ValueError,
        match=r"^categorical names 'stage', which is not a column of X; the columns "
        r"of X are 'age', 'steps', 'sex', 'smoker', 'insured'$",
    ):
        make_default_preprocessor(table, categorical=["stage"])


def test_categorical_as_one_name_is_that_column(table):
    X = table.assign(stage=[1, 3, 1, 2])
    preprocessor = make_default_preprocessor(X, categorical="stage")
    columns = {name: list(c) for name, _, c in preprocessor.transformers}
    assert columns == {
        "numeric": ["age", "steps"],
        "categorical": ["sex", "smoker", "insured", "stage"],
    }
