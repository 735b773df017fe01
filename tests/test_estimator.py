"""Behaviour of MultiTaskHealthRegressor beyond scikit-learn's generic checks."""

import copy
import re
import signal
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import train_test_split
from skorch.callbacks import BatchScoring, Callback, EpochScoring

from skhealth import MultiTaskHealthRegressor
from skhealth._net import _EVAL_ROWS, MultiTaskNet
from skhealth.architectures import ARCHITECTURES, CrossStitch, HardSharing, MMoE
from skhealth.datasets import make_health_data
from skhealth.metrics import task_scores


def fast(**params):
    """A small, quick configuration for behavioural tests."""
    defaults = dict(hidden_layer_sizes=(32,), max_iter=30, random_state=0)
    return MultiTaskHealthRegressor(**{**defaults, **params})


@pytest.fixture(autouse=True)
def _no_convergence_noise():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


# ----------------------------------------------------------------- outputs
def test_default_estimator_fits_tasks_on_different_scales(regression_data):
    X, Y = regression_data
    reg = MultiTaskHealthRegressor(random_state=0).fit(X, Y)
    pred = reg.predict(X)
    r2 = 1 - ((Y - pred) ** 2).sum(0) / ((Y - Y.mean(0)) ** 2).sum(0)
    assert r2.min() > 0.9


def test_predict_is_float64_with_one_column_per_task(regression_data):
    X, Y = regression_data
    pred = fast().fit(X, Y).predict(X)
    assert pred.dtype == np.float64
    assert pred.shape == (240, 3)


def test_one_dimensional_y_gives_one_dimensional_predictions(regression_data):
    X, Y = regression_data
    reg = fast().fit(X, Y[:, 0])
    assert reg.predict(X).shape == (240,)
    assert reg.n_tasks_ == 1


def test_single_column_y_gives_single_column_predictions(regression_data):
    X, Y = regression_data
    assert fast().fit(X, Y[:, :1]).predict(X).shape == (240, 1)


def test_fitted_attributes(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=7, tol=0.0, n_iter_no_change=7).fit(X, Y)
    assert reg.n_features_in_ == 6
    assert reg.n_tasks_ == 3
    assert list(reg.target_names_) == ["task_0", "task_1", "task_2"]
    assert reg.n_iter_ == 7
    assert len(reg.loss_curve_) == 7
    assert reg.loss_curve_ == list(reg.history_[:, "train_loss"])
    assert reg.best_loss_ == min(reg.loss_curve_)
    assert reg.validation_scores_ is None
    assert not hasattr(reg, "feature_names_in_")
    assert isinstance(reg.net_.module_, torch.nn.Module)


def test_names_come_from_dataframe_columns(health_frame, regression_data):
    X, Y = regression_data
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    Y = pd.DataFrame(Y, columns=["sbp", "chol", "sleep"])
    reg = fast().fit(X, Y)
    assert list(reg.feature_names_in_) == [f"x{i}" for i in range(6)]
    assert list(reg.target_names_) == ["sbp", "chol", "sleep"]


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


def test_pandas_na_in_an_object_target_is_a_missing_label(regression_data):
    X, Y = regression_data
    Y = Y.copy()
    Y[::3, 1] = np.nan
    with_na = pd.DataFrame(Y, dtype=object).where(~np.isnan(Y), pd.NA)
    expected = fast(max_iter=3).fit(X, Y)
    reg = fast(max_iter=3).fit(X, with_na)
    np.testing.assert_array_equal(reg.predict(X), expected.predict(X))
    assert reg.score(X, with_na) == expected.score(X, Y)


def test_target_name_comes_from_series_name(regression_data):
    X, Y = regression_data
    reg = fast().fit(X, pd.Series(Y[:, 0], name="sbp"))
    assert list(reg.target_names_) == ["sbp"]


def test_unfitted_estimator_raises_not_fitted(regression_data):
    X, _ = regression_data
    with pytest.raises(NotFittedError):
        fast().predict(X)
    with pytest.raises(NotFittedError):
        _ = fast().history_


# ------------------------------------------------------------ input formats
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


@pytest.mark.parametrize("method", ["fit", "partial_fit", "score"])
def test_sparse_y_is_a_value_error(regression_data, method):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, Y) if method == "score" else fast()
    with pytest.raises(ValueError, match=r"Sparse y is not supported: densify"):
        getattr(reg, method)(X, sp.csr_matrix(Y))


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


def test_array_without_names_after_fitting_on_a_dataframe_warns(health_frame):
    X, Y = health_frame
    X = pd.get_dummies(X, dtype=float).fillna(0.0)
    reg = fast(max_iter=2).fit(X, Y)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        reg.predict(X.to_numpy())


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


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"hidden_layer_sizes": (32, 0)}, r"hidden_layer_sizes must be positive"),
        ({"head_layer_sizes": [-1]}, r"head_layer_sizes must be positive"),
        ({"loss": ["huber", "squared_error"]}, r"one per task \(3\)"),
        ({"loss": ["huber", "hinge", "huber"]}, r"loss must be one of"),
        ({"loss": [["huber"]] * 3}, r"loss must be one of"),
        ({"architecture": "tree"}, r"'architecture' parameter .* must be"),
        ({"device": "tpu"}, r"device='tpu' is not a valid torch device"),
        ({"learning_rate_init": 0.0}, r"'learning_rate_init' parameter"),
        ({"dropout": 1.0}, r"'dropout' parameter"),
        ({"n_members": 0}, r"'n_members' parameter"),
        ({"early_stopping": "yes"}, r"'early_stopping' parameter"),
        ({"callbacks": ["x"]}, r"skorch Callback instances .*; got 'x'"),
        (
            {"architecture": CrossStitch(alpha_self=np.nan)},
            r"'alpha_self' parameter of CrossStitch",
        ),
    ],
)
def test_bad_parameters_are_value_errors_at_fit(regression_data, params, message):
    X, Y = regression_data
    with pytest.raises(ValueError, match=message):
        fast(**params).fit(X, Y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_without_a_gpu_is_a_clear_error(regression_data):
    X, Y = regression_data
    with pytest.raises(ValueError, match=r"CUDA is not available.*device='cpu'"):
        fast(device="cuda").fit(X, Y)


def test_cuda_index_beyond_the_devices_is_a_clear_error(regression_data, monkeypatch):
    X, Y = regression_data
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(ValueError, match=r"has 2 CUDA device\(s\), cuda:0 to cuda:1"):
        fast(device="cuda:2").fit(X, Y)


def test_running_out_of_device_memory_is_a_memory_error_naming_the_fixes(
    regression_data, monkeypatch
):
    X, Y = regression_data

    def out_of_memory(net, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB.\n")

    monkeypatch.setattr(MultiTaskNet, "partial_fit", out_of_memory)
    reg = fast(device="auto")
    message = (
        r"device='auto' ran out of memory training on 240 rows of 6 features, "
        r"which stay on the device while training \(CUDA out of memory. Tried to "
        r"allocate 2 GiB.\). Use device='cpu', fewer rows, a smaller batch_size"
    )
    with pytest.raises(MemoryError, match=message):
        reg.fit(X, Y)
    assert not hasattr(reg, "net_")


def test_auto_device_trains_where_it_can(regression_data):
    X, Y = regression_data
    reg = fast(device="auto").fit(X, Y)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert next(reg.net_.module_.parameters()).device.type == expected


# ---------------------------------------------------------------- randomness
def test_same_random_state_gives_bit_identical_predictions(regression_data):
    X, Y = regression_data
    params = dict(dropout=0.2, early_stopping=True)
    np.testing.assert_array_equal(
        fast(**params).fit(X, Y).predict(X), fast(**params).fit(X, Y).predict(X)
    )


def test_different_random_states_give_different_models(regression_data):
    X, Y = regression_data
    a = fast(random_state=0).fit(X, Y).predict(X)
    b = fast(random_state=1).fit(X, Y).predict(X)
    assert not np.array_equal(a, b)


def test_fit_leaves_torch_global_random_state_alone(regression_data):
    X, Y = regression_data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fast(dropout=0.3).fit(X, Y)
    np.testing.assert_array_equal(torch.rand(3), expected)


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_predictions_agree_alone_and_in_a_batch_to_float32_precision(
    regression_data, architecture
):
    X, Y = regression_data
    # BLAS computes a lone row with other kernels than a batch's rows: the
    # last bits may differ.
    reg = fast(
        architecture=architecture, hidden_layer_sizes=(64, 64), batch_size=16
    ).fit(X, Y)
    together = reg.predict(X[:37])
    alone = np.vstack([reg.predict(X[i : i + 1]) for i in range(37)])
    np.testing.assert_allclose(alone, together, rtol=1e-5, atol=1e-6)


def test_predicting_more_rows_than_one_pass_joins_the_passes(regression_data):
    X, Y = regression_data
    reg = fast().fit(X, Y)
    copies = _EVAL_ROWS // len(X) + 1  # one pass of _EVAL_ROWS rows, then the rest
    np.testing.assert_allclose(
        reg.predict(np.tile(X, (copies, 1))),
        np.tile(reg.predict(X), (copies, 1)),
        rtol=1e-5,
    )


# ----------------------------------------------------------------- optimiser
def _decay_by_parameter(reg):
    decay = {
        id(p): group["weight_decay"]
        for group in reg.net_.optimizer_.param_groups
        for p in group["params"]
    }
    return {name: decay[id(p)] for name, p in reg.net_.module_.named_parameters()}


def test_alpha_decays_the_weights_and_not_the_biases(regression_data):
    X, Y = regression_data
    reg = fast(alpha=1e-3, n_members=1, max_iter=1).fit(X, Y)
    for name, decay in _decay_by_parameter(reg).items():
        assert decay == (0.0 if name.endswith("bias") else 1e-3), name


def test_each_task_trains_with_its_own_loss():
    # Constant inputs: each task's prediction is the constant that minimises its
    # loss, the median under absolute error, the mean under squared error.
    X, Y = np.zeros((400, 2)), np.random.RandomState(0).exponential(size=(400, 2))
    reg = MultiTaskHealthRegressor(
        loss=["absolute_error", "squared_error"],
        hidden_layer_sizes=(8,),
        n_members=1,
        dropout=0.0,
        learning_rate_init=1e-2,
        early_stopping=False,
        random_state=0,
    ).fit(X, Y)
    np.testing.assert_allclose(
        reg.predict(X[:1])[0], [np.median(Y[:, 0]), Y[:, 1].mean()], atol=0.02
    )


# ------------------------------------------------------------ sample weights
def test_zero_sample_weight_equals_removing_the_rows(regression_data):
    X, Y = regression_data
    weights = np.ones(len(X))
    weights[::3] = 0
    np.testing.assert_array_equal(
        fast().fit(X, Y, sample_weight=weights).predict(X),
        fast().fit(X[weights > 0], Y[weights > 0]).predict(X),
    )


def test_integer_sample_weight_equals_repeating_rows_to_float32_precision():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 4)), rng.normal(size=40)
    weights = rng.randint(1, 4, size=40)
    # One full batch per epoch, no shuffling and no dropout: both fits see the
    # same sums.
    params = dict(batch_size=200, shuffle=False, dropout=0.0, n_members=1)
    np.testing.assert_allclose(
        fast(**params).fit(X, y, sample_weight=weights).predict(X),
        fast(**params).fit(np.repeat(X, weights, 0), np.repeat(y, weights)).predict(X),
        rtol=1e-4,
        atol=1e-5,
    )


def test_targets_too_large_to_standardise_are_a_value_error(regression_data):
    X, Y = regression_data
    Y = Y.copy()
    Y[:, 2] *= 1e200
    with pytest.raises(ValueError, match=r"task 2 \('task_2'\) has values too large"):
        fast().fit(X, Y)


def test_sample_weight_changes_the_fit(regression_data):
    X, Y = regression_data
    weights = np.where(X[:, 0] > 0, 10.0, 1.0)
    assert not np.array_equal(
        fast().fit(X, Y, sample_weight=weights).predict(X), fast().fit(X, Y).predict(X)
    )


def test_negative_sample_weight_is_a_value_error(regression_data):
    X, Y = regression_data
    with pytest.raises(
        ValueError, match="Negative values in data passed to `sample_weight`"
    ):
        fast().fit(X, Y, sample_weight=-np.ones(len(X)))


# ----------------------------------------------------------- missing labels
def test_missing_labels_are_allowed_and_ignored_by_score(regression_data):
    X, Y = regression_data
    Y_missing = Y.copy()
    Y_missing[np.random.RandomState(0).rand(*Y.shape) < 0.3] = np.nan
    reg = MultiTaskHealthRegressor(random_state=0).fit(X, Y_missing)
    pred = reg.predict(X)
    assert np.isfinite(pred).all()
    observed = ~np.isnan(Y_missing)
    r2 = [
        1
        - ((Y[o, t] - pred[o, t]) ** 2).sum() / ((Y[o, t] - Y[o, t].mean()) ** 2).sum()
        for t, o in enumerate(observed.T)
    ]
    assert reg.score(X, Y_missing) == pytest.approx(np.mean(r2))


def test_partially_labelled_rows_beat_complete_rows_only():
    # 4 related tasks, 30 % of each task's labels missing at random: only
    # 0.7**4 = 24 % of rows are complete, the other rows still carry labels.
    X, Y = make_health_data(
        n_samples=1000,
        n_features=10,
        n_tasks=4,
        task_relatedness=0.8,
        noise=0.3,
        nonlinearity=0.3,
        random_state=0,
    )[:2]
    X_test, Y_test = X[600:], Y[600:]
    X, Y = X[:600], Y[:600].copy()
    Y[np.random.RandomState(1).rand(*Y.shape) < 0.3] = np.nan
    complete = ~np.isnan(Y).any(axis=1)
    params = dict(hidden_layer_sizes=(64,), alpha=1e-3, max_iter=60)
    partial = fast(**params).fit(X, Y).score(X_test, Y_test)
    complete_only = fast(**params).fit(X[complete], Y[complete]).score(X_test, Y_test)
    assert partial > complete_only + 0.1  # 0.80 against 0.57 when written


def test_score_tasks_is_task_scores_indexed_by_target_name(health_frame):
    X, Y = health_frame
    X = pd.get_dummies(X, dtype=float).fillna(0.0)
    Y = Y.copy()
    Y.iloc[::4, 1] = np.nan
    reg = fast().fit(X, Y)
    expected = task_scores(Y, reg.predict(X), target_names=list(Y.columns))
    pd.testing.assert_frame_equal(reg.score_tasks(X, Y), expected)
    assert reg.score_tasks(X, Y).loc["hdl", "n_observed"] == 225


def test_score_tasks_with_other_tasks_is_a_value_error(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, Y)
    with pytest.raises(ValueError, match="different shapes"):
        reg.score_tasks(X, Y[:, :2])


def test_target_columns_in_another_order_are_a_value_error(regression_data):
    X, Y = regression_data
    Y = pd.DataFrame(Y, columns=["sbp", "chol", "sleep"])
    reg = fast(max_iter=2, warm_start=True).fit(X, Y)
    reordered = Y[["chol", "sbp", "sleep"]]
    message = re.escape("pass y[['sbp', 'chol', 'sleep']]")
    for method in (reg.score, reg.score_tasks, reg.fit, reg.partial_fit):
        with pytest.raises(ValueError, match=message):
            method(X, reordered)


def test_unnamed_model_scores_named_columns_by_position(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, Y)
    named = pd.DataFrame(Y, columns=["sbp", "chol", "sleep"])
    assert reg.score_tasks(X, named).equals(reg.score_tasks(X, Y))


def test_score_without_missing_labels_equals_sklearn_r2(regression_data):
    from sklearn.metrics import r2_score

    X, Y = regression_data
    reg = fast().fit(X, Y)
    assert reg.score(X, Y) == pytest.approx(r2_score(Y, reg.predict(X)))


# ------------------------------------------------------- continuing training
def test_partial_fit_trains_one_epoch_per_call(regression_data):
    X, Y = regression_data
    reg = fast()
    for _ in range(3):
        reg.partial_fit(X, Y)
    assert reg.n_iter_ == 3
    assert reg.loss_curve_[2] < reg.loss_curve_[0]


def test_partial_fit_with_other_tasks_is_a_value_error(regression_data):
    X, Y = regression_data
    reg = fast().partial_fit(X, Y)
    with pytest.raises(
        ValueError, match="y has 2 tasks but the estimator was fitted with 3"
    ):
        reg.partial_fit(X, Y[:, :2])


def test_partial_fit_with_other_features_is_a_value_error(regression_data):
    X, Y = regression_data
    reg = fast().partial_fit(X, Y)
    with pytest.raises(ValueError, match="X has 5 features"):
        reg.partial_fit(X[:, :5], Y)


def test_warm_start_continues_from_the_fitted_weights(regression_data):
    X, Y = regression_data
    reg = fast(warm_start=True, max_iter=5, tol=0.0, n_iter_no_change=5).fit(X, Y)
    first_loss = reg.loss_curve_[-1]
    reg.fit(X, Y)
    assert reg.n_iter_ == 10
    assert reg.loss_curve_[5] < first_loss * 1.05


def test_fit_without_warm_start_starts_again(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=5, tol=0.0, n_iter_no_change=5).fit(X, Y)
    first = reg.predict(X)
    np.testing.assert_array_equal(reg.fit(X, Y).predict(X), first)
    assert reg.n_iter_ == 5


def test_continued_training_uses_the_current_optimisation_parameters(
    regression_data,
):
    X, Y = regression_data
    reg = fast(warm_start=True, max_iter=2, alpha=0.0).fit(X, Y)
    reg.set_params(learning_rate_init=0.01, alpha=0.1, batch_size=50).fit(X, Y)
    assert {g["lr"] for g in reg.net_.optimizer_.param_groups} == {0.01}
    assert _decay_by_parameter(reg) == {
        name: 0.0 if name.endswith("bias") else 0.1
        for name, _ in reg.net_.module_.named_parameters()
    }
    # 240 rows in batches of 50: 5 steps per epoch
    assert [len(epoch["batches"]) for epoch in reg.history_] == [2, 2, 5, 5]


def test_partial_fit_uses_the_current_stopping_parameters(regression_data):
    X, Y = regression_data
    reg = fast().partial_fit(X, Y).set_params(n_iter_no_change=7, tol=0.5)
    reg.partial_fit(X, Y)
    stopper = dict(reg.net_.callbacks_)["plateau_stopping"]
    assert (stopper.patience, stopper.threshold) == (7, 0.5)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            dict(hidden_layer_sizes=(8,)),
            "hidden_layer_sizes=(8,), but the network "
            "was built with hidden_layer_sizes=(32,)",
        ),
        (
            dict(architecture="mmoe"),
            "architecture='mmoe', but the network was built with architecture='hard'",
        ),
        (dict(n_members=2), "n_members=2, but the network was built with n_members=5"),
        (dict(loss="huber"), "loss='huber'"),
    ],
)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_continuing_after_changing_the_network_is_a_value_error(
    regression_data, params, message, method
):
    X, Y = regression_data
    reg = fast(warm_start=True, max_iter=2).fit(X, Y).set_params(**params)
    with pytest.raises(ValueError, match=re.escape(message) + ".* Set .* back"):
        getattr(reg, method)(X, Y)


def test_changed_nested_architecture_parameter_is_a_change(regression_data):
    X, Y = regression_data
    reg = fast(warm_start=True, max_iter=2, architecture=MMoE(n_experts=2))
    reg.fit(X, Y).set_params(architecture__n_experts=3)
    with pytest.raises(ValueError, match=r"architecture=MMoE\(n_experts=3\)"):
        reg.fit(X, Y)


def test_equal_values_of_another_type_are_not_a_change(regression_data):
    X, Y = regression_data
    reg = fast(warm_start=True, max_iter=2).fit(X, Y)
    reg.set_params(hidden_layer_sizes=[32], architecture=HardSharing()).fit(X, Y)
    assert reg.n_iter_ == 4


# ------------------------------------------------------------------ stopping
def test_training_stops_when_the_loss_stops_improving(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=500, tol=10.0, n_iter_no_change=3).fit(X, Y)
    assert reg.n_iter_ == 4  # the first epoch sets the best; three misses stop it


def test_reaching_max_iter_warns_about_convergence(regression_data):
    X, Y = regression_data
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        fast(max_iter=3).fit(X, Y)


def test_early_stopping_records_validation_r2_and_keeps_the_best(regression_data):
    X, Y = regression_data
    reg = fast(early_stopping=True, max_iter=300, n_iter_no_change=5).fit(X, Y)
    assert reg.n_iter_ < 300
    assert len(reg.validation_scores_) == reg.n_iter_
    assert reg.best_validation_score_ == max(reg.validation_scores_)
    assert reg.best_loss_ is None
    assert reg.validation_scores_ == list(reg.history_[:, "valid_r2"])


def test_history_records_each_tasks_loss_and_r2(regression_data):
    X, Y = regression_data
    reg = fast(early_stopping=True, max_iter=4, n_iter_no_change=10).fit(X, Y)
    for split in ("train", "valid"):
        for metric in ("loss", "r2"):
            keys = [f"{split}_{metric}_task_{t}" for t in range(3)]
            assert all(len(reg.history_[:, key]) == 4 for key in keys)
    last = reg.history_[-1]
    assert last["valid_r2"] == pytest.approx(
        np.mean([last[f"valid_r2_task_{t}"] for t in range(3)])
    )


def test_validation_r2_per_task_is_that_of_the_restored_model(regression_data):
    X, Y = regression_data
    reg = fast(early_stopping=True, max_iter=40, n_iter_no_change=3).fit(X, Y)
    best = int(np.argmax(reg.validation_scores_))
    # the held-out rows, as the estimator drew them
    _, X_val, _, Y_val = train_test_split(
        X, Y, test_size=reg.validation_fraction, random_state=reg._seed
    )
    scores = reg.score_tasks(X_val, Y_val)["r2"]
    recorded = [reg.history_[best, f"valid_r2_task_{t}"] for t in range(3)]
    np.testing.assert_allclose(scores, recorded, atol=1e-5)


def test_per_task_training_losses_average_to_the_equal_weighted_loss(
    regression_data,
):
    X, Y = regression_data
    # one batch per epoch: the epoch loss is that batch's objective
    reg = fast(batch_size=len(X), max_iter=3).fit(X, Y)
    for epoch in reg.history_:
        per_task = [epoch[f"train_loss_task_{t}"] for t in range(3)]
        assert np.mean(per_task) == pytest.approx(epoch["train_loss"], rel=1e-6)


@pytest.mark.parametrize(
    ("early_stopping", "n_samples", "expected"),
    [
        ("auto", 999, False),
        ("auto", 1000, True),
        (True, 240, True),
        (False, 1000, False),
    ],
)
def test_early_stopping_auto_holds_out_data_from_1000_rows(
    early_stopping, n_samples, expected
):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(n_samples, 3)), rng.normal(size=n_samples)
    reg = fast(early_stopping=early_stopping, max_iter=2, n_members=1).fit(X, y)
    assert reg.do_early_stopping_ is expected
    assert ("valid_r2" in reg.history_[-1]) is expected


def test_partial_fit_on_a_batch_without_labels_for_a_task_trains_the_others(
    regression_data,
):
    X, Y = regression_data
    reg = fast().partial_fit(X, Y)
    batch = Y[:20].copy()
    batch[:, 1] = np.nan
    before = reg.predict(X)
    reg.partial_fit(X[:20], batch)
    assert reg.n_iter_ == 2
    assert not np.array_equal(reg.predict(X), before)


def test_partial_fit_on_a_batch_without_any_label_is_a_value_error(regression_data):
    X, Y = regression_data
    reg = fast().partial_fit(X, Y)
    with pytest.raises(ValueError, match="NaN only for task 0"):
        reg.partial_fit(X[:20], np.full((20, 3), np.nan))


def test_unlabelled_task_is_named_after_its_column(regression_data):
    X, Y = regression_data
    Y = pd.DataFrame(Y, columns=["sbp", "chol", "sleep"])
    Y["chol"] = np.nan
    with pytest.raises(ValueError, match=r"task 1 \('chol', column 1 of y\)"):
        fast().fit(X, Y)


def test_partial_fit_never_stops_early(regression_data):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(1200, 3)), rng.normal(size=1200)
    reg = fast(n_members=1)
    for _ in range(3):
        reg.partial_fit(X, y)
    assert reg.do_early_stopping_ is False
    assert reg.validation_scores_ is None
    assert reg.best_loss_ == min(reg.loss_curve_)


def test_partial_fit_is_unavailable_with_early_stopping(regression_data):
    reg = fast(early_stopping=True)
    assert not hasattr(reg, "partial_fit")
    with pytest.raises(AttributeError) as raised:
        reg.partial_fit(*regression_data)
    # scikit-learn's available_if chains the reason to its generic message
    assert "does not support early_stopping=True" in str(raised.value.__cause__)


def test_failed_refit_leaves_the_estimator_unfitted(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, Y)
    with pytest.raises(ValueError, match="one per task"):
        reg.set_params(loss=["huber"]).fit(X, Y * 1000)
    with pytest.raises(NotFittedError):
        reg.predict(X)


def test_diverging_training_is_a_value_error_leaving_the_estimator_unfitted(
    regression_data,
):
    X, Y = regression_data
    reg = fast(learning_rate_init=1e20)
    # the first loss overflows to inf or nan depending on the BLAS kernels
    message = r"diverged in epoch 1 \(training loss (nan|inf)\): the network's weights"
    with pytest.raises(ValueError, match=message):
        reg.fit(X, Y)
    with pytest.raises(NotFittedError):
        reg.predict(X)


def test_a_last_step_to_infinite_weights_is_a_divergence(regression_data):
    X, Y = regression_data  # one batch: the step after its loss breaks the weights
    reg = fast(n_members=1, batch_size=len(X), learning_rate_init=1e20)
    with pytest.raises(ValueError, match=r"diverged: the network's weights or predic"):
        reg.partial_fit(X, Y)
    with pytest.raises(NotFittedError):
        reg.predict(X)


@pytest.mark.parametrize(
    ("loss", "learning_rate_init"),
    [("squared_error", 1e3), ("absolute_error", 1e4), ("huber", 1e3)],
)
def test_training_to_meaningless_predictions_is_a_divergence_leaving_it_unfitted(
    regression_data, loss, learning_rate_init
):
    X, Y = regression_data
    reg = fast(loss=loss, learning_rate_init=learning_rate_init)
    message = (
        r"^Training diverged: the network's predictions of its training data are "
        r"meaningless, their squared error \S+ times that of predicting each "
        r"target's mean \(R² -\S+\) and over a thousand times that of the network "
        r"it started from\. Lower learning_rate_init, or scale the inputs"
    )
    with pytest.raises(ValueError, match=message):
        reg.fit(X, Y)
    with pytest.raises(NotFittedError):
        reg.predict(X)


def test_continuing_to_meaningless_predictions_leaves_the_estimator_unfitted(
    regression_data,
):
    X, Y = regression_data
    reg = fast(warm_start=True, max_iter=2).fit(X, Y)
    with pytest.raises(ValueError, match="predictions of its training data are mea"):
        reg.set_params(learning_rate_init=1e3).fit(X, Y)
    with pytest.raises(NotFittedError):
        reg.predict(X)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_network_still_learning_from_unscaled_inputs_has_not_diverged(
    regression_data, method
):
    X, Y = regression_data
    X = 10_000 * X  # the network starts far off, and improves
    reg = getattr(fast(), method)(X, Y)
    assert reg.score(X, Y) < -999


class _FailAt(Callback):
    """Raise in the given epoch's end, as a callback hitting a full disk would."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise RuntimeError("the disk is full")


def test_failed_continued_fit_keeps_attributes_matching_the_history(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=3, warm_start=True, callbacks=[_FailAt(5)]).fit(X, Y)
    with pytest.raises(RuntimeError, match="the disk is full"):
        reg.fit(X, Y)
    # epoch 5 failed at its end: the network kept is the one after epoch 5
    assert reg.n_iter_ == len(reg.history_) == 5
    assert reg.loss_curve_ == reg.history_[:, "train_loss"]
    np.testing.assert_array_equal(reg.task_weights_, reg.history_[-1, "task_weights"])


class _BlowUpAt(Callback):
    """Set a learning rate that ruins the network from the given epoch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == self.epoch:
            for group in net.optimizer_.param_groups:
                group["lr"] = 1e20


def test_early_stopping_keeps_its_best_weights_when_training_diverges(
    regression_data,
):
    X, Y = regression_data
    reg = fast(early_stopping=True, n_iter_no_change=3, callbacks=[_BlowUpAt(6)])
    with pytest.warns(ConvergenceWarning, match=r"diverged in epoch 6 .*early stopp"):
        reg.fit(X, Y)
    assert np.isfinite(reg.predict(X)).all()
    assert reg.best_validation_score_ == max(reg.validation_scores_[:5])


def test_training_on_to_divergence_leaves_the_estimator_unfitted(regression_data):
    X, Y = regression_data
    reg = fast(warm_start=True, max_iter=2).fit(X, Y)
    with pytest.raises(ValueError, match="Training diverged"):
        reg.set_params(learning_rate_init=1e20).fit(X, Y)
    with pytest.raises(NotFittedError):
        reg.predict(X)


def test_best_validation_score_is_that_of_the_weights_kept(regression_data):
    X, Y = regression_data
    reg = fast(early_stopping=True, warm_start=True, max_iter=40, n_members=1)
    reg.fit(X, Y)
    first = reg.best_validation_score_
    # a second fit at a rate that ruins the network: its best epoch is kept
    reg.set_params(learning_rate_init=1.0, max_iter=3).fit(X, Y)
    assert reg.best_validation_score_ == max(reg.validation_scores_[-3:])
    assert reg.best_validation_score_ < first


# ------------------------------------------------------------- interrupting
class _CtrlCIn(Callback):
    """Send this process SIGINT, as Ctrl-C does, in the given epoch: after its
    first training batch, or at its end (once the epoch is recorded)."""

    def __init__(self, epoch, at_end=False):
        self.epoch, self.at_end = epoch, at_end

    def on_batch_end(self, net, training=False, **kwargs):
        if training and not self.at_end and len(net.history) == self.epoch:
            signal.raise_signal(signal.SIGINT)

    def on_epoch_end(self, net, **kwargs):
        if self.at_end and len(net.history) == self.epoch:
            signal.raise_signal(signal.SIGINT)


class _KeyboardInterruptIn(Callback):
    """Raise KeyboardInterrupt after the given epoch's first training batch."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize(
    "callback",
    [_CtrlCIn(2), _CtrlCIn(2, at_end=True), _KeyboardInterruptIn(2)],
    ids=["ctrl_c_mid_epoch", "ctrl_c_at_the_epochs_end", "keyboard_interrupt"],
)
def test_interrupted_fit_raises_keyboard_interrupt_leaving_it_unfitted(
    regression_data, callback
):
    X, Y = regression_data
    reg = fast(max_iter=5, callbacks=[callback])
    with pytest.raises(KeyboardInterrupt):
        reg.fit(X, Y)
    with pytest.raises(NotFittedError):
        reg.predict(X)


def test_interrupted_refit_leaves_the_estimator_unfitted(regression_data):
    X, Y = regression_data
    reg = fast(max_iter=2).fit(X, Y)
    with pytest.raises(KeyboardInterrupt):
        reg.set_params(callbacks=[_CtrlCIn(1)]).fit(X, Y)
    with pytest.raises(NotFittedError):
        reg.predict(X)


class _FailAtTheEnd(Callback):
    """Raise when training ends, as a callback whose clean-up fails would."""

    def on_train_end(self, net, **kwargs):
        raise RuntimeError("clean-up failed")


def test_ctrl_c_followed_by_a_failing_callback_is_still_an_interrupt(
    regression_data,
):
    X, Y = regression_data
    reg = fast(max_iter=5, callbacks=[_CtrlCIn(2), _FailAtTheEnd()])
    with pytest.raises(KeyboardInterrupt):
        reg.fit(X, Y)
    with pytest.raises(NotFittedError):
        reg.predict(X)


def _trained_state(reg):
    """Copies of everything training changes, to compare after an interrupt."""
    net = reg.net_
    return {
        "module": copy.deepcopy(net.module_.state_dict()),
        "criterion": copy.deepcopy(net.criterion_.state_dict()),
        "optimizer": copy.deepcopy(net.optimizer_.state_dict()),
        "settings": (
            net.lr,
            net.batch_size,
            net.iterator_train__shuffle,
            net.max_epochs,
        ),
        "history": copy.deepcopy(list(net.history)),
        "attributes": copy.deepcopy(
            {
                name: getattr(reg, name)
                for name in ("n_iter_", "loss_curve_", "best_loss_", "task_weights_")
            }
        ),
    }


def _assert_same_state(state, expected):
    assert state.keys() == expected.keys()
    for key, value in state.items():
        if key in ("module", "criterion"):
            assert value.keys() == expected[key].keys()
            for name, tensor in value.items():
                torch.testing.assert_close(tensor, expected[key][name], rtol=0, atol=0)
        elif key == "optimizer":
            assert value["param_groups"] == expected[key]["param_groups"]
            torch.testing.assert_close(
                value["state"], expected[key]["state"], rtol=0, atol=0
            )
        else:
            np.testing.assert_equal(value, expected[key])


@pytest.mark.parametrize(
    ("method", "callback"),
    [
        ("partial_fit", _CtrlCIn(4)),
        ("fit", _CtrlCIn(5)),  # its second epoch: the first changed the weights
        ("fit", _CtrlCIn(4, at_end=True)),
        ("fit", _KeyboardInterruptIn(5)),
    ],
    ids=["partial_fit", "warm_start", "warm_start_at_an_epochs_end", "keyboard_int"],
)
def test_interrupted_continuation_leaves_the_estimator_as_it_was(
    regression_data, method, callback
):
    X, Y = regression_data
    reg = fast(
        max_iter=3,
        warm_start=True,
        task_weighting="uncertainty",  # the criterion learns too
        callbacks=[callback],
    ).fit(X, Y)
    before, predicted = _trained_state(reg), reg.predict(X)
    reg.set_params(learning_rate_init=0.05, batch_size=50, shuffle=False)
    with pytest.raises(KeyboardInterrupt):
        getattr(reg, method)(X, Y)
    _assert_same_state(_trained_state(reg), before)
    np.testing.assert_array_equal(reg.predict(X), predicted)


def test_ensemble_predicts_the_mean_of_its_members(regression_data):
    X, Y = regression_data
    reg = fast(n_members=3, max_iter=5).fit(X, Y)
    predicted = reg.predict(X)  # leaves the members in evaluation mode
    scale, mean = reg._target_scaler.scale_, reg._target_scaler.mean_
    with torch.no_grad():
        X32 = torch.as_tensor(X, dtype=torch.float32)
        each = [m(X32).numpy() * scale + mean for m in reg.net_.module_.members]
    assert len(each) == 3
    assert not np.allclose(each[0], each[1])
    np.testing.assert_allclose(predicted, np.mean(each, axis=0), rtol=1e-5)


def test_early_stopping_with_too_little_validation_data_is_a_value_error():
    X, y = np.random.RandomState(0).normal(size=(10, 2)), np.arange(10.0)
    with pytest.raises(ValueError, match=r"validation set .* fewer than 2 observed"):
        fast(early_stopping=True, validation_fraction=0.1).fit(X, y)


def test_held_out_labels_leaving_a_task_none_to_train_on_is_a_value_error():
    rng = np.random.RandomState(0)
    X, Y = rng.normal(size=(40, 2)), rng.normal(size=(40, 2))
    Y[2:, 1] = np.nan  # task 1 has 2 labels
    reg = fast(early_stopping=True, validation_fraction=0.5)
    # seeds whose split holds out both of task 1's labels, and one that does not
    with pytest.raises(ValueError, match=r"no label for task 1 \('task_1'\)"):
        reg.set_params(random_state=4).fit(X, Y)
    reg.set_params(random_state=0).fit(X, Y)


# ----------------------------------------------------------------- callbacks
class _RecordLearningRate(Callback):
    def on_epoch_end(self, net, **kwargs):
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])


def test_user_callbacks_run_and_are_not_modified(regression_data):
    X, Y = regression_data
    callback = _RecordLearningRate()
    reg = fast(callbacks=[callback], learning_rate_init=0.01, max_iter=3).fit(X, Y)
    assert reg.history_[:, "lr"] == [0.01, 0.01, 0.01]
    assert reg.callbacks[0] is callback
    assert vars(callback) == vars(_RecordLearningRate())


@pytest.mark.parametrize(
    "callback", [EpochScoring("r2"), ("mae", BatchScoring("neg_mean_absolute_error"))]
)
def test_skorch_scorers_are_a_value_error_naming_the_recorded_r2(
    callback, regression_data
):
    X, Y = regression_data
    message = r"Scoring cannot score this net.*train_r2_<task>, valid_r2_<task>"
    with pytest.raises(ValueError, match=message):
        fast(callbacks=[callback]).fit(X, Y)


def test_verbose_prints_the_epoch_table(regression_data, capsys):
    X, Y = regression_data
    fast(verbose=1, max_iter=2).fit(X, Y)
    out = capsys.readouterr().out
    assert "epoch" in out
    assert "train_loss_task_2" in out
    assert "train_r2_task_0" not in out  # kept in history_, left out of the table
    assert len([line for line in out.splitlines() if line.strip()[:1].isdigit()]) == 2


def test_verbose_table_shows_each_tasks_training_loss_and_validation_r2(
    regression_data, capsys
):
    X, Y = regression_data
    fast(verbose=1, max_iter=2, early_stopping=True).fit(X, Y)
    header = capsys.readouterr().out.splitlines()[0].split()
    per_task = [
        f"{key}_task_{t}" for key in ("train_loss", "valid_r2") for t in range(3)
    ]
    for column in ["epoch", "train_loss", "valid_loss", "valid_r2", *per_task]:
        assert column in header


def test_verbose_2_table_adds_each_tasks_training_r2_and_validation_loss(
    regression_data, capsys
):
    X, Y = regression_data
    fast(verbose=2, max_iter=2, early_stopping=True).fit(X, Y)
    header = capsys.readouterr().out.splitlines()[0].split()
    per_task = [
        f"{key}_task_{t}"
        for key in ("train_loss", "train_r2", "valid_loss", "valid_r2")
        for t in range(3)
    ]
    tabulated = [column for column in header if column.endswith(("_0", "_1", "_2"))]
    assert tabulated == sorted(per_task)


def test_silent_by_default(regression_data, capsys):
    X, Y = regression_data
    fast(max_iter=2).fit(X, Y)
    assert capsys.readouterr().out == ""
