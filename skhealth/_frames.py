"""Predictions as a DataFrame, from any fitted model: a
:class:`~skhealth.MultiTaskHealthRegressor` or a Pipeline ending in one."""

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._validation import final_step

__all__ = ["predict_frame"]


def fitted_regressor(model):
    """The fitted MultiTaskHealthRegressor at the end of ``model``; a TypeError
    for any other model, a NotFittedError for an unfitted one."""
    # imported here: the estimator's module imports skhealth.metrics, which
    # imports this one
    from ._estimator import MultiTaskHealthRegressor

    estimator = final_step(model)
    if not isinstance(estimator, MultiTaskHealthRegressor):
        ending = (
            f" ending in {type(estimator).__name__}"
            if isinstance(model, Pipeline)
            else ""
        )
        raise TypeError(
            "model must be a MultiTaskHealthRegressor or a Pipeline whose last "
            f"step is one; got {type(model).__name__}{ending}."
        )
    check_is_fitted(estimator)
    return estimator


def predict_frame(model, X):
    """Predict every task for ``X``, as a DataFrame with one column per target.

    Parameters
    ----------
    model : MultiTaskHealthRegressor or sklearn.pipeline.Pipeline
        A fitted estimator, or a fitted pipeline whose last step is one.
    X : array-like of shape (n_samples, n_features)
        Inputs the model can predict from.

    Returns
    -------
    predictions : pandas.DataFrame of shape (n_samples, n_tasks)
        ``model.predict(X)``, with the model's ``target_names_`` as columns (one
        column for a model fitted on a 1-D ``y``) and ``X``'s index when ``X``
        is a DataFrame.

    Raises
    ------
    TypeError
        When ``model`` is neither a MultiTaskHealthRegressor nor a Pipeline
        ending in one.
    sklearn.exceptions.NotFittedError
        When ``model`` is not fitted.

    See Also
    --------
    skhealth.score_tasks : The scores of each task, from a model and labels.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skhealth import MultiTaskHealthRegressor, predict_frame
    >>> from skhealth.datasets import make_health_data
    >>> X, Y = make_health_data(n_samples=100, n_features=4, n_tasks=2,
    ...                         random_state=0)
    >>> X = pd.DataFrame(X, index=range(1000, 1100))
    >>> Y = pd.DataFrame(Y, columns=["sbp", "hdl"], index=X.index)
    >>> model = make_pipeline(
    ...     StandardScaler(), MultiTaskHealthRegressor(max_iter=5, random_state=0)
    ... ).fit(X, Y)
    >>> predictions = predict_frame(model, X.head(3))
    >>> predictions.columns.tolist(), predictions.index.tolist()
    (['sbp', 'hdl'], [1000, 1001, 1002])
    """
    columns = list(fitted_regressor(model).target_names_)
    Y = np.asarray(model.predict(X))
    index = X.index if isinstance(X, pd.DataFrame) else None
    return pd.DataFrame(Y.reshape(len(Y), -1), columns=columns, index=index)
