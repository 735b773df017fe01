"""
Binary health outcomes: one classifier for six of them
======================================================

Many health questions are yes or no: has this person hypertension, diabetes,
obesity, depression, high cholesterol, low HDL cholesterol?
:func:`~skhealth.datasets.load_nhanes_outcomes` computes these six outcomes
for the NHANES 2017-2018 adults by standard clinical cut-offs, ``NaN`` where
the measurement an outcome reads is missing.
:class:`~skhealth.MultiTaskHealthClassifier` predicts all six with one
network, leaving each unknown label out of its task's loss. Here it is
compared, on held-out people, with one logistic regression per outcome, each
fitted on the rows where its outcome is known.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skhealth import (
    MultiTaskHealthClassifier,
    MultiTaskHealthRegressor,
    predict_frame,
    score_tasks,
)
from skhealth.datasets import load_nhanes_outcomes
from skhealth.metrics import classification_task_scores
from skhealth.plot import TaskCalibrationDisplay, TaskROCDisplay
from skhealth.preprocessing import make_default_preprocessor

# few epochs keep the example quick: the networks stop before converging
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, Y = load_nhanes_outcomes(return_X_y=True)
print(f"{len(X)} adults, {X.shape[1]} features; share of positives:")
print(Y.mean().round(3).to_string())

X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=0.25, random_state=0
)
# two members and 25 epochs keep the example quick; the defaults (five
# members, up to 200 epochs) do a little better. Each member is validated on
# the rows it did not train on, whose predictions also set how much each
# outcome leans on logistic regressions fitted beside the network
# (``network_share_``).
clf = make_pipeline(
    make_default_preprocessor(X),
    MultiTaskHealthClassifier(n_members=2, max_iter=25, random_state=0),
).fit(X_train, Y_train)

# %%
# ``predict_proba`` gives, for a 2-D ``y``, one column per outcome: the
# probability of a 1 (``predict`` thresholds it at 0.5).
# :func:`~skhealth.score_tasks` scores each outcome on its known labels:
# ROC-AUC (how well the probabilities rank people), log-loss and Brier score
# (how close they are to the labels), the balanced accuracy of ``predict``
# and the number of labels scored. Rare outcomes (depression, 9 %) have a
# balanced accuracy near 0.5: their probabilities seldom pass 0.5, so
# ``predict`` says "no" for almost everyone, while their ranking, the ROC-AUC,
# is well above chance.
print(score_tasks(clf, X_test, Y_test).round(3))

# %%
# One logistic regression per outcome, on the same preprocessing, each
# trained on the rows whose outcome is known.
proba_logistic = np.empty(Y_test.shape)
for t, outcome in enumerate(Y.columns):
    known = Y_train[outcome].notna()
    logistic = make_pipeline(
        make_default_preprocessor(X), LogisticRegression(max_iter=1000)
    ).fit(X_train[known], Y_train.loc[known, outcome])
    proba_logistic[:, t] = logistic.predict_proba(X_test)[:, 1]
logistic_scores = classification_task_scores(
    Y_test, proba_logistic, target_names=Y.columns
)
print(logistic_scores[["roc_auc", "brier"]].round(3))

# %%
# :class:`~skhealth.plot.TaskROCDisplay` draws each outcome's ROC curve in a
# panel of its own, with its ROC-AUC in the legend; the logistic regressions
# are drawn into the same panels (``ax=roc.ax_``). Each panel rests on the
# people whose outcome is known. The network ranks people about as well as
# the logistic regressions for four outcomes, and better for obesity and high
# cholesterol, where it finds what a line misses (the logistic regression
# cannot tell high cholesterol from chance here).
roc = TaskROCDisplay.from_estimator(clf, X_test, Y_test, name="multi-task")
TaskROCDisplay.from_predictions(
    Y_test, proba_logistic, name="logistic per task", ax=roc.ax_
)
roc.figure_.suptitle("Held-out ROC curves of six NHANES outcomes")

# %%
# :class:`~skhealth.plot.TaskCalibrationDisplay` checks whether the
# probabilities mean what they say: of the people given about 30 %, do about
# 30 % have the outcome? Each panel puts the held-out people in bins of
# equal size by their predicted probability (``strategy="quantile"``, which
# suits rare outcomes) and draws each bin's share of positives. Trained on
# the log-loss without class weights, the classifier's probabilities follow
# the diagonal; the legend gives each outcome's expected calibration error
# (ECE). ``class_weight="balanced"`` would raise the rare outcomes'
# probabilities, and with them ``predict``'s balanced accuracy, at the cost
# of this calibration.
calibration = TaskCalibrationDisplay.from_estimator(
    clf, X_test, Y_test, n_bins=8, strategy="quantile", name="multi-task"
)
calibration.figure_.suptitle("Reliability of the predicted probabilities")

# %%
# Binary and continuous tasks in one network
# ------------------------------------------
# :class:`~skhealth.MultiTaskHealthRegressor` trains binary outcomes beside
# continuous measurements: ``loss="log_loss"`` for an outcome (labels 0/1,
# ``NaN`` unknown), ``"squared_error"`` for a measurement.
# ``measurements=True`` adds the measurements as further targets, never as
# features.
nhanes = load_nhanes_outcomes(outcomes=["hypertension", "diabetes"], measurements=True)
tasks = ["hypertension", "diabetes", "systolic_bp", "hba1c"]
X, Y = nhanes.data, nhanes.target[tasks]
X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=0.25, random_state=0
)
mixed = make_pipeline(
    make_default_preprocessor(X),
    MultiTaskHealthRegressor(
        loss=["log_loss", "log_loss", "squared_error", "squared_error"],
        n_members=1,  # one network, to keep the example quick
        max_iter=20,
        random_state=0,
    ),
).fit(X_train, Y_train)

# %%
# ``predict`` returns, per column, the probability of a 1 for a binary task
# and the measurement, in its units, for a continuous one. ``return_std=True``
# gives a binary task's Bernoulli standard deviation, sqrt(p(1 - p)), and a
# continuous task's predicted spread; ``predict_interval`` gives ``NaN``
# bounds for a binary task, whose probability already is the uncertainty.
# :func:`~skhealth.predict_frame` gives them as a DataFrame, each task's
# 90 % interval beside it.
mean, std = mixed.predict(X_test[:3], return_std=True)
print(pd.DataFrame({"predict": mean[0], "std": std[0]}, index=tasks).round(2))
print(predict_frame(mixed, X_test[:3], interval=0.9).round(2).T)

# %%
# ``score_tasks`` gives each task's R²; for a binary task it is the Brier
# skill score, the R² of its probabilities against its 0/1 labels: 0 for a
# model that predicts the prevalence to everyone. The two kinds of task
# agree: the predicted probability of diabetes, defined as an HbA1c of 6.5 %
# or more, rises with the predicted HbA1c.
print(score_tasks(mixed, X_test, Y_test)[["r2", "n_observed"]].round(3))

prediction = mixed.predict(X_test)
known = Y_test["diabetes"].notna().to_numpy()
fig, ax = plt.subplots(figsize=(6, 4.5))
for label, color in [(0, "tab:blue"), (1, "tab:red")]:
    rows = known & (Y_test["diabetes"].to_numpy() == label)
    ax.scatter(
        prediction[rows, 3],
        prediction[rows, 1],
        s=8,
        alpha=0.5,
        color=color,
        label=f"diabetes = {label}",
    )
ax.axvline(6.5, color="gray", linestyle="--", label="HbA1c 6.5 %")
ax.set(
    xlabel="predicted HbA1c (%)",
    ylabel="predicted P(diabetes)",
    title="One network, a binary and a continuous task",
)
ax.legend()
plt.show()
