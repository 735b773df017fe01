"""
What each measure relies on: permutation importance per task
============================================================

One network predicts seven clinical measures of NHANES from diet, activity,
sleep, smoking, mood and demographics. Which inputs does each measure rely on?
:func:`skhealth.inspection.task_permutation_importance` shuffles each input
column of held-out people in turn and measures how much each measure's R²
drops, leaving its missing labels out. The columns are the table's own,
before encoding: ``race_ethnicity`` counts once, not as one column per group.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes
from skhealth.inspection import task_permutation_importance
from skhealth.preprocessing import make_default_preprocessor

X, Y = load_nhanes(return_X_y=True)
X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=0.25, random_state=0
)
model = make_pipeline(
    make_default_preprocessor(X), MultiTaskHealthRegressor(random_state=0)
).fit(X_train, Y_train)

importances = task_permutation_importance(
    model, X_test, Y_test, n_repeats=3, random_state=0
)
table = importances.pivot(index="feature", columns="task", values="importance_mean")
table = table.loc[table.max(axis=1).sort_values(ascending=False).index, Y.columns]
print(table.head(8).round(3))

# %%
# The drop in R² of each measure (columns) when each input (rows, the most
# important first) is shuffled. Age drives blood pressure and HbA1c, sex HDL
# cholesterol, race and ethnicity waist circumference and BMI; most diet and
# activity columns matter little for any measure.
fig, ax = plt.subplots(figsize=(8, 8))
image = ax.imshow(table.to_numpy(), cmap="Blues", vmin=0, aspect="auto")
ax.set_xticks(np.arange(len(table.columns)), table.columns, rotation=45, ha="right")
ax.set_yticks(np.arange(len(table.index)), table.index)
for (i, j), value in np.ndenumerate(table.to_numpy()):
    if value >= 0.005:
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8)
fig.colorbar(image, ax=ax, label="drop in R² when shuffled")
ax.set_title("Permutation importance per measure (held-out NHANES)")
fig.tight_layout()
plt.show()
