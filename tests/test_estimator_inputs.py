"""What X, y and sample_weight may be, the names they give, the errors they raise."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _estimator_helpers import NO_CONVERGENCE_NOISE, fast

from skhealth.metrics import task_scores

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
    X = (X - X.mean()) / X.std()
    reg = fast(max_iter=2).fit(X, Y)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        reg.predict(X.to_numpy())


# ------------------------------------------------------------------------- X
def test_inputs_of_any_numeric_dtype_and_layout_agree(regression_data):
    X, Y = regression_data
    X = np.round(X * 4)  # integral values, exactly representable everywhere
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


_UNSCALED_ADVICE = (
    "The network learns poorly from unscaled inputs: scale them in a Pipeline "
    "before the estimator, with a StandardScaler, or with "
    "skhealth.preprocessing.make_default_preprocessor(X), which also encodes "
    "categorical features."
)


def _alternating(X, columns):
    """``X`` whose column ``j`` alternates the two values ``columns[j]``: of
    mean their midpoint and standard deviation half their distance."""
    X = X.copy()
    for j, values in columns.items():
        X[:, j] = np.tile(values, len(X) // 2)
    return X


def _days(X):
    """``X`` with days since diagnosis, 0 to 4800, in column 2."""
    return _alternating(X, {2: [0.0, 4800.0]})


@_named_or_not
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_unscaled_feature_at_a_first_fit_warns_naming_it(
    regression_data, names, where, method
):
    X, Y = regression_data
    X = pd.DataFrame(_days(X), columns=names) if names else _days(X)
    message = (
        "Input X has 1 column far from standardised (mean or standard deviation "
        f"beyond ±10): {where} (mean 2400, std 2400). {_UNSCALED_ADVICE}"
    )
    with pytest.warns(UserWarning, match=f"^{re.escape(message)}$") as caught:
        getattr(fast(max_iter=2), method)(X, Y)
    assert caught.pop(UserWarning).filename == __file__  # the caller's line


def test_unscaled_features_warn_naming_the_first_three_and_counting_the_rest(
    regression_data,
):
    X, Y = regression_data
    X = _alternating(
        X,
        {
            1: [0.0, 40.0],
            2: [10.0, 14.0],  # offset only
            3: [-100.0, 100.0],  # scale only
            4: [0.0, 4800.0],
            5: [0.0, 4800.0],
        },
    )
    message = (
        "Input X has 5 columns far from standardised (mean or standard deviation "
        "beyond ±10): column 1 (mean 20, std 20), column 2 (mean 12, std 2), "
        f"column 3 (mean 0, std 100) and 2 more. {_UNSCALED_ADVICE}"
    )
    with pytest.warns(UserWarning, match=f"^{re.escape(message)}$"):
        fast(max_iter=2).fit(X, Y)


def test_features_within_ten_of_standardised_do_not_warn(regression_data):
    X, Y = regression_data
    rng = np.random.RandomState(0)
    X = np.column_stack(
        [
            X[:, :3],
            rng.randint(0, 2, len(X)),  # a 0/1 flag
            rng.poisson(3, len(X)),  # a small count
            rng.normal(9.5, 1, len(X)),  # hours of sleep, above 10 in places
        ]
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Input X has")
        fast(max_iter=2).fit(X, Y)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_continuing_training_on_unscaled_features_does_not_warn_again(
    regression_data, method
):
    X, Y = regression_data
    reg = fast(max_iter=2, warm_start=True)
    with pytest.warns(UserWarning, match="far from standardised"):
        getattr(reg, method)(_days(X), Y)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Input X has")
        getattr(reg, method)(_days(X), Y)


def test_rows_of_weight_zero_are_left_out_of_the_scale_warning(regression_data):
    X, Y = regression_data
    X = X.copy()
    X[:10, 2] = 9999.0  # a "don't know" code, on rows weighted out
    weight = np.r_[np.zeros(10), np.ones(len(X) - 10)]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Input X has")
        fast(max_iter=2).fit(X, Y, sample_weight=weight)
    with pytest.warns(UserWarning, match=r"Input X has 1 column .*: column 2 \(mean"):
        fast(max_iter=2).fit(X, Y)


_ENCODE = (
    "the network reads numbers only. Encode categorical features as numbers in "
    "a Pipeline before the estimator: "
    "skhealth.preprocessing.make_default_preprocessor(X) one-hot encodes them "
    "(and scales the numeric ones), or use a ColumnTransformer with a "
    "OneHotEncoder."
)


def test_string_features_at_fit_are_a_value_error_naming_them(regression_data):
    X, Y = regression_data
    X = pd.DataFrame(X, columns=["age", "bmi", "sex", "sbp", "smoker", "steps"])
    X["sex"] = np.tile(["f", "m"], len(X) // 2)
    X["smoker"] = pd.Categorical(np.tile(["never", "current"], len(X) // 2))
    message = (
        "Input X contains the string 'f' in feature 'sex', which is not a number "
        f"(feature 'smoker' holds strings too): {_ENCODE}"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        fast().fit(X, Y)


def test_a_string_in_an_array_at_predict_is_a_value_error_naming_its_column(
    regression_data,
):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, Y)
    X_bad = X.astype(object)
    X_bad[3, 2] = "f"
    message = (
        f"Input X contains the string 'f' in column 2, which is not a number: {_ENCODE}"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
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


_NOT_A_CATEGORY = (
    "targets must be numbers, and this regressor does not predict categories."
)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_string_target_is_a_value_error_naming_its_column(regression_data, method):
    X, Y = regression_data
    Y = pd.DataFrame(Y, columns=["sbp", "chol", "sleep"])
    Y["sex"] = np.tile(["f", "m"], len(Y) // 2)
    message = (
        "Input y contains the string 'f' in y's column 'sex', which is not a "
        f"number: {_NOT_A_CATEGORY} Drop that column, or convert its values to "
        "numbers (NaN for a missing label)."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        getattr(fast(), method)(X, Y)


def test_a_string_in_a_one_dimensional_target_is_a_value_error(regression_data):
    X, Y = regression_data
    y = Y[:, 0].astype(object)
    y[4] = "high"
    message = (
        "Input y contains the string 'high', which is not a number: "
        f"{_NOT_A_CATEGORY} Convert its values to numbers (NaN for a missing label)."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        fast().fit(X, y)


@pytest.mark.parametrize("method", ["fit", "partial_fit", "score", "score_tasks"])
def test_targets_as_a_list_of_series_are_a_value_error_saying_how_to_join_them(
    regression_data, method
):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, Y) if method.startswith("score") else fast()
    message = (
        "y is a list of 3 pandas Series of length 240, one per task, which "
        "scikit-learn reads as 3 rows (samples). Pass one table of shape "
        "(n_samples, n_tasks): pd.concat(y, axis=1) makes the Series its columns."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        getattr(reg, method)(X, [pd.Series(column) for column in Y.T])


def test_targets_as_arrays_one_per_task_are_a_value_error_saying_how_to_join_them(
    regression_data,
):
    _, Y = regression_data
    message = (
        "y_true is a tuple of 3 arrays of length 240, one per task, which "
        "scikit-learn reads as 3 rows (samples). Pass one table of shape "
        "(n_samples, n_tasks): np.column_stack(y_true) makes the arrays its columns."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        task_scores(tuple(Y.T), Y)


def test_targets_as_a_list_of_rows_are_read_as_rows(regression_data):
    X, Y = regression_data
    np.testing.assert_array_equal(
        fast().fit(X, list(Y)).predict(X), fast().fit(X, Y).predict(X)
    )


def test_a_minibatch_of_rows_with_more_tasks_than_rows_is_read_as_rows(
    regression_data,
):
    X, Y = regression_data
    as_list = fast().partial_fit(X, Y).partial_fit(X[:2], list(Y[:2]))
    as_array = fast().partial_fit(X, Y).partial_fit(X[:2], Y[:2])
    np.testing.assert_array_equal(as_list.predict(X), as_array.predict(X))


@pytest.mark.parametrize("items", ["arrays", "series"])
def test_scoring_fewer_rows_than_tasks_given_as_a_list_reads_them_as_rows(
    regression_data, items
):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, Y)
    rows = (
        list(Y[:2])
        if items == "arrays"
        else [row for _, row in pd.DataFrame(Y[:2]).iterrows()]
    )
    pd.testing.assert_frame_equal(
        reg.score_tasks(X[:2], rows), reg.score_tasks(X[:2], Y[:2])
    )


def test_task_scores_of_fewer_rows_than_tasks_given_as_a_list_reads_them_as_rows(
    regression_data,
):
    _, Y = regression_data
    pd.testing.assert_frame_equal(
        task_scores(list(Y[:2]), Y[:2] + 1), task_scores(Y[:2], Y[:2] + 1)
    )


def test_predictions_as_arrays_one_per_task_are_a_value_error(regression_data):
    _, Y = regression_data
    with pytest.raises(
        ValueError, match=r"^y_pred is a list of 3 arrays of length 240"
    ):
        task_scores(Y, list(Y.T))


# ------------------------------------------------------------- sample_weight
def test_negative_sample_weight_is_a_value_error(regression_data):
    X, Y = regression_data
    with pytest.raises(
        ValueError, match="Negative values in data passed to `sample_weight`"
    ):
        fast().fit(X, Y, sample_weight=-np.ones(len(X)))


def test_predicting_no_rows_is_scikit_learns_error_on_the_shape(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, Y)
    with pytest.raises(
        ValueError, match=r"Found array with 0 sample\(s\) \(shape=\(0, 6\)\)"
    ):
        reg.predict(X[:0])
