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
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes
from skhealth.inspection import task_permutation_importance
from skhealth.plot import TaskImportanceDisplay
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
# :class:`~skhealth.plot.TaskImportanceDisplay` draws the table as a heatmap:
# the drop in R² of each measure (columns) when each input (rows, the most
# important first) is shuffled. Age drives blood pressure and HbA1c, sex HDL
# cholesterol, race and ethnicity waist circumference and BMI; most diet and
# activity columns matter little for any measure.
# ``TaskImportanceDisplay.from_estimator(model, X_test, Y_test)`` computes the
# importances and draws them in one call; ``skhealth explain`` writes the table
# and the heatmap from the command line.
disp = TaskImportanceDisplay.from_importances(
    importances, label="drop in R² when shuffled"
)
disp.ax_.set_title("Permutation importance per measure (held-out NHANES)")
plt.show()
