"""
Learning curves and predictions, task by task
=============================================

Fit :class:`~skhealth.MultiTaskHealthRegressor` on the NHANES data that ships
with skhealth, then look at the fit with :mod:`skhealth.plot`: each task's
learning curves (training solid, validation dashed) and its held-out
predictions against the observed values, one panel per task. A label that is
missing (a lab test someone skipped) is left out of its task's panel.
"""

import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes
from skhealth.plot import TaskPredictionErrorDisplay, TrainingCurveDisplay
from skhealth.preprocessing import make_default_preprocessor

X, Y = load_nhanes(return_X_y=True)
X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=0.25, random_state=0
)
# make_default_preprocessor imputes and standardises the numeric features and
# one-hot encodes the others, as `skhealth fit` does. early_stopping=True holds
# out 10 % of the training rows for the validation curves; large batches and a
# high learning rate keep the example quick.
model = make_pipeline(
    make_default_preprocessor(X),
    MultiTaskHealthRegressor(
        hidden_layer_sizes=(64,),
        batch_size=256,
        learning_rate_init=0.01,
        early_stopping=True,
        n_iter_no_change=5,
        random_state=0,
    ),
)
model.fit(X_train, Y_train)

# %%
# Learning curves
# ---------------
# R² by epoch on the training rows and on the validation rows, for three of the
# seven measures (``tasks=None`` draws them all): which ones the shared network
# learns quickly, which slowly, and whether one stops improving on the
# validation rows while the others still do.
TrainingCurveDisplay.from_estimator(
    model, metric="r2", tasks=["systolic_bp", "hdl_cholesterol", "hba1c"]
)

# %%
# Predicted against observed values
# ---------------------------------
# One panel per measure on the held-out rows, with the identity line: points
# below it are overestimates. Each title gives the task's held-out R².
TaskPredictionErrorDisplay.from_estimator(model, X_test, Y_test, random_state=0)
plt.show()
