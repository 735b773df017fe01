"""target_transform: each task learnt on a transformed scale, with predictions
and scores in the units of y, missing labels kept missing."""

import json
import re
import zipfile

import numpy as np
import pandas as pd
import pytest
from _estimator_helpers import NO_CONVERGENCE_NOISE, fast
from sklearn.preprocessing import FunctionTransformer, PowerTransformer

import skhealth
from skhealth.datasets import make_health_data
from skhealth.metrics import task_scores

pytestmark = NO_CONVERGENCE_NOISE


@pytest.fixture(scope="module")
def data():
    """Three positive, right-skewed targets named out of alphabetical order,
    a fifth of their labels missing."""
    X, Y = make_health_data(
        n_samples=160, n_features=5, n_tasks=3, missing_rate=0.2, random_state=0
    )
    Y = pd.DataFrame(np.exp(Y / 2), columns=["trig", "bili", "alp"])
    return X, Y


def test_log_fits_the_log_of_the_labels_and_predicts_their_exp(data):
    X, Y = data
    logged = fast(target_transform="log").fit(X, Y)
    by_hand = fast().fit(X, np.log(Y))
    np.testing.assert_array_equal(logged.predict(X), np.exp(by_hand.predict(X)))


def test_log1p_fits_log1p_of_the_labels_and_predicts_their_expm1(data):
    X, Y = data
    logged = fast(target_transform="log1p").fit(X, Y - 1)
    by_hand = fast().fit(X, np.log1p(Y - 1))
    np.testing.assert_array_equal(logged.predict(X), np.expm1(by_hand.predict(X)))


def test_a_list_transforms_each_task_as_it_says(data):
    X, Y = data
    mixed = fast(target_transform=[None, "log", None]).fit(X, Y)
    by_hand = fast().fit(X, Y.assign(bili=np.log(Y["bili"])))
    expected = by_hand.predict(X)
    expected[:, 1] = np.exp(expected[:, 1])
    np.testing.assert_array_equal(mixed.predict(X), expected)


def test_a_dict_transforms_the_named_tasks_only(data):
    X, Y = data
    by_name = fast(target_transform={"bili": "log"}).fit(X, Y)
    by_list = fast(target_transform=[None, "log", None]).fit(X, Y)
    np.testing.assert_array_equal(by_name.predict(X), by_list.predict(X))


def test_a_dict_may_name_tasks_by_index(data):
    X, Y = data
    by_index = fast(target_transform={1: "log"}).fit(X, Y.to_numpy())
    by_list = fast(target_transform=[None, "log", None]).fit(X, Y.to_numpy())
    np.testing.assert_array_equal(by_index.predict(X), by_list.predict(X))


def test_a_dict_key_is_a_column_name_before_it_is_a_position(data):
    X, Y = data
    named_by_numbers = Y.set_axis([2, 0, 1], axis=1)
    by_name = fast(max_iter=1, target_transform={0: "log"}).fit(X, named_by_numbers)
    assert by_name._target_transforms.specs == [None, "log", None]


def test_a_dict_naming_a_task_twice_is_an_error(data):
    X, Y = data
    message = "target_transform names the task 'bili' twice, as 'bili' and 1"
    with pytest.raises(ValueError, match=re.escape(message)):
        fast(target_transform={"bili": "log", 1: None}).fit(X, Y)


def test_a_transformer_is_fitted_on_each_task_like_the_named_transform(data):
    X, Y = data
    function = FunctionTransformer(np.log, np.exp)
    with_transformer = fast(target_transform=function).fit(X, Y)
    named = fast(target_transform="log").fit(X, Y)
    np.testing.assert_array_equal(with_transformer.predict(X), named.predict(X))
    assert function.__dict__.get("n_features_in_") is None  # the parameter is cloned


def test_a_transformer_is_fitted_on_the_observed_labels_of_its_task(data):
    X, Y = data
    reg = fast(target_transform=[PowerTransformer(), None, None]).fit(X, Y)
    expected = PowerTransformer().fit(Y[["trig"]].dropna().to_numpy())
    np.testing.assert_array_equal(
        reg._target_transforms.transforms_[0].lambdas_, expected.lambdas_
    )


def test_a_transformer_that_its_inverse_does_not_undo_warns(data):
    X, Y = data
    inverse = FunctionTransformer(np.log, np.exp, check_inverse=False)
    wrong = FunctionTransformer(np.log, np.square, check_inverse=False)
    with pytest.warns(
        UserWarning, match=r"task 'alp' \(FunctionTransformer\) is not inverted"
    ):
        fast(max_iter=1, target_transform=[inverse, None, wrong]).fit(X, Y)


def test_missing_labels_stay_missing_through_the_transform(data):
    X, Y = data
    reg = fast(max_iter=1, target_transform="log").fit(X, Y)
    transformed = reg._target_transforms.transform(Y.to_numpy())
    np.testing.assert_array_equal(np.isnan(transformed), Y.isna().to_numpy())


def test_scores_are_in_the_units_of_y(data):
    X, Y = data
    reg = fast(target_transform="log").fit(X, Y)
    by_hand = fast().fit(X, np.log(Y))
    expected = task_scores(Y, np.exp(by_hand.predict(X)))
    pd.testing.assert_frame_equal(reg.score_tasks(X, Y), expected)
    assert reg.score(X, Y) == expected["r2"].mean()


def test_log_predictions_are_positive_far_outside_the_training_data(data):
    X, Y = data
    reg = fast(target_transform="log").fit(X, Y)
    assert (reg.predict(X * 50) > 0).all()


def test_one_dimensional_y_keeps_its_shape(data):
    X, Y = data
    reg = fast(target_transform="log").fit(X[Y["trig"].notna()], Y["trig"].dropna())
    assert reg.predict(X).shape == (len(X),)


def test_log_of_a_label_of_zero_is_an_error_naming_task_row_and_fix(data):
    X, Y = data
    Y = Y.copy()
    Y.iloc[7, 2] = 0.0
    message = (
        "target_transform='log' for task 'alp' needs labels above 0, but y has 0 "
        "in row 7, counting from 0 (1 such label): use 'log1p' for labels of 0 or "
        "more."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        fast(target_transform="log").fit(X, Y)


def test_the_row_of_a_label_out_of_the_domain_counts_rows_of_weight_zero(data):
    X, Y = data
    Y = Y.copy()
    Y.iloc[9, 0] = -2.0
    weight = np.ones(len(Y))
    weight[[2, 5]] = 0
    with pytest.raises(
        ValueError, match=r"y has -2 in row 9, counting from 0 \(1 such label\)"
    ):
        fast(target_transform="log").fit(X, Y, sample_weight=weight)


def test_log1p_of_a_label_of_minus_one_is_an_error(data):
    X, Y = data
    with pytest.raises(ValueError, match="needs labels above -1, but y has -1"):
        fast(target_transform="log1p").fit(X, Y.assign(trig=Y["trig"] * 0 - 1))


def test_partial_fit_checks_the_labels_of_every_call(data):
    X, Y = data
    reg = fast(target_transform="log").partial_fit(X, Y)
    with pytest.raises(ValueError, match="task 'bili' needs labels above 0"):
        reg.partial_fit(X, Y.assign(bili=-Y["bili"]))


def test_a_list_of_the_wrong_length_is_an_error(data):
    X, Y = data
    message = (
        "target_transform has 2 entries for 3 tasks (['trig', 'bili', 'alp']): give "
        "one per task"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        fast(target_transform=["log", None]).fit(X, Y)


def test_an_unknown_task_in_a_dict_is_an_error_listing_the_tasks(data):
    X, Y = data
    message = (
        "target_transform names the task 'bilirubin', which y does not have; its "
        "tasks are ['trig', 'bili', 'alp'] (or their indices 0 to 2)."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        fast(target_transform={"bilirubin": "log"}).fit(X, Y)


def test_an_unknown_transform_in_a_list_is_an_error(data):
    X, Y = data
    with pytest.raises(ValueError, match="target_transform for task 'bili' must be"):
        fast(target_transform=[None, "sqrt", None]).fit(X, Y)


def test_an_unknown_transform_name_is_a_parameter_error(data):
    X, Y = data
    with pytest.raises(ValueError, match="'target_transform' parameter"):
        fast(target_transform="sqrt").fit(X, Y)


def test_continuing_with_another_transform_is_an_error(data):
    X, Y = data
    reg = fast(max_iter=1, warm_start=True, target_transform="log").fit(X, Y)
    reg.set_params(target_transform=None)
    with pytest.raises(ValueError, match="the network was built with target_transf"):
        reg.fit(X, Y)


def test_a_model_file_keeps_a_named_transform(data, tmp_path):
    X, Y = data
    reg = fast(target_transform={"bili": "log1p"}).fit(X, Y)
    reg.save(tmp_path / "model.skh")
    loaded = skhealth.load(tmp_path / "model.skh")
    assert loaded.target_transform == {"bili": "log1p"}
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


def test_a_model_file_cannot_hold_a_transformer(data, tmp_path):
    X, Y = data
    reg = fast(max_iter=1, target_transform=PowerTransformer()).fit(X, Y)
    message = "The network was fitted with it: save the model with pickle or joblib."
    with pytest.raises(ValueError, match=re.escape(message)):
        reg.save(tmp_path / "model.skh")


@pytest.mark.parametrize(
    ("target_transform", "stored"), [(None, False), ("log", True), ({}, True)]
)
def test_a_model_file_stores_target_transform_unless_it_is_none(
    target_transform, stored, data, tmp_path
):
    # without it, an skhealth from before target_transform reads the file
    X, Y = data
    reg = fast(max_iter=1, target_transform=target_transform).fit(X, Y)
    reg.save(tmp_path / "model.skh")
    with zipfile.ZipFile(tmp_path / "model.skh") as archive:
        params = json.loads(archive.read("metadata.json"))["estimator"]["params"]
    assert ("target_transform" in params) is stored
    assert skhealth.load(tmp_path / "model.skh").target_transform == target_transform
