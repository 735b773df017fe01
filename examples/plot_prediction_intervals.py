"""
How sure is each prediction: calibrated intervals per measure
=============================================================

A prediction of systolic blood pressure is worth more with the range the
person's value likely lies in.
:meth:`~skhealth.MultiTaskHealthRegressor.predict_interval` gives each
person and each measure an interval that covers a chosen share of
labels: split conformal calibration per measure, on the residuals of the rows
the model never trained on (each row predicted by the ensemble's member that
held it out), scaled by each person's predictive standard deviation, so that
intervals are wider where the outcome is noisier. Missing labels are left
out of each measure's calibration; no row is set aside for it.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skhealth import MultiTaskHealthRegressor, predict_frame
from skhealth.datasets import load_nhanes
from skhealth.plot import IntervalCoverageDisplay
from skhealth.preprocessing import make_default_preprocessor

X, Y = load_nhanes(return_X_y=True)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, test_size=0.3, random_state=0)
model = make_pipeline(
    make_default_preprocessor(X), MultiTaskHealthRegressor(random_state=0)
).fit(X_train, Y_train)

# %%
# Each measure's prediction with its 90 % interval, for the first people of
# the held-out set (a DataFrame with ``<measure>_lower`` and
# ``<measure>_upper`` columns):
frame = predict_frame(model, X_test, interval=0.9)
print(frame[["hba1c", "hba1c_lower", "hba1c_upper"]].head().round(2))

# %%
# Do the intervals keep their promise? On held-out people, the share of each
# measure's labels inside its interval follows the nominal confidence, from
# 50 % to 95 %, for every measure; and within each sex, though the
# calibration pooled them.
fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), layout="constrained")
for ax, sex in zip(axes, [None, "Female", "Male"], strict=True):
    rows = np.ones(len(X_test), bool) if sex is None else X_test["sex"] == sex
    IntervalCoverageDisplay.from_estimator(
        model,
        X_test[rows],
        Y_test[rows],
        ax=ax,
        title="All held-out people" if sex is None else f"{sex} only",
    )
for ax in axes[:2]:  # the label counts differ; one legend shows the colours
    ax.get_legend().remove()

# %%
# The widths adapt to each person. HbA1c varies far more among people with
# high predictions (diabetes) than among the rest: the 90 % intervals of 200
# held-out people, sorted by prediction, widen accordingly, and the observed
# values (dots) fall inside about nine times in ten across the range.
hba1c = Y.columns.get_loc("hba1c")
shown = np.random.default_rng(0).choice(len(X_test), 200, replace=False)
Xt = model[:-1].transform(X_test.iloc[shown])
intervals = model[-1].predict_interval(Xt, confidence=0.9)[:, hba1c]
prediction = model[-1].predict(Xt)[:, hba1c]
observed = Y_test["hba1c"].to_numpy()[shown]
order = np.argsort(prediction)
rank = np.arange(len(order))
inside = (intervals[:, 0] <= observed) & (observed <= intervals[:, 1])
fig, ax = plt.subplots(figsize=(9, 4.8), layout="constrained")
ax.vlines(rank, *intervals[order].T, color="C0", alpha=0.5, label="90 % interval")
ax.plot(rank, prediction[order], color="C0", label="prediction")
ax.scatter(
    rank,
    observed[order],
    s=10,
    c=np.where(inside[order], "black", "C3"),
    label="observed (red: outside)",
    zorder=3,
)
ax.set(
    xlabel="200 held-out people, by predicted HbA1c",
    ylabel="HbA1c (%)",
    title=(
        f"HbA1c: {np.mean(inside[~np.isnan(observed)]):.0%} of these labels "
        "inside their 90 % interval"
    ),
)
ax.legend(loc="upper left")
plt.show()
