"""Loader for the NHANES 2017-2018 adult health data set shipped with skhealth."""

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
    data_path = resources.files(DATA_MODULE) / NHANES_FILENAME
    with data_path.open("rb") as stream:
        frame = pd.read_csv(
            stream, compression="gzip", index_col="SEQN", dtype=_nhanes_dtypes()
        )
    frame = frame[FEATURE_NAMES + TARGET_NAMES]
    descr = (resources.files(DESCR_MODULE) / "nhanes.rst").read_text(encoding="utf-8")

    data = frame[FEATURE_NAMES]
    target = frame[TARGET_NAMES]
    categories = None
    if not as_frame:
        codes = {
            name: data[name].cat.codes.astype(np.float64).mask(data[name].isna())
            for name in CATEGORIES
        }
        data = data.assign(**codes).to_numpy(dtype=np.float64)
        target = target.to_numpy(dtype=np.float64)
        categories = {name: list(labels) for name, labels in CATEGORIES.items()}
        frame = None

    if return_X_y:
        return data, target

    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=list(FEATURE_NAMES),
        target_names=list(TARGET_NAMES),
        categories=categories,
        DESCR=descr,
    )
