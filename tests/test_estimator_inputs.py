"""What X, y and sample_weight may be, the names they give, the errors they raise."""

import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _estimator_helpers import NO_CONVERGENCE_NOISE, fast

pytestmark = NO_CONVERGENCE_NOISE


# --------------------------------------------------------------------- names
def test_names_come_from_dataframe_columns(health_frame, regression_data):
    X, Y = regression_data
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    Y = pd.DataFrame(Y, columns=["sbp", "chol", "sleep"])
    reg = fast().fit(X, Y)
    assert list(reg.feature_names_in_) == [f"x{i}" for i in range(6)]
    assert list(reg.target_names_) == ["sbp", "chol", "sleep"]


def test_target_name_comes_from_series_name(regression_data):
    X, Y = regression_data
    reg = fast().fit(X, pd.Series(Y[:, 0], name="sbp"))
    assert list(reg.target_names_) == ["sbp"]


def test_a_target_named_best_is_a_value_error(regression_data):
    X, Y = regression_data
    y = pd.DataFrame(Y, columns=["sbp", "best", "hba1c"])
    with pytest.raises(ValueError, match=r"a target named 'best'.*train_loss_best"):
        fast().fit(X, y)


def test_target_names_equal_as_strings_are_a_value_error(regression_data):
    X, Y = regression_data
    y = pd.DataFrame(Y, columns=[1, "1", "sleep"])
    message = re.escape("y has several targets named ['1'] (target names are strings")
    with pytest.raises(ValueError, match=message):
        fast().fit(X, y)


@pytest.mark.parametrize("method", ["fit", "partial_fit", "score"])
def test_target_columns_sharing_a_name_are_a_value_error_naming_it(
    regression_data, method
):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, Y) if method == "score" else fast()
    y = pd.DataFrame(Y, columns=["sbp", "hdl", "sbp"])
    message = re.escape("y has several targets named ['sbp'] (target names are")
    with pytest.raises(ValueError, match=message):
        getattr(reg, method)(X, y)


def test_target_columns_in_another_order_are_a_value_error(regression_data):
    X, Y = regression_data
    Y = pd.DataFrame(Y, columns=["sbp", "chol", "sleep"])
    reg = fast(max_iter=2, warm_start=True).fit(X, Y)
    reordered = Y[["chol", "sbp", "sleep"]]
    message = re.escape("pass y[['sbp', 'chol', 'sleep']]")
    for method in (reg.score, reg.score_tasks, reg.fit, reg.partial_fit):
        with pytest.raises(ValueError, match=message):
            method(X, reordered)


def test_array_without_names_after_fitting_on_a_dataframe_warns(health_frame):
    X, Y = health_frame
    X = pd.get_dummies(X, dtype=float).fillna(0.0)
    reg = fast(max_iter=2).fit(X, Y)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        reg.predict(X.to_numpy())


# ------------------------------------------------------------------------- X
def test_inputs_of_any_numeric_dtype_and_layout_agree(regression_data):
    X, Y = regression_data
    X = np.round(X * 100)  # integral values, exactly representable everywhere
    reference = fast().fit(X.astype(np.float32), Y).predict(X.astype(np.float32))
    read_only = X.copy()
    read_only.flags.writeable = False
    for variant in [X, X.astype(np.int64), np.asfortranarray(X), read_only, X.tolist()]:
        np.testing.assert_array_equal(
            fast().fit(variant, Y).predict(variant), reference
        )


def test_dataframe_and_array_inputs_agree(regression_data):
    X, Y = regression_data
    frame = pd.DataFrame(X, columns=list("abcdef"))
    np.testing.assert_array_equal(
        fast().fit(frame, pd.DataFrame(Y)).predict(frame), fast().fit(X, Y).predict(X)
    )


@pytest.mark.parametrize(
    ("X_bad", "message"),
    [
        (lambda X: np.where(X > 2, np.nan, X), "Input X contains NaN"),
        (lambda X: X + 1j, "Complex data not supported"),
        (lambda X: sp.csr_matrix(X), "Sparse input is not supported"),
        (lambda X: X[:, 0], "Expected 2D array, got 1D array instead"),
    ],
)
def test_bad_X_at_fit_is_a_value_error(regression_data, X_bad, message):
    X, Y = regression_data
    with pytest.raises(ValueError, match=message):
        fast().fit(X_bad(X), Y)


def test_sparse_X_at_predict_is_a_value_error(regression_data):
    X, Y = regression_data
    reg = fast().fit(X, Y)
    with pytest.raises(ValueError, match=r"Sparse input is not supported.*toarray"):
        reg.predict(sp.csr_matrix(X))


def test_wrong_feature_count_at_predict_is_a_value_error(regression_data):
    X, Y = regression_data
    reg = fast().fit(X, Y)
    with pytest.raises(
        ValueError,
        match="X has 5 features, but MultiTaskHealthRegressor is expecting 6 features",
    ):
        reg.predict(X[:, :5])


def test_nan_in_X_at_predict_is_a_value_error(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, Y)
    X_bad = X[:3].copy()
    X_bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        reg.predict(X_bad)


_FINITE = ": every feature value must be finite."


_BEYOND_FLOAT32 = (
    ", beyond the range of float32 (±3.4e+38), in which the network computes: "
    "rescale that feature, e.g. divide it by a power of 10."
)


_too_large_values = pytest.mark.parametrize(
    ("value", "shown", "advice"),
    [
        (np.inf, "inf", _FINITE),
        (-np.inf, "-inf", _FINITE),
        (1e39, "1e+39", _BEYOND_FLOAT32),  # inf once cast to float32
        (-1e308, "-1e+308", _BEYOND_FLOAT32),  # whose square overflows
    ],
)


_named_or_not = pytest.mark.parametrize(
    ("names", "where"), [(None, "column 2"), (list("abcdef"), "feature 'c'")]
)


def _with_value(X, value, names):
    """``(X, X with value in column 2, and in column 4 further down)``, as
    DataFrames when ``names`` are given."""
    X_bad = X.copy()
    X_bad[5, 2] = value
    X_bad[7:, 4] = value  # a later column too: the message names the first
    if names:
        return pd.DataFrame(X, columns=names), pd.DataFrame(X_bad, columns=names)
    return X, X_bad


@_too_large_values
@_named_or_not
def test_infinite_or_too_large_X_at_fit_is_a_value_error_naming_it(
    regression_data, value, shown, advice, names, where
):
    X, Y = regression_data
    _, X_bad = _with_value(X, value, names)
    message = f"^{re.escape(f'Input X contains {shown} in {where}{advice}')}$"
    with pytest.raises(ValueError, match=message):
        fast().fit(X_bad, Y)


@_too_large_values
@_named_or_not
def test_infinite_or_too_large_X_at_predict_is_a_value_error_naming_it(
    regression_data, value, shown, advice, names, where
):
    X, Y = regression_data
    X, X_bad = _with_value(X, value, names)
    reg = fast(max_iter=2).fit(X, Y)
    message = f"^{re.escape(f'Input X contains {shown} in {where}{advice}')}$"
    with pytest.raises(ValueError, match=message):
        reg.predict(X_bad)


# ------------------------------------------------------------------------- y
@pytest.mark.parametrize(
    ("y_bad", "message"),
    [
        (lambda Y: np.where(Y > 500, np.inf, Y), "Input y contains infinity"),
        (
            lambda Y: np.column_stack([Y[:, :2], np.full(len(Y), np.nan)]),
            re.escape("Input y contains NaN only for task 2 ('task_2', column 2 of y)"),
        ),
        (lambda Y: Y[:, :, None], "Found array with dim 3"),
        (lambda Y: Y[:-1], "inconsistent numbers of samples"),
    ],
)
def test_bad_y_is_a_value_error(regression_data, y_bad, message):
    X, Y = regression_data
    with pytest.raises(ValueError, match=message):
        fast().fit(X, y_bad(Y))


@pytest.mark.parametrize("method", ["fit", "partial_fit", "score"])
def test_sparse_y_is_a_value_error(regression_data, method):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, Y) if method == "score" else fast()
    with pytest.raises(ValueError, match=r"Sparse y is not supported: densify"):
        getattr(reg, method)(X, sp.csr_matrix(Y))


def test_pandas_na_in_an_object_target_is_a_missing_label(regression_data):
    X, Y = regression_data
    Y = Y.copy()
    Y[::3, 1] = np.nan
    with_na = pd.DataFrame(Y, dtype=object).where(~np.isnan(Y), pd.NA)
    expected = fast(max_iter=3).fit(X, Y)
    reg = fast(max_iter=3).fit(X, with_na)
    np.testing.assert_array_equal(reg.predict(X), expected.predict(X))
    assert reg.score(X, with_na) == expected.score(X, Y)


def test_unlabelled_task_is_named_after_its_column(regression_data):
    X, Y = regression_data
    Y = pd.DataFrame(Y, columns=["sbp", "chol", "sleep"])
    Y["chol"] = np.nan
    with pytest.raises(ValueError, match=r"task 1 \('chol', column 1 of y\)"):
        fast().fit(X, Y)


def test_targets_too_large_to_standardise_are_a_value_error(regression_data):
    X, Y = regression_data
    Y = Y.copy()
    Y[:, 2] *= 1e200
    with pytest.raises(ValueError, match=r"task 2 \('task_2'\) has values too large"):
        fast().fit(X, Y)


# ------------------------------------------------------------- sample_weight
def test_negative_sample_weight_is_a_value_error(regression_data):
    X, Y = regression_data
    with pytest.raises(
        ValueError, match="Negative values in data passed to `sample_weight`"
    ):
        fast().fit(X, Y, sample_weight=-np.ones(len(X)))
