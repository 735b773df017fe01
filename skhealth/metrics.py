"""Per-task regression metrics that ignore missing labels."""

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.utils.validation import check_consistent_length

from ._validation import as_2d, default_task_names

__all__ = ["task_scores"]


def task_scores(y_true, y_pred, *, sample_weight=None, target_names=None):
    """R², MAE, RMSE and the number of observed labels, per task.

    Entries where ``y_true`` is ``NaN`` (label not measured) or whose
    ``sample_weight`` is 0 are left out of that task's metrics, and of its
    ``n_observed``; every other entry counts.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Observed targets, ``NaN`` where missing.
    y_pred : array-like of the same shape
        Predictions (must not contain ``NaN``).
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each row in every task's metrics (``n_observed`` counts
        labels, not weights).
    target_names : sequence of str, default=None
        Index of the result; default ``task_0``, ``task_1``, ... or the columns
        of ``y_true`` when it is a DataFrame.

    Returns
    -------
    scores : pandas.DataFrame
        Indexed by task, columns ``r2``, ``mae``, ``rmse``, ``n_observed``. A task
        with fewer than two observed labels has ``NaN`` R² (it is undefined),
        one with none ``NaN`` scores.

    Examples
    --------
    >>> import numpy as np
    >>> from skhealth.metrics import task_scores
    >>> y_true = np.array([[1.0, 10.0], [2.0, np.nan], [3.0, 30.0]])
    >>> y_pred = np.array([[1.0, 12.0], [2.0, 20.0], [4.0, 30.0]])
    >>> task_scores(y_true, y_pred, target_names=["sbp", "hdl"])
            r2       mae      rmse  n_observed
    task
    sbp   0.50  0.333333  0.577350           3
    hdl   0.98  1.000000  1.414214           2
    """
    if target_names is None and hasattr(y_true, "columns"):
        target_names = list(y_true.columns)
    y_true, y_pred = as_2d(y_true, "y_true"), as_2d(y_pred, "y_pred")
    check_consistent_length(y_true, y_pred, sample_weight)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            "y_true and y_pred have different shapes: "
            f"{y_true.shape} != {y_pred.shape}."
        )
    if np.isnan(y_pred).any():
        raise ValueError("y_pred contains NaN; predictions must be finite.")
    n_tasks = y_true.shape[1]
    if target_names is None:
        target_names = default_task_names(n_tasks)
    if len(target_names) != n_tasks:
        raise ValueError(
            f"target_names has {len(target_names)} names for {n_tasks} tasks."
        )
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
    rows = []
    for t in range(n_tasks):
        observed = ~np.isnan(y_true[:, t])
        if sample_weight is not None:
            observed &= sample_weight > 0
        yt, yp = y_true[observed, t], y_pred[observed, t]
        sw = None if sample_weight is None else sample_weight[observed]
        n = int(observed.sum())
        if n == 0:
            rows.append((np.nan, np.nan, np.nan, 0))
            continue
        r2 = r2_score(yt, yp, sample_weight=sw) if n >= 2 else np.nan
        rows.append(
            (
                r2,
                mean_absolute_error(yt, yp, sample_weight=sw),
                np.sqrt(mean_squared_error(yt, yp, sample_weight=sw)),
                n,
            )
        )
    return pd.DataFrame(
        rows,
        index=pd.Index(target_names, name="task"),
        columns=["r2", "mae", "rmse", "n_observed"],
    )
