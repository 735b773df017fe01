"""
Keeping a model current: drift, and updating on new people
==========================================================

A model of seven clinical measures is fitted on the NHANES participants under
50. Then older people arrive. How far do their data move from the training
data, and what does training on them do?
:func:`skhealth.monitoring.drift_report` compares each input column of the new
people with a profile of the training data (percentiles and category shares,
no rows), and :func:`skhealth.monitoring.update` continues training a copy of
the model on them, scoring it on held-out new people before and after.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes
from skhealth.metrics import score_tasks
from skhealth.monitoring import data_profile, drift_report, update
from skhealth.preprocessing import make_default_preprocessor

X, Y = load_nhanes(return_X_y=True)
young = (X["age"] < 50).to_numpy()
X_old, X_old_test, Y_old, Y_old_test = train_test_split(
    X[young], Y[young], test_size=0.2, random_state=0
)
X_new, Y_new = X[~young], Y[~young]

model = make_pipeline(
    make_default_preprocessor(X), MultiTaskHealthRegressor(random_state=0)
).fit(X_old, Y_old)
# what skhealth.save(model, path, profile=X_old) stores, and load gives back
model.data_profile_ = data_profile(X_old)

drift = drift_report(model, X_new)
print(drift[["kind", "psi", "drift", "ks", "mean_shift"]].head(6).round(3))

# %%
# Age moves most, of course (a PSI far above 0.25, the usual mark of a major
# shift), then vigorous recreation and smoking status: older people exercise
# less and have more often quit smoking. The diet columns barely move.
#
# :func:`~skhealth.monitoring.update` holds out a fifth of the new people,
# trains a copy of the model on the others from where it stopped (its
# preprocessing and target scaling kept, its early stopping on held-out new
# rows), and scores both on the held-out fifth. Trained on new rows only, a
# network forgets much of the old ones; ``replay=`` trains on the old rows
# beside the new ones.
updated, report = update(model, X_new, Y_new, random_state=0)
replayed, _ = update(model, X_new, Y_new, replay=(X_old, Y_old), random_state=0)
print(report.scores[["r2_before", "r2_after"]].round(3))
print(f"calibration: {report.calibration}")
for name, fitted in [("old", model), ("updated", updated), ("replayed", replayed)]:
    r2 = score_tasks(fitted, X_old_test, Y_old_test)["r2"].mean()
    print(f"mean R² of the {name} model on held-out people under 50: {r2:.3f}")

# %%
# The update lifts every measure's R² on the older people; diastolic blood
# pressure, which the young model extrapolated worst, most. On held-out
# younger people the update alone loses ground, and replaying the old rows
# keeps it.
tasks = report.scores.index
# the new people update held out: the same draw (a fifth, seed 0)
_, holdout = train_test_split(np.arange(len(X_new)), test_size=0.2, random_state=0)
r2_replayed = score_tasks(replayed, X_new.iloc[holdout], Y_new.iloc[holdout])["r2"]

fig, (ax_drift, ax_r2) = plt.subplots(1, 2, figsize=(12, 5))
top = drift.head(10)[::-1]
ax_drift.barh(top.index, top["psi"], color="tab:red")
ax_drift.set_xscale("log")
for level, style in [(0.1, ":"), (0.25, "--")]:
    ax_drift.axvline(level, color="grey", linestyle=style, label=f"PSI {level}")
ax_drift.set_xlabel("population stability index (log scale)")
ax_drift.set_title("Drift of people 50+ from those under 50 (top 10)")
ax_drift.legend(loc="lower right")

position = np.arange(len(tasks))
width = 0.27
for i, (label, values) in enumerate(
    [
        ("old model", report.scores["r2_before"]),
        ("updated", report.scores["r2_after"]),
        ("updated, old rows replayed", r2_replayed),
    ]
):
    ax_r2.bar(position + (i - 1) * width, values, width, label=label)
ax_r2.axhline(0, color="black", linewidth=0.8)
ax_r2.set_xticks(position, tasks, rotation=30, ha="right")
ax_r2.set_ylabel("R² on held-out people 50+")
ax_r2.set_title("Per-task R² before and after the update")
ax_r2.legend()
fig.tight_layout()
plt.show()
