"""
Seven clinical measures from lifestyle data (NHANES 2017-2018)
==============================================================

Fit :class:`~skhealth.MultiTaskHealthRegressor` in a pipeline on the NHANES
data set that ships with skhealth: diet, activity, sleep, smoking, mood and
demographics predicting blood pressure, cholesterol, HbA1c, waist and BMI.
Missing labels (people who skipped a lab test) stay ``NaN`` and are left out of
the loss. Held-out scores per task are compared with a Ridge regression fitted
per task on that task's observed rows.
"""

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes
from skhealth.metrics import task_scores

X, Y = load_nhanes(return_X_y=True)
X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=0.25, random_state=0
)


def preprocess():
    return ColumnTransformer(
        [
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                make_column_selector(dtype_include="category"),
            ),
            (
                "numeric",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                make_column_selector(dtype_exclude="category"),
            ),
        ]
    )


model = make_pipeline(
    preprocess(),
    MultiTaskHealthRegressor(
        hidden_layer_sizes=(64, 64), dropout=0.1, early_stopping=True, random_state=0
    ),
)
model.fit(X_train, Y_train)
skhealth_scores = task_scores(Y_test, model.predict(X_test))

# The per-task baseline: one Ridge per target, trained on its observed rows.
ridge_pred = np.column_stack(
    [
        make_pipeline(preprocess(), RidgeCV())
        .fit(X_train[Y_train[task].notna()], Y_train[task].dropna())
        .predict(X_test)
        for task in Y.columns
    ]
)
ridge_scores = task_scores(Y_test, ridge_pred)

print(f"NHANES 2017-2018: {len(X_train)} training rows, {len(X_test)} test rows")
print(f"skhealth trained {model[-1].n_iter_} epochs (early stopping)\n")
print(
    pd.DataFrame(
        {
            "skhealth R2": skhealth_scores["r2"],
            "Ridge R2": ridge_scores["r2"],
            "skhealth MAE": skhealth_scores["mae"],
            "observed": skhealth_scores["n_observed"],
        }
    )
    .round(3)
    .to_string()
)
print(
    f"\nmean R2: skhealth {skhealth_scores['r2'].mean():.3f}, "
    f"Ridge {ridge_scores['r2'].mean():.3f}"
)
