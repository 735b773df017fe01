"""What each task's predictions rely on, in the user's own input columns."""

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance

from ._validation import fitted_regressor
from .metrics import get_scorer

__all__ = ["task_permutation_importance"]


def task_permutation_importance(
    model,
    X,
    y,
    *,
    scoring="r2",
    n_repeats=5,
    n_jobs=None,
    random_state=None,
    sample_weight=None,
    max_samples=1.0,
):
    """Permutation importance of each input column for each task.

    :func:`sklearn.inspection.permutation_importance` with one scorer per task
    that leaves missing labels out (:func:`skhealth.metrics.get_scorer`): each
    column of ``X`` is shuffled ``n_repeats`` times, and a task's importance of
    the column is how much its score drops. Each shuffled table is predicted
    once for all tasks. Given a pipeline, the columns are those the pipeline
    reads, before any encoding: a one-hot encoded category counts as the one
    column it came from.

    Parameters
    ----------
    model : MultiTaskHealthRegressor, Pipeline or search
        A fitted estimator, a fitted pipeline whose last step is one, or a
        search fitted with ``refit=True`` whose best estimator is either.
    X : array-like or DataFrame of shape (n_samples, n_features)
        Data to shuffle and predict, best held out from training.
    y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Its targets; ``NaN`` marks a missing label, left out of that task's
        score.
    scoring : str, default="r2"
        The metric, by a name :func:`skhealth.metrics.get_scorer` takes: an
        error's importance is its increase, in the target's units.
    n_repeats : int, default=5
        Times each column is shuffled.
    n_jobs : int, default=None
        Columns scored in parallel (joblib).
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffles.
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each row in every task's score.
    max_samples : int or float, default=1.0
        Rows drawn (without replacement) for each repeat, as in scikit-learn.

    Returns
    -------
    importances : pandas.DataFrame
        One row per task and column, tasks in the order of the model's
        targets and columns in the order of ``X``: ``task``, ``feature``,
        ``importance_mean`` and ``importance_std`` (over the repeats).
        ``importances.pivot(index="feature", columns="task",
        values="importance_mean")`` gives the table of features by tasks.

    See Also
    --------
    sklearn.inspection.permutation_importance : The single-score version.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skhealth import MultiTaskHealthRegressor
    >>> from skhealth.inspection import task_permutation_importance
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["age", "bmi", "steps"])
    >>> Y = pd.DataFrame({"sbp": 2 * X["age"], "hdl": -2 * X["steps"]})
    >>> reg = MultiTaskHealthRegressor(max_iter=100, random_state=0).fit(X, Y)
    >>> importances = task_permutation_importance(reg, X, Y, random_state=0)
    >>> importances.loc[importances.groupby("task", sort=False)["importance_mean"]
    ...                 .idxmax(), ["task", "feature"]].to_numpy().tolist()
    [['sbp', 'age'], ['hdl', 'steps']]
    """
    tasks = list(fitted_regressor(model).target_names_)
    result = permutation_importance(
        model,
        X,
        y,
        scoring={task: get_scorer(scoring, task=task) for task in tasks},
        n_repeats=n_repeats,
        n_jobs=n_jobs,
        random_state=random_state,
        sample_weight=sample_weight,
        max_samples=max_samples,
    )
    features = (
        [str(column) for column in X.columns]
        if hasattr(X, "columns")
        else [f"x{j}" for j in range(np.shape(X)[1])]
    )
    return pd.DataFrame(
        {
            "task": np.repeat(tasks, len(features)),
            "feature": features * len(tasks),
            "importance_mean": np.concatenate(
                [result[task].importances_mean for task in tasks]
            ),
            "importance_std": np.concatenate(
                [result[task].importances_std for task in tasks]
            ),
        }
    )
