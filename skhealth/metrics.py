"""Per-task regression metrics that ignore missing labels, and scorers built
on them for scikit-learn's model selection."""

import difflib
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn import metrics as sklearn_metrics
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.utils.validation import check_consistent_length

from ._validation import (
    as_2d,
    check_target_columns,
    check_target_names,
    default_task_names,
    fitted_regressor,
    label_rows,
    n_rows,
)

__all__ = [
    "classification_task_scores",
    "get_scorer",
    "score_tasks",
    "task_scorers",
    "task_scores",
]

# The scorers by scikit-learn's names: each task's value, greater is better,
# from the table of task_scores
_SCORERS = {
    "r2": lambda scores: scores["r2"],
    "neg_mean_absolute_error": lambda scores: -scores["mae"],
    "neg_mean_squared_error": lambda scores: -(scores["rmse"] ** 2),
    "neg_root_mean_squared_error": lambda scores: -scores["rmse"],
    # a classifier's, from the table of classification_task_scores
    "roc_auc": lambda scores: scores["roc_auc"],
    "neg_log_loss": lambda scores: -scores["log_loss"],
    "neg_brier_score": lambda scores: -scores["brier"],
    "balanced_accuracy": lambda scores: scores["balanced_accuracy"],
}
_CLASSIFICATION_SCORERS = (
    "roc_auc",
    "neg_log_loss",
    "neg_brier_score",
    "balanced_accuracy",
)


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
    # each tells the samples of the other, where a list may be rows or columns
    y_true, y_pred = (
        as_2d(y_true, "y_true", label_rows(y_pred)),
        as_2d(y_pred, "y_pred", label_rows(y_true)),
    )
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


def classification_task_scores(
    y_true, y_proba, *, sample_weight=None, target_names=None
):
    """ROC-AUC, log-loss, Brier score, balanced accuracy and the number of
    observed labels, per binary task.

    Entries where ``y_true`` is ``NaN`` (unknown) or whose ``sample_weight``
    is 0 are left out of that task's scores.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
        Observed labels, 0 or 1, ``NaN`` where unknown.
    y_proba : array-like of the same shape
        Predicted probabilities of a 1.
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each row in every task's scores.
    target_names : sequence of str, default=None
        Index of the result; default ``task_0``, ``task_1``, ...

    Returns
    -------
    scores : pandas.DataFrame
        Indexed by task, columns ``roc_auc``, ``log_loss``, ``brier``,
        ``balanced_accuracy`` (of the class of probability above 0.5) and
        ``n_observed``. ROC-AUC and balanced accuracy are ``NaN`` for a task
        whose observed labels are of one class, every score for one without
        labels.

    Examples
    --------
    >>> import numpy as np
    >>> from skhealth.metrics import classification_task_scores
    >>> y = np.array([[0, 1], [1, np.nan], [1, 0], [0, 0]])
    >>> p = np.array([[0.2, 0.9], [0.7, 0.5], [0.6, 0.4], [0.4, 0.1]])
    >>> classification_task_scores(y, p)[["roc_auc", "n_observed"]]
            roc_auc  n_observed
    task
    task_0      1.0           4
    task_1      1.0           3
    """
    y_true = as_2d(y_true, "y_true")
    y_proba = as_2d(y_proba, "y_proba", len(y_true))
    if y_proba.shape != y_true.shape:
        raise ValueError(
            f"y_proba has shape {y_proba.shape} but y_true {y_true.shape}: give "
            "one probability per label."
        )
    n_tasks = y_true.shape[1]
    target_names = default_task_names(n_tasks) if target_names is None else target_names
    rows = []
    for t in range(n_tasks):
        observed = ~np.isnan(y_true[:, t])
        if sample_weight is not None:
            observed &= np.asarray(sample_weight) > 0
        yt, pt = y_true[observed, t], y_proba[observed, t]
        sw = None if sample_weight is None else np.asarray(sample_weight)[observed]
        if not np.isin(yt, (0, 1)).all():
            raise ValueError(
                f"y_true's task {t} ({target_names[t]!r}) has labels other than "
                f"0 and 1 (e.g. {yt[~np.isin(yt, (0, 1))][0]:g}): score binary "
                "tasks, NaN where unknown."
            )
        if not (np.isfinite(pt).all() and ((pt >= 0) & (pt <= 1)).all()):
            raise ValueError(
                f"y_proba's task {t} ({target_names[t]!r}) has values outside "
                "[0, 1] or not finite: give probabilities of a 1."
            )
        n = int(observed.sum())
        if n == 0:
            rows.append((np.nan, np.nan, np.nan, np.nan, 0))
            continue
        both = np.unique(yt).size == 2
        rows.append(
            (
                sklearn_metrics.roc_auc_score(yt, pt, sample_weight=sw)
                if both
                else np.nan,
                sklearn_metrics.log_loss(yt, pt, sample_weight=sw, labels=[0, 1]),
                sklearn_metrics.brier_score_loss(yt, pt, sample_weight=sw, pos_label=1),
                sklearn_metrics.balanced_accuracy_score(yt, pt > 0.5, sample_weight=sw)
                if both
                else np.nan,
                n,
            )
        )
    return pd.DataFrame(
        rows,
        index=pd.Index(target_names, name="task"),
        columns=["roc_auc", "log_loss", "brier", "balanced_accuracy", "n_observed"],
    )


def score_tasks(model, X, y, sample_weight=None):
    """R², MAE, RMSE and the number of observed labels, per task, of a model.

    The table of :meth:`MultiTaskHealthRegressor.score_tasks
    <skhealth.MultiTaskHealthRegressor.score_tasks>`, for a fitted estimator,
    a fitted pipeline ending in one or a search that refitted either (which
    have no ``score_tasks`` method).

    Parameters
    ----------
    model : MultiTaskHealthRegressor, Pipeline or search
        A fitted estimator, a fitted pipeline whose last step is one, or a
        search (:class:`~sklearn.model_selection.GridSearchCV`, ...) fitted
        with ``refit=True`` whose best estimator is either.
    X : array-like of shape (n_samples, n_features)
        Inputs the model can predict from.
    y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        True targets; ``NaN`` entries are left out of their task's scores. A
        DataFrame's columns must be the model's targets, in order.
    sample_weight : array-like of shape (n_samples,), default=None
        Weight of each row in every task's scores; rows of weight 0 are left
        out, and not counted in ``n_observed``.

    Returns
    -------
    scores : pandas.DataFrame
        Indexed by the model's ``target_names_``, columns ``r2``, ``mae``,
        ``rmse``, ``n_observed`` (see :func:`task_scores`).

    Raises
    ------
    TypeError
        When ``model`` is none of these.
    sklearn.exceptions.NotFittedError
        When ``model`` is not fitted.
    ValueError
        When ``model`` is a search fitted with ``refit=False``, which holds no
        model to score, or ``y`` does not have one column per task of the
        model.

    See Also
    --------
    get_scorer : One of these scores as a scorer, for model selection.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skhealth import MultiTaskHealthRegressor, score_tasks
    >>> from skhealth.datasets import make_health_data
    >>> X, Y = make_health_data(n_samples=100, n_features=4, n_tasks=2,
    ...                         missing_rate=0.1, random_state=0)
    >>> Y = pd.DataFrame(Y, columns=["sbp", "hdl"])
    >>> model = make_pipeline(
    ...     StandardScaler(), MultiTaskHealthRegressor(max_iter=5, random_state=0)
    ... ).fit(X, Y)
    >>> scores = score_tasks(model, X, Y)
    >>> scores.index.tolist(), scores["n_observed"].tolist()
    (['sbp', 'hdl'], [90, 90])
    """
    estimator = fitted_regressor(model)
    check_target_names(y)
    names = list(estimator.target_names_)
    check_target_columns(y, names)
    if hasattr(estimator, "classes_"):  # a classifier: its classes as 0/1
        labels = estimator._binary_labels(y)
        proba = model.predict_proba(X)
        proba = proba[:, 1:] if estimator._y_1d else proba
        return classification_task_scores(
            labels, proba, sample_weight=sample_weight, target_names=names
        )
    labels = as_2d(y, "y", n_rows(X))
    if labels.shape[1] != len(names):
        # before task_scores, whose message names its own arguments
        given = (
            "is 1-D, the labels of one task,"
            if np.ndim(y) == 1
            else f"has {labels.shape[1]} column{'s' * (labels.shape[1] != 1)}"
        )
        raise ValueError(
            f"y {given} but the model has {len(names)} "
            f"task{'s' * (len(names) != 1)} {names}: pass one column per task, "
            "in that order, with NaN where a label is missing."
        )
    return task_scores(
        labels, model.predict(X), sample_weight=sample_weight, target_names=names
    )


def get_scorer(name, *, task=None):
    """A scorer that leaves missing labels out, by scikit-learn's name.

    scikit-learn's own scorers (``scoring="r2"``, ...) compare every entry of
    ``y``: where a label is missing (``NaN``), they fail, and
    :class:`~sklearn.model_selection.GridSearchCV` or
    :func:`~sklearn.model_selection.cross_validate` record ``NaN`` for every
    fold. The scorers of this function compute the same metrics on the
    observed labels of each task, with :func:`score_tasks`; pass them as
    ``scoring=``, or in a ``scoring`` dict (see :func:`task_scorers`).

    Parameters
    ----------
    name : str
        The metric, by the name of scikit-learn's scorer for it: ``"r2"``,
        ``"neg_mean_absolute_error"``, ``"neg_mean_squared_error"`` or
        ``"neg_root_mean_squared_error"`` for a regressor; ``"roc_auc"``,
        ``"neg_log_loss"``, ``"neg_brier_score"`` or ``"balanced_accuracy"``
        for a :class:`~skhealth.MultiTaskHealthClassifier` (from
        :func:`classification_task_scores`). Errors are negated, as
        scikit-learn's are, so that greater is better.
    task : str or int, default=None
        The task to score: a target name of the model (one of its
        ``target_names_``) or a task's index. ``None`` scores the mean over
        tasks, as the estimator's ``score`` does for R²: a task whose metric is
        undefined (R² with fewer than two observed labels, any metric with none)
        is left out of the mean. The mean of an error mixes the targets' units:
        see Notes.

    Returns
    -------
    scorer : callable
        ``scorer(model, X, y, sample_weight=None)`` returns the score as a
        float, for a fitted :class:`~skhealth.MultiTaskHealthRegressor`, a
        fitted pipeline ending in one, or a search that refitted either (as
        :func:`~sklearn.model_selection.cross_validate` scores a search in
        nested cross-validation). It can be pickled, so searches can run
        it in other processes (``n_jobs``).

    Raises
    ------
    ValueError
        When ``name`` is not one of the names above.
    TypeError
        When ``name`` is not a string (a scikit-learn scorer object, say), or
        ``task`` neither a string nor an integer.

    See Also
    --------
    task_scorers : Scorers of each task and of their mean, for a scoring dict.
    score_tasks : Every metric of every task, at once.

    Notes
    -----
    The mean over tasks of an error (MAE, MSE, RMSE) adds errors in each
    target's own units: with blood pressure in mmHg and HbA1c in %, an MAE of
    10 mmHg outweighs one of 0.5 %, so a search on it tunes for the target of
    the widest range and all but ignores the others. To tune for every task,
    use the mean R² (``get_scorer("r2")``), which has no unit; to tune on an
    error, score one task (``task=``).

    A scorer given a task name raises a ``ValueError`` when the model has no
    task of that name; :func:`~sklearn.model_selection.cross_validate` and
    the searches report it as a warning and score ``NaN``, unless
    ``error_score="raise"``.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.model_selection import cross_val_score
    >>> from skhealth import MultiTaskHealthRegressor
    >>> from skhealth.datasets import make_health_data
    >>> from skhealth.metrics import get_scorer
    >>> X, Y = make_health_data(n_samples=100, n_features=4, n_tasks=2,
    ...                         missing_rate=0.2, random_state=0)
    >>> Y = pd.DataFrame(Y, columns=["sbp", "hdl"])
    >>> scorer = get_scorer("neg_mean_absolute_error", task="sbp")
    >>> scorer
    skhealth.metrics.get_scorer('neg_mean_absolute_error', task='sbp')
    >>> reg = MultiTaskHealthRegressor(max_iter=5, random_state=0)
    >>> scores = cross_val_score(reg, X, Y, cv=2, scoring=scorer)
    >>> bool(np.isfinite(scores).all())
    True
    """
    if not isinstance(name, str):
        raise TypeError(
            f"get_scorer takes a scorer's name, one of {sorted(_SCORERS)}; got "
            f"{name!r}.{_replacement(name)}"
        )
    if name not in _SCORERS:
        raise ValueError(
            f"{name!r} is not one of skhealth's scorers, which leave missing "
            f"labels out: {sorted(_SCORERS)}.{_did_you_mean(name, _SCORERS)}"
        )
    if isinstance(task, Integral) and not isinstance(task, bool):
        task = int(task)
    elif task is not None and not isinstance(task, str):
        raise TypeError(
            f"task must be a target name (str), a task's index (int) or None; "
            f"got {task!r}."
        )
    return _TaskScorer(name, task)


def task_scorers(tasks, scoring="r2"):
    """Scorers of each task and of their mean, as a ``scoring`` dict.

    For :func:`~sklearn.model_selection.cross_validate` and the searches'
    ``scoring=``: their results then hold every task's score, under
    ``test_<name>_<task>`` (and ``mean_test_<name>_<task>`` in a search's
    ``cv_results_``), and the mean over tasks under ``test_<name>``.

    Parameters
    ----------
    tasks : sequence of str or int
        The tasks to score: target names, such as the columns of ``y``, or
        indices (``range(n_tasks)`` for a ``y`` without names).
    scoring : str or sequence of str, default="r2"
        The metrics, by the names :func:`get_scorer` takes.

    Returns
    -------
    scorers : dict
        For each metric ``name``, its mean over tasks under ``name`` (as
        ``get_scorer(name)``), then each task's under ``f"{name}_{task}"`` (as
        ``get_scorer(name, task=task)``).

    Raises
    ------
    ValueError
        When a metric is not one :func:`get_scorer` knows, or a task or a
        metric is given twice.

    See Also
    --------
    get_scorer : One of these scorers.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.model_selection import cross_validate
    >>> from skhealth import MultiTaskHealthRegressor
    >>> from skhealth.datasets import make_health_data
    >>> from skhealth.metrics import task_scorers
    >>> X, Y = make_health_data(n_samples=100, n_features=4, n_tasks=2,
    ...                         missing_rate=0.2, random_state=0)
    >>> Y = pd.DataFrame(Y, columns=["sbp", "hdl"])
    >>> scoring = task_scorers(Y.columns, ["r2", "neg_mean_absolute_error"])
    >>> list(scoring)
    ['r2', 'r2_sbp', 'r2_hdl', 'neg_mean_absolute_error',
     'neg_mean_absolute_error_sbp', 'neg_mean_absolute_error_hdl']
    >>> reg = MultiTaskHealthRegressor(max_iter=5, random_state=0)
    >>> results = cross_validate(reg, X, Y, cv=2, scoring=scoring)
    >>> results["test_r2_sbp"].shape
    (2,)
    """
    names = [scoring] if isinstance(scoring, str) else list(scoring)
    tasks = list(tasks)
    # the keys hold the tasks as strings: the task 0 and the task "0" clash
    for what, values in (("tasks", tasks), ("scoring", names)):
        keys = [str(value) for value in values]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise ValueError(f"{what} holds {repeated} more than once: give each once.")
    scorers = {}
    for name in names:
        scorers[name] = get_scorer(name)
        for task in tasks:
            scorers[f"{name}_{task}"] = get_scorer(name, task=task)
    return scorers


class _TaskScorer:
    """A scorer of :func:`get_scorer`: one metric of one task, or its mean
    over tasks, on observed labels."""

    def __init__(self, name, task):
        self._name = name
        self._task = task

    def __call__(self, estimator, X, y_true, sample_weight=None):
        scores = score_tasks(estimator, X, y_true, sample_weight=sample_weight)
        classifier = "roc_auc" in scores.columns
        if classifier != (self._name in _CLASSIFICATION_SCORERS):
            kind, names = (
                ("MultiTaskHealthClassifier", _CLASSIFICATION_SCORERS)
                if classifier
                else (
                    "MultiTaskHealthRegressor",
                    [n for n in _SCORERS if n not in _CLASSIFICATION_SCORERS],
                )
            )
            raise ValueError(
                f"get_scorer({self._name!r}) cannot score a {kind}: use one of "
                f"{sorted(names)}."
            )
        values = _SCORERS[self._name](scores)
        if self._task is None:
            return float(values.mean())  # leaves undefined (NaN) tasks out
        return float(values.iloc[_task_position(self._task, values.index)])

    def _accept_sample_weight(self):
        # scikit-learn's searches ask each scorer of a scoring dict this before
        # passing on fit's sample_weight (and fail on a scorer that cannot say)
        return True

    def __repr__(self):
        task = "" if self._task is None else f", task={self._task!r}"
        return f"skhealth.metrics.get_scorer({self._name!r}{task})"


def _task_position(task, target_names):
    """Where ``task``, a target name or an index, is among ``target_names``."""
    names = list(target_names)
    if isinstance(task, str):
        if task not in names:
            raise ValueError(
                f"task {task!r} is not one of the model's tasks "
                f"{names}.{_did_you_mean(task, names)}"
            )
        return names.index(task)
    if not 0 <= task < len(names):
        raise ValueError(
            f"task {task} is out of range: the model has {len(names)} tasks, "
            f"{names}, indexed from 0."
        )
    return task


def _did_you_mean(value, choices):
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _replacement(scorer):
    """What to use instead of ``scorer``, where it is one of scikit-learn's
    scorers that this module replaces."""
    names = {repr(sklearn_metrics.get_scorer(name)): name for name in _SCORERS}
    name = names.get(repr(scorer))
    if name is None:
        return ""
    return (
        f" That is scikit-learn's {name!r} scorer, which fails where a label "
        f"is missing (NaN): use skhealth.metrics.get_scorer({name!r}) instead."
    )
