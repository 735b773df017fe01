"""Behaviour of skhealth.datasets: the shipped NHANES data and the generator."""

import importlib.util
import re
from functools import partial
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes, load_nhanes_outcomes, make_health_data

ROOT = Path(__file__).resolve().parents[1]

FEATURES = [
    "age",
    "sex",
    "race_ethnicity",
    "education",
    "income_poverty_ratio",
    "energy_kcal",
    "protein_g",
    "carbohydrate_g",
    "sugar_g",
    "fiber_g",
    "fat_g",
    "alcohol_g",
    "vigorous_work",
    "moderate_work",
    "walk_or_bike",
    "vigorous_recreation",
    "moderate_recreation",
    "sedentary_minutes",
    "sleep_hours",
    "smoking_status",
    "phq9",
]
TARGETS = [
    "systolic_bp",
    "diastolic_bp",
    "total_cholesterol",
    "hdl_cholesterol",
    "hba1c",
    "waist_circumference",
    "bmi",
]
CATEGORIES = {
    "sex": ["Male", "Female"],
    "race_ethnicity": [
        "Mexican American",
        "Other Hispanic",
        "Non-Hispanic White",
        "Non-Hispanic Black",
        "Non-Hispanic Asian",
        "Other Race - Including Multi-Racial",
    ],
    "education": [
        "Less than 9th grade",
        "9-11th grade (Includes 12th grade with no diploma)",
        "High school graduate/GED or equivalent",
        "Some college or AA degree",
        "College graduate or above",
    ],
    "smoking_status": ["Never", "Former", "Current"],
}
N_ROWS = 5263


@pytest.fixture(scope="module")
def nhanes():
    return load_nhanes()


def _shipped_file():
    return resources.files("skhealth.datasets.data") / "nhanes_2017_2018.csv.gz"


# ------------------------------------------------------------------ load_nhanes
def test_nhanes_has_pinned_columns_in_order(nhanes):
    assert nhanes.feature_names == FEATURES
    assert nhanes.target_names == TARGETS
    assert list(nhanes.data.columns) == FEATURES
    assert list(nhanes.target.columns) == TARGETS
    assert list(nhanes.frame.columns) == FEATURES + TARGETS


def test_nhanes_has_one_row_per_adult_respondent(nhanes):
    assert nhanes.data.shape == (N_ROWS, 21)
    assert nhanes.target.shape == (N_ROWS, 7)
    assert nhanes.frame.index.name == "SEQN"
    assert nhanes.frame.index.is_unique
    assert nhanes.data["age"].min() == 20
    assert nhanes.data["age"].max() == 80


def test_nhanes_keeps_people_with_missing_targets(nhanes):
    n_missing = nhanes.target.isna().sum().to_dict()
    assert n_missing == {
        "systolic_bp": 267,
        "diastolic_bp": 281,
        "total_cholesterol": 326,
        "hdl_cholesterol": 326,
        "hba1c": 245,
        "waist_circumference": 326,
        "bmi": 88,
    }


def test_nhanes_every_row_has_a_target_measured(nhanes):
    assert nhanes.target.notna().any(axis=1).all()


def test_nhanes_numeric_columns_hold_no_refused_or_dont_know_codes(nhanes):
    # Shorter codes (7, 9, 77, 99) are valid values elsewhere: the range tests
    # below cover the columns where the codebooks use them.
    numeric = nhanes.frame.select_dtypes("number")
    assert not numeric.isin([7777, 9999, 77777, 99999]).any().any()


def test_nhanes_sas_zeros_are_exact_zeros(nhanes):
    numeric = nhanes.frame.select_dtypes("number").to_numpy()
    assert not ((numeric != 0) & (np.abs(numeric) < 1e-6)).any()
    assert (nhanes.data["alcohol_g"] == 0).sum() == 3765


@pytest.mark.parametrize(
    ("column", "low", "high"),
    [
        ("income_poverty_ratio", 0, 5),
        ("sedentary_minutes", 0, 1320),
        ("sleep_hours", 2, 14),
        ("phq9", 0, 27),
        ("systolic_bp", 70, 240),
        ("diastolic_bp", 1, 140),
        ("hba1c", 3.8, 16.2),
    ],
)
def test_nhanes_values_lie_in_the_codebook_range(nhanes, column, low, high):
    values = nhanes.frame[column].dropna()
    assert values.between(low, high).all()


def test_nhanes_activity_columns_are_zero_or_one(nhanes):
    activity = nhanes.data[
        [
            "vigorous_work",
            "moderate_work",
            "walk_or_bike",
            "vigorous_recreation",
            "moderate_recreation",
        ]
    ].to_numpy()
    assert set(np.unique(activity[~np.isnan(activity)])) == {0.0, 1.0}


def test_nhanes_categoricals_have_readable_labels_in_a_fixed_order(nhanes):
    categorical = nhanes.data.select_dtypes("category")
    assert list(categorical.columns) == list(CATEGORIES)
    for name, labels in CATEGORIES.items():
        assert list(categorical[name].cat.categories) == labels
    assert categorical["education"].cat.ordered
    assert not categorical["sex"].cat.ordered


def test_nhanes_loading_keeps_every_label_of_the_shipped_file(nhanes):
    with _shipped_file().open("rb") as stream:
        raw = pd.read_csv(stream, compression="gzip", index_col="SEQN")
    for name in CATEGORIES:
        pd.testing.assert_series_equal(
            nhanes.data[name].isna(), raw[name].isna(), check_names=False
        )


def test_nhanes_as_frame_false_gives_float_arrays_with_category_codes(nhanes):
    bunch = load_nhanes(as_frame=False)
    assert bunch.data.dtype == np.float64
    assert bunch.target.dtype == np.float64
    assert bunch.frame is None
    assert bunch.categories == CATEGORIES
    education = bunch.data[:, FEATURES.index("education")]
    labels = nhanes.data["education"]
    assert np.isnan(education).sum() == labels.isna().sum() == 12
    codes = education[~np.isnan(education)].astype(int)
    decoded = [CATEGORIES["education"][code] for code in codes]
    assert decoded == labels.dropna().tolist()


def test_nhanes_as_frame_false_keeps_numeric_values(nhanes):
    bunch = load_nhanes(as_frame=False)
    age = bunch.data[:, FEATURES.index("age")]
    np.testing.assert_array_equal(age, nhanes.data["age"].to_numpy())
    np.testing.assert_array_equal(bunch.target, nhanes.target.to_numpy())


def test_nhanes_categories_is_none_for_frames(nhanes):
    assert nhanes.categories is None


@pytest.mark.parametrize("as_frame", [True, False])
@pytest.mark.parametrize(
    "load",
    [load_nhanes, partial(load_nhanes_outcomes, measurements=True)],
    ids=["load_nhanes", "load_nhanes_outcomes"],
)
def test_nhanes_return_X_y_returns_data_and_target(load, as_frame):
    bunch = load(as_frame=as_frame)
    X, Y = load(return_X_y=True, as_frame=as_frame)
    if as_frame:
        pd.testing.assert_frame_equal(X, bunch.data)
        pd.testing.assert_frame_equal(Y, bunch.target)
    else:
        np.testing.assert_array_equal(X, bunch.data)
        np.testing.assert_array_equal(Y, bunch.target)


def test_nhanes_rejects_non_boolean_options():
    with pytest.raises(ValueError, match="'as_frame' parameter of load_nhanes"):
        load_nhanes(as_frame="yes")


@pytest.mark.parametrize(
    "phrase",
    [
        "Centers for Disease Control and Prevention",
        "public domain",
        "2017-2018",
        "MIT licence",
        "Survey weights are not applied",
        "not nationally",
        "5263 adults",
    ],
)
def test_nhanes_descr_states_source_licence_and_caveats(nhanes, phrase):
    assert phrase in nhanes.DESCR


def test_nhanes_descr_documents_every_column_with_its_missing_share(nhanes):
    documented = dict(re.findall(r"^(\w+)  .*  (\d+\.\d)$", nhanes.DESCR, re.MULTILINE))
    missing = nhanes.frame.isna().mean().mul(100).round(1)
    assert list(documented) == FEATURES + TARGETS
    assert {name: float(share) for name, share in documented.items()} == dict(missing)


def test_nhanes_shipped_file_is_under_2_mb():
    with _shipped_file().open("rb") as stream:
        assert len(stream.read()) < 2 * 1024**2


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_nhanes_trains_multitask_regressor_in_a_pipeline(nhanes):
    rows = nhanes.data.sample(1000, random_state=0).index
    X, Y = nhanes.data.loc[rows], nhanes.target.loc[rows]
    preprocess = make_column_transformer(
        (
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            make_column_selector(dtype_include="category"),
        ),
        (
            make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
            make_column_selector(dtype_include="number"),
        ),
    )
    model = make_pipeline(
        preprocess, MultiTaskHealthRegressor(max_iter=5, random_state=0)
    )
    pred = model.fit(X, Y).predict(X)
    assert pred.shape == (1000, 7)
    assert np.isfinite(pred).all()


# --------------------------------------------------------- load_nhanes_outcomes
OUTCOMES = [
    "hypertension",
    "diabetes",
    "obesity",
    "depression",
    "high_cholesterol",
    "low_hdl",
]
# The columns each outcome is defined from, by its published definition.
OUTCOME_SOURCES = {
    "hypertension": {"systolic_bp", "diastolic_bp"},
    "diabetes": {"hba1c"},
    "obesity": {"bmi"},
    "depression": {"phq9"},
    "high_cholesterol": {"total_cholesterol"},
    "low_hdl": {"hdl_cholesterol"},
}
# (positives, known) of each outcome: the numbers of the data card.
OUTCOME_COUNTS = {
    "hypertension": (2319, 4993),
    "diabetes": (745, 5018),
    "obesity": (2171, 5175),
    "depression": (437, 4825),
    "high_cholesterol": (518, 4937),
    "low_hdl": (842, 4937),
}


@pytest.fixture(scope="module")
def outcomes():
    return load_nhanes_outcomes()


@pytest.fixture(scope="module")
def raw():
    """The shipped file read as plain numbers and strings, without the loader."""
    with _shipped_file().open("rb") as stream:
        return pd.read_csv(stream, compression="gzip", index_col="SEQN")


def _raw_outcome(raw, name):
    """An outcome computed from the raw file with numpy: 1, 0, or NaN unknown."""

    def over(column, cut):
        values = raw[column].to_numpy()
        return np.where(np.isnan(values), np.nan, (values >= cut) * 1.0)

    if name == "hypertension":
        systolic, diastolic = over("systolic_bp", 130), over("diastolic_bp", 80)
        positive = (systolic == 1) | (diastolic == 1)
        negative = (systolic == 0) & (diastolic == 0)
        return np.where(positive, 1.0, np.where(negative, 0.0, np.nan))
    if name == "low_hdl":
        return 1 - over("hdl_cholesterol", 40)
    column, cut = {
        "diabetes": ("hba1c", 6.5),
        "obesity": ("bmi", 30),
        "depression": ("phq9", 10),
        "high_cholesterol": ("total_cholesterol", 240),
    }[name]
    return over(column, cut)


@pytest.mark.parametrize("name", OUTCOMES)
def test_outcome_counts_computed_from_the_raw_file_are_the_documented_ones(raw, name):
    outcome = _raw_outcome(raw, name)
    assert (np.nansum(outcome), np.sum(~np.isnan(outcome))) == OUTCOME_COUNTS[name]


@pytest.mark.parametrize("name", OUTCOMES)
def test_outcomes_equal_the_rule_applied_to_the_raw_file(outcomes, raw, name):
    np.testing.assert_array_equal(outcomes.target[name], _raw_outcome(raw, name))


def test_outcomes_are_float_zero_one_or_nan(outcomes):
    target = outcomes.target.to_numpy()
    assert target.dtype == np.float64
    assert set(np.unique(target[~np.isnan(target)])) == {0.0, 1.0}


def test_outcomes_are_all_six_in_order_by_default(outcomes):
    assert outcomes.target_names == outcomes.outcome_names == OUTCOMES
    assert list(outcomes.target.columns) == OUTCOMES
    assert list(outcomes.definitions) == OUTCOMES


def test_outcomes_keep_the_people_and_order_of_load_nhanes(outcomes, nhanes):
    pd.testing.assert_index_equal(outcomes.data.index, nhanes.data.index)
    pd.testing.assert_index_equal(outcomes.target.index, nhanes.data.index)
    pd.testing.assert_frame_equal(outcomes.data, nhanes.data.drop(columns="phq9"))


def test_outcomes_every_row_has_an_outcome_known(outcomes):
    assert outcomes.target.notna().any(axis=1).all()
    assert outcomes.target.notna().all(axis=1).sum() == 4367


@pytest.mark.parametrize(
    "names", [None, *([name] for name in OUTCOMES), ["obesity", "depression"]]
)
def test_no_outcome_is_computed_from_a_returned_feature(names):
    bunch = load_nhanes_outcomes(outcomes=names, measurements=True)
    sources = set().union(*(OUTCOME_SOURCES[name] for name in bunch.outcome_names))
    assert sources.isdisjoint(bunch.feature_names)
    assert sources.isdisjoint(bunch.data.columns)
    assert sources <= set(bunch.target_names)


def test_depression_drops_phq9_from_the_features_and_says_so(outcomes):
    assert outcomes.feature_names == [name for name in FEATURES if name != "phq9"]
    assert outcomes.dropped_features == {"depression": ["phq9"]}


def test_outcomes_without_depression_keep_every_feature():
    bunch = load_nhanes_outcomes(outcomes=["hypertension", "diabetes"])
    assert bunch.feature_names == FEATURES
    assert bunch.dropped_features == {}


def test_outcomes_are_returned_in_the_order_asked():
    bunch = load_nhanes_outcomes(outcomes=["low_hdl", "hypertension"])
    assert bunch.target_names == ["low_hdl", "hypertension"]
    assert list(bunch.definitions) == ["low_hdl", "hypertension"]


def test_outcomes_accept_one_name_as_a_string(outcomes):
    bunch = load_nhanes_outcomes(outcomes="obesity")
    assert bunch.target_names == ["obesity"]
    pd.testing.assert_series_equal(bunch.target["obesity"], outcomes.target["obesity"])


def test_measurements_follow_the_outcomes_as_continuous_targets(nhanes):
    bunch = load_nhanes_outcomes(outcomes=["diabetes"], measurements=True)
    assert bunch.outcome_names == ["diabetes"]
    assert bunch.target_names == ["diabetes", *TARGETS]
    pd.testing.assert_frame_equal(bunch.target[TARGETS], nhanes.target)
    assert bunch.feature_names == FEATURES


def test_measurements_with_depression_move_phq9_to_the_targets(nhanes):
    bunch = load_nhanes_outcomes(outcomes=["depression"], measurements=True)
    assert bunch.target_names == ["depression", *TARGETS, "phq9"]
    pd.testing.assert_series_equal(bunch.target["phq9"], nhanes.data["phq9"])
    assert "phq9" not in bunch.feature_names


def test_outcomes_definitions_state_cut_off_and_source(outcomes):
    phrases = {
        "hypertension": ["systolic_bp >= 130", "diastolic_bp >= 80", "ACC/AHA 2017"],
        "diabetes": ["hba1c >= 6.5", "American Diabetes Association"],
        "obesity": ["bmi >= 30", "WHO"],
        "depression": ["phq9 >= 10", "Kroenke", "phq9 leaves the features"],
        "high_cholesterol": ["total_cholesterol >= 240", "NCEP ATP III"],
        "low_hdl": ["hdl_cholesterol < 40", "NCEP ATP III"],
    }
    for name, expected in phrases.items():
        assert all(phrase in outcomes.definitions[name] for phrase in expected), name


@pytest.mark.parametrize("name", ["hypertension", "diabetes", "high_cholesterol"])
def test_outcomes_definitions_say_medication_is_not_in_the_data(outcomes, name):
    assert "medication is not in the data" in outcomes.definitions[name]


def test_outcomes_as_frame_false_gives_float_arrays(outcomes):
    bunch = load_nhanes_outcomes(as_frame=False)
    assert bunch.data.shape == (N_ROWS, 20)
    assert bunch.target.shape == (N_ROWS, 6)
    assert bunch.data.dtype == bunch.target.dtype == np.float64
    assert bunch.frame is None
    assert bunch.categories == CATEGORIES
    np.testing.assert_array_equal(bunch.target, outcomes.target.to_numpy())
    np.testing.assert_array_equal(bunch.data, load_nhanes(as_frame=False).data[:, :20])


def test_outcomes_frame_is_data_then_target(outcomes):
    assert list(outcomes.frame.columns) == outcomes.feature_names + OUTCOMES
    assert outcomes.categories is None


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (
            ["diabetes", "diabtes"],
            "Unknown outcome 'diabtes' in outcomes; the outcomes are 'hypertension', "
            "'diabetes', 'obesity', 'depression', 'high_cholesterol', 'low_hdl'.",
        ),
        ("bmi", "Unknown outcome 'bmi' in outcomes; the outcomes are 'hypertension'"),
        ([], "outcomes is empty; name at least one of 'hypertension', "),
        (
            ["obesity", "obesity"],
            "outcomes names 'obesity' more than once; name each outcome once.",
        ),
    ],
)
def test_outcomes_reject_bad_names_with_the_valid_ones(names, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        load_nhanes_outcomes(outcomes=names)


def test_outcomes_reject_non_boolean_options():
    with pytest.raises(
        ValueError, match="'measurements' parameter of load_nhanes_outcomes"
    ):
        load_nhanes_outcomes(measurements="yes")


def test_outcomes_descr_documents_every_outcome_with_its_counts(outcomes):
    rows = re.findall(
        r"^(\w+)  .*  (\d+)  +(\d+)  (\d+\.\d)$", outcomes.DESCR, re.MULTILINE
    )
    documented = {
        name: (int(pos), int(known), float(share)) for name, pos, known, share in rows
    }
    measured = {
        name: (
            int(outcomes.target[name].sum()),
            int(outcomes.target[name].notna().sum()),
            round(100 * outcomes.target[name].mean(), 1),
        )
        for name in OUTCOMES
    }
    assert list(documented)[: len(OUTCOMES)] == OUTCOMES
    assert {name: documented[name] for name in OUTCOMES} == measured


@pytest.mark.parametrize(
    "phrase",
    [
        "No outcome is computed from a feature",
        "Medication and diagnoses are not in the data",
        "Survey weights are not applied",
        "Whelton",
        "American Diabetes Association",
        "World Health Organization",
        "Kroenke",
        "Adult Treatment Panel",
    ],
)
def test_outcomes_descr_states_caveats_and_sources(outcomes, phrase):
    assert phrase in outcomes.DESCR


def test_outcomes_descr_ends_with_the_data_set_card(outcomes, nhanes):
    assert outcomes.DESCR.endswith(nhanes.DESCR)


# ------------------------------------------------------- scripts/make_nhanes.py
@pytest.fixture(scope="module")
def make_nhanes():
    spec = importlib.util.spec_from_file_location(
        "make_nhanes", ROOT / "scripts" / "make_nhanes.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _raw_rows(make_nhanes, n_rows):
    """Rows shaped like the nhanes TSV: adults with every value present."""
    numeric = [
        *make_nhanes.NUMERIC.values(),
        *make_nhanes.PHQ9_ITEMS,
        make_nhanes.SMOKED_100,
        *make_nhanes.SYSTOLIC,
        *make_nhanes.DIASTOLIC,
    ]
    raw = pd.DataFrame(1.0, index=range(n_rows), columns=numeric)
    raw["SEQN"] = 100.0 + np.arange(n_rows)
    raw["AgeInYearsAtScreening"] = 40.0
    raw["Gender"] = "Female"
    raw["RacehispanicOriginWNhAsian"] = "Mexican American"
    raw["EducationLevelAdults20"] = "Some college or AA degree"
    raw[make_nhanes.SMOKES_NOW] = "Every day"
    return raw


def test_make_nhanes_keeps_adults_with_a_target(make_nhanes):
    raw = _raw_rows(make_nhanes, 3)
    raw.loc[1, "AgeInYearsAtScreening"] = 19
    lab_and_body = [make_nhanes.NUMERIC[name] for name in TARGETS[2:]]
    raw.loc[2, lab_and_body + make_nhanes.SYSTOLIC + make_nhanes.DIASTOLIC] = np.nan
    frame = make_nhanes.build(raw)
    assert frame.index.tolist() == [100]
    assert list(frame.columns) == FEATURES + TARGETS


def test_make_nhanes_cleans_codes_and_sas_zeros(make_nhanes):
    raw = _raw_rows(make_nhanes, 2)
    raw.loc[0, "MinutesSedentaryActivity"] = 9999
    raw.loc[1, "MinutesSedentaryActivity"] = 7777
    raw.loc[0, "AlcoholGm_DR1TOT"] = 5.397605346934028e-79
    raw.loc[0, "EducationLevelAdults20"] = "Don't Know"
    frame = make_nhanes.build(raw)
    assert frame["sedentary_minutes"].isna().all()
    assert frame.loc[100, "alcohol_g"] == 0
    assert pd.isna(frame.loc[100, "education"])


def test_make_nhanes_averages_blood_pressure_without_zero_diastolic(make_nhanes):
    raw = _raw_rows(make_nhanes, 1)
    raw.loc[0, make_nhanes.SYSTOLIC] = [110, 121, np.nan]
    raw.loc[0, make_nhanes.DIASTOLIC] = [5.397605346934028e-79, 70, 81]
    frame = make_nhanes.build(raw)
    assert frame.loc[100, "systolic_bp"] == 115.5
    assert frame.loc[100, "diastolic_bp"] == 75.5


def test_make_nhanes_sums_phq9_only_when_all_nine_items_are_answered(make_nhanes):
    raw = _raw_rows(make_nhanes, 2)
    raw.loc[1, make_nhanes.PHQ9_ITEMS[4]] = np.nan
    frame = make_nhanes.build(raw)
    assert frame["phq9"].tolist()[0] == 9
    assert np.isnan(frame["phq9"].tolist()[1])


def test_make_nhanes_derives_smoking_status(make_nhanes):
    raw = _raw_rows(make_nhanes, 4)
    raw[make_nhanes.SMOKED_100] = [0, 1, 1, 1]
    raw[make_nhanes.SMOKES_NOW] = [np.nan, "Not at all", "Some days", "Every day"]
    frame = make_nhanes.build(raw)
    assert frame["smoking_status"].tolist() == ["Never", "Former", "Current", "Current"]


def test_make_nhanes_rejects_unknown_category_labels(make_nhanes):
    raw = _raw_rows(make_nhanes, 1)
    raw["Gender"] = "F"
    with pytest.raises(ValueError, match=r"Unexpected sex labels: \['F'\]"):
        make_nhanes.build(raw)


# ------------------------------------------------------------- make_health_data
def test_make_health_data_shapes_and_dtype():
    X, Y = make_health_data(n_samples=50, n_features=7, n_tasks=3, random_state=0)
    assert X.shape == (50, 7)
    assert Y.shape == (50, 3)
    assert X.dtype == Y.dtype == np.float64


def test_make_health_data_single_task_is_still_two_dimensional():
    _, Y = make_health_data(n_samples=10, n_tasks=1, random_state=0)
    assert Y.shape == (10, 1)


def test_make_health_data_is_deterministic_under_random_state():
    first = make_health_data(missing_rate=0.2, random_state=3)
    second = make_health_data(missing_rate=0.2, random_state=3)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_make_health_data_differs_between_random_states():
    _, Y0 = make_health_data(random_state=0)
    _, Y1 = make_health_data(random_state=1)
    assert not np.allclose(Y0, Y1)


def test_make_health_data_has_no_missing_labels_by_default():
    X, Y = make_health_data(random_state=0)
    assert np.isfinite(X).all()
    assert np.isfinite(Y).all()


def test_make_health_data_missing_rate_removes_that_share_of_each_task():
    X, Y = make_health_data(n_samples=1000, missing_rate=0.3, random_state=0)
    assert np.isnan(Y).sum(axis=0).tolist() == [300, 300, 300, 300]
    assert np.isfinite(X).all()


def test_make_health_data_missing_labels_differ_between_tasks():
    _, Y = make_health_data(n_samples=1000, missing_rate=0.3, random_state=0)
    missing = np.isnan(Y)
    assert not (missing[:, [0]] == missing).all()


def test_make_health_data_keeps_at_least_one_label_per_task():
    _, Y = make_health_data(n_samples=10, missing_rate=0.99, random_state=0)
    assert np.isnan(Y).sum(axis=0).tolist() == [9, 9, 9, 9]


def test_make_health_data_noise_and_missing_rate_leave_x_and_signal_unchanged():
    X0, Y0 = make_health_data(noise=0, random_state=0)
    X1, Y1 = make_health_data(noise=0.5, missing_rate=0.5, random_state=0)
    np.testing.assert_array_equal(X0, X1)
    observed = ~np.isnan(Y1)
    assert np.abs(Y1 - Y0)[observed].max() > 0.5
    assert np.corrcoef(Y0[observed], Y1[observed])[0, 1] > 0.85


def _mean_task_correlation(task_relatedness):
    _, Y = make_health_data(
        n_samples=5000,
        n_tasks=10,
        task_relatedness=task_relatedness,
        noise=0,
        random_state=0,
    )
    corr = np.corrcoef(Y, rowvar=False)
    return corr[np.triu_indices_from(corr, k=1)].mean()


def test_make_health_data_task_relatedness_raises_task_correlation():
    unrelated, related, identical = map(_mean_task_correlation, [0, 0.5, 1])
    assert abs(unrelated) < 0.2
    assert unrelated < related < identical
    assert identical == pytest.approx(1)


def test_make_health_data_signal_has_unit_variance():
    _, Y = make_health_data(n_samples=20000, noise=0, random_state=0)
    np.testing.assert_allclose(Y.mean(axis=0), 0, atol=0.05)
    np.testing.assert_allclose(Y.std(axis=0), 1, atol=0.05)


def test_make_health_data_noise_is_the_per_task_std_relative_to_the_signal():
    noise = [0.0, 0.5, 1.0, 2.0]
    _, signal = make_health_data(n_samples=20000, noise=0, random_state=0)
    _, Y = make_health_data(n_samples=20000, noise=noise, random_state=0)
    np.testing.assert_allclose((Y - signal).std(axis=0), noise, rtol=0.05)


def test_make_health_data_float_noise_applies_to_every_task():
    _, Y_float = make_health_data(noise=0.3, random_state=0)
    _, Y_list = make_health_data(noise=[0.3] * 4, random_state=0)
    np.testing.assert_array_equal(Y_float, Y_list)


@pytest.mark.parametrize("nonlinearity", [0.0, 0.5, 1.0])
def test_make_health_data_nonlinearity_is_the_share_no_linear_model_explains(
    nonlinearity,
):
    X, Y = make_health_data(
        n_samples=20000, nonlinearity=nonlinearity, noise=0, random_state=0
    )
    r2 = r2_score(Y, LinearRegression().fit(X, Y).predict(X), multioutput="raw_values")
    np.testing.assert_allclose(r2, 1 - nonlinearity, atol=0.05)


def test_make_health_data_default_latent_dimension_fits_few_features():
    X, _ = make_health_data(n_samples=20, n_features=2, random_state=0)
    assert X.shape == (20, 2)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_samples": 0}, "'n_samples' parameter of make_health_data.*Got 0"),
        ({"n_features": 0}, "'n_features' parameter .*Got 0"),
        ({"n_tasks": 0}, "'n_tasks' parameter .*Got 0"),
        ({"n_latent": 0}, "'n_latent' parameter .*Got 0"),
        (
            {"task_relatedness": 1.5},
            r"'task_relatedness' parameter .*\[0.0, 1.0\]. Got 1.5",
        ),
        ({"nonlinearity": -0.1}, r"'nonlinearity' parameter .*\[0.0, 1.0\]. Got -0.1"),
        ({"missing_rate": 1.0}, r"'missing_rate' parameter .*\[0.0, 1.0\). Got 1.0"),
        ({"noise": -1.0}, "'noise' parameter .*Got -1.0"),
        ({"noise": [0.1, 0.2]}, r"length n_tasks=4; got an array of shape \(2,\)"),
        (
            {"noise": [0.1, -0.1, 0.1, 0.1]},
            r"non-negative; got \[0.1, -0.1, 0.1, 0.1\]",
        ),
        ({"noise": [0.1, np.nan, 0.1, 0.1]}, "finite and non-negative"),
        ({"n_latent": 21}, "n_latent must be at most n_features=20; got 21"),
    ],
)
def test_make_health_data_rejects_invalid_arguments(params, message):
    with pytest.raises(ValueError, match=message):
        make_health_data(**params)


def test_make_health_data_coef_is_each_tasks_linear_part():
    X, Y, coef = make_health_data(
        n_samples=300, n_features=8, n_tasks=3, nonlinearity=0, noise=0,
        coef=True, random_state=0,
    )  # fmt: skip
    assert coef.shape == (8, 3)
    np.testing.assert_allclose(Y, X @ coef, atol=1e-12)


def test_make_health_data_coef_changes_no_draw():
    X, Y, _ = make_health_data(n_samples=50, coef=True, random_state=3)
    X_plain, Y_plain = make_health_data(n_samples=50, random_state=3)
    np.testing.assert_array_equal(X, X_plain)
    np.testing.assert_array_equal(Y, Y_plain)


# ------------------------------------------------- make_health_data: binary tasks
def test_make_health_data_binary_tasks_are_the_last_labelled_zero_or_one():
    _, Y = make_health_data(n_samples=200, n_tasks=4, n_binary_tasks=2, random_state=0)
    assert Y.dtype == np.float64
    assert set(np.unique(Y[:, 2:])) == {0.0, 1.0}
    assert len(np.unique(Y[:, :2])) == 400  # still continuous


def test_make_health_data_binary_tasks_leave_x_and_the_continuous_tasks_unchanged():
    X, Y = make_health_data(missing_rate=0.2, random_state=0)
    X_binary, Y_binary = make_health_data(
        missing_rate=0.2, n_binary_tasks=3, prevalence=0.2, random_state=0
    )
    np.testing.assert_array_equal(X_binary, X)
    np.testing.assert_array_equal(Y_binary[:, 0], Y[:, 0])
    np.testing.assert_array_equal(np.isnan(Y_binary), np.isnan(Y))


def test_make_health_data_all_tasks_can_be_binary():
    _, Y = make_health_data(n_samples=100, n_tasks=3, n_binary_tasks=3, random_state=0)
    assert set(np.unique(Y)) == {0.0, 1.0}


def test_make_health_data_binary_share_of_positives_is_the_prevalence():
    # The threshold makes the mean probability over the samples exactly the
    # prevalence, so the share of positives departs from it only by the
    # Bernoulli draws: a standard deviation of sqrt(p (1 - p) / n) at most,
    # 0.0032 for p = 0.3 and n = 20000. 0.01 is over three of them.
    _, Y = make_health_data(
        n_samples=20000, n_tasks=4, n_binary_tasks=3, prevalence=[0.05, 0.3, 0.8],
        noise=1.0, random_state=0,
    )  # fmt: skip
    np.testing.assert_allclose(Y[:, 1:].mean(axis=0), [0.05, 0.3, 0.8], atol=0.01)


def test_make_health_data_float_prevalence_applies_to_every_binary_task():
    _, Y_float = make_health_data(n_binary_tasks=2, prevalence=0.2, random_state=0)
    _, Y_list = make_health_data(
        n_binary_tasks=2, prevalence=[0.2, 0.2], random_state=0
    )
    np.testing.assert_array_equal(Y_float, Y_list)


def test_make_health_data_missing_rate_applies_to_binary_tasks():
    _, Y = make_health_data(
        n_samples=1000, n_binary_tasks=2, missing_rate=0.3, random_state=0
    )
    assert np.isnan(Y).sum(axis=0).tolist() == [300, 300, 300, 300]
    assert set(np.unique(Y[:, 2:][~np.isnan(Y[:, 2:])])) == {0.0, 1.0}


def test_make_health_data_binary_tasks_are_deterministic_under_random_state():
    params = {"n_binary_tasks": 2, "prevalence": 0.3, "missing_rate": 0.1}
    _, first = make_health_data(**params, random_state=5)
    _, second = make_health_data(**params, random_state=5)
    _, other = make_health_data(**params, random_state=6)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other, equal_nan=True)


def test_make_health_data_noiseless_binary_task_thresholds_its_signal():
    _, signal = make_health_data(n_samples=1000, noise=0, random_state=0)
    _, Y = make_health_data(
        n_samples=1000, noise=0, n_binary_tasks=1, prevalence=0.25, random_state=0
    )
    np.testing.assert_array_equal(
        Y[:, 3], signal[:, 3] > np.quantile(signal[:, 3], 0.75)
    )
    assert Y[:, 3].sum() == 250


def test_make_health_data_binary_noise_blurs_the_labels():
    _, signal = make_health_data(n_samples=2000, noise=0, random_state=0)
    agreement = []
    for noise in [0.1, 1.0, 3.0]:
        _, Y = make_health_data(
            n_samples=2000, noise=noise, n_binary_tasks=1, random_state=0
        )
        agreement.append(np.mean(Y[:, 3] == (signal[:, 3] > np.median(signal[:, 3]))))
    assert agreement[0] > 0.95
    assert agreement[0] > agreement[1] > agreement[2] > 0.5


def test_make_health_data_binary_coef_gives_the_log_odds_with_the_noise_scale():
    # With nonlinearity=0 the log-odds of a binary task are
    # (X @ coef - c) / s with s = noise * sqrt(3) / pi, so an unpenalised
    # logistic regression estimates coef / s. Its standard errors are 0.02 to
    # 0.04 at n = 20000; without the sqrt(3) / pi the targets would be 1.8
    # times smaller.
    noise = 0.5
    X, Y, coef = make_health_data(
        n_samples=20000, n_features=4, n_tasks=2, n_binary_tasks=2,
        nonlinearity=0, noise=noise, coef=True, random_state=0,
    )  # fmt: skip
    scale = noise * np.sqrt(3) / np.pi
    for task in range(2):
        fitted = LogisticRegression(C=np.inf).fit(X, Y[:, task]).coef_[0]
        np.testing.assert_allclose(fitted, coef[:, task] / scale, atol=0.15)


def test_make_health_data_binary_coef_is_that_of_the_continuous_task():
    *_, coef = make_health_data(n_samples=50, coef=True, random_state=3)
    *_, coef_binary = make_health_data(
        n_samples=50, n_binary_tasks=2, coef=True, random_state=3
    )
    np.testing.assert_array_equal(coef_binary, coef)


def test_make_health_data_one_sample_binary_task_follows_its_prevalence():
    _, rare = make_health_data(
        n_samples=1, n_binary_tasks=4, prevalence=1e-9, random_state=0
    )
    _, common = make_health_data(
        n_samples=1, n_binary_tasks=4, prevalence=1 - 1e-9, random_state=0
    )
    assert rare.tolist() == [[0.0] * 4]
    assert common.tolist() == [[1.0] * 4]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_binary_tasks": -1}, "'n_binary_tasks' parameter .*Got -1"),
        ({"n_binary_tasks": 5}, "n_binary_tasks must be at most n_tasks=4; got 5"),
        ({"n_binary_tasks": 1, "prevalence": 0.0}, r"'prevalence' parameter .*Got 0.0"),
        ({"n_binary_tasks": 1, "prevalence": 1}, r"'prevalence' parameter .*Got 1"),
        (
            {"n_binary_tasks": 2, "prevalence": [0.1, 1.0]},
            r"prevalence must be finite and strictly between 0 and 1; got \[0.1, 1.0\]",
        ),
        (
            {"n_binary_tasks": 2, "prevalence": [0.1, np.nan]},
            "prevalence must be finite and strictly between 0 and 1",
        ),
        (
            {"n_binary_tasks": 2, "prevalence": [0.1, 0.2, 0.3]},
            r"length n_binary_tasks=2; got an array of shape \(3,\)",
        ),
        (
            {"prevalence": [0.1]},
            r"length n_binary_tasks=0; got an array of shape \(1,\)",
        ),
    ],
)
def test_make_health_data_rejects_invalid_binary_arguments(params, message):
    with pytest.raises(ValueError, match=message):
        make_health_data(**params)
