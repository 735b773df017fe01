"""
Seven clinical measures from lifestyle data (NHANES 2017-2018)
==============================================================

Fit :class:`~skhealth.MultiTaskHealthRegressor` in a pipeline on the NHANES
data set that ships with skhealth: diet, activity, sleep, smoking, mood and
demographics predicting blood pressure, cholesterol, HbA1c, waist and BMI.
Missing labels (people who skipped a lab test) stay ``NaN`` and are left out of
the loss. Held-out R² per task is compared with three baselines on the same
test rows: a Ridge regression and a gradient-boosting model per task (each
trained on its task's observed rows), and scikit-learn's MLPRegressor, which
cannot take missing targets, so it trains on the rows where all are observed.
Every model gets the preprocessing of ``skhealth fit``,
:func:`~skhealth.preprocessing.make_default_preprocessor`: numeric features
median-imputed and standardised, the others one-hot encoded.
"""

import numpy as np
import pandas as pd
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes
from skhealth.metrics import task_scores
from skhealth.preprocessing import make_default_preprocessor

X, Y = load_nhanes(return_X_y=True)
X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=0.25, random_state=0
)


model = make_pipeline(
    make_default_preprocessor(X), MultiTaskHealthRegressor(random_state=0)
)
model.fit(X_train, Y_train)
scores = {"skhealth": task_scores(Y_test, model.predict(X_test))}


def per_task(regressor):
    """One copy of ``regressor`` per target, trained on its observed rows."""
    return np.column_stack(
        [
            make_pipeline(make_default_preprocessor(X), regressor)
            .fit(X_train[Y_train[task].notna()], Y_train[task].dropna())
            .predict(X_test)
            for task in Y.columns
        ]
    )


scores["Ridge"] = task_scores(Y_test, per_task(RidgeCV()))
scores["HGB"] = task_scores(
    Y_test, per_task(HistGradientBoostingRegressor(random_state=0))
)
complete = Y_train.notna().all(axis=1)
mlp = make_pipeline(
    make_default_preprocessor(X),
    TransformedTargetRegressor(
        MLPRegressor(early_stopping=True, max_iter=500, random_state=0),
        transformer=StandardScaler(),
    ),
)
mlp.fit(X_train[complete], Y_train[complete])
scores["MLP"] = task_scores(Y_test, mlp.predict(X_test))

print(f"NHANES 2017-2018: {len(X_train)} training rows, {len(X_test)} test rows")
print(
    f"skhealth trained {model[-1].n_iter_} epochs; MLPRegressor had the "
    f"{complete.sum()} training rows with every target observed\n"
)
table = pd.DataFrame({name: s["r2"] for name, s in scores.items()})
table["observed"] = scores["skhealth"]["n_observed"]
print("held-out R² per task")
print(table.round(3).to_string())
print("\nmean R²: " + ", ".join(f"{k} {s['r2'].mean():.3f}" for k, s in scores.items()))
