"""Predictions as a DataFrame, from any fitted model: a
:class:`~skhealth.MultiTaskHealthRegressor` or
:class:`~skhealth.MultiTaskHealthClassifier`, a Pipeline ending in one, or a
search that refitted one."""

import numpy as np
import pandas as pd

from ._calibration import check_confidence
from ._validation import fitted_regressor, regressor_input

__all__ = ["predict_frame"]


def predict_frame(model, X, *, interval=None, groups=None):
    """Predict every task for ``X``, as a DataFrame with one column per target.

    For a classifier, each target has two columns: ``<target>``, the predicted
    class, and ``<target>_proba``, the probability of its second class
    (``classes_[1]``, the positive one). A regressor's binary task
    (``loss="log_loss"``) has one column, the probability of a 1.

    Parameters
    ----------
    model : MultiTaskHealthRegressor, MultiTaskHealthClassifier, Pipeline or search
        A fitted estimator, a fitted pipeline whose last step is one, or a
        search (:class:`~sklearn.model_selection.GridSearchCV`, ...) fitted
        with ``refit=True`` whose best estimator is either.
    X : array-like of shape (n_samples, n_features)
        Inputs the model can predict from.
    interval : float in (0, 1), default=None
        Add each target's prediction interval of this confidence (see
        :meth:`~skhealth.MultiTaskHealthRegressor.predict_interval`), as the
        columns ``<target>_lower`` and ``<target>_upper`` after the target's;
        regressors only.
    groups : array-like of shape (n_samples,), default=None
        Each row's group, for a model calibrated per group (with
        ``interval`` only).

    Returns
    -------
    predictions : pandas.DataFrame of shape (n_samples, n_tasks) or \
            (n_samples, 3 * n_tasks)
        ``model.predict(X)``, with the model's ``target_names_`` as columns (one
        column for a model fitted on a 1-D ``y``) and ``X``'s index when ``X``
        is a DataFrame; with ``interval``, each followed by its bounds.

    Raises
    ------
    TypeError
        When ``model`` is none of these.
    sklearn.exceptions.NotFittedError
        When ``model`` is not fitted.
    ValueError
        When ``model`` is a search fitted with ``refit=False``, which holds no
        model to predict with, and for an ``interval`` outside (0, 1) or a
        model without a calibration or a classifier; for a classifier with a
        target named like another's ``_proba`` column.

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
    >>> predict_frame(model, X.head(3), interval=0.8).columns.tolist()
    ['sbp', 'sbp_lower', 'sbp_upper', 'hdl', 'hdl_lower', 'hdl_upper']
    """
    regressor = fitted_regressor(model)
    index = X.index if isinstance(X, pd.DataFrame) else None
    columns = [str(name) for name in regressor.target_names_]
    if hasattr(regressor, "classes_"):
        return _classes_and_probabilities(model, regressor, X, columns, index, interval)
    if interval is None:
        if groups is not None:
            raise ValueError(
                "groups picks each row's interval calibration: pass it with "
                "interval=..., or leave it out."
            )
        Y = np.asarray(model.predict(X))
        return pd.DataFrame(Y.reshape(len(Y), -1), columns=columns, index=index)
    interval = check_confidence(interval)
    Xt = regressor_input(model, X)
    Y = regressor.predict(Xt).reshape(len(Xt), -1)
    bounds = regressor.predict_interval(Xt, interval, groups).reshape(len(Xt), -1, 2)
    _refuse_clashes(
        columns, interval_columns(columns), "interval bound", "predict_interval"
    )
    parts = {}
    for t, name in enumerate(columns):
        parts[name] = Y[:, t]
        parts[f"{name}_lower"], parts[f"{name}_upper"] = bounds[:, t].T
    return pd.DataFrame(parts, index=index)


def _classes_and_probabilities(model, classifier, X, columns, index, interval):
    """A classifier's predicted class and probability of its positive class,
    per target."""
    if interval is not None:
        raise ValueError(
            f"interval={interval!r}: a classifier predicts probabilities, which "
            "have no prediction interval; leave interval out."
        )
    _refuse_clashes(columns, proba_columns(columns), "probability", "predict_proba")
    Xt = regressor_input(model, X)
    classes = classifier.predict(Xt).reshape(len(Xt), -1)
    proba = classifier.predict_proba(Xt)
    proba = proba[:, 1:] if classifier._y_1d else proba
    parts = {}
    for t, name in enumerate(columns):
        parts[name] = classes[:, t]
        parts[f"{name}_proba"] = proba[:, t]
    return pd.DataFrame(parts, index=index)


def _refuse_clashes(columns, added, what, method):
    """Raise where a target of ``columns`` is named as one of the ``added``
    columns (another target's ``what``)."""
    clashes = sorted(set(columns) & set(added))
    if clashes:
        raise ValueError(
            f"The model has a target named {clashes[0]!r}, the name of another "
            f"target's {what}: rename the targets to predict as a table, or use "
            f"{method}."
        )


def proba_columns(target_names):
    """The probability columns of a classifier's ``target_names``, as
    :func:`predict_frame` names them."""
    return [f"{name}_proba" for name in target_names]


def interval_columns(target_names):
    """The columns of the interval bounds of ``target_names``, as
    :func:`predict_frame` names them."""
    return [f"{name}{end}" for name in target_names for end in ("_lower", "_upper")]
