"""Loaders for the NHANES 2017-2018 adult health data set shipped with skhealth:
its continuous measurements, and binary outcomes computed from them."""

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from .._sklearn import validate_params

DATA_MODULE = "skhealth.datasets.data"
DESCR_MODULE = "skhealth.datasets.descr"
NHANES_FILENAME = "nhanes_2017_2018.csv.gz"

FEATURE_NAMES = [
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

TARGET_NAMES = [
    "systolic_bp",
    "diastolic_bp",
    "total_cholesterol",
    "hdl_cholesterol",
    "hba1c",
    "waist_circumference",
    "bmi",
]

# Each target's range in adults, in its unit, wide enough for the extremes
# that clinical references and NHANES' own edit limits allow; not computed
# from these data, so that a private fit may standardise by it.
TARGET_RANGES = {
    "systolic_bp": (60.0, 260.0),  # mmHg
    "diastolic_bp": (20.0, 150.0),  # mmHg
    "total_cholesterol": (70.0, 500.0),  # mg/dL
    "hdl_cholesterol": (10.0, 200.0),  # mg/dL
    "hba1c": (3.5, 17.0),  # %
    "waist_circumference": (50.0, 190.0),  # cm
    "bmi": (12.0, 90.0),  # kg/m²
}

# Category order is part of the API: ``as_frame=False`` returns these positions.
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
ORDERED_CATEGORIES = {"education"}


def _nhanes_dtypes():
    dtypes = {name: "float64" for name in FEATURE_NAMES + TARGET_NAMES}
    for name, categories in CATEGORIES.items():
        dtypes[name] = pd.CategoricalDtype(
            categories, ordered=name in ORDERED_CATEGORIES
        )
    return dtypes


def _read_frame():
    """The shipped table: features then targets, indexed by ``SEQN``."""
    data_path = resources.files(DATA_MODULE) / NHANES_FILENAME
    with data_path.open("rb") as stream:
        frame = pd.read_csv(
            stream, compression="gzip", index_col="SEQN", dtype=_nhanes_dtypes()
        )
    return frame[FEATURE_NAMES + TARGET_NAMES]


def _read_descr(filename):
    return (resources.files(DESCR_MODULE) / filename).read_text(encoding="utf-8")


def _as_arrays(data):
    """Features as a float64 array, each category replaced by its code."""
    codes = {
        name: data[name].cat.codes.astype(np.float64).mask(data[name].isna())
        for name in CATEGORIES
        if name in data
    }
    return data.assign(**codes).to_numpy(dtype=np.float64)


def _loaded(data, target, *, as_frame, return_X_y, **attributes):
    """``(data, target)``, or a Bunch of them, their frame and ``attributes``;
    as frames or, if not ``as_frame``, as float arrays with category codes."""
    frame, categories = pd.concat([data, target], axis=1), None
    if not as_frame:
        data, target = _as_arrays(data), target.to_numpy(dtype=np.float64)
        frame = None
        categories = {name: list(labels) for name, labels in CATEGORIES.items()}
    if return_X_y:
        return data, target
    return Bunch(
        data=data, target=target, frame=frame, categories=categories, **attributes
    )


@validate_params(
    {"return_X_y": ["boolean"], "as_frame": ["boolean"]},
    prefer_skip_nested_validation=True,
)
def load_nhanes(*, return_X_y=False, as_frame=True):
    """Load the NHANES 2017-2018 adult health data set (multi-target regression).

    ==============   ==============================================
    Samples total    5263 adults aged 20 or over
    Features         21: 17 numeric, 4 categorical
    Targets          7 clinical measurements, with missing values
    Licence          public domain (US CDC / NCHS)
    ==============   ==============================================

    Diet, physical activity, sedentary time, sleep, smoking, depressive symptoms
    (PHQ-9) and demographics of the adults interviewed in the US National Health
    and Nutrition Examination Survey 2017-2018, with seven measurements from its
    examination and laboratory: blood pressure, total and HDL cholesterol,
    HbA1c, waist circumference and BMI. A target is ``NaN`` where that person
    was not measured; every person has at least one target measured. The data
    ship with skhealth, so no download is needed.

    NHANES survey weights are not applied: the rows describe the people sampled,
    not the US population. See ``DESCR`` for each column's meaning, unit,
    source variable and missingness.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, returns ``(data, target)`` instead of a Bunch object.

    as_frame : bool, default=True
        If True, ``data`` and ``target`` are pandas DataFrames and the four
        categorical features (``sex``, ``race_ethnicity``, ``education``,
        ``smoking_status``) have a :class:`pandas.CategoricalDtype` with
        readable labels. The default is True, unlike most scikit-learn loaders,
        so that the categories keep their meaning.

        If False, ``data`` and ``target`` are float64 ndarrays; each
        categorical feature holds its integer category code as a float, with
        ``NaN`` where the value is missing. ``categories`` maps those codes
        back to labels.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : {DataFrame, ndarray} of shape (5263, 21)
            The features, indexed by the NHANES respondent number ``SEQN``
            when ``as_frame=True``.
        target : {DataFrame, ndarray} of shape (5263, 7)
            The clinical measurements; ``NaN`` means not measured.
        frame : DataFrame of shape (5263, 28) or None
            ``data`` and ``target`` side by side; None if ``as_frame=False``.
        feature_names : list of str
            The names of the feature columns.
        target_names : list of str
            The names of the target columns.
        target_ranges : dict
            Each target's plausible range ``(low, high)`` in adults, in its
            unit, set from clinical knowledge rather than these data: what a
            private fit standardises by (:class:`skhealth.privacy.DP`'s
            ``target_bounds``).
        categories : dict or None
            Maps each categorical feature to its list of labels, the label coded
            as ``i`` being at position ``i``; None if ``as_frame=True``.
        DESCR : str
            The full description of the data set.

    (data, target) : tuple if ``return_X_y`` is True
        ``data`` and ``target`` as described above.

    Examples
    --------
    >>> from skhealth.datasets import load_nhanes
    >>> nhanes = load_nhanes()
    >>> nhanes.data.shape, nhanes.target.shape
    ((5263, 21), (5263, 7))
    >>> nhanes.target_names
    ['systolic_bp', 'diastolic_bp', 'total_cholesterol', 'hdl_cholesterol', 'hba1c',
     'waist_circumference', 'bmi']
    >>> nhanes.data["sex"].cat.categories.tolist()
    ['Male', 'Female']
    >>> X, Y = load_nhanes(return_X_y=True, as_frame=False)
    >>> X.dtype, Y.dtype
    (dtype('float64'), dtype('float64'))
    """
    frame = _read_frame()
    return _loaded(
        frame[FEATURE_NAMES],
        frame[TARGET_NAMES],
        as_frame=as_frame,
        return_X_y=return_X_y,
        feature_names=list(FEATURE_NAMES),
        target_names=list(TARGET_NAMES),
        target_ranges=dict(TARGET_RANGES),
        DESCR=_read_descr("nhanes.rst"),
    )


def _at_or_above(values, cut):
    """1.0 where ``values >= cut``, 0.0 where under, NaN where missing."""
    return (values >= cut).astype(np.float64).mask(values.isna())


def _under(values, cut):
    """1.0 where ``values < cut``, 0.0 where not, NaN where missing."""
    return (values < cut).astype(np.float64).mask(values.isna())


def _either(first, second):
    """1.0 where either is 1.0, 0.0 where both are 0.0, NaN where unknown."""
    positive = (first == 1) | (second == 1)
    known = positive | ((first == 0) & (second == 0))
    return positive.astype(np.float64).where(known)


@dataclass(frozen=True)
class _Outcome:
    """A binary outcome: the columns it reads, its rule and its definition."""

    columns: tuple
    rule: Callable
    definition: str


OUTCOMES = {
    "hypertension": _Outcome(
        ("systolic_bp", "diastolic_bp"),
        lambda frame: _either(
            _at_or_above(frame["systolic_bp"], 130),
            _at_or_above(frame["diastolic_bp"], 80),
        ),
        "systolic_bp >= 130 or diastolic_bp >= 80 mmHg: stage 1 hypertension or "
        "higher (ACC/AHA 2017 guideline), from one visit's readings; positive if "
        "either is measured over its cut, negative if both are measured and under. "
        "Blood-pressure medication is not in the data: a person whose treatment "
        "keeps the pressure under the cuts counts as negative.",
    ),
    "diabetes": _Outcome(
        ("hba1c",),
        lambda frame: _at_or_above(frame["hba1c"], 6.5),
        "hba1c >= 6.5 %: the HbA1c criterion for diabetes (American Diabetes "
        "Association), from one test. Glucose-lowering medication is not in the "
        "data, nor are diagnoses: a person whose treatment keeps HbA1c under "
        "6.5 % counts as negative.",
    ),
    "obesity": _Outcome(
        ("bmi",),
        lambda frame: _at_or_above(frame["bmi"], 30),
        "bmi >= 30 kg/m²: obesity (WHO).",
    ),
    "depression": _Outcome(
        ("phq9",),
        lambda frame: _at_or_above(frame["phq9"], 10),
        "phq9 >= 10: moderate or more severe depressive symptoms (Kroenke et al. "
        "2001), a screening result, not a diagnosis. phq9 leaves the features.",
    ),
    "high_cholesterol": _Outcome(
        ("total_cholesterol",),
        lambda frame: _at_or_above(frame["total_cholesterol"], 240),
        "total_cholesterol >= 240 mg/dL: high (NCEP ATP III). Lipid-lowering "
        "medication is not in the data: a person whose treatment keeps it under "
        "240 mg/dL counts as negative.",
    ),
    "low_hdl": _Outcome(
        ("hdl_cholesterol",),
        lambda frame: _under(frame["hdl_cholesterol"], 40),
        "hdl_cholesterol < 40 mg/dL: low, a major risk factor (NCEP ATP III), for "
        "both sexes. The metabolic-syndrome cut of 50 mg/dL for women is not used, "
        "as it would read sex, a feature.",
    ),
}


def _check_outcomes(outcomes):
    """The names asked for, as a list, or a ValueError naming the valid ones."""
    if outcomes is None:
        return list(OUTCOMES)
    names = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    valid = ", ".join(repr(name) for name in OUTCOMES)
    unknown = [name for name in names if name not in OUTCOMES]
    if unknown:
        raise ValueError(
            f"Unknown outcome {unknown[0]!r} in outcomes; the outcomes are {valid}."
        )
    if not names:
        raise ValueError(
            f"outcomes is empty; name at least one of {valid}, or pass None for all."
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(
            f"outcomes names {repeated[0]!r} more than once; name each outcome once."
        )
    return names


@validate_params(
    {
        "outcomes": [str, "array-like", None],
        "measurements": ["boolean"],
        "return_X_y": ["boolean"],
        "as_frame": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def load_nhanes_outcomes(
    *, outcomes=None, measurements=False, return_X_y=False, as_frame=True
):
    """Load the NHANES 2017-2018 adults with binary health outcomes.

    ==============   ==============================================
    Samples total    5263 adults aged 20 or over
    Features         20 or 21: those of :func:`load_nhanes` less
                     any an outcome is computed from
    Targets          up to 6 binary outcomes, with missing values;
                     with ``measurements=True`` also 7 or 8
                     continuous measurements
    Licence          public domain (US CDC / NCHS)
    ==============   ==============================================

    The people and features of :func:`load_nhanes`, with binary outcomes
    computed from their measurements by standard clinical cut-offs:

    ==================  ==========================================  ===========
    outcome             definition                                  positive
    ==================  ==========================================  ===========
    hypertension        systolic >= 130 or diastolic >= 80 mmHg     46.4 %
                        (ACC/AHA 2017)
    diabetes            HbA1c >= 6.5 % (ADA)                        14.8 %
    obesity             BMI >= 30 kg/m² (WHO)                       42.0 %
    depression          PHQ-9 >= 10 (Kroenke et al. 2001)           9.1 %
    high_cholesterol    total cholesterol >= 240 mg/dL (ATP III)    10.5 %
    low_hdl             HDL cholesterol < 40 mg/dL (ATP III)        17.1 %
    ==================  ==========================================  ===========

    The last column is the share of positives among the people whose outcome
    is known, without survey weights. An outcome is 1.0 or 0.0, and ``NaN``
    where the measurement it reads is missing, so the targets feed a
    multi-task classifier directly. Medication and diagnoses are not in the
    data, so a person whose treatment brings a measurement under its cut-off
    counts as negative: hypertension, diabetes and high cholesterol are
    undercounted. ``definitions`` and ``DESCR`` say more.

    No outcome is computed from a column that stays among the features: the
    depression outcome is computed from the PHQ-9 score, so ``phq9`` leaves
    the features whenever it is returned (see ``dropped_features``). The
    continuous measurements are targets, never features.

    Parameters
    ----------
    outcomes : str or list of str, default=None
        The outcomes to return, in this order: any of ``"hypertension"``,
        ``"diabetes"``, ``"obesity"``, ``"depression"``,
        ``"high_cholesterol"`` and ``"low_hdl"``. None returns all six in that
        order.

    measurements : bool, default=False
        If True, the targets also hold, after the outcomes, the continuous
        measurements: the seven targets of :func:`load_nhanes`, then every
        feature an outcome is computed from (``phq9`` when the depression
        outcome is returned), for training binary and continuous tasks
        together.

    return_X_y : bool, default=False
        If True, returns ``(data, target)`` instead of a Bunch object.

    as_frame : bool, default=True
        If True, ``data`` and ``target`` are pandas DataFrames, the categorical
        features with a :class:`pandas.CategoricalDtype`, as in
        :func:`load_nhanes`. If False, they are float64 ndarrays, each
        categorical feature holding its integer category code and
        ``categories`` mapping the codes back to labels.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : {DataFrame, ndarray} of shape (5263, n_features)
            The features, indexed by the NHANES respondent number ``SEQN``
            when ``as_frame=True``.
        target : {DataFrame, ndarray} of shape (5263, n_targets)
            The outcomes as float64: 1.0 positive, 0.0 negative, ``NaN``
            unknown; then the measurements if ``measurements=True``, ``NaN``
            where not measured.
        frame : DataFrame or None
            ``data`` and ``target`` side by side; None if ``as_frame=False``.
        feature_names : list of str
            The names of the feature columns.
        target_names : list of str
            The names of the target columns: the outcomes, then the
            measurements.
        outcome_names : list of str
            The names of the binary targets, the first ``len(outcome_names)``.
        definitions : dict of str to str
            Each returned outcome's definition: the rule, its source and what
            the data lack to apply it fully.
        dropped_features : dict of str to list of str
            The features left out because an outcome is computed from them,
            by outcome: ``{"depression": ["phq9"]}`` when it is returned, else
            empty.
        categories : dict or None
            Maps each categorical feature to its list of labels, the label
            coded as ``i`` being at position ``i``; None if ``as_frame=True``.
        DESCR : str
            The full description of the outcomes and of the data set.

    (data, target) : tuple if ``return_X_y`` is True
        ``data`` and ``target`` as described above.

    See Also
    --------
    load_nhanes : The same people with the continuous measurements as targets.

    Examples
    --------
    >>> from skhealth.datasets import load_nhanes_outcomes
    >>> nhanes = load_nhanes_outcomes()
    >>> nhanes.target_names
    ['hypertension', 'diabetes', 'obesity', 'depression', 'high_cholesterol',
     'low_hdl']
    >>> nhanes.target.mean().round(3).tolist()  # share positive among the known
    [0.464, 0.148, 0.42, 0.091, 0.105, 0.171]
    >>> nhanes.dropped_features
    {'depression': ['phq9']}
    >>> "phq9" in nhanes.feature_names
    False

    Two outcomes with the continuous measurements, as targets of one model:

    >>> X, Y = load_nhanes_outcomes(
    ...     outcomes=["diabetes", "obesity"], measurements=True, return_X_y=True
    ... )
    >>> X.shape, Y.shape
    ((5263, 21), (5263, 9))
    >>> list(Y.columns[:4])
    ['diabetes', 'obesity', 'systolic_bp', 'diastolic_bp']
    """
    names = _check_outcomes(outcomes)
    frame = _read_frame()
    dropped = {
        name: [column for column in OUTCOMES[name].columns if column in FEATURE_NAMES]
        for name in names
    }
    dropped = {name: columns for name, columns in dropped.items() if columns}
    moved = [column for columns in dropped.values() for column in columns]
    feature_names = [name for name in FEATURE_NAMES if name not in moved]
    measurement_names = TARGET_NAMES + moved if measurements else []

    target = pd.DataFrame(
        {name: OUTCOMES[name].rule(frame) for name in names}, index=frame.index
    )
    return _loaded(
        frame[feature_names],
        target.join(frame[measurement_names]),
        as_frame=as_frame,
        return_X_y=return_X_y,
        feature_names=feature_names,
        target_names=names + measurement_names,
        outcome_names=names,
        definitions={name: OUTCOMES[name].definition for name in names},
        dropped_features=dropped,
        DESCR=_read_descr("nhanes_outcomes.rst") + "\n" + _read_descr("nhanes.rst"),
    )
