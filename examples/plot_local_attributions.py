"""
Why these predictions for this person: attributions per measure
===============================================================

Permutation importance says what each measure relies on over a population.
For one person, :func:`skhealth.inspection.task_attributions` says how much
each of their own values moved each of their predictions away from those of
an average participant: integrated gradients of the whole model, in each
measure's units, summed back to the table's own columns (a one-hot encoded
category counts once). A person's attributions for a measure add up to their
prediction less the average participant's.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes
from skhealth.inspection import task_attributions
from skhealth.plot import AttributionDisplay
from skhealth.preprocessing import make_default_preprocessor

X, Y = load_nhanes(return_X_y=True)
X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=0.25, random_state=0
)
model = make_pipeline(
    make_default_preprocessor(X), MultiTaskHealthRegressor(random_state=0)
).fit(X_train, Y_train)

# %%
# The held-out participant with the highest predicted systolic blood pressure,
# explained against the average participant of the training data (the mean of
# their encoded inputs: the baseline):
row = int(np.argmax(model.predict(X_test)[:, 0]))
person = X_test.iloc[[row]]
print(person.T.to_string(header=False))

# %%
# One row per measure and input column. For each measure, the attributions add
# up to the prediction less the baseline's (to within 0.5 % of the measure's
# standard deviation: the path integral is computed numerically).
attributions = task_attributions(model, person, baseline=X_train)
totals = attributions.groupby("task", sort=False).agg(
    prediction=("prediction", "first"),
    baseline=("baseline_prediction", "first"),
    attributions=("attribution", "sum"),
)
print(totals.round(2))

# %%
# Each panel shows, for one measure, the person's values that moved the
# prediction most, rises red and falls blue, and the other columns summed in
# grey; the bars add up to the prediction less the baseline, both in the
# title.
AttributionDisplay.from_attributions(attributions, max_features=6)
plt.show()
