"""
Quick start: several health measures from one network
=======================================================

Four health measures driven by one shared, partly nonlinear latent state
(:func:`skhealth.datasets.make_health_data`), with 30 % of each measure's
labels missing, as when people skip a test. :class:`~skhealth.MultiTaskHealthRegressor`
trains on every row, its missing labels left out of the loss; the baselines
are :class:`~sklearn.linear_model.RidgeCV` per measure, on that measure's
labelled rows, and one :class:`~sklearn.neural_network.MLPRegressor` with
standardised targets, on the rows with every label (it cannot take ``NaN``).
All are scored on the same held-out labels.
"""

import warnings

import numpy as np
import pandas as pd
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import make_health_data
from skhealth.metrics import task_scores

warnings.simplefilter("ignore", ConvergenceWarning)
X, Y = make_health_data(
    n_samples=1500,
    n_features=20,
    n_tasks=4,
    noise=0.5,
    missing_rate=0.3,
    random_state=0,
)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, random_state=0)

skhealth = MultiTaskHealthRegressor(random_state=0).fit(X_train, Y_train)

ridge = np.column_stack(
    [
        RidgeCV().fit(X_train[~np.isnan(y)], y[~np.isnan(y)]).predict(X_test)
        for y in Y_train.T
    ]
)

complete = ~np.isnan(Y_train).any(axis=1)
mlp = TransformedTargetRegressor(
    MLPRegressor(hidden_layer_sizes=(64, 64), early_stopping=True, random_state=0),
    transformer=StandardScaler(),
).fit(X_train[complete], Y_train[complete])

print(f"{len(X_train)} training rows, {complete.sum()} with every label\n")
r2 = pd.DataFrame(
    {
        "skhealth": skhealth.score_tasks(X_test, Y_test)["r2"],
        "Ridge per task": task_scores(Y_test, ridge)["r2"],
        "MLPRegressor": task_scores(Y_test, mlp.predict(X_test))["r2"],
    }
)
print("held-out R² per task")
print(r2.round(3).to_string())
print("\nmean R²: " + ", ".join(f"{k} {v:.3f}" for k, v in r2.mean().items()))
