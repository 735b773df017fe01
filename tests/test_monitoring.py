"""Keeping a model current: data profiles, drift reports, updating on new
rows, and profiles in model files."""

import copy
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from forging import rewrite
from scipy.stats import ks_2samp
from sklearn.compose import make_column_transformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import SelectKBest, f_regression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import skhealth
from skhealth import (
    ModelFileError,
    MultiTaskHealthClassifier,
    MultiTaskHealthRegressor,
)
from skhealth.datasets import make_health_data
from skhealth.monitoring import (
    DataProfile,
    UpdateReport,
    data_profile,
    drift_report,
    update,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FEATURES = ["age", "steps", "sleep", "salt"]
TASKS = ["sbp", "hdl"]


def _tiny(**params):
    params = {"max_iter": 30, "n_members": 1, **params}
    return MultiTaskHealthRegressor(hidden_layer_sizes=(16,), random_state=0, **params)


@pytest.fixture(scope="module")
def old_and_new():
    """Old rows, and new rows whose age moved up by one std and whose sbp
    moved up by one std at the same inputs."""
    X, Y = make_health_data(n_samples=400, n_features=4, n_tasks=2, random_state=0)
    X, Y = pd.DataFrame(X, columns=FEATURES), pd.DataFrame(Y, columns=TASKS)
    X_new, Y_new = X[200:].reset_index(drop=True), Y[200:].reset_index(drop=True)
    X_new["age"] += X["age"].std()
    Y_new["sbp"] += Y["sbp"].std()
    return X[:200], Y[:200], X_new, Y_new


@pytest.fixture(scope="module")
def old_model(old_and_new):
    X, Y, _, _ = old_and_new
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = _tiny().fit(X, Y)
    model.data_profile_ = data_profile(X)
    return model


@pytest.fixture(scope="module")
def updated(old_model, old_and_new):
    _, _, X_new, Y_new = old_and_new
    return update(old_model, X_new, Y_new, epochs=10, random_state=0)


# ---------------------------------------------------------------- profiles
def test_profile_of_a_number_column_keeps_percentiles_but_not_its_extremes():
    values = np.r_[-1000.0, np.arange(1.0, 199.0), 1000.0]
    column = data_profile(pd.DataFrame({"x": values}))["x"]
    assert len(column.quantiles) == 99
    assert column.quantiles[49] == 99.0
    # clipped to the 5th smallest and 5th largest values
    assert (min(column.quantiles), max(column.quantiles)) == (4.0, 195.0)
    # and so are the values the mean is of
    assert column.mean == pytest.approx(np.clip(values, 4.0, 195.0).mean())


def test_profile_mean_and_std_do_not_give_away_an_extreme_value():
    # one person's intake among zeros: n_rows * mean would be their value
    x = np.zeros(1000)
    x[123] = 187.5
    column = data_profile(pd.DataFrame({"alcohol_g": x}))["alcohol_g"]
    assert (column.mean, column.std) == (0.0, 0.0)


def test_profile_counts_a_category_of_fewer_than_5_rows_as_other():
    sex = pd.Series(["F"] * 10 + ["M"] * 6 + ["X"] * 4)
    column = data_profile(pd.DataFrame({"sex": sex}))["sex"]
    assert column.categories == ("F", "M")
    assert column.shares == (0.5, 0.3)
    assert column.other == pytest.approx(0.2)


def test_profile_of_a_column_of_few_values_keeps_only_its_missing_count():
    x = np.r_[np.arange(9.0), [np.nan] * 20]
    column = data_profile(pd.DataFrame({"x": x}))["x"]
    assert (column.n_missing, column.quantiles, column.mean) == (20, None, None)


def test_bins_of_a_binary_column_are_one_per_value():
    column = data_profile(pd.DataFrame({"smoker": [0.0] * 70 + [1.0] * 30}))["smoker"]
    assert column.bin_edges.tolist() == [0.0, 1.0]
    assert column.bin_shares == (0.7, 0.3, 0.0)


def test_profile_reads_categorical_nullable_and_bool_columns():
    X = pd.DataFrame(
        {
            "smoker": pd.Categorical(["never", "former", None] * 10),
            "visits": pd.array([1, 2, None] * 10, dtype="Int64"),
            "insured": [True, False, True] * 10,
        }
    )
    frame = data_profile(X).to_frame()
    assert frame["kind"].tolist() == ["string", "number", "number"]
    assert frame["missing"].tolist() == pytest.approx([1 / 3, 1 / 3, 0.0])
    assert frame.loc["insured", "mean"] == pytest.approx(2 / 3)
    assert frame.loc["smoker", "n_categories"] == 2


# ------------------------------------------------------------------- drift
def test_drift_report_ranks_the_shifted_column_first(old_and_new):
    X, _, X_new, _ = old_and_new
    report = drift_report(data_profile(X), X_new)
    assert report.index[0] == "age"
    assert report.loc["age", "drift"] == "major"
    assert report.loc["age", "mean_shift"] > 0.8


def test_drift_of_an_unshifted_copy_is_zero(old_and_new):
    X = old_and_new[0]
    report = drift_report(X, X)
    assert report["psi"].tolist() == [0.0] * 4
    assert report["ks"].max() <= 0.01 + 1e-12  # the percentiles' resolution
    assert (report["drift"] == "stable").all()


def test_mean_shift_of_a_copy_with_an_outlier_is_zero():
    x = np.r_[np.random.default_rng(0).normal(size=999), 1e6]
    report = drift_report(pd.DataFrame({"x": x}), pd.DataFrame({"x": x}))
    assert report.loc["x", "mean_shift"] == 0.0


def test_ks_is_within_a_percentile_of_the_exact_two_sample_statistic():
    rng = np.random.default_rng(0)
    old, new = rng.normal(size=5000), rng.normal(0.3, 1.2, size=3000)
    report = drift_report(pd.DataFrame({"x": old}), pd.DataFrame({"x": new}))
    exact = ks_2samp(old, new).statistic
    assert abs(report.loc["x", "ks"] - exact) <= 0.01


def test_drift_report_counts_missing_values_as_a_bin_of_their_own(old_and_new):
    X = old_and_new[0]
    X_new = X.copy()
    X_new.loc[: len(X) // 2, "sleep"] = np.nan
    report = drift_report(X, X_new)
    assert report.index[0] == "sleep"
    assert report.loc["sleep", "missing_before"] == 0.0
    assert report.loc["sleep", "missing_after"] == pytest.approx(101 / 200)
    assert report.loc["sleep", "psi"] > 0.25


def test_drift_of_a_column_below_its_lowest_training_value_is_major():
    # a constant column that moved down: with bins (-inf, 3], (3, inf) alone
    # the new 2s would share the 3s' bin and read as stable
    old = pd.DataFrame({"dose": [3.0] * 100})
    report = drift_report(old, pd.DataFrame({"dose": [2.0] * 50}))
    assert report.loc["dose", "drift"] == "major"
    assert report.loc["dose", "psi"] == pytest.approx(2 * 0.9999 * np.log(1e4))


def test_drift_of_a_column_of_too_few_values_compares_its_missing_share():
    old = pd.DataFrame({"x": np.r_[np.arange(9.0), [np.nan] * 91]})
    report = drift_report(old, pd.DataFrame({"x": np.arange(50.0)}))
    assert report.loc["x", "psi"] == pytest.approx(
        (1 - 0.09) * np.log(1 / 0.09) + (1e-4 - 0.91) * np.log(1e-4 / 0.91)
    )
    assert (report.loc["x", "drift"], report.index[0]) == ("major", "x")
    assert np.isnan(report.loc["x", "ks"])


def test_drift_report_lists_new_categories_most_frequent_first():
    old = pd.DataFrame({"site": ["a"] * 50 + ["b"] * 50})
    new = pd.DataFrame({"site": ["a"] * 50 + ["c"] * 10 + ["d"] * 30})
    report = drift_report(old, new)
    assert report.loc["site", "new_categories"] == ("d", "c")
    assert np.isnan(report.loc["site", "ks"])


def test_drift_report_names_the_columns_missing_and_extra(old_and_new):
    X = old_and_new[0]
    other = X.rename(columns={"salt": "sodium"})
    with pytest.raises(
        ValueError,
        match=r"X_new lacks the model's columns \['salt'\] and has columns the "
        r"model does not read \['sodium'\]",
    ):
        drift_report(data_profile(X), other)


def test_drift_report_of_a_profile_of_an_array_reads_arrays(old_and_new):
    X = old_and_new[0].to_numpy()
    report = drift_report(data_profile(X), X + np.array([0, 0, 5, 0]))
    assert report.index[0] == "x2"
    with pytest.raises(ValueError, match=r"X_new has 3 columns, but the model reads 4"):
        drift_report(data_profile(X), X[:, :3])


def test_drift_report_of_a_model_without_a_profile_says_how_to_get_one(
    old_and_new,
):
    model = _tiny(max_iter=1).fit(*old_and_new[:2])
    with pytest.raises(ValueError, match=r"holds no data profile.*profile=X_train"):
        drift_report(model, old_and_new[2])


def test_drift_report_of_a_search_reads_the_profile_set_on_it(old_and_new):
    X, Y, X_new, _ = old_and_new
    search = GridSearchCV(_tiny(max_iter=1), {"alpha": [1e-4]}, cv=2).fit(X, Y)
    search.data_profile_ = data_profile(X)
    assert drift_report(search, X_new).index[0] == "age"


def test_drift_report_of_text_in_a_number_column_names_it(old_and_new):
    X = old_and_new[0]
    with pytest.raises(ValueError, match=r"column 'age' holds 'old'"):
        drift_report(X, X.astype({"age": object}).assign(age="old"))


# ------------------------------------------------------------------ update
def test_update_on_shifted_data_improves_the_new_data_scores(updated):
    _, report = updated
    scores = report.scores
    assert scores.loc["sbp", "r2_after"] > scores.loc["sbp", "r2_before"] + 0.5
    assert report.scores_after["r2"].mean() > report.scores_before["r2"].mean()
    assert (report.n_train, report.n_holdout, report.n_epochs) == (160, 40, 10)


def test_update_leaves_the_model_untouched(old_model, old_and_new, updated):
    model, _ = updated
    X_new = old_and_new[2]
    assert model is not old_model
    assert (old_model.n_iter_, model.n_iter_) == (30, 40)
    assert old_model.data_profile_ == data_profile(old_and_new[0])
    assert not np.allclose(model.predict(X_new), old_model.predict(X_new))


def test_update_reports_drift_and_profiles_the_new_rows(old_and_new, updated):
    model, report = updated
    assert report.drift.index[0] == "age"
    assert model.data_profile_ == data_profile(old_and_new[2])


def test_update_recalibrates_on_the_holdout_where_training_left_no_calibration(
    updated, old_and_new
):
    model, report = updated
    assert report.calibration.startswith("recalibrated on the 40 held-out new rows")
    interval = model.predict_interval(old_and_new[2][:5])
    assert (interval[..., 0] < interval[..., 1]).all()


def test_update_of_a_model_calibrated_per_group_says_the_groups_are_gone(
    old_model, old_and_new
):
    X, Y, X_new, Y_new = old_and_new
    model = copy.deepcopy(old_model)
    model.calibrate(X, Y, groups=np.where(X["salt"] > 0, "high", "low"))
    _, report = update(model, X_new, Y_new, epochs=1, random_state=0)
    assert report.calibration.endswith(
        "; without groups: the old one was per group ('high', 'low'): call "
        "calibrate(X, y, groups=...) with held-out labelled new rows for one again"
    )


def test_update_of_a_cross_fitted_model_recalibrates_out_of_fold(old_and_new):
    X, Y, X_new, Y_new = old_and_new
    model = _tiny(max_iter=2, n_members=2, early_stopping="cross_fit").fit(X, Y)
    _, report = update(model, X_new, Y_new, epochs=1, random_state=0)
    assert report.calibration == (
        "refitted out of fold on the 160 new training rows (cross-fitted early "
        "stopping; the old one described the network before the update)"
    )


def test_update_with_replay_says_early_stopping_held_out_old_rows_too(old_and_new):
    X, Y, X_new, Y_new = old_and_new
    model = _tiny(max_iter=2, early_stopping=True).fit(X, Y)
    _, report = update(model, X_new, Y_new, epochs=1, replay=(X, Y), random_state=0)
    assert report.calibration == (
        "refitted on the rows that early stopping held out of the 160 new "
        "training rows and 200 old rows (the old one described the network "
        "before the update)"
    )
    assert ", early stopping on rows held out of those trained on." in str(report)


def test_report_of_one_epoch_says_epoch():
    report = UpdateReport(
        *(None, None, None),
        n_train=1,
        n_holdout=0,
        n_replay=0,
        n_epochs=1,
        max_epochs=1,
        early_stopping=False,
        **dict.fromkeys(["preprocessing", "target_scaling", "calibration"], "-"),
        profile="-",
    )
    assert (
        "Trained on 1 new row (0 new rows held out for scores): 1 epoch of at "
        "most 1, no early stopping." in str(report)
    )


def test_update_without_recalibrating_drops_the_calibration(old_model, old_and_new):
    _, _, X_new, Y_new = old_and_new
    model, report = update(old_model, X_new, Y_new, epochs=1, recalibrate=False)
    assert report.calibration.startswith("dropped: training on invalidated")
    with pytest.raises(ValueError, match="no calibration"):
        model.predict_interval(X_new)


def test_update_of_a_pipeline_keeps_its_preprocessing(old_and_new):
    X, Y, X_new, Y_new = old_and_new
    pipe = make_pipeline(StandardScaler(), _tiny(max_iter=5)).fit(X, Y)
    model, report = update(pipe, X_new, Y_new, epochs=2, random_state=0)
    np.testing.assert_array_equal(model[0].mean_, pipe[0].mean_)
    assert report.preprocessing == "kept as fitted on the old data"


def test_update_refits_the_preprocessing_on_the_new_training_rows(old_and_new):
    X, Y, X_new, Y_new = old_and_new
    pipe = make_pipeline(StandardScaler(), _tiny(max_iter=5)).fit(X, Y)
    model, report = update(
        pipe, X_new, Y_new, epochs=2, refit_preprocessing=True, validation_fraction=0
    )
    np.testing.assert_allclose(model[0].mean_, X_new.mean().to_numpy())
    assert report.preprocessing.startswith("refitted on the 200 new training rows")
    assert report.scores is None


def test_refit_preprocessing_fits_steps_that_learn_from_the_targets(old_and_new):
    X, Y, X_new, Y_new = old_and_new
    select = SelectKBest(f_regression, k=2)
    pipe = make_pipeline(select, _tiny(max_iter=2)).fit(X, Y["sbp"])
    model, _ = update(
        pipe,
        X_new,
        Y_new["sbp"],
        epochs=1,
        refit_preprocessing=True,
        validation_fraction=0,
    )
    expected = f_regression(X_new, Y_new["sbp"])[0]
    np.testing.assert_allclose(model[0].scores_, expected)


def test_refitted_preprocessing_of_other_columns_is_a_value_error():
    X = pd.DataFrame({"age": np.linspace(-1, 1, 40), "sex": ["F", "M"] * 20})
    y = np.arange(40.0)
    pipe = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["sex"]), remainder="passthrough"),
        _tiny(max_iter=2),
    ).fit(X, y)
    X_new = X.assign(sex=["F", "M", "X", "Y"] * 10)
    with pytest.raises(
        ValueError,
        match=r"other columns than the network was fitted on: "
        r"\['onehotencoder__sex_X', 'onehotencoder__sex_Y'\] come: an encoder",
    ):
        update(pipe, X_new, y, refit_preprocessing=True, validation_fraction=0)


def test_refitted_preprocessing_of_as_many_other_columns_is_a_value_error():
    # "M" gone and "X" come: 3 columns still, the second now meaning "X"
    X = pd.DataFrame({"age": np.linspace(-1, 1, 40), "sex": ["F", "M"] * 20})
    y = np.arange(40.0)
    pipe = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["sex"]), remainder="passthrough"),
        _tiny(max_iter=2),
    ).fit(X, y)
    X_new = X.assign(sex=["F", "X"] * 20)
    with pytest.raises(
        ValueError,
        match=r"makes other columns than the network was fitted on: "
        r"\['onehotencoder__sex_M'\] gone and \['onehotencoder__sex_X'\] come",
    ):
        update(pipe, X_new, y, refit_preprocessing=True, validation_fraction=0)


def test_refit_preprocessing_of_a_bare_estimator_is_a_value_error(
    old_model, old_and_new
):
    with pytest.raises(ValueError, match="bare MultiTaskHealthRegressor"):
        update(old_model, *old_and_new[2:], refit_preprocessing=True)


def test_update_on_data_with_other_columns_is_a_value_error_naming_them(
    old_model, old_and_new
):
    _, _, X_new, Y_new = old_and_new
    with pytest.raises(
        ValueError,
        match=r"X_new has columns the model does not read \['site'\]",
    ):
        update(old_model, X_new.assign(site=1), Y_new)


def test_update_on_targets_of_other_names_is_a_value_error_naming_them(
    old_model, old_and_new
):
    _, _, X_new, Y_new = old_and_new
    with pytest.raises(
        ValueError,
        match=r"y_new lacks the model's tasks \['hdl'\] and has columns of no "
        r"task \['ldl'\]",
    ):
        update(old_model, X_new, Y_new.rename(columns={"hdl": "ldl"}))


def test_update_takes_columns_and_tasks_in_any_order(old_model, old_and_new):
    _, _, X_new, Y_new = old_and_new
    _, report = update(
        old_model, X_new[FEATURES[::-1]], Y_new[TASKS[::-1]], epochs=1, random_state=0
    )
    assert report.scores.index.tolist() == TASKS


def test_update_with_replay_keeps_more_of_the_old_rows(old_model, old_and_new, updated):
    X, Y, X_new, Y_new = old_and_new
    _, without = updated
    model, report = update(
        old_model, X_new, Y_new, epochs=10, random_state=0, replay=(X, Y)
    )
    assert (report.n_train, report.n_replay) == (160, 200)
    assert model.score(X, Y) > updated[0].score(X, Y)
    assert report.n_holdout == without.n_holdout


def test_replay_of_other_columns_is_a_value_error_naming_them(old_model, old_and_new):
    X, Y, X_new, Y_new = old_and_new
    with pytest.raises(ValueError, match=r"replay's X_old lacks the model's columns"):
        update(old_model, X_new, Y_new, replay=(X.drop(columns="salt"), Y))


def test_update_of_a_model_fitted_on_arrays(old_and_new):
    X, Y, X_new, Y_new = (frame.to_numpy() for frame in old_and_new)
    model = _tiny(max_iter=2).fit(X, Y)
    updated, report = update(model, X_new, Y_new, epochs=1, random_state=0)
    assert report.drift is None
    assert updated.data_profile_.names == ["x0", "x1", "x2", "x3"]
    with pytest.raises(ValueError, match=r"y_new has shape \(200, 1\)"):
        update(model, X_new, Y_new[:, :1])


@pytest.mark.parametrize(
    ("n_rows", "fraction", "message"),
    [
        (0, 0.2, r"X_new has no rows"),
        (0, 0.0, r"X_new has no rows"),
        (2, 0.5, r"2 new rows are too few to hold out 2 to score on and train on"),
        (5, 0.2, r"validation_fraction=0.2 holds out 1 of the 5 new rows"),
    ],
)
def test_update_on_too_few_rows_to_hold_out_is_a_value_error(
    old_model, old_and_new, n_rows, fraction, message
):
    _, _, X_new, Y_new = old_and_new
    with pytest.raises(ValueError, match=message):
        update(old_model, X_new[:n_rows], Y_new[:n_rows], validation_fraction=fraction)


def test_update_takes_a_numpy_float_validation_fraction(old_model, old_and_new):
    _, _, X_new, Y_new = old_and_new
    _, report = update(
        old_model, X_new, Y_new, epochs=1, validation_fraction=np.float32(0.25)
    )
    assert (report.n_train, report.n_holdout) == (150, 50)


def test_update_of_a_model_stopping_early_on_too_few_rows_says_so(old_and_new):
    X, Y, X_new, Y_new = old_and_new
    model = _tiny(max_iter=2, early_stopping=True).fit(X, Y)
    with pytest.raises(ValueError, match="The model stops early") as error:
        update(model, X_new[:12], Y_new[:12], random_state=0)
    assert str(error.value) == (
        "The model stops early on validation_fraction=0.1 of its training rows, "
        "as it was first fitted, and the 9 new training rows are too few for it: "
        "The validation set (1 rows, validation_fraction=0.1) has fewer than 2 "
        "observed labels for every task. Update on more new rows, each task "
        "labelled in several of them."
    )


def test_update_of_a_classifier_reports_its_scores_and_no_calibration():
    X, Y = make_health_data(
        n_samples=300, n_features=4, n_tasks=2, n_binary_tasks=2, random_state=0
    )
    model = MultiTaskHealthClassifier(max_iter=5, n_members=1, random_state=0)
    model.fit(X[:200], Y[:200])
    _, report = update(model, X[200:], Y[200:], epochs=2, random_state=0)
    assert "roc_auc_after" in report.scores
    assert report.calibration == "none (a classifier predicts probabilities)"
    assert report.target_scaling == "none (binary labels are learnt as 0 and 1)"


# ------------------------------------------------------------- model files
def test_profile_round_trips_through_a_model_file(old_model, old_and_new, tmp_path):
    path = tmp_path / "m.skh"
    skhealth.save(old_model, path)
    loaded = skhealth.load(path)
    assert loaded.data_profile_ == old_model.data_profile_
    skhealth.save(loaded, tmp_path / "again.skh")
    assert skhealth.load(tmp_path / "again.skh").data_profile_ == loaded.data_profile_


def test_save_profiles_the_training_data_it_is_given(old_and_new, tmp_path):
    X, Y = old_and_new[:2]
    pipe = make_pipeline(StandardScaler(), _tiny(max_iter=1)).fit(X, Y)
    skhealth.save(pipe, tmp_path / "m.skh", profile=X)
    assert skhealth.load(tmp_path / "m.skh").data_profile_ == data_profile(X)


def test_the_estimators_save_passes_its_profile_on(old_and_new, tmp_path):
    X, Y = old_and_new[:2]
    reg = _tiny(max_iter=1).fit(X.to_numpy(), Y)
    reg.save(tmp_path / "m.skh", profile=X.to_numpy())
    assert skhealth.load(tmp_path / "m.skh").data_profile_ == data_profile(X.to_numpy())


def test_a_file_saved_without_a_profile_loads_without_one(old_model, tmp_path):
    skhealth.save(old_model, tmp_path / "m.skh", profile=False)
    metadata = skhealth.model_files.read_metadata(tmp_path / "m.skh")
    assert "data_profile" not in metadata
    assert not hasattr(skhealth.load(tmp_path / "m.skh"), "data_profile_")


def test_save_refuses_a_profile_of_other_columns(old_model, old_and_new, tmp_path):
    other = old_and_new[0].rename(columns={"salt": "sodium"})
    with pytest.raises(ValueError, match=r"profile is of the columns .*'sodium'"):
        skhealth.save(old_model, tmp_path / "m.skh", profile=other)


def test_save_stores_a_profile_of_reordered_columns_in_the_models_order(
    old_model, old_and_new, tmp_path
):
    X = old_and_new[0]
    skhealth.save(old_model, tmp_path / "m.skh", profile=X[X.columns[::-1]])
    assert skhealth.load(tmp_path / "m.skh").data_profile_ == data_profile(X)


def test_save_profile_true_says_to_pass_the_training_data(old_model, tmp_path):
    with pytest.raises(ValueError, match=r"profile=True: pass the data to profile"):
        skhealth.save(old_model, tmp_path / "m.skh", profile=True)


def _column(metadata, i=0):
    return metadata["data_profile"]["columns"][i]


FORGERIES = {
    "unsorted quantiles": lambda m: _column(m)["quantiles"].reverse(),
    "NaN mean": lambda m: _column(m).update(mean=float("nan")),
    "shares not summing to 1": lambda m: _column(m)["bin_shares"].append(0.5),
    "another column's name": lambda m: _column(m).update(name="weight"),
    "a column too many": lambda m: m["data_profile"]["columns"].append(_column(m)),
    "more missing than rows": lambda m: _column(m).update(n_missing=10**6),
    "an unknown kind": lambda m: _column(m).update(kind="date"),
    "an extra field": lambda m: _column(m).update(rows=[[1.0, 2.0]]),
    "no rows": lambda m: m["data_profile"].update(n_rows=0),
}


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_profile_is_refused(old_model, tmp_path, forge):
    path = tmp_path / "m.skh"
    skhealth.save(old_model, path)
    rewrite(path, forge)
    with pytest.raises(ModelFileError, match="data profile"):
        skhealth.load(path)


def test_a_profile_holds_no_row(old_and_new, tmp_path, old_model):
    path = tmp_path / "m.skh"
    skhealth.save(old_model, path)
    stored = json.dumps(skhealth.model_files.read_metadata(path)["data_profile"])
    X = old_and_new[0]
    # no training value beyond the percentiles' clipping, and few values at all
    assert str(X["age"].max()) not in stored
    assert str(X["age"].min()) not in stored
    assert DataProfile.from_dict(json.loads(stored)) == old_model.data_profile_
