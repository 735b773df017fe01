"""Predictions as a DataFrame, from any fitted model: a
:class:`~skhealth.MultiTaskHealthRegressor`, a Pipeline ending in one, or a
search that refitted one."""

import numpy as np
import pandas as pd

from ._validation import fitted_regressor

__all__ = ["predict_frame"]


def predict_frame(model, X):
    """Predict every task for ``X``, as a DataFrame with one column per target.

    Parameters
    ----------
    model : MultiTaskHealthRegressor, Pipeline or search
        A fitted estimator, a fitted pipeline whose last step is one, or a
        search (:class:`~sklearn.model_selection.GridSearchCV`, ...) fitted
        with ``refit=True`` whose best estimator is either.
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
        When ``model`` is none of these.
    sklearn.exceptions.NotFittedError
        When ``model`` is not fitted.
    ValueError
        When ``model`` is a search fitted with ``refit=False``, which holds no
        model to predict with.

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
