"""
Quick start: several health measures from one network
=======================================================

Fit :class:`~skhealth.MultiTaskHealthRegressor` on scikit-learn's Linnerud data
(20 middle-aged men: three exercise counts predicting weight, waist and pulse),
compare it with one :class:`~sklearn.neural_network.MLPRegressor`, and print
per-task scores.
"""

import warnings

from sklearn.datasets import load_linnerud
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_predict
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhealth import MultiTaskHealthRegressor
from skhealth.metrics import task_scores

warnings.simplefilter("ignore", ConvergenceWarning)
X, Y = load_linnerud(return_X_y=True, as_frame=True)

models = {
    "skhealth": MultiTaskHealthRegressor(hidden_layer_sizes=(16,), random_state=0),
    "MLPRegressor": MLPRegressor(
        hidden_layer_sizes=(16,), max_iter=2000, random_state=0
    ),
}
for name, model in models.items():
    pred = cross_val_predict(make_pipeline(StandardScaler(), model), X, Y, cv=5)
    print(f"\n{name}: 5-fold cross-validated scores per task")
    print(task_scores(Y, pred).round(3).to_string())
