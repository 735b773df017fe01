"""Per-task scores on observed labels."""

import numpy as np
import pandas as pd
import pytest

from skhealth.metrics import task_scores

Y_TRUE = np.array([[1.0, 10.0], [2.0, np.nan], [3.0, 30.0], [4.0, 35.0]])
Y_PRED = np.array([[1.5, 12.0], [2.0, 20.0], [2.5, 30.0], [4.0, 31.0]])


def test_missing_labels_are_left_out_of_their_task():
    scores = task_scores(Y_TRUE, Y_PRED)
    expected = task_scores(Y_TRUE[[0, 2, 3], 1], Y_PRED[[0, 2, 3], 1])
    assert scores.loc["task_1"].tolist() == expected.loc["task_0"].tolist()
    assert scores["n_observed"].tolist() == [4, 3]


def test_rows_of_zero_weight_are_left_out_like_missing_labels():
    weight = np.array([1.0, 2.0, 0.0, 1.0])
    scores = task_scores(Y_TRUE, Y_PRED, sample_weight=weight)
    kept = weight > 0
    expected = task_scores(Y_TRUE[kept], Y_PRED[kept], sample_weight=weight[kept])
    pd.testing.assert_frame_equal(scores, expected)
    assert scores["n_observed"].tolist() == [3, 2]


def test_task_whose_labels_all_weigh_zero_has_nan_scores():
    weight = np.array([0.0, 1.0, 0.0, 0.0])  # task 1's only label-less row weighs
    scores = task_scores(Y_TRUE, Y_PRED, sample_weight=weight)
    assert scores.loc["task_1"].isna()[["r2", "mae", "rmse"]].all()
    assert scores.loc["task_1", "n_observed"] == 0
    assert scores.loc["task_0", "mae"] == 0.0


def test_pandas_na_in_an_object_column_is_a_missing_label():
    y_true = pd.DataFrame(Y_TRUE, columns=["sbp", "hdl"], dtype=object)
    y_true.iloc[1, 1] = pd.NA
    pd.testing.assert_frame_equal(
        task_scores(y_true, Y_PRED),
        task_scores(Y_TRUE, Y_PRED, target_names=["sbp", "hdl"]),
    )


def test_predictions_with_nan_are_a_value_error():
    with pytest.raises(ValueError, match="y_pred contains NaN"):
        task_scores(Y_TRUE, np.where(Y_PRED > 30, np.nan, Y_PRED))
