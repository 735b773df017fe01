"""Predictive uncertainty: ``predict(return_std=True)``, conformal
``predict_interval`` per task (and per group), ``calibrate``, and the
calibration in model files."""

import pickle
import warnings

import forging
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, PowerTransformer, StandardScaler

import skhealth
from skhealth import MultiTaskHealthRegressor
from skhealth._calibration import (
    MAX_SCORES,
    _conformal_quantile,
    _thin,
    fit_noise,
    noise_features,
)
from skhealth.model_files import ModelFileError
from skhealth.plot import IntervalCoverageDisplay

SMALL = {"hidden_layer_sizes": (16,), "max_iter": 15, "random_state": 0}


def heteroscedastic(n, seed=0, missing=0.3):
    """Three tasks; the first one's noise grows tenfold with the first
    feature; a share ``missing`` of the labels is missing."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    noise = np.stack([np.exp(X[:, 0]), np.ones(n), 0.5 * np.ones(n)], axis=1)
    Y = X[:, :3] + X[:, [3]] + noise * rng.normal(size=(n, 3))
    Y[rng.random(Y.shape) < missing] = np.nan
    return X, Y


@pytest.fixture(scope="module")
def fitted():
    X, Y = heteroscedastic(600)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MultiTaskHealthRegressor(**SMALL).fit(X, Y)


def coverage(intervals, Y):
    """Per task, the share of observed labels inside their intervals."""
    inside = (intervals[..., 0] <= Y) & (intervals[..., 1] >= Y)
    return np.array([inside[~np.isnan(y), t].mean() for t, y in enumerate(Y.T)])


def fit_quietly(estimator, X, Y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, Y)


# ----------------------------------------------------------------- return_std
def test_return_std_adds_positive_stds_to_the_same_predictions(fitted):
    X, _ = heteroscedastic(50, seed=1)
    Y, Y_std = fitted.predict(X, return_std=True)
    np.testing.assert_array_equal(Y, fitted.predict(X))
    assert Y_std.shape == Y.shape == (50, 3)
    assert (Y_std > 0).all()


def test_return_std_grows_with_the_outcome_noise(fitted):
    X, _ = heteroscedastic(400, seed=1)
    _, Y_std = fitted.predict(X, return_std=True)
    noisy, quiet = X[:, 0] > 1, X[:, 0] < -1
    assert Y_std[noisy, 0].mean() > 3 * Y_std[quiet, 0].mean()
    # the other tasks' noise does not depend on the first feature
    assert Y_std[noisy, 1].mean() < 1.5 * Y_std[quiet, 1].mean()


def test_return_std_is_calibrated_on_average(fitted):
    X, Y = heteroscedastic(3000, seed=2)
    prediction, Y_std = fitted.predict(X, return_std=True)
    z2 = ((Y - prediction) / Y_std) ** 2
    mean_z2 = np.nanmean(z2, axis=0)
    assert np.all((mean_z2 > 0.75) & (mean_z2 < 1.33)), mean_z2


def test_return_std_is_one_dimensional_for_a_one_dimensional_y():
    X, Y = heteroscedastic(300, missing=0)
    reg = fit_quietly(MultiTaskHealthRegressor(**SMALL), X, Y[:, 1])
    Y_pred, Y_std = reg.predict(X[:5], return_std=True)
    assert Y_pred.shape == Y_std.shape == (5,)


def test_return_std_passes_through_a_pipeline():
    X, Y = heteroscedastic(300)
    pipe = fit_quietly(
        make_pipeline(StandardScaler(), MultiTaskHealthRegressor(**SMALL)), X, Y
    )
    _, from_pipe = pipe.predict(X[:7], return_std=True)
    _, direct = pipe[-1].predict(pipe[0].transform(X[:7]), return_std=True)
    np.testing.assert_array_equal(from_pipe, direct)


def test_return_std_in_target_units_follows_a_log_transform():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    Y = np.exp(X[:, :2] * 0.3 + 0.2 * rng.normal(size=(400, 2))) * [5.0, 100.0]
    reg = fit_quietly(MultiTaskHealthRegressor(target_transform="log", **SMALL), X, Y)
    prediction, Y_std = reg.predict(X[:50], return_std=True)
    # a log-normal's spread is proportional to its level
    ratio = Y_std / prediction
    assert (ratio > 0.05).all()
    assert (ratio < 0.6).all()


# ----------------------------------------------------------------- intervals
def test_intervals_cover_the_confidence_on_new_labels(fitted):
    X, Y = heteroscedastic(3000, seed=3)
    covered = coverage(fitted.predict_interval(X, confidence=0.9), Y)
    # about 420 calibration labels per task: coverage's sd is about 0.015
    assert np.all((covered > 0.85) & (covered < 0.95)), covered


def test_intervals_bracket_the_prediction_per_row_and_task(fitted):
    X, _ = heteroscedastic(20, seed=4)
    intervals = fitted.predict_interval(X)
    prediction = fitted.predict(X)
    assert intervals.shape == (20, 3, 2)
    assert (intervals[..., 0] < prediction).all()
    assert (prediction < intervals[..., 1]).all()


def test_intervals_are_narrower_where_the_noise_is_smaller(fitted):
    X, _ = heteroscedastic(400, seed=5)
    width = np.diff(fitted.predict_interval(X), axis=-1)[..., 0]
    assert width[X[:, 0] < -1, 0].mean() < width[X[:, 0] > 1, 0].mean() / 3


def test_intervals_widen_with_the_confidence(fitted):
    X, _ = heteroscedastic(30, seed=6)
    widths = [
        np.diff(fitted.predict_interval(X, confidence=c), axis=-1)
        for c in (0.5, 0.8, 0.95)
    ]
    assert (widths[0] < widths[1]).all()
    assert (widths[1] < widths[2]).all()


def test_intervals_are_two_columns_for_a_one_dimensional_y():
    X, Y = heteroscedastic(300, missing=0)
    reg = fit_quietly(MultiTaskHealthRegressor(**SMALL), X, Y[:, 2])
    assert reg.predict_interval(X[:4]).shape == (4, 2)


def test_an_interval_end_beyond_a_power_transforms_range_is_infinite():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    Y = np.exp(X[:, :2] + rng.normal(size=(400, 2)))
    reg = fit_quietly(
        MultiTaskHealthRegressor(target_transform=PowerTransformer(), **SMALL), X, Y
    )
    X_far = rng.normal(size=(2000, 3)) * 1.5  # some beyond the inverse's range
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prediction, std = reg.predict(X_far, return_std=True)
    intervals = reg.predict_interval(X_far)
    defined = ~np.isnan(prediction)
    assert not np.isnan(std[defined]).any()
    assert not np.isnan(intervals).any()
    assert np.isinf(intervals).any()  # the range ends somewhere here
    assert (intervals[defined, 0] <= prediction[defined]).all()
    assert (prediction[defined] <= intervals[defined, 1]).all()


def test_predictions_beyond_a_transforms_range_warn_that_they_are_nan():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    Y = np.exp(X[:, :1] + rng.normal(size=(400, 1)))
    reg = fit_quietly(
        MultiTaskHealthRegressor(target_transform=PowerTransformer(), **SMALL), X, Y
    )
    X_far = rng.normal(size=(2000, 3)) * 1.5
    with pytest.warns(
        RuntimeWarning, match=r"predictions of task 0 \('task_0'\) are NaN"
    ):
        reg.predict(X_far)


def test_a_decreasing_transform_keeps_each_interval_in_order():
    X, Y = heteroscedastic(300, missing=0)
    negate = FunctionTransformer(np.negative, inverse_func=np.negative)
    reg = fit_quietly(MultiTaskHealthRegressor(target_transform=negate, **SMALL), X, Y)
    intervals = reg.predict_interval(X[:20])
    prediction = reg.predict(X[:20])
    assert (intervals[..., 0] < prediction).all()
    assert (prediction < intervals[..., 1]).all()


def test_holdout_early_stopping_calibrates_on_the_validation_rows():
    X, Y = heteroscedastic(1500)
    reg = fit_quietly(
        MultiTaskHealthRegressor(
            n_members=1, early_stopping=True, validation_fraction=0.3, **SMALL
        ),
        X,
        Y,
    )
    X_new, Y_new = heteroscedastic(3000, seed=7)
    covered = coverage(reg.predict_interval(X_new, confidence=0.8), Y_new)
    # about 315 calibration labels per task: coverage's sd is about 0.022
    assert np.all((covered > 0.72) & (covered < 0.88)), covered


# ----------------------------------------------------------------- calibrate
def calibration_sigmas(reg, X_cal, Y_cal):
    """Each calibration row's cross-fitted std, as ``calibrate`` computes it,
    in the targets' units."""
    Z, spread = reg._standardised_prediction(X_cal.astype(np.float32), True)
    Y_z = reg._target_scaler.transform(Y_cal)
    weight = (~np.isnan(Y_z)).astype(float)
    squared = np.where(weight > 0, Y_z - Z, 0.0) ** 2
    features = noise_features(X_cal, Z)
    _, std = fit_noise(features, squared, spread, weight, reg._seed)
    return std * reg._target_scaler.scale_


@pytest.mark.parametrize("grouped", [False, True], ids=["pooled", "Mondrian"])
def test_calibrate_matches_crepes_task_by_task(fitted, grouped):
    crepes = pytest.importorskip("crepes")
    X_cal, Y_cal = heteroscedastic(600, seed=8)
    X_new, _ = heteroscedastic(200, seed=9)
    groups_cal = np.where(X_cal[:, 1] > 0, "high", "low") if grouped else None
    groups_new = np.where(X_new[:, 1] > 0, "high", "low") if grouped else None
    reg = pickle.loads(pickle.dumps(fitted)).calibrate(X_cal, Y_cal, groups=groups_cal)
    # crepes's rank, int((1 - c) * (n + 1)), is one off where c * (n + 1) is
    # an integer that floats miss: 0.83 makes none
    intervals = reg.predict_interval(X_new, confidence=0.83, groups=groups_new)
    sigmas_cal = calibration_sigmas(reg, X_cal, Y_cal)
    prediction_cal = reg.predict(X_cal)
    prediction_new, std_new = reg.predict(X_new, return_std=True)
    for t in range(3):
        rows = ~np.isnan(Y_cal[:, t])
        conformal = crepes.ConformalRegressor().fit(
            Y_cal[rows, t] - prediction_cal[rows, t],
            sigmas=sigmas_cal[rows, t],
            bins=groups_cal[rows] if grouped else None,
        )
        expected = conformal.predict_int(
            prediction_new[:, t], sigmas=std_new[:, t], bins=groups_new, confidence=0.83
        )
        np.testing.assert_allclose(intervals[:, t], expected, rtol=1e-6, atol=1e-6)


def test_calibration_per_group_covers_each_group(fitted):
    # a group the noise model cannot see: labels noisier in group "b"
    X_cal, Y_cal = heteroscedastic(2000, seed=12)
    X_new, Y_new = heteroscedastic(4000, seed=13)
    rng = np.random.default_rng(0)
    groups_cal = rng.choice(["a", "b"], len(X_cal))
    groups_new = rng.choice(["a", "b"], len(X_new))
    Y_cal[groups_cal == "b"] += 2 * rng.normal(size=((groups_cal == "b").sum(), 3))
    Y_new[groups_new == "b"] += 2 * rng.normal(size=((groups_new == "b").sum(), 3))
    reg = pickle.loads(pickle.dumps(fitted)).calibrate(X_cal, Y_cal, groups=groups_cal)
    intervals = reg.predict_interval(X_new, confidence=0.9, groups=groups_new)
    for group in ("a", "b"):
        rows = groups_new == group
        covered = coverage(intervals[rows], Y_new[rows])
        assert np.all((covered > 0.86) & (covered < 0.94)), (group, covered)


def test_calibrate_with_equal_weights_is_calibrate_without(fitted):
    X_cal, Y_cal = heteroscedastic(300, seed=14)
    unweighted = pickle.loads(pickle.dumps(fitted)).calibrate(X_cal, Y_cal)
    weighted = pickle.loads(pickle.dumps(fitted)).calibrate(
        X_cal, Y_cal, sample_weight=np.full(300, 3.0)
    )
    np.testing.assert_allclose(
        weighted.predict_interval(X_cal[:10]), unweighted.predict_interval(X_cal[:10])
    )


def test_calibrate_gives_a_model_fitted_without_held_out_rows_intervals():
    X, Y = heteroscedastic(200)
    reg = fit_quietly(MultiTaskHealthRegressor(early_stopping=False, **SMALL), X, Y)
    reg.calibrate(*heteroscedastic(200, seed=15))
    assert reg.predict_interval(X[:3]).shape == (3, 3, 2)


def test_calibrate_refuses_other_tasks(fitted):
    X, Y = heteroscedastic(50)
    with pytest.raises(ValueError, match="y has 2 tasks but the estimator was fitted"):
        pickle.loads(pickle.dumps(fitted)).calibrate(X, Y[:, :2])


# ------------------------------------------------------------ the conformal rank
def test_conformal_quantile_is_the_score_of_rank_ceil_confidence_n_plus_1():
    scores = np.arange(1.0, 20.0)  # 19 scores
    assert _conformal_quantile(scores, None, 0.9) == 18.0  # ceil(0.9 * 20)
    assert _conformal_quantile(scores, None, 0.95) == 19.0
    assert np.isnan(_conformal_quantile(scores, None, 0.96))


def test_a_heavy_weight_moves_the_weighted_quantile_to_its_score():
    scores = np.array([1.0, 2.0, 3.0, 4.0])
    assert _conformal_quantile(scores, None, 0.5) == 3.0  # rank ceil(0.5 * 5)
    # cumulative weights over 8 + 1: 1/9, 2/9, 3/9, 8/9
    assert _conformal_quantile(scores, np.array([1.0, 1, 1, 5]), 0.5) == 4.0


def test_thinned_scores_move_a_quantile_up_by_at_most_one_block():
    rng = np.random.default_rng(0)
    scores = np.sort(rng.exponential(size=3 * MAX_SCORES + 7))
    kept, weights = _thin(scores, np.ones(len(scores)))
    assert len(kept) <= MAX_SCORES
    assert weights.sum() == len(scores)
    for confidence in (0.5, 0.9, 0.99):
        exact = _conformal_quantile(scores, None, confidence)
        thinned = _conformal_quantile(kept, weights, confidence)
        rank = np.searchsorted(scores, thinned)
        assert exact <= thinned
        assert rank - np.searchsorted(scores, exact) < 4


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1, True, "0.9", np.nan])
def test_confidence_outside_zero_one_is_a_value_error(fitted, confidence):
    with pytest.raises(ValueError, match="confidence must be a number strictly"):
        fitted.predict_interval(np.zeros((2, 4)), confidence=confidence)


def test_too_few_calibration_labels_names_the_task_and_how_many_it_needs(fitted):
    X, Y = heteroscedastic(40, seed=16, missing=0)
    Y[12:, 1] = np.nan  # task_1 keeps 12 labels
    reg = pickle.loads(pickle.dumps(fitted)).calibrate(X, Y)
    reg.predict_interval(X[:2], confidence=0.9)  # 9 labels suffice
    with pytest.raises(
        ValueError,
        match=r"Task 'task_1' has 12 calibration labels; 95 % intervals need at "
        r"least 19\.",
    ):
        reg.predict_interval(X[:2], confidence=0.95)


def test_a_model_without_held_out_rows_says_how_to_calibrate():
    X, Y = heteroscedastic(200)
    reg = fit_quietly(MultiTaskHealthRegressor(early_stopping=False, **SMALL), X, Y)
    message = "fitted without held-out rows.*calibrate\\(X, y\\)"
    with pytest.raises(ValueError, match=message):
        reg.predict(X, return_std=True)
    with pytest.raises(ValueError, match=message):
        reg.predict_interval(X)


def test_partial_fit_drops_the_calibration(fitted):
    X, Y = heteroscedastic(100, seed=17)
    reg = pickle.loads(pickle.dumps(fitted)).set_params(early_stopping="auto")
    reg.partial_fit(X, Y)
    with pytest.raises(ValueError, match="trained on since its calibration"):
        reg.predict_interval(X)


def test_a_warm_start_fit_that_cross_fits_calibrates_again():
    X, Y = heteroscedastic(300)
    reg = fit_quietly(MultiTaskHealthRegressor(warm_start=True, **SMALL), X, Y)
    reg.calibrate(*heteroscedastic(300, seed=28))
    assert reg._calibration.source == "calibrate"
    fit_quietly(reg, X, Y)
    assert reg._calibration.source == "out_of_fold"


def test_a_model_from_before_calibration_asks_for_calibrate(fitted, tmp_path):
    path = tmp_path / "old.skh"
    fitted.save(path)
    forging.rewrite(path, lambda metadata: metadata.pop("calibration"))
    old = skhealth.load(path)
    with pytest.raises(ValueError, match="fitted by an earlier skhealth"):
        old.predict(np.zeros((1, 4)), return_std=True)
    old.calibrate(*heteroscedastic(200, seed=18))
    assert old.predict_interval(np.zeros((1, 4))).shape == (1, 3, 2)


def test_groups_are_needed_exactly_when_calibrated_per_group(fitted):
    X, Y = heteroscedastic(300, seed=19)
    reg = pickle.loads(pickle.dumps(fitted))
    with pytest.raises(ValueError, match="calibrated without groups"):
        reg.predict_interval(X[:2], groups=["a", "b"])
    reg.calibrate(X, Y, groups=np.where(X[:, 0] > 0, "a", "b"))
    with pytest.raises(ValueError, match=r"calibrated per group \(groups 'a', 'b'\)"):
        reg.predict_interval(X[:2])
    with pytest.raises(ValueError, match="groups holds 'c', which the calibration"):
        reg.predict_interval(X[:2], groups=["a", "c"])
    with pytest.raises(ValueError, match="groups has 3 entries but X has 2 rows"):
        reg.predict_interval(X[:2], groups=["a", "b", "a"])


def test_a_small_group_fails_its_own_rows_only(fitted):
    X, Y = heteroscedastic(200, seed=23, missing=0)
    groups = np.array(["big"] * 195 + ["small"] * 5)
    reg = pickle.loads(pickle.dumps(fitted)).calibrate(X, Y, groups=groups)
    assert reg.predict_interval(X[:2], groups=["big", "big"]).shape == (2, 3, 2)
    with pytest.raises(ValueError, match="5 calibration labels in group 'small'"):
        reg.predict_interval(X[:2], groups=["big", "small"])


def test_a_task_without_calibration_labels_is_named_when_asked_for(fitted):
    X, Y = heteroscedastic(100, seed=24, missing=0)
    Y[:, 1] = np.nan
    Y[0, 1] = 1.0  # calibrate needs one label of some task; task_1 keeps one
    reg = pickle.loads(pickle.dumps(fitted)).calibrate(X, Y)
    with pytest.raises(ValueError, match="Task 'task_1' has 1 calibration labels"):
        reg.predict_interval(X[:2])


def test_true_and_1_are_different_groups(fitted):
    X, Y = heteroscedastic(300, seed=25)
    reg = pickle.loads(pickle.dumps(fitted))
    with pytest.raises(ValueError, match="groups mixes True/False with other labels"):
        reg.calibrate(X, Y, groups=[True] * 150 + [1] * 150)
    reg.calibrate(X, Y, groups=[0] * 150 + [1] * 150)
    with pytest.raises(ValueError, match="groups holds True, which the calibration"):
        reg.predict_interval(X[:2], groups=[True, True])


def test_two_dimensional_groups_are_a_value_error(fitted):
    X, Y = heteroscedastic(50, seed=26)
    with pytest.raises(ValueError, match=r"groups must be 1-D.*shape \(50, 2\)"):
        pickle.loads(pickle.dumps(fitted)).calibrate(X, Y, groups=np.ones((50, 2)))


def test_float_group_labels_say_how_to_fix_them(fitted):
    X, Y = heteroscedastic(50, seed=27)
    with pytest.raises(ValueError, match=r"got 1\.0 \(a float: .* convert the labels"):
        pickle.loads(pickle.dumps(fitted)).calibrate(X, Y, groups=np.ones(50))


def test_a_missing_group_label_is_a_value_error(fitted):
    X, Y = heteroscedastic(50, seed=20)
    groups = np.array(["a"] * 49 + [np.nan], dtype=object)
    with pytest.raises(ValueError, match="groups must hold one label per row"):
        pickle.loads(pickle.dumps(fitted)).calibrate(X, Y, groups=groups)


# ----------------------------------------------------------------- model files
def test_intervals_survive_a_model_file(fitted, tmp_path):
    X_cal, Y_cal = heteroscedastic(300, seed=21)
    reg = pickle.loads(pickle.dumps(fitted)).calibrate(
        X_cal, Y_cal, groups=np.where(X_cal[:, 1] > 0, 1, 2)
    )
    reg.save(tmp_path / "m.skh")
    loaded = skhealth.load(tmp_path / "m.skh")
    groups = np.where(X_cal[:20, 1] > 0, 1, 2)
    np.testing.assert_array_equal(
        loaded.predict_interval(X_cal[:20], groups=groups),
        reg.predict_interval(X_cal[:20], groups=groups),
    )


def test_a_model_file_keeps_the_absence_of_a_calibration(tmp_path):
    X, Y = heteroscedastic(200)
    reg = fit_quietly(MultiTaskHealthRegressor(early_stopping=False, **SMALL), X, Y)
    reg.save(tmp_path / "m.skh")
    with pytest.raises(ValueError, match="fitted without held-out rows"):
        skhealth.load(tmp_path / "m.skh").predict_interval(X)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda c: c["scores"][0][0]["ndarray"].reverse(), "calibration's scores"),
        (lambda c: c.pop("factor"), "calibration is"),
        (lambda c: c.update(groups=["a", "a"]), "calibration's groups"),
        (
            lambda c: c.update(
                coef={"ndarray": [[0.0] * 3] * 3, "dtype": "<f8", "shape": [3, 3]}
            ),
            "calibration's coef",
        ),
        (
            lambda c: c["factor"]["ndarray"].__setitem__(0, 1e300),
            "calibration's factor",
        ),
        (
            lambda c: c["scores"][0][0]["ndarray"].__setitem__(-1, 1e308),
            "calibration's scores",
        ),
        (
            lambda c: c["log_noise_range"]["ndarray"].reverse(),
            "calibration's log_noise_range",
        ),
        (lambda c: c.update(groups=[1, True]), "calibration's groups"),
    ],
    ids=[
        "unsorted scores",
        "no factor",
        "repeated groups",
        "coef of other shape",
        "huge factor",
        "huge score",
        "highest below lowest",
        "True beside 1",
    ],
)
def test_a_forged_calibration_is_refused(fitted, tmp_path, edit, field):
    path = tmp_path / "m.skh"
    fitted.save(path)
    forging.rewrite(path, lambda metadata: edit(metadata["calibration"]["dict"]))
    with pytest.raises(ModelFileError, match=field):
        skhealth.load(path)


# ------------------------------------------------------------- coverage plot
@pytest.fixture
def pyplot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_coverage_display_shows_each_tasks_coverage_per_confidence(fitted, pyplot):
    X, Y = heteroscedastic(500, seed=22)
    display = IntervalCoverageDisplay.from_estimator(
        fitted, X, Y, confidences=[0.9, 0.5]
    )
    assert display.coverage.index.tolist() == [0.5, 0.9]
    for c in (0.5, 0.9):
        np.testing.assert_array_equal(
            display.coverage.loc[c], coverage(fitted.predict_interval(X, c), Y)
        )
    assert display.n_observed.tolist() == (~np.isnan(Y)).sum(axis=0).tolist()
    line = display.lines_["task_1"]
    np.testing.assert_array_equal(line.get_ydata(), display.coverage["task_1"])
    assert line.get_label() == f"task_1 ({display.n_observed['task_1']} labels)"


def test_coverage_display_reads_a_pipeline_and_names_its_tasks(pyplot):
    X, Y = heteroscedastic(300)
    pipe = fit_quietly(
        make_pipeline(StandardScaler(), MultiTaskHealthRegressor(**SMALL)), X, Y
    )
    display = IntervalCoverageDisplay.from_estimator(pipe, X, Y, confidences=[0.8])
    assert display.coverage.columns.tolist() == ["task_0", "task_1", "task_2"]
    assert display.ax_.get_title() == "Coverage of prediction intervals"


@pytest.mark.parametrize("confidences", [[], 0.9, [0.5, 1.2]])
def test_coverage_display_refuses_confidences_outside_zero_one(
    fitted, pyplot, confidences
):
    with pytest.raises(ValueError, match="confidence"):
        IntervalCoverageDisplay.from_estimator(
            fitted, np.zeros((3, 4)), np.zeros((3, 3)), confidences=confidences
        )


def test_coverage_display_refuses_intervals_with_tasks_first(pyplot):
    with pytest.raises(
        ValueError, match=r"have shape \(3, 4, 2\); expected \(4, 3, 2\)"
    ):
        IntervalCoverageDisplay.from_intervals(
            np.zeros((4, 3)), {0.9: np.zeros((3, 4, 2))}
        )


def test_predict_frame_refuses_a_target_named_like_another_targets_bound(pyplot):
    X, Y = heteroscedastic(300)
    Y = pd.DataFrame(Y, columns=["sbp", "sbp_lower", "hdl"])
    reg = fit_quietly(MultiTaskHealthRegressor(**SMALL), X, Y)
    with pytest.raises(ValueError, match="a target named 'sbp_lower', the name of"):
        skhealth.predict_frame(reg, X, interval=0.9)


def test_coverage_display_names_intervals_of_the_wrong_shape(pyplot):
    with pytest.raises(ValueError, match=r"have shape \(4, 2\); expected \(4, 2, 2\)"):
        IntervalCoverageDisplay.from_intervals(
            np.zeros((4, 2)), {0.9: np.zeros((4, 2))}
        )
