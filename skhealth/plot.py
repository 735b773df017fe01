"""Plots of a multi-task fit: training curves, task weights, prediction errors,
feature importances, one person's attributions, interval coverage, and the ROC
and calibration curves of binary tasks.

Display objects in scikit-learn's style (see
:class:`sklearn.metrics.PredictionErrorDisplay`): build one with a
``from_estimator`` (or ``from_history`` / ``from_predictions``) class method,
which draws it; the display keeps the data it plots and the matplotlib
objects: ``ax_`` (one Axes, or an array of them for a display with one panel
per task) and ``figure_``. matplotlib is an optional dependency:
``pip install 'skhealth[plot]'``.
"""

import math
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted

from ._calibration import check_confidence
from ._sklearn import BaseSearchCV, validate_style_kwargs
from ._validation import (
    as_2d,
    check_target_columns,
    default_task_names,
    final_step,
    fitted_regressor,
    regressor_input,
)
from .metrics import task_scores
from .weighting import _ConstantWeights, get_weighting

__all__ = [
    "AttributionDisplay",
    "IntervalCoverageDisplay",
    "TaskCalibrationDisplay",
    "TaskImportanceDisplay",
    "TaskPredictionErrorDisplay",
    "TaskROCDisplay",
    "TaskWeightDisplay",
    "TrainingCurveDisplay",
]

_METRIC_LABELS = {"loss": "loss (standardised)", "r2": "R²"}
_SPLIT_LABELS = {"train": "training", "valid": "validation"}
_SPLIT_STYLES = {"train": "-", "valid": "--"}
_SPLIT_COLORS = {"train": "C0", "valid": "C1"}
_PREDICTION_KINDS = ("actual_vs_predicted", "residual_vs_predicted")


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "skhealth.plot needs matplotlib: pip install 'skhealth[plot]'"
        ) from exc
    return plt


def _new_axes(ax):
    if ax is None:
        # wide and constrained: the figure makes room for a legend outside
        _, ax = _pyplot().subplots(figsize=(8, 4.8), layout="constrained")
    return ax


def _task_panels(ax, n_tasks, n_cols, panel_size):
    """One Axes per task: those of ``ax``, or a new figure's grid of panels of
    ``panel_size`` inches, ``n_cols`` to a row."""
    if not isinstance(n_cols, Integral) or n_cols < 1:
        raise ValueError(f"n_cols must be a positive integer; got {n_cols!r}.")
    if ax is not None:
        axes = np.asarray(ax, dtype=object).ravel()
        if len(axes) != n_tasks:
            raise ValueError(
                f"ax must hold one Axes per task ({n_tasks}); got {len(axes)}."
            )
        return axes
    n_cols = min(n_cols, n_tasks)
    n_rows = math.ceil(n_tasks / n_cols)
    width, height = panel_size
    _, grid = _pyplot().subplots(
        n_rows,
        n_cols,
        figsize=(width * n_cols, height * n_rows),
        squeeze=False,
        layout="constrained",
    )
    for unused in grid.ravel()[n_tasks:]:
        unused.remove()
    return grid.ravel()[:n_tasks]


def _task_colors(n_tasks):
    """A colour per task, all distinct up to 20 tasks: the colour cycle's ten,
    then tab20's twenty (the cycle repeats its first colour at the 11th)."""
    if n_tasks <= 10:
        return [f"C{t}" for t in range(n_tasks)]
    colors = _pyplot().get_cmap("tab20").colors
    return [colors[t % len(colors)] for t in range(n_tasks)]


def _epoch_axis(ax):
    """Label the x-axis of ``ax`` as epochs, ticked at whole epochs only."""
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _legend_beside(ax, handles=None):
    """A legend to the right of ``ax``, outside it, so that it hides no data."""
    kwargs = {} if handles is None else {"handles": handles}
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0, **kwargs)


def _epochs(history):
    if isinstance(history, Mapping) or not all(
        isinstance(entry, Mapping) for entry in history
    ):
        raise ValueError(
            "history must be a skorch History (a list with one dict per epoch)."
        )
    return pd.RangeIndex(1, len(history) + 1, name="epoch")


def _select_tasks(tasks, target_names):
    target_names = [str(name) for name in target_names]
    if tasks is None:
        return target_names
    tasks = [tasks] if isinstance(tasks, str) else [str(task) for task in tasks]
    unknown = [task for task in tasks if task not in target_names]
    if unknown or not tasks:
        raise ValueError(
            f"tasks must be target names, one or more of {target_names}; got "
            f"{unknown or tasks}."
        )
    return tasks


class TrainingCurveDisplay:
    """Per-task learning curves: training and validation values by epoch.

    By default each task gets its own panel, titled with its name, with its
    training curve solid and its validation curve dashed, and one legend for
    the figure: each panel keeps its own scale, and a dozen tasks stay
    legible. Given a single Axes, the display draws every task on it, one
    colour per task, with the legend beside it. Create one with
    :meth:`from_estimator` or :meth:`from_history`.

    Parameters
    ----------
    train_curves : pandas.DataFrame or None
        One column per task, indexed by epoch (from 1): the training value of
        ``metric`` after each epoch (``NaN`` where not recorded). ``None`` when
        the history holds none.
    valid_curves : pandas.DataFrame or None
        The same on the validation data (recorded with ``early_stopping``).
    metric : {"loss", "r2"}
        What the curves show: the loss on standardised targets, or R².

    Attributes
    ----------
    lines_ : dict of (split, task) -> matplotlib Line2D
        The drawn lines; split is ``"train"`` or ``"valid"``.
    ax_ : ndarray of matplotlib Axes
        One panel per task, in task order (as the ``ax`` argument takes them),
        or the single Axes every task was drawn on, in an array of one.
    figure_ : matplotlib Figure

    See Also
    --------
    TaskPredictionErrorDisplay : The same panels for the predictions.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skhealth import MultiTaskHealthRegressor
    >>> from skhealth.plot import TrainingCurveDisplay
    >>> X, Y = make_regression(n_samples=100, n_features=5, n_targets=2,
    ...                        random_state=0)
    >>> reg = MultiTaskHealthRegressor(early_stopping=True, n_iter_no_change=2,
    ...                                tol=0.05, random_state=0).fit(X, Y)
    >>> disp = TrainingCurveDisplay.from_estimator(reg, metric="r2")
    >>> [ax.get_title() for ax in disp.ax_]
    ['task_0', 'task_1']
    >>> sorted(disp.lines_)
    [('train', 'task_0'), ('train', 'task_1'), ('valid', 'task_0'), ('valid', 'task_1')]
    """

    def __init__(self, *, train_curves, valid_curves, metric):
        self.train_curves = train_curves
        self.valid_curves = valid_curves
        self.metric = metric

    def plot(self, ax=None, *, n_cols=3):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes or array-like of matplotlib Axes, default=None
            One Axes per task, each task's panel; a single Axes, on which
            every task is drawn, one colour per task, with the legend outside
            it, on its right (give the figure room for it, e.g.
            ``layout="constrained"``); ``None`` makes a new figure with a grid
            of panels.
        n_cols : int, default=3
            Panels per row of a new figure.

        Returns
        -------
        display : TrainingCurveDisplay
            ``self``, with the drawn lines in ``lines_``, the Axes in ``ax_``
            and their figure in ``figure_``.
        """
        from matplotlib.lines import Line2D

        curves = {
            split: frame
            for split, frame in (
                ("train", self.train_curves),
                ("valid", self.valid_curves),
            )
            if frame is not None
        }
        tasks = list(next(iter(curves.values())).columns)
        # on a single Axes each task has its colour; in panels, each split
        shared = ax is not None and np.ndim(ax) == 0
        if shared:
            axes, task_colors = np.array([ax], dtype=object), _task_colors(len(tasks))
            split_colors = dict.fromkeys(curves, "grey")
        else:
            axes = _task_panels(ax, len(tasks), n_cols, panel_size=(4, 3))
            split_colors = _SPLIT_COLORS
        self.lines_ = {}
        for split, frame in curves.items():
            for t, task in enumerate(tasks):
                (self.lines_[split, task],) = axes[0 if shared else t].plot(
                    frame.index,
                    frame[task],
                    color=task_colors[t] if shared else split_colors[split],
                    linestyle=_SPLIT_STYLES[split],
                    label=f"{task} ({_SPLIT_LABELS[split]})",
                )
        for panel, task in zip(axes, [""] if shared else tasks, strict=True):
            _epoch_axis(panel)
            panel.set(ylabel=_METRIC_LABELS[self.metric], title=task)
        keys = [
            Line2D(
                [],
                [],
                color=split_colors[split],
                linestyle=_SPLIT_STYLES[split],
                label=_SPLIT_LABELS[split],
            )
            for split in curves
        ]
        if shared:
            colors = zip(tasks, task_colors, strict=True)
            keys = [Line2D([], [], color=c, label=task) for task, c in colors] + keys
            _legend_beside(ax, keys)
        elif ax is None:  # above the panels, in the room the layout makes
            axes[0].figure.legend(
                handles=keys, loc="outside upper center", ncols=len(keys)
            )
        else:  # in the caller's figure, whose layout is theirs
            axes[0].legend(handles=keys)
        self.ax_, self.figure_ = axes, axes[0].figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, metric="loss", tasks=None, n_cols=3, ax=None):
        """Plot the training curves of a fitted estimator.

        Parameters
        ----------
        estimator : MultiTaskHealthRegressor, Pipeline or search
            Fitted estimator, or a fitted pipeline ending in one, or a search
            fitted with ``refit=True`` whose best estimator is either; its
            ``history_`` holds the curves.
        metric : {"loss", "r2"}, default="loss"
            Loss on standardised targets, or R².
        tasks : str or list of str, default=None
            Target names to draw; ``None`` draws every task.
        n_cols : int, default=3
            Panels per row of a new figure.
        ax : matplotlib Axes or array-like of matplotlib Axes, default=None
            One Axes per task, or a single Axes for every task; see
            :meth:`plot`. ``None`` makes a new figure.

        Returns
        -------
        display : TrainingCurveDisplay
            A new display of the selected tasks' curves, drawn by :meth:`plot`.
        """
        final = fitted_regressor(estimator, name="estimator")
        return cls.from_history(
            final.history_,
            final.target_names_,
            metric=metric,
            tasks=tasks,
            n_cols=n_cols,
            ax=ax,
        )

    @classmethod
    def from_history(
        cls, history, target_names, *, metric="loss", tasks=None, n_cols=3, ax=None
    ):
        """Plot the training curves recorded in a skorch history.

        Parameters
        ----------
        history : skorch.History or list of dict
            One dict per epoch with keys ``train_<metric>_<target>`` and, for
            validation curves, ``valid_<metric>_<target>``.
        target_names : sequence of str
            The targets the history was recorded for.
        metric : {"loss", "r2"}, default="loss"
            Loss on standardised targets, or R².
        tasks : str or list of str, default=None
            Target names to draw; ``None`` draws every task.
        n_cols : int, default=3
            Panels per row of a new figure.
        ax : matplotlib Axes or array-like of matplotlib Axes, default=None
            One Axes per task, or a single Axes for every task; see
            :meth:`plot`. ``None`` makes a new figure.

        Returns
        -------
        display : TrainingCurveDisplay
            A new display of the selected tasks' curves, drawn by :meth:`plot`.
        """
        if metric not in _METRIC_LABELS:
            raise ValueError(
                f"metric must be one of {sorted(_METRIC_LABELS)}; got {metric!r}."
            )
        tasks = _select_tasks(tasks, target_names)
        epochs = _epochs(history)
        curves = {}
        for split in _SPLIT_STYLES:
            keys = [f"{split}_{metric}_{task}" for task in tasks]
            recorded = [any(key in entry for entry in history) for key in keys]
            if not any(recorded):
                curves[split] = None
                continue
            if not all(recorded):
                missing = [
                    key for key, ok in zip(keys, recorded, strict=True) if not ok
                ]
                raise ValueError(
                    f"The history has no {missing}: target_names must be the "
                    "targets the history was recorded for."
                )
            values = [[entry.get(key, np.nan) for key in keys] for entry in history]
            curves[split] = pd.DataFrame(values, index=epochs, columns=tasks)
        if curves["train"] is None and curves["valid"] is None:
            raise ValueError(
                f"The history has no per-task {metric!r} values (keys "
                f"'train_{metric}_<target>'): MultiTaskHealthRegressor.fit records "
                "them every epoch, and the 'valid_' ones with early_stopping=True."
            )
        display = cls(
            train_curves=curves["train"], valid_curves=curves["valid"], metric=metric
        )
        return display.plot(ax=ax, n_cols=n_cols)


class TaskWeightDisplay:
    """The weight of each task in the training objective, by epoch.

    One line per task, one colour each, with the legend beside the axes.
    Weightings whose weights are constant by construction (``"equal"``, fixed
    weights, ``"pcgrad"``) draw flat lines, and the title says so, and whether
    the weights are equal; the title of weights that adapt (``"dwa"``,
    ``"uncertainty"``, ``"gradnorm"``) names the weighting only, even where a
    short fit left them unchanged. Create one with :meth:`from_estimator` or
    :meth:`from_history`.

    Parameters
    ----------
    weights : pandas.DataFrame
        One column per task, indexed by epoch (from 1): the weights used in
        that epoch (``NaN`` where not recorded).
    weighting : str, default=None
        The task weighting that gave the weights, named in the title (such as
        ``"task_weighting='dwa'"``); ``from_estimator`` names the estimator's.
    constant : bool, default=None
        Whether the weighting's weights are constant by construction;
        ``from_estimator`` tells from the estimator's weighting. ``None`` (not
        known, as from a bare history): the title calls the weights constant
        where they never changed in ``weights``, without calling them equal.

    Attributes
    ----------
    lines_ : dict of task -> matplotlib Line2D
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from skhealth import MultiTaskHealthRegressor
    >>> from skhealth.plot import TaskWeightDisplay
    >>> X, Y = make_regression(n_samples=100, n_features=5, n_targets=2,
    ...                        random_state=0)
    >>> reg = MultiTaskHealthRegressor(task_weighting="dwa", n_iter_no_change=2,
    ...                                tol=0.1, random_state=0).fit(X, Y)
    >>> disp = TaskWeightDisplay.from_estimator(reg)
    >>> disp.weights.shape == (reg.n_iter_, 2)
    True
    >>> disp.ax_.get_title()
    "task_weighting='dwa'"
    """

    def __init__(self, *, weights, weighting=None, constant=None):
        self.weights = weights
        self.weighting = weighting
        self.constant = constant

    def plot(self, ax=None):
        """Draw one line per task.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw, with the legend outside the Axes, on its right
            (give the figure room for it, e.g. ``layout="constrained"``);
            ``None`` makes a new figure.

        Returns
        -------
        display : TaskWeightDisplay
            ``self``, with the drawn lines in ``lines_``, the Axes in ``ax_``
            and its figure in ``figure_``.
        """
        ax = _new_axes(ax)
        colors = _task_colors(len(self.weights.columns))
        self.lines_ = {}
        for task, color in zip(self.weights.columns, colors, strict=True):
            (self.lines_[task],) = ax.plot(
                self.weights.index, self.weights[task], color=color, label=task
            )
        flat = not (self.weights.nunique() > 1).any()  # NaN (unrecorded) aside
        _epoch_axis(ax)
        ax.set(ylabel="task weight", title=self._title(flat))
        if flat:  # from 0: a flat line near the top reads as deliberate
            ax.set_ylim(bottom=0, top=1.1 * np.nanmax(self.weights.to_numpy()))
        _legend_beside(ax)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    def _title(self, flat):
        """The title: the weighting's name, and whether its weights are
        constant (flat lines that would otherwise look like a failure to
        record them), by construction where its kind is known, else as the
        ``flat`` weights show; a weighting that adapts may not have yet."""
        if self.constant is None:
            kind = "constant weights" if flat else ""
        elif self.constant:
            values = self.weights.to_numpy()
            equal = np.unique(values[~np.isnan(values)]).size == 1
            kind = "constant, equal weights" if equal else "constant weights"
        else:
            kind = ""
        names = [name for name in (kind, self.weighting) if name]
        return f"{kind} ({self.weighting})" if len(names) == 2 else "".join(names)

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Plot the task weights a fitted estimator trained with.

        Parameters
        ----------
        estimator : MultiTaskHealthRegressor, Pipeline or search
            Fitted estimator, or a fitted pipeline ending in one, or a search
            fitted with ``refit=True`` whose best estimator is either; its
            ``history_`` holds the weights.
        ax : matplotlib Axes, default=None
            Where to draw; ``None`` makes a new figure.

        Returns
        -------
        display : TaskWeightDisplay
            A new display of the weights, drawn by :meth:`plot`.
        """
        final = fitted_regressor(estimator, name="estimator")
        target_names = list(final.target_names_)
        weighting, constant = _weighting_kind(final.task_weighting, target_names)
        display = cls(
            weights=_history_weights(final.history_, target_names),
            weighting=weighting,
            constant=constant,
        )
        return display.plot(ax=ax)

    @classmethod
    def from_history(cls, history, target_names, *, ax=None):
        """Plot the task weights recorded in a skorch history.

        Parameters
        ----------
        history : skorch.History or list of dict
            One dict per epoch with key ``task_weights``: one weight per task.
        target_names : sequence of str
            The targets the history was recorded for.
        ax : matplotlib Axes, default=None
            Where to draw; ``None`` makes a new figure.

        Returns
        -------
        display : TaskWeightDisplay
            A new display of the weights, drawn by :meth:`plot`.
        """
        return cls(weights=_history_weights(history, target_names)).plot(ax=ax)


def _history_weights(history, target_names):
    """The ``task_weights`` of a history: one column per target, by epoch."""
    target_names = [str(name) for name in target_names]
    epochs = _epochs(history)
    rows = [entry.get("task_weights") for entry in history]
    if all(row is None for row in rows):
        raise ValueError(
            "The history has no 'task_weights': MultiTaskHealthRegressor.fit "
            "records the weights its task_weighting gives every epoch."
        )
    nan_row = [np.nan] * len(target_names)
    rows = [nan_row if row is None else list(row) for row in rows]
    if any(len(row) != len(target_names) for row in rows):
        raise ValueError(
            f"task_weights in the history do not have one weight per target "
            f"({len(target_names)}: {target_names})."
        )
    return pd.DataFrame(rows, index=epochs, columns=target_names, dtype=float)


def _weighting_kind(task_weighting, target_names):
    """``(label, constant)``: ``task_weighting=`` as a title names it (a name
    as given, anything else by the kind of weighting it makes), and whether
    the weights it makes are constant by construction."""
    weighting = get_weighting(task_weighting, target_names)
    constant = isinstance(weighting.build(len(target_names)), _ConstantWeights)
    if isinstance(task_weighting, str):
        return f"task_weighting={task_weighting!r}", constant
    return f"task_weighting={type(weighting).__name__}(...)", constant


class TaskPredictionErrorDisplay:
    """Predicted against observed values, one panel per task.

    Rows whose label is ``NaN`` (not measured) are left out of their task's
    panel. Each title gives the task's R² on all the data given (before
    subsampling). Create one with :meth:`from_estimator` or
    :meth:`from_predictions`.

    Parameters
    ----------
    y_true : ndarray of shape (n_samples, n_tasks)
        Observed values, ``NaN`` where missing.
    y_pred : ndarray of shape (n_samples, n_tasks)
        Predicted values.
    target_names : list of str
        One name per task (panel titles).
    r2 : ndarray of shape (n_tasks,)
        R² of each task, shown in the titles.

    Attributes
    ----------
    scatters_ : ndarray of matplotlib PathCollection
        The points of each task.
    lines_ : ndarray of matplotlib Line2D
        Each panel's reference line (the identity line, or zero residual).
    ax_ : ndarray of matplotlib Axes of shape (n_tasks,)
        One panel per task, in task order (as the ``ax`` argument takes them).
    figure_ : matplotlib Figure

    See Also
    --------
    sklearn.metrics.PredictionErrorDisplay : The single-output version.

    Examples
    --------
    >>> import numpy as np
    >>> from skhealth.plot import TaskPredictionErrorDisplay
    >>> y_true = np.array([[1.0, 10.0], [2.0, np.nan], [3.0, 30.0]])
    >>> y_pred = np.array([[1.0, 12.0], [2.0, 20.0], [4.0, 30.0]])
    >>> disp = TaskPredictionErrorDisplay.from_predictions(
    ...     y_true, y_pred, target_names=["sbp", "hdl"])
    >>> [ax.get_title() for ax in disp.ax_]
    ['sbp (R² = 0.50)', 'hdl (R² = 0.98)']
    """

    def __init__(self, *, y_true, y_pred, target_names, r2):
        self.y_true = y_true
        self.y_pred = y_pred
        self.target_names = target_names
        self.r2 = r2

    def plot(
        self,
        ax=None,
        *,
        kind="actual_vs_predicted",
        n_cols=3,
        scatter_kwargs=None,
        line_kwargs=None,
    ):
        """Draw one panel per task.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            One Axes per task; ``None`` makes a figure with a grid of panels.
        kind : {"actual_vs_predicted", "residual_vs_predicted"}, \
                default="actual_vs_predicted"
            Observed (y-axis) against predicted (x-axis) values with the
            identity line, or residuals (observed - predicted) against
            predicted values with the zero line.
        n_cols : int, default=3
            Panels per row of a new figure.
        scatter_kwargs : dict, default=None
            Passed to ``matplotlib.axes.Axes.scatter``.
        line_kwargs : dict, default=None
            Passed to ``matplotlib.axes.Axes.plot`` for the reference line.

        Returns
        -------
        display : TaskPredictionErrorDisplay
            ``self``, with the drawn points in ``scatters_``, the reference
            lines in ``lines_``, the panels in ``ax_`` and their figure in
            ``figure_``.
        """
        if kind not in _PREDICTION_KINDS:
            raise ValueError(f"kind must be one of {_PREDICTION_KINDS}; got {kind!r}.")
        axes = _task_panels(ax, len(self.target_names), n_cols, panel_size=(4, 4))
        default_scatter = {"alpha": 0.5, "s": 12}
        default_line = {"color": "black", "alpha": 0.7, "linestyle": "--"}
        scatter_kwargs = validate_style_kwargs(default_scatter, scatter_kwargs or {})
        line_kwargs = validate_style_kwargs(default_line, line_kwargs or {})
        scatters, lines = [], []
        for t, ax in enumerate(axes):
            observed = ~np.isnan(self.y_true[:, t])
            y_true, y_pred = self.y_true[observed, t], self.y_pred[observed, t]
            if kind == "actual_vs_predicted":
                y_axis, ylabel = y_true, "observed"
                both = np.concatenate([y_true, y_pred])
                low, high = (both.min(), both.max()) if len(both) else (0, 1)
                (line,) = ax.plot([low, high], [low, high], **line_kwargs)
                ax.set_aspect("equal", adjustable="datalim")
            else:
                y_axis, ylabel = y_true - y_pred, "residual (observed - predicted)"
                low, high = (y_pred.min(), y_pred.max()) if len(y_pred) else (0, 1)
                (line,) = ax.plot([low, high], [0, 0], **line_kwargs)
            scatters.append(ax.scatter(y_pred, y_axis, **scatter_kwargs))
            lines.append(line)
            ax.set(
                xlabel="predicted",
                ylabel=ylabel,
                title=f"{self.target_names[t]} (R² = {self.r2[t]:.2f})",
            )
        self.scatters_ = np.asarray(scatters, dtype=object)
        self.lines_ = np.asarray(lines, dtype=object)
        self.ax_ = axes
        self.figure_ = axes[0].figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        kind="actual_vs_predicted",
        subsample=1_000,
        random_state=None,
        n_cols=3,
        ax=None,
        scatter_kwargs=None,
        line_kwargs=None,
    ):
        """Plot the prediction errors of a fitted estimator on ``X``, ``y``.

        Parameters
        ----------
        estimator : estimator instance
            Fitted multi-output regressor (or a Pipeline ending in one, or a
            search that refitted one).
        X : array-like of shape (n_samples, n_features)
            Inputs, predicted by ``estimator``.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Observed values, ``NaN`` where missing.
        kind : {"actual_vs_predicted", "residual_vs_predicted"}, \
                default="actual_vs_predicted"
            See :meth:`plot`.
        subsample : float, int or None, default=1000
            Rows shown: a number of rows (int), a share of them in (0, 1)
            (float), or ``None`` for all; drawn without replacement. The R² in
            the titles is on all rows.
        random_state : int, RandomState instance or None, default=None
            Draws the subsample.
        n_cols : int, default=3
            Panels per row of a new figure.
        ax : array-like of matplotlib Axes, default=None
            One Axes per task; ``None`` makes a new figure.
        scatter_kwargs, line_kwargs : dict, default=None
            See :meth:`plot`.

        Returns
        -------
        display : TaskPredictionErrorDisplay
            A new display of the rows shown (and of every row's R²), drawn by
            :meth:`plot`.
        """
        check_is_fitted(estimator)
        try:
            target_names = fitted_regressor(estimator).target_names_
        except TypeError:  # another regressor: y's columns name the tasks
            target_names = None
        else:
            check_target_columns(y, target_names)
        if hasattr(y, "columns"):
            target_names = None  # y's own, the model's when it has names
        return cls.from_predictions(
            y,
            estimator.predict(X),
            target_names=target_names,
            kind=kind,
            subsample=subsample,
            random_state=random_state,
            n_cols=n_cols,
            ax=ax,
            scatter_kwargs=scatter_kwargs,
            line_kwargs=line_kwargs,
        )

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_pred,
        *,
        target_names=None,
        kind="actual_vs_predicted",
        subsample=1_000,
        random_state=None,
        n_cols=3,
        ax=None,
        scatter_kwargs=None,
        line_kwargs=None,
    ):
        """Plot the prediction errors given observed and predicted values.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Observed values, ``NaN`` where missing.
        y_pred : array-like of the same shape
            Predicted values.
        target_names : sequence of str, default=None
            Panel titles; default the columns of ``y_true`` when it is a
            DataFrame, else ``task_0``, ``task_1``, ...
        kind : {"actual_vs_predicted", "residual_vs_predicted"}, \
                default="actual_vs_predicted"
            See :meth:`plot`.
        subsample : float, int or None, default=1000
            Rows shown: a number of rows (int), a share of them in (0, 1)
            (float), or ``None`` for all; drawn without replacement. The R² in
            the titles is on all rows.
        random_state : int, RandomState instance or None, default=None
            Draws the subsample.
        n_cols : int, default=3
            Panels per row of a new figure.
        ax : array-like of matplotlib Axes, default=None
            One Axes per task; ``None`` makes a new figure.
        scatter_kwargs, line_kwargs : dict, default=None
            See :meth:`plot`.

        Returns
        -------
        display : TaskPredictionErrorDisplay
            A new display of the rows shown (and of every row's R²), drawn by
            :meth:`plot`.
        """
        scores = task_scores(y_true, y_pred, target_names=target_names)
        y_true, y_pred = as_2d(y_true, "y_true"), as_2d(y_pred, "y_pred")
        rows = _subsample(len(y_true), subsample, random_state)
        display = cls(
            y_true=y_true[rows],
            y_pred=y_pred[rows],
            target_names=[str(name) for name in scores.index],
            r2=scores["r2"].to_numpy(),
        )
        return display.plot(
            ax=ax,
            kind=kind,
            n_cols=n_cols,
            scatter_kwargs=scatter_kwargs,
            line_kwargs=line_kwargs,
        )


def _subsample(n_samples, subsample, random_state):
    """Sorted row indices to show (without replacement).

    As :class:`sklearn.metrics.PredictionErrorDisplay` reads ``subsample``: an
    int is a number of rows, a float in (0, 1) a share of them, ``None`` all of
    them. A bool is neither (``True`` would be one row, ``False`` none).
    """
    if subsample is None:
        return np.arange(n_samples)
    is_count = isinstance(subsample, Integral) and not isinstance(subsample, bool)
    if is_count and subsample > 0:
        size = int(subsample)
    elif isinstance(subsample, Real) and 0 < subsample < 1:  # not True or False
        size = int(n_samples * subsample)
    else:
        raise ValueError(
            "subsample must be a positive int (a number of rows), a float in "
            f"(0, 1) (a share of the rows) or None (all rows); got {subsample!r}."
        )
    if size >= n_samples:
        return np.arange(n_samples)
    rng = check_random_state(random_state)
    return np.sort(rng.choice(n_samples, size=size, replace=False))


_IMPORTANCE_LABELS = {
    "r2": "drop in R² when shuffled",
    "neg_mean_absolute_error": "rise in MAE when shuffled",
    "neg_mean_squared_error": "rise in MSE when shuffled",
    "neg_root_mean_squared_error": "rise in RMSE when shuffled",
    "roc_auc": "drop in ROC-AUC when shuffled",
    "neg_log_loss": "rise in log-loss when shuffled",
    "neg_brier_score": "rise in Brier score when shuffled",
    "balanced_accuracy": "drop in balanced accuracy when shuffled",
}


# The columns of task_attributions' table.
_ATTRIBUTION_COLUMNS = [
    "sample",
    "task",
    "feature",
    "value",
    "attribution",
    "prediction",
    "baseline_prediction",
]


def _check_max_features(max_features, none=False):
    """A ValueError unless ``max_features`` is a positive int (or None where
    ``none``)."""
    if none and max_features is None:
        return
    if (
        not isinstance(max_features, Integral)
        or isinstance(max_features, bool)
        or max_features < 1
    ):
        also = " or None" if none else ""
        raise ValueError(
            f"max_features must be a positive integer{also}; got {max_features!r}."
        )


def _check_columns(frame, columns, name, made_by):
    """A ValueError naming the ``columns`` that the table ``frame`` lacks."""
    missing = [
        column for column in columns if column not in getattr(frame, "columns", [])
    ]
    if missing:
        raise ValueError(
            f"{name} must be a DataFrame with the columns {columns}, as "
            f"{made_by} returns; it lacks {missing}."
        )


class TaskImportanceDisplay:
    """Each task's importance of each input column, as a heatmap.

    One column per task, one row per input column, the most important first
    (by its largest importance over the tasks), each cell coloured by the
    importance and written in it. Create one with :meth:`from_estimator`,
    which computes the importances with
    :func:`~skhealth.inspection.task_permutation_importance`, or with
    :meth:`from_importances` from its table.

    Parameters
    ----------
    importances : pandas.DataFrame
        Input columns (index) by tasks (columns): the mean importances.
    label : str, default="importance"
        What the importances measure, the colour bar's label.

    Attributes
    ----------
    image_ : matplotlib AxesImage
        The heatmap.
    text_ : ndarray of matplotlib Text or None, of shape (n_features, n_tasks)
        The value written in each cell; ``None`` where it rounds to zero, or
        everywhere when ``include_values=False``.
    colorbar_ : matplotlib Colorbar or None
        The colour bar, when drawn.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    skhealth.inspection.task_permutation_importance : The importances.
    AttributionDisplay : What moved one person's predictions.

    Examples
    --------
    >>> import pandas as pd
    >>> from skhealth.plot import TaskImportanceDisplay
    >>> importances = pd.DataFrame({
    ...     "task": ["sbp", "sbp", "hdl", "hdl"],
    ...     "feature": ["age", "steps", "age", "steps"],
    ...     "importance_mean": [0.30, 0.01, 0.02, 0.25],
    ... })
    >>> disp = TaskImportanceDisplay.from_importances(importances)
    >>> disp.importances
    task      sbp   hdl
    feature
    age      0.30  0.02
    steps    0.01  0.25
    >>> [text.get_text() for text in disp.text_.ravel()]
    ['0.30', '0.02', '0.01', '0.25']
    """

    def __init__(self, *, importances, label="importance"):
        self.importances = importances
        self.label = label

    def plot(
        self,
        ax=None,
        *,
        cmap="Blues",
        include_values=True,
        values_format=".2f",
        colorbar=True,
    ):
        """Draw the heatmap.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; ``None`` makes a new figure, sized to the table.
        cmap : str or matplotlib Colormap, default="Blues"
            The colours, from an importance of 0 (or less, noise) to the
            largest.
        include_values : bool, default=True
            Write each importance in its cell, but those that round to zero
            in ``values_format``, which are left blank.
        values_format : str, default=".2f"
            The format of the values written.
        colorbar : bool, default=True
            Draw a colour bar, labelled with ``label``.

        Returns
        -------
        display : TaskImportanceDisplay
            ``self``, with the heatmap in ``image_``, the values in ``text_``,
            the colour bar in ``colorbar_``, the Axes in ``ax_`` and its
            figure in ``figure_``.
        """
        values = self.importances.to_numpy(dtype=float)
        n_features, n_tasks = values.shape
        if ax is None:
            size = (2.5 + 0.9 * n_tasks, 1.2 + 0.35 * n_features)
            _, ax = _pyplot().subplots(figsize=size, layout="constrained")
        top = np.nanmax(values, initial=0.0)
        self.image_ = ax.imshow(
            values, cmap=cmap, vmin=0, vmax=top if top > 0 else 1, aspect="auto"
        )
        ax.set_xticks(
            np.arange(n_tasks),
            [str(task) for task in self.importances.columns],
            rotation=45,
            ha="right",
        )
        ax.set_yticks(
            np.arange(n_features), [str(name) for name in self.importances.index]
        )
        ax.set(xlabel="task", ylabel="input column")
        self.text_ = np.full(values.shape, None, dtype=object)
        if include_values:
            dark, light = self.image_.cmap(1.0), self.image_.cmap(0.0)
            for (i, j), value in np.ndenumerate(values):
                text = format(value, values_format)
                if not np.isfinite(value) or float(text) == 0:
                    continue
                shade = self.image_.norm(value)
                self.text_[i, j] = ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=8,
                    color=light if shade > 0.5 else dark,
                )
        self.colorbar_ = (
            ax.figure.colorbar(self.image_, ax=ax, label=self.label)
            if colorbar
            else None
        )
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        scoring=None,
        n_repeats=5,
        n_jobs=None,
        random_state=None,
        sample_weight=None,
        max_samples=1.0,
        max_features=None,
        ax=None,
        cmap="Blues",
        include_values=True,
        values_format=".2f",
        colorbar=True,
    ):
        """Plot each task's permutation importance of each column of ``X``.

        Parameters
        ----------
        estimator : MultiTaskHealthRegressor, Pipeline or search
            A fitted estimator, a fitted pipeline whose last step is one, or
            a search fitted with ``refit=True`` whose best estimator is
            either.
        X : array-like or DataFrame of shape (n_samples, n_features)
            Data to shuffle and predict, best held out from training.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Its targets, ``NaN`` where missing.
        scoring : str, default=None
            The metric (see
            :func:`~skhealth.inspection.task_permutation_importance`), named
            in the colour bar's label; ``None`` is ``"roc_auc"`` for a
            classifier, ``"r2"`` for a regressor.
        n_repeats : int, default=5
            Times each column is shuffled.
        n_jobs : int, default=None
            Columns scored in parallel (joblib).
        random_state : int, RandomState instance or None, default=None
            Seeds the shuffles.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row in every task's score.
        max_samples : int or float, default=1.0
            Rows drawn for each repeat, as in scikit-learn.
        max_features : int, default=None
            Draw the most important columns only, this many; ``None`` draws
            all.
        ax : matplotlib Axes, default=None
            Where to draw; ``None`` makes a new figure.
        cmap : str or matplotlib Colormap, default="Blues"
            The colours; see :meth:`plot`.
        include_values : bool, default=True
            Write each importance in its cell; see :meth:`plot`.
        values_format : str, default=".2f"
            The format of the values written.
        colorbar : bool, default=True
            Draw a colour bar.

        Returns
        -------
        display : TaskImportanceDisplay
            A new display of the importances, drawn by :meth:`plot`.
        """
        from .inspection import task_permutation_importance

        if scoring is None:
            scoring = "roc_auc" if is_classifier(estimator) else "r2"
        importances = task_permutation_importance(
            estimator,
            X,
            y,
            scoring=scoring,
            n_repeats=n_repeats,
            n_jobs=n_jobs,
            random_state=random_state,
            sample_weight=sample_weight,
            max_samples=max_samples,
        )
        return cls.from_importances(
            importances,
            max_features=max_features,
            label=_IMPORTANCE_LABELS.get(scoring, f"importance ({scoring})"),
            ax=ax,
            cmap=cmap,
            include_values=include_values,
            values_format=values_format,
            colorbar=colorbar,
        )

    @classmethod
    def from_importances(
        cls,
        importances,
        *,
        max_features=None,
        label="importance",
        ax=None,
        cmap="Blues",
        include_values=True,
        values_format=".2f",
        colorbar=True,
    ):
        """Plot a table of importances, as task_permutation_importance returns.

        Parameters
        ----------
        importances : pandas.DataFrame
            One row per task and input column, with the columns ``task``,
            ``feature`` and ``importance_mean``, as
            :func:`~skhealth.inspection.task_permutation_importance` returns
            (or ``skhealth explain`` writes). The tasks keep their order.
        max_features : int, default=None
            Draw the most important columns only, this many; ``None`` draws
            all.
        label : str, default="importance"
            What the importances measure, the colour bar's label.
        ax : matplotlib Axes, default=None
            Where to draw; ``None`` makes a new figure.
        cmap : str or matplotlib Colormap, default="Blues"
            The colours; see :meth:`plot`.
        include_values : bool, default=True
            Write each importance in its cell; see :meth:`plot`.
        values_format : str, default=".2f"
            The format of the values written.
        colorbar : bool, default=True
            Draw a colour bar.

        Returns
        -------
        display : TaskImportanceDisplay
            A new display of the importances, drawn by :meth:`plot`.
        """
        _check_columns(
            importances,
            ["task", "feature", "importance_mean"],
            "importances",
            "task_permutation_importance",
        )
        _check_max_features(max_features, none=True)
        table = importances.pivot(
            index="feature", columns="task", values="importance_mean"
        )
        table = table[list(importances["task"].drop_duplicates())]
        order = table.max(axis=1).sort_values(ascending=False, kind="stable").index
        table = table.loc[order[:max_features]]
        return cls(importances=table, label=label).plot(
            ax=ax,
            cmap=cmap,
            include_values=include_values,
            values_format=values_format,
            colorbar=colorbar,
        )


def _shown_value(value):
    """A column's value as a bar's label shows it: numbers to 4 significant
    digits, a missing value as "missing"."""
    if value is None or (isinstance(value, Real) and np.isnan(value)):
        return "missing"
    if isinstance(value, Real) and not isinstance(value, (bool, np.bool_)):
        return f"{float(value):.4g}"
    return str(value)


class AttributionDisplay:
    """What moved one person's predictions: a bar per column, a panel per task.

    Each task's panel shows how much the person's value of each input column
    moved the task's prediction away from the baseline's, in the task's
    units, as computed by :func:`~skhealth.inspection.task_attributions`:
    the largest ``max_features`` bars, the largest on top, rises red and
    falls blue, and the rest summed into one grey bar. The bars of a panel
    add up to the prediction less the baseline's, both in its title. Create one
    with :meth:`from_estimator` or :meth:`from_attributions`.

    Parameters
    ----------
    attributions : pandas.DataFrame
        One person's rows of :func:`~skhealth.inspection.task_attributions`.

    Attributes
    ----------
    bars_ : dict of task -> matplotlib BarContainer
        Each task's bars, from the bottom up.
    ax_ : ndarray of matplotlib Axes of shape (n_tasks,)
        One panel per task, in task order (as the ``ax`` argument takes them).
    figure_ : matplotlib Figure

    See Also
    --------
    skhealth.inspection.task_attributions : The attributions.
    TaskImportanceDisplay : Which columns each task relies on overall.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skhealth import MultiTaskHealthRegressor
    >>> from skhealth.plot import AttributionDisplay
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["age", "bmi", "steps"])
    >>> Y = pd.DataFrame({"sbp": 2 * X["age"], "hdl": -2 * X["steps"]})
    >>> reg = MultiTaskHealthRegressor(max_iter=100, random_state=0).fit(X, Y)
    >>> disp = AttributionDisplay.from_estimator(reg, X, row=0, max_features=2)
    >>> [ax.get_yticklabels()[-1].get_text() for ax in disp.ax_]
    ['age = 0.1257', 'steps = 0.6404']
    """

    def __init__(self, *, attributions):
        self.attributions = attributions

    def plot(self, ax=None, *, max_features=10, n_cols=3):
        """Draw one panel of bars per task.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            One Axes per task; ``None`` makes a figure with a grid of panels.
        max_features : int, default=10
            Bars of single columns per panel, the largest; the other columns
            are summed into one more bar.
        n_cols : int, default=3
            Panels per row of a new figure.

        Returns
        -------
        display : AttributionDisplay
            ``self``, with the bars in ``bars_``, the panels in ``ax_`` and
            their figure in ``figure_``.
        """
        _check_max_features(max_features)
        tasks = list(self.attributions["task"].drop_duplicates())
        n_features = self.attributions["feature"].nunique()
        n_bars = min(max_features + 1, n_features)
        axes = _task_panels(
            ax, len(tasks), n_cols, panel_size=(5.5, 1.2 + 0.3 * max(n_bars, 2))
        )
        self.bars_ = {}
        for panel, task in zip(axes, tasks, strict=True):
            rows = self.attributions[self.attributions["task"] == task]
            rows = rows.reindex(
                rows["attribution"].abs().sort_values(ascending=False).index
            )
            shown = rows.iloc[: max_features if len(rows) > n_bars else n_bars]
            labels = [
                f"{feature} = {_shown_value(value)}"
                for feature, value in zip(shown["feature"], shown["value"], strict=True)
            ]
            sizes = shown["attribution"].tolist()
            if len(rows) > len(shown):
                rest = rows.iloc[len(shown) :]
                labels.append(f"{len(rest)} other columns")
                sizes.append(rest["attribution"].sum())
            colors = ["C3" if size >= 0 else "C0" for size in sizes]
            colors[len(shown) :] = ["grey"] * (len(sizes) - len(shown))
            labels, sizes = labels[::-1], sizes[::-1]
            self.bars_[task] = panel.barh(
                np.arange(len(sizes)), sizes, color=colors[::-1]
            )
            panel.set_yticks(np.arange(len(sizes)), labels)
            panel.axvline(0, color="black", linewidth=0.8)
            prediction = rows["prediction"].iloc[0]
            baseline = rows["baseline_prediction"].iloc[0]
            panel.set(
                xlabel="change of the prediction",
                title=f"{task}\n{prediction:.4g} (baseline {baseline:.4g})",
            )
        self.ax_, self.figure_ = axes, axes[0].figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        *,
        row=0,
        baseline=None,
        n_steps=50,
        tasks=None,
        max_features=10,
        n_cols=3,
        ax=None,
    ):
        """Plot the attributions of one row of ``X``, for each task.

        Parameters
        ----------
        estimator : MultiTaskHealthRegressor, Pipeline or search
            A fitted estimator, a fitted pipeline whose last step is one, or
            a search fitted with ``refit=True`` whose best estimator is
            either.
        X : array-like or DataFrame of shape (n_samples, n_features)
            The people, as the estimator takes them.
        row : int, default=0
            The position in ``X`` of the person to explain, from 0.
        baseline : array-like or DataFrame, default=None
            The reference the person's predictions are explained against
            (see :func:`~skhealth.inspection.task_attributions`); ``None``
            takes the average person of ``X``.
        n_steps : int, default=50
            Points of the quadrature along the path, at first.
        tasks : str or list of str, default=None
            Target names to draw; ``None`` draws every task.
        max_features : int, default=10
            Bars of single columns per panel (see :meth:`plot`).
        n_cols : int, default=3
            Panels per row of a new figure.
        ax : array-like of matplotlib Axes, default=None
            One Axes per task drawn; ``None`` makes a new figure.

        Returns
        -------
        display : AttributionDisplay
            A new display of the person's attributions, drawn by :meth:`plot`.
        """
        from .inspection import task_attributions

        n_samples = len(X)
        is_position = isinstance(row, Integral) and not isinstance(row, bool)
        if not (is_position and 0 <= row < n_samples):
            raise ValueError(
                f"row must be the position of a row of X, an integer from 0 to "
                f"{n_samples - 1}; got {row!r}."
            )
        person = X.iloc[[row]] if hasattr(X, "iloc") else np.asarray(X)[[row]]
        attributions = task_attributions(
            estimator,
            person,
            baseline=X if baseline is None else baseline,
            n_steps=n_steps,
        )
        return cls.from_attributions(
            attributions, tasks=tasks, max_features=max_features, n_cols=n_cols, ax=ax
        )

    @classmethod
    def from_attributions(
        cls,
        attributions,
        *,
        sample=None,
        tasks=None,
        max_features=10,
        n_cols=3,
        ax=None,
    ):
        """Plot one person's rows of a table of attributions.

        Parameters
        ----------
        attributions : pandas.DataFrame
            As :func:`~skhealth.inspection.task_attributions` returns, with
            the columns ``sample``, ``task``, ``feature``, ``value``,
            ``attribution``, ``prediction`` and ``baseline_prediction``.
        sample : object, default=None
            The person's ``sample`` label in the table; ``None`` where the
            table holds one person only.
        tasks : str or list of str, default=None
            Target names to draw; ``None`` draws every task.
        max_features : int, default=10
            Bars of single columns per panel (see :meth:`plot`).
        n_cols : int, default=3
            Panels per row of a new figure.
        ax : array-like of matplotlib Axes, default=None
            One Axes per task drawn; ``None`` makes a new figure.

        Returns
        -------
        display : AttributionDisplay
            A new display of the person's attributions, drawn by :meth:`plot`.
        """
        _check_columns(
            attributions, _ATTRIBUTION_COLUMNS, "attributions", "task_attributions"
        )
        samples = attributions["sample"].drop_duplicates().tolist()
        if sample is None and len(samples) != 1:
            raise ValueError(
                f"attributions hold {len(samples)} people; pass sample=, one of "
                f"the labels of their 'sample' column ({_shown_samples(samples)})."
            )
        if sample is not None and sample not in samples:
            raise ValueError(
                f"sample={sample!r} is not in the 'sample' column of attributions "
                f"({_shown_samples(samples)})."
            )
        person = attributions[
            attributions["sample"] == (samples[0] if sample is None else sample)
        ]
        chosen = _select_tasks(tasks, person["task"].drop_duplicates())
        person = person[person["task"].isin(chosen)]
        return cls(attributions=person).plot(
            ax=ax, max_features=max_features, n_cols=n_cols
        )


def _shown_samples(samples, shown=5):
    """The first few ``samples`` of a table, for a message."""
    listed = ", ".join(map(repr, samples[:shown]))
    return listed + (f", ... ({len(samples)} in all)" if len(samples) > shown else "")


class IntervalCoverageDisplay:
    """How often prediction intervals hold the labels: empirical against
    nominal coverage, a line per task.

    For each confidence, the share of each task's observed labels that fall
    inside their intervals (``NaN`` labels left out), with the diagonal a
    calibrated model follows. Create one with :meth:`from_estimator` or
    :meth:`from_intervals`.

    Parameters
    ----------
    coverage : pandas.DataFrame of shape (n_confidences, n_tasks)
        The empirical coverage, indexed by the nominal confidence, one column
        per task.
    n_observed : pandas.Series of shape (n_tasks,)
        The number of observed labels of each task.

    Attributes
    ----------
    lines_ : dict of task -> matplotlib Line2D
        Each task's coverage.
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    See Also
    --------
    skhealth.MultiTaskHealthRegressor.predict_interval : The intervals.

    Examples
    --------
    >>> import numpy as np
    >>> from skhealth.plot import IntervalCoverageDisplay
    >>> y_true = np.array([[1.0, 10.0], [2.0, np.nan], [3.0, 30.0], [4.0, 41.0]])
    >>> intervals = {
    ...     0.5: np.stack([y_true - 0.5, y_true + 0.5], axis=-1),
    ...     0.9: np.stack([y_true - 2.0, y_true + 2.0], axis=-1),
    ... }
    >>> intervals[0.5][0] += 1  # the first row's label falls below it
    >>> disp = IntervalCoverageDisplay.from_intervals(
    ...     y_true, intervals, target_names=["sbp", "hdl"])
    >>> disp.coverage
                 sbp       hdl
    confidence
    0.5         0.75  0.666667
    0.9         1.00  1.000000
    """

    def __init__(self, *, coverage, n_observed):
        self.coverage = coverage
        self.n_observed = n_observed

    def plot(self, ax=None, *, title=None):
        """Draw the coverage of each task against the nominal confidence.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; ``None`` makes a new figure.
        title : str, default=None
            The Axes' title; default "Coverage of prediction intervals".

        Returns
        -------
        display : IntervalCoverageDisplay
            ``self``, with the drawn lines in ``lines_``, the Axes in ``ax_``
            and its figure in ``figure_``.
        """
        ax = _new_axes(ax)
        nominal = self.coverage.index.to_numpy(dtype=float)
        colors = _task_colors(self.coverage.shape[1])
        ax.plot([0, 1], [0, 1], color="black", alpha=0.5, linestyle="--")
        self.lines_ = {}
        for color, task in zip(colors, self.coverage.columns, strict=True):
            (self.lines_[task],) = ax.plot(
                nominal,
                self.coverage[task].to_numpy(),
                marker="o",
                color=color,
                label=f"{task} ({self.n_observed[task]} labels)",
            )
        low = max(0.0, min(nominal.min(), np.nanmin(self.coverage.to_numpy())) - 0.05)
        ax.set(
            xlim=(low, 1),
            ylim=(low, 1),
            xlabel="nominal coverage (confidence)",
            ylabel="empirical coverage",
            title="Coverage of prediction intervals" if title is None else title,
        )
        ax.set_aspect("equal")
        _legend_beside(ax)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        confidences=(0.5, 0.6, 0.7, 0.8, 0.9, 0.95),
        groups=None,
        ax=None,
        title=None,
    ):
        """Plot the coverage of a fitted model's intervals on ``X``, ``y``.

        Parameters
        ----------
        estimator : MultiTaskHealthRegressor, Pipeline or search
            A fitted, calibrated estimator, a pipeline ending in one, or a
            search that refitted either.
        X : array-like of shape (n_samples, n_features)
            Inputs, best held out from training and calibration.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Their labels, ``NaN`` where missing.
        confidences : sequence of float in (0, 1), \
                default=(0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
            The nominal coverages to check.
        groups : array-like of shape (n_samples,), default=None
            Each row's group, for a model calibrated per group.
        ax : matplotlib Axes, default=None
            Where to draw; ``None`` makes a new figure.
        title : str, default=None
            See :meth:`plot`.

        Returns
        -------
        display : IntervalCoverageDisplay
        """
        regressor = fitted_regressor(estimator, name="estimator")
        check_target_columns(y, regressor.target_names_)
        confidences = _check_confidences(confidences)
        Xt = regressor_input(estimator, X)
        intervals = {
            c: regressor.predict_interval(Xt, confidence=c, groups=groups)
            for c in confidences
        }
        return cls.from_intervals(
            y,
            intervals,
            target_names=[str(name) for name in regressor.target_names_],
            ax=ax,
            title=title,
        )

    @classmethod
    def from_intervals(
        cls, y_true, intervals, *, target_names=None, ax=None, title=None
    ):
        """Plot the coverage of given intervals.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Observed values, ``NaN`` where missing.
        intervals : dict of float -> ndarray of shape (n_samples, n_tasks, 2)
            Per nominal confidence, the lower and upper bounds of each row and
            task (``(n_samples, 2)`` for one task), as
            :meth:`~skhealth.MultiTaskHealthRegressor.predict_interval` gives
            them.
        target_names : sequence of str, default=None
            Default the columns of ``y_true`` when it is a DataFrame, else
            ``task_0``, ``task_1``, ...
        ax : matplotlib Axes, default=None
            Where to draw; ``None`` makes a new figure.
        title : str, default=None
            See :meth:`plot`.

        Returns
        -------
        display : IntervalCoverageDisplay
        """
        if target_names is None and hasattr(y_true, "columns"):
            target_names = [str(column) for column in y_true.columns]
        y_true = as_2d(y_true, "y_true")
        n_samples, n_tasks = y_true.shape
        if target_names is None:
            target_names = [f"task_{t}" for t in range(n_tasks)]
        if not isinstance(intervals, Mapping) or not intervals:
            raise ValueError(
                "intervals must be a dict from each confidence to its bounds, "
                f"(n_samples, n_tasks, 2); got {type(intervals).__name__}."
            )
        confidences = _check_confidences(list(intervals))
        observed = ~np.isnan(y_true)
        rows = []
        for confidence in confidences:
            bounds = np.asarray(intervals[confidence], dtype=float)
            if n_tasks == 1 and bounds.shape == (n_samples, 2):  # a 1-D y's
                bounds = bounds[:, None, :]
            if bounds.shape != (n_samples, n_tasks, 2):
                raise ValueError(
                    f"The intervals of confidence {confidence} have shape "
                    f"{np.shape(intervals[confidence])}; expected ({n_samples}, "
                    f"{n_tasks}, 2) for y_true's {n_samples} rows and {n_tasks} "
                    "tasks."
                )
            inside = (bounds[..., 0] <= y_true) & (bounds[..., 1] >= y_true)
            with np.errstate(invalid="ignore"):
                rows.append(inside.sum(axis=0) / observed.sum(axis=0))
        coverage = pd.DataFrame(
            rows,
            index=pd.Index(confidences, name="confidence"),
            columns=list(target_names),
        )
        n_observed = pd.Series(observed.sum(axis=0), index=coverage.columns)
        return cls(coverage=coverage, n_observed=n_observed).plot(ax=ax, title=title)


def _check_confidences(confidences):
    """The sorted, distinct ``confidences``, each in (0, 1)."""
    if isinstance(confidences, (str, Real)) or len(confidences) == 0:
        raise ValueError(
            "confidences must be a non-empty sequence of numbers in (0, 1); got "
            f"{confidences!r}."
        )
    return sorted({check_confidence(c) for c in confidences})


# ---------------------------------------------------------------- binary tasks
# The fix that the messages about a task's labels or probabilities suggest.
_LEAVE_OUT = "or leave the task out (from_estimator's tasks= selects the tasks to plot)"


def _task_positions(tasks, target_names):
    """The positions of ``tasks`` (a name or a position, or a list of them)
    among ``target_names``, in the order given; all of them for ``None``."""
    if tasks is None:
        return list(range(len(target_names)))
    chosen = [tasks] if isinstance(tasks, str | Integral) else list(tasks)
    positions = []
    for task in chosen:
        if isinstance(task, str) and task in target_names:
            positions.append(target_names.index(task))
        elif (
            isinstance(task, Integral)
            and not isinstance(task, bool)
            and 0 <= task < len(target_names)
        ):
            positions.append(int(task))
        else:
            positions = []
            break
    if not positions or len(set(positions)) < len(positions):
        raise ValueError(
            f"tasks must be target names, one or more of {target_names}, or their "
            f"positions, from 0 to {len(target_names) - 1}, each at most once; got "
            f"{tasks!r}."
        )
    return positions


def _final_estimator(estimator):
    """The estimator at the end of ``estimator``: through pipelines and the best
    estimators of searches."""
    final = final_step(estimator)
    while isinstance(final, BaseSearchCV) and hasattr(final, "best_estimator_"):
        final = final_step(final.best_estimator_)
    return final


def _check_binary_classes(classes, task):
    """A ValueError unless a classifier's ``classes`` (None where unknown) are
    0 and 1, so that the second column of its probabilities is P(label = 1)."""
    if classes is None:
        return
    classes = np.asarray(classes)
    if classes.shape != (2,) or not np.array_equal(classes, [0, 1]):
        raise ValueError(
            f"The classifier's classes for task {task!r} are {classes.tolist()}; "
            "these displays need binary outcomes labelled 0 and 1 (1 the "
            "positive label): fit the classifier on 0/1 labels."
        )


def _positive_probabilities(estimator, X, target_names):
    """The fitted ``estimator``'s probability of the label 1 for each row of
    ``X`` and each of ``target_names``: its ``predict_proba``'s, where it has
    one, else its ``predict``'s."""
    final = _final_estimator(estimator)
    n_tasks = len(target_names)
    # skhealth's classifier's second class is its positive one, whatever its
    # labels: _estimator_predictions reads y through its own encoding
    check_classes = (
        (lambda classes, task: None)
        if hasattr(final, "_binary_labels")
        else _check_binary_classes
    )
    if not hasattr(estimator, "predict_proba"):
        source, proba = "predict", estimator.predict(X)
    else:
        source, proba = "predict_proba", estimator.predict_proba(X)
        classes = getattr(final, "classes_", None)
        if isinstance(proba, list):  # one (n_samples, 2) array per task
            columns = []
            for t, task_proba in enumerate(proba):
                task = target_names[t] if t < n_tasks else t
                if np.ndim(task_proba) != 2 or np.shape(task_proba)[1] != 2:
                    raise ValueError(
                        f"predict_proba(X) gives task {task!r} probabilities of "
                        f"shape {np.shape(task_proba)}; these displays need binary "
                        "outcomes, two columns for the labels 0 and 1."
                    )
                if isinstance(classes, list) and t < len(classes):
                    check_classes(classes[t], task)
                columns.append(np.asarray(task_proba)[:, 1])
            proba = np.column_stack(columns)
        elif n_tasks == 1 and np.ndim(proba) == 2 and np.shape(proba)[1] == 2:
            check_classes(classes, target_names[0])
            proba = np.asarray(proba)[:, 1]  # a single task's P(label = 1)
    proba = check_array(
        proba, ensure_2d=False, dtype=np.float64, ensure_all_finite=False
    )
    proba = proba.reshape(len(proba), -1)
    if proba.shape[1] != n_tasks:
        raise ValueError(
            f"{type(final).__name__}.{source}(X) has {proba.shape[1]} columns, but y "
            f"has {n_tasks} task{'s' * (n_tasks > 1)}: these displays need one "
            "probability of the label 1 per task (with predict_proba, a "
            "(n_samples, 2) array for a single task, or a (n_samples, n_tasks) one "
            "for several)."
        )
    return proba


def _estimator_predictions(estimator, X, y, tasks):
    """``(y_true, y_proba, target_names, name)`` of the ``tasks`` of the fitted
    ``estimator``, on ``X``: the labels ``y``, the probabilities predicted, the
    tasks' names and the estimator's."""
    check_is_fitted(estimator)
    final = _final_estimator(estimator)
    model_names = getattr(final, "target_names_", None)
    if model_names is not None:
        check_target_columns(y, model_names)
    # skhealth's classifier's labels, whatever its classes, as 0/1
    y_true = (
        final._binary_labels(y) if hasattr(final, "_binary_labels") else as_2d(y, "y")
    )
    if hasattr(y, "columns"):
        target_names = [str(column) for column in y.columns]
    elif model_names is not None and len(model_names) == y_true.shape[1]:
        target_names = [str(name) for name in model_names]
    elif getattr(y, "name", None) is not None and np.ndim(y) == 1:
        target_names = [str(y.name)]
    else:
        target_names = default_task_names(y_true.shape[1])
    y_proba = _positive_probabilities(estimator, X, target_names)
    if len(y_proba) != len(y_true):
        raise ValueError(
            f"X has {len(y_proba)} rows and y {len(y_true)}: give one label row per "
            "row of X."
        )
    positions = _task_positions(tasks, target_names)
    return (
        y_true[:, positions],
        y_proba[:, positions],
        [target_names[t] for t in positions],
        type(final).__name__,
    )


def _binary_tasks(y_true, y_proba, target_names):
    """Each task's observed labels (0 and 1, both present) and their predicted
    probabilities (finite, in [0, 1]), checked, by task name."""
    if target_names is None and hasattr(y_true, "columns"):
        target_names = [str(column) for column in y_true.columns]
    y_true = as_2d(y_true, "y_true")
    given = np.shape(y_proba)
    y_proba = check_array(
        y_proba,
        ensure_2d=False,
        dtype=np.float64,
        ensure_all_finite=False,
        input_name="y_proba",
    )
    y_proba = y_proba.reshape(len(y_proba), -1) if y_proba.ndim == 1 else y_proba
    n_samples, n_tasks = y_true.shape
    if y_proba.shape != y_true.shape:
        hint = (
            ": for a single task, pass the probabilities of the label 1, "
            "predict_proba(X)[:, 1]"
            if n_tasks == 1 and y_proba.shape == (n_samples, 2)
            else ""
        )
        raise ValueError(
            f"y_proba has shape {given}, but y_true {y_true.shape}: give one "
            f"probability of the label 1 per row and task{hint}."
        )
    if target_names is None:
        target_names = default_task_names(n_tasks)
    target_names = [str(name) for name in target_names]
    if len(target_names) != n_tasks or len(set(target_names)) < n_tasks:
        raise ValueError(
            f"target_names must be {n_tasks} distinct names, one per task; got "
            f"{target_names}."
        )
    tasks = {}
    for t, task in enumerate(target_names):
        observed = ~np.isnan(y_true[:, t])
        labels, proba = y_true[observed, t], y_proba[observed, t]
        if not observed.any():
            raise ValueError(
                f"Task {task!r} has no observed label (all {n_samples} are NaN): "
                f"give rows where it was observed, {_LEAVE_OUT}."
            )
        other = labels[(labels != 0) & (labels != 1)]
        if other.size:
            raise ValueError(
                f"Task {task!r} has labels other than 0 and 1, such as {other[0]:g}: "
                "these displays need binary outcomes, 1 for the positive label, 0 "
                f"for the negative and NaN where unknown. Encode it as 0/1, "
                f"{_LEAVE_OUT}."
            )
        if np.unique(labels).size == 1:
            raise ValueError(
                f"Task {task!r} has only the label {labels[0]:g} among its "
                f"{labels.size} observed rows: its ROC and calibration curves need "
                f"both labels, 0 and 1. Give rows with both, {_LEAVE_OUT}."
            )
        wrong = proba[~np.isfinite(proba) | (proba < 0) | (proba > 1)]
        if wrong.size:
            raise ValueError(
                f"The predicted probabilities of task {task!r} hold {wrong[0]:g}, "
                "not a probability in [0, 1], on a row with a label: pass the "
                "probabilities of the label 1 (a classifier's predict_proba, or "
                "the predict of a task fitted with loss='log_loss'), not scores "
                f"or the predictions of a continuous task, {_LEAVE_OUT}."
            )
        tasks[task] = labels.astype(np.int64), proba
    return tasks


def _curve_panels(
    ax, n_cols, curves, *, name, reference, axis_labels, legend_loc, line_kwargs
):
    """Draw each task's curve in a unit square of its own, titled with the task,
    and return the panels and the curves.

    ``curves`` holds ``(task, x, y, score)``: the curve's legend label is the
    ``score`` (a text), after the model's ``name`` where given. ``reference``
    labels the dotted diagonal, drawn where the panel has none yet (as a second
    model's curves are added); ``None`` draws none.
    """
    axes = _task_panels(ax, len(curves), n_cols, panel_size=(4, 4))
    lines = []
    for panel, (task, x, y, score) in zip(axes, curves, strict=True):
        drawn = panel.get_legend_handles_labels()[1]
        if reference is not None and reference not in drawn:
            panel.plot([0, 1], [0, 1], color="black", linestyle=":", label=reference)
        label = score if name is None else f"{name} ({score})"
        (line,) = panel.plot(x, y, label=label, **line_kwargs)
        lines.append(line)
        xlabel, ylabel = axis_labels
        panel.set(
            xlim=(-0.01, 1.01),
            ylim=(-0.01, 1.01),
            xlabel=xlabel,
            ylabel=ylabel,
            title=task,
        )
        panel.set_aspect("equal")
        panel.legend(loc=legend_loc)
    return axes, np.asarray(lines, dtype=object)


class TaskCalibrationDisplay:
    """Reliability diagrams of binary tasks: the observed frequency of the
    label 1 against the predicted probability, one panel per task.

    Each task's observed labels (rows whose label is ``NaN``, unknown, left
    out) are put in bins by their predicted probability, as
    :func:`sklearn.calibration.calibration_curve` does; the panel draws each
    non-empty bin's fraction of positive labels against its mean predicted
    probability, with the diagonal that a calibrated model follows, and gives
    the task's expected calibration error (ECE) in the legend:

    .. math::

        \\mathrm{ECE} = \\sum_b \\frac{n_b}{n} \\left| \\bar p_b - \\bar y_b
        \\right|

    over the same bins :math:`b`, where :math:`n_b` is the number of the
    task's observed labels in bin :math:`b`, :math:`n` that of all its
    observed labels, :math:`\\bar p_b` their mean predicted probability and
    :math:`\\bar y_b` their fraction of positive labels. Create one with
    :meth:`from_estimator` or :meth:`from_predictions`; several models are
    compared by drawing them into the same panels (``ax=display.ax_``).

    Parameters
    ----------
    prob_true : dict of str -> ndarray
        Per task, the fraction of positive labels in each non-empty bin.
    prob_pred : dict of str -> ndarray
        Per task, the mean predicted probability in each of those bins.
    bin_counts : dict of str -> ndarray
        Per task, the number of observed labels in each of those bins.
    ece : pandas.Series
        The expected calibration error of each task, indexed by task name.
    name : str, default=None
        The model's name, in the legend.

    Attributes
    ----------
    lines_ : ndarray of matplotlib Line2D
        Each task's calibration curve.
    ax_ : ndarray of matplotlib Axes of shape (n_tasks,)
        One panel per task, in task order (as the ``ax`` argument takes them).
    figure_ : matplotlib Figure

    See Also
    --------
    sklearn.calibration.CalibrationDisplay : The single-task version.
    TaskROCDisplay : The tasks' ROC curves.

    Examples
    --------
    >>> import numpy as np
    >>> from skhealth.plot import TaskCalibrationDisplay
    >>> y_true = np.array([[0, 0], [0, 1], [1, np.nan], [1, 1]])
    >>> y_proba = np.array([[0.1, 0.1], [0.3, 0.9], [0.8, 0.5], [0.6, 0.9]])
    >>> disp = TaskCalibrationDisplay.from_predictions(
    ...     y_true, y_proba, target_names=["diabetes", "smoker"], n_bins=2)
    >>> disp.prob_true["diabetes"], disp.prob_pred["diabetes"]
    (array([0., 1.]), array([0.2, 0.7]))
    >>> disp.ece
    diabetes    0.25
    smoker      0.10
    dtype: float64
    """

    def __init__(self, *, prob_true, prob_pred, bin_counts, ece, name=None):
        self.prob_true = prob_true
        self.prob_pred = prob_pred
        self.bin_counts = bin_counts
        self.ece = ece
        self.name = name

    def plot(self, ax=None, *, name=None, n_cols=3, ref_line=True, line_kwargs=None):
        """Draw one reliability diagram per task.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            One Axes per task, such as the ``ax_`` of another display, whose
            curves stay; ``None`` makes a figure with a grid of panels.
        name : str, default=None
            The model's name in the legend; default ``self.name``.
        n_cols : int, default=3
            Panels per row of a new figure.
        ref_line : bool, default=True
            Draw the diagonal, a perfectly calibrated model, where the panel
            has none yet.
        line_kwargs : dict, default=None
            Passed to ``matplotlib.axes.Axes.plot`` for the curves.

        Returns
        -------
        display : TaskCalibrationDisplay
            ``self``, with the curves in ``lines_``, the panels in ``ax_`` and
            their figure in ``figure_``.
        """
        curves = [
            (task, self.prob_pred[task], self.prob_true[task], f"ECE = {ece:.3f}")
            for task, ece in self.ece.items()
        ]
        self.ax_, self.lines_ = _curve_panels(
            ax,
            n_cols,
            curves,
            name=self.name if name is None else name,
            reference="perfectly calibrated" if ref_line else None,
            axis_labels=("mean predicted probability", "fraction of positives"),
            legend_loc="upper left",
            line_kwargs=validate_style_kwargs(
                {"marker": "s", "linestyle": "-"}, line_kwargs or {}
            ),
        )
        self.figure_ = self.ax_[0].figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        tasks=None,
        n_bins=5,
        strategy="uniform",
        name=None,
        n_cols=3,
        ax=None,
        ref_line=True,
        line_kwargs=None,
    ):
        """Plot the calibration of a fitted model's probabilities on ``X``, ``y``.

        Parameters
        ----------
        estimator : estimator instance
            A fitted classifier or regressor, a Pipeline ending in one, or a
            search that refitted either. Its ``predict_proba(X)`` gives the
            probabilities where it has one: a ``(n_samples, 2)`` array for a
            single task (``y`` 1-D), whose second column is taken, or a
            ``(n_samples, n_tasks)`` one, each task's probability of the label
            1 (the multilabel convention of
            :class:`~sklearn.neural_network.MLPClassifier`), or a list of one
            ``(n_samples, 2)`` array per task. Otherwise its ``predict(X)``
            must give them, as the predictions of a
            :class:`~skhealth.MultiTaskHealthRegressor` task fitted with
            ``loss="log_loss"`` are.
        X : array-like of shape (n_samples, n_features)
            Inputs, best held out from training.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Their labels, 0 or 1, ``NaN`` where unknown. A DataFrame's columns
            name the tasks, else the estimator's ``target_names_`` where it
            has them.
        tasks : str, int or list of them, default=None
            The tasks to plot, by name or position, such as the binary tasks
            of a model whose other tasks are continuous; ``None`` plots all.
        n_bins : int, default=5
            Number of bins; see :meth:`from_predictions`.
        strategy : {"uniform", "quantile"}, default="uniform"
            How the bins are cut; see :meth:`from_predictions`.
        name : str, default=None
            The model's name in the legend; default the name of the
            estimator's class (that of the last step of a pipeline).
        n_cols : int, default=3
            Panels per row of a new figure.
        ax : array-like of matplotlib Axes, default=None
            One Axes per task plotted, such as another display's ``ax_``, to
            compare the models; ``None`` makes a new figure.
        ref_line : bool, default=True
            Draw the diagonal where the panel has none yet; see :meth:`plot`.
        line_kwargs : dict, default=None
            Passed to ``matplotlib.axes.Axes.plot`` for the curves.

        Returns
        -------
        display : TaskCalibrationDisplay
            A new display of the tasks' calibration, drawn by :meth:`plot`.
        """
        y_true, y_proba, target_names, default_name = _estimator_predictions(
            estimator, X, y, tasks
        )
        return cls.from_predictions(
            y_true,
            y_proba,
            target_names=target_names,
            n_bins=n_bins,
            strategy=strategy,
            name=default_name if name is None else name,
            n_cols=n_cols,
            ax=ax,
            ref_line=ref_line,
            line_kwargs=line_kwargs,
        )

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_proba,
        *,
        target_names=None,
        n_bins=5,
        strategy="uniform",
        name=None,
        n_cols=3,
        ax=None,
        ref_line=True,
        line_kwargs=None,
    ):
        """Plot the calibration of given probabilities.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Observed labels, 0 or 1, ``NaN`` where unknown; each task needs
            both labels among its observed rows.
        y_proba : array-like of the same shape
            The predicted probabilities of the label 1, in [0, 1].
        target_names : sequence of str, default=None
            Panel titles; default the columns of ``y_true`` when it is a
            DataFrame, else ``task_0``, ``task_1``, ...
        n_bins : int, default=5
            Number of bins of the predicted probabilities; the more, the more
            labels each task needs.
        strategy : {"uniform", "quantile"}, default="uniform"
            ``"uniform"`` cuts [0, 1] into bins of equal width,
            ``"quantile"`` each task's probabilities into bins of as many
            labels, as :func:`~sklearn.calibration.calibration_curve` does.
        name : str, default=None
            The model's name in the legend.
        n_cols : int, default=3
            Panels per row of a new figure.
        ax : array-like of matplotlib Axes, default=None
            One Axes per task, such as another display's ``ax_``; ``None``
            makes a new figure.
        ref_line : bool, default=True
            Draw the diagonal where the panel has none yet; see :meth:`plot`.
        line_kwargs : dict, default=None
            Passed to ``matplotlib.axes.Axes.plot`` for the curves.

        Returns
        -------
        display : TaskCalibrationDisplay
            A new display of the tasks' calibration, drawn by :meth:`plot`.
        """
        prob_true, prob_pred, bin_counts, ece = {}, {}, {}, {}
        for task, (labels, proba) in _binary_tasks(
            y_true, y_proba, target_names
        ).items():
            prob_true[task], prob_pred[task] = calibration_curve(
                labels, proba, n_bins=n_bins, strategy=strategy
            )
            # calibration_curve's bins, to count the labels in each
            if strategy == "quantile":
                edges = np.percentile(proba, np.linspace(0, 1, n_bins + 1) * 100)
            else:
                edges = np.linspace(0.0, 1.0, n_bins + 1)
            counts = np.bincount(np.searchsorted(edges[1:-1], proba), minlength=n_bins)
            bin_counts[task] = counts[counts > 0]
            gaps = np.abs(prob_pred[task] - prob_true[task])
            ece[task] = float(np.sum(bin_counts[task] / labels.size * gaps))
        display = cls(
            prob_true=prob_true,
            prob_pred=prob_pred,
            bin_counts=bin_counts,
            ece=pd.Series(ece, dtype=float),
            name=name,
        )
        return display.plot(
            ax=ax, n_cols=n_cols, ref_line=ref_line, line_kwargs=line_kwargs
        )


class TaskROCDisplay:
    """ROC curves of binary tasks, one panel per task, with each task's
    ROC-AUC.

    Each task's curve is drawn on its observed labels (rows whose label is
    ``NaN``, unknown, left out), as :func:`sklearn.metrics.roc_curve` gives
    it, with the diagonal of a model that guesses; the legend gives the
    task's ROC-AUC, :func:`sklearn.metrics.roc_auc_score` on the same rows.
    Create one with :meth:`from_estimator` or :meth:`from_predictions`;
    several models are compared by drawing them into the same panels
    (``ax=display.ax_``).

    Parameters
    ----------
    fpr : dict of str -> ndarray
        Per task, the false positive rate at each threshold.
    tpr : dict of str -> ndarray
        Per task, the true positive rate at each threshold.
    roc_auc : pandas.Series
        The ROC-AUC of each task, indexed by task name.
    name : str, default=None
        The model's name, in the legend.

    Attributes
    ----------
    lines_ : ndarray of matplotlib Line2D
        Each task's ROC curve.
    ax_ : ndarray of matplotlib Axes of shape (n_tasks,)
        One panel per task, in task order (as the ``ax`` argument takes them).
    figure_ : matplotlib Figure

    See Also
    --------
    sklearn.metrics.RocCurveDisplay : The single-task version.
    TaskCalibrationDisplay : Whether the tasks' probabilities are calibrated.

    Examples
    --------
    >>> import numpy as np
    >>> from skhealth.plot import TaskROCDisplay
    >>> y_true = np.array([[0, 0], [0, 1], [1, np.nan], [1, 1]])
    >>> y_proba = np.array([[0.1, 0.7], [0.7, 0.6], [0.8, 0.9], [0.6, 0.8]])
    >>> disp = TaskROCDisplay.from_predictions(
    ...     y_true, y_proba, target_names=["diabetes", "smoker"])
    >>> disp.roc_auc
    diabetes    0.75
    smoker      0.50
    dtype: float64
    >>> [ax.get_legend().get_texts()[-1].get_text() for ax in disp.ax_]
    ['AUC = 0.75', 'AUC = 0.50']
    """

    def __init__(self, *, fpr, tpr, roc_auc, name=None):
        self.fpr = fpr
        self.tpr = tpr
        self.roc_auc = roc_auc
        self.name = name

    def plot(
        self, ax=None, *, name=None, n_cols=3, plot_chance_level=True, line_kwargs=None
    ):
        """Draw one ROC curve per task.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            One Axes per task, such as the ``ax_`` of another display, whose
            curves stay; ``None`` makes a figure with a grid of panels.
        name : str, default=None
            The model's name in the legend; default ``self.name``.
        n_cols : int, default=3
            Panels per row of a new figure.
        plot_chance_level : bool, default=True
            Draw the diagonal, a model that guesses, where the panel has none
            yet.
        line_kwargs : dict, default=None
            Passed to ``matplotlib.axes.Axes.plot`` for the curves.

        Returns
        -------
        display : TaskROCDisplay
            ``self``, with the curves in ``lines_``, the panels in ``ax_`` and
            their figure in ``figure_``.
        """
        curves = [
            (task, self.fpr[task], self.tpr[task], f"AUC = {auc:.2f}")
            for task, auc in self.roc_auc.items()
        ]
        self.ax_, self.lines_ = _curve_panels(
            ax,
            n_cols,
            curves,
            name=self.name if name is None else name,
            reference="chance level (AUC = 0.5)" if plot_chance_level else None,
            axis_labels=("false positive rate", "true positive rate"),
            legend_loc="lower right",
            line_kwargs=validate_style_kwargs({}, line_kwargs or {}),
        )
        self.figure_ = self.ax_[0].figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        tasks=None,
        name=None,
        n_cols=3,
        ax=None,
        plot_chance_level=True,
        line_kwargs=None,
    ):
        """Plot the ROC curves of a fitted model's probabilities on ``X``, ``y``.

        Parameters
        ----------
        estimator : estimator instance
            A fitted classifier or regressor, a Pipeline ending in one, or a
            search that refitted either, which predicts the probability of
            the label 1 of each task: see
            :meth:`TaskCalibrationDisplay.from_estimator`.
        X : array-like of shape (n_samples, n_features)
            Inputs, best held out from training.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Their labels, 0 or 1, ``NaN`` where unknown. A DataFrame's columns
            name the tasks, else the estimator's ``target_names_`` where it
            has them.
        tasks : str, int or list of them, default=None
            The tasks to plot, by name or position, such as the binary tasks
            of a model whose other tasks are continuous; ``None`` plots all.
        name : str, default=None
            The model's name in the legend; default the name of the
            estimator's class (that of the last step of a pipeline).
        n_cols : int, default=3
            Panels per row of a new figure.
        ax : array-like of matplotlib Axes, default=None
            One Axes per task plotted, such as another display's ``ax_``, to
            compare the models; ``None`` makes a new figure.
        plot_chance_level : bool, default=True
            Draw the diagonal where the panel has none yet; see :meth:`plot`.
        line_kwargs : dict, default=None
            Passed to ``matplotlib.axes.Axes.plot`` for the curves.

        Returns
        -------
        display : TaskROCDisplay
            A new display of the tasks' ROC curves, drawn by :meth:`plot`.
        """
        y_true, y_proba, target_names, default_name = _estimator_predictions(
            estimator, X, y, tasks
        )
        return cls.from_predictions(
            y_true,
            y_proba,
            target_names=target_names,
            name=default_name if name is None else name,
            n_cols=n_cols,
            ax=ax,
            plot_chance_level=plot_chance_level,
            line_kwargs=line_kwargs,
        )

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_proba,
        *,
        target_names=None,
        name=None,
        n_cols=3,
        ax=None,
        plot_chance_level=True,
        line_kwargs=None,
    ):
        """Plot the ROC curves of given probabilities.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Observed labels, 0 or 1, ``NaN`` where unknown; each task needs
            both labels among its observed rows.
        y_proba : array-like of the same shape
            The predicted probabilities of the label 1, in [0, 1].
        target_names : sequence of str, default=None
            Panel titles; default the columns of ``y_true`` when it is a
            DataFrame, else ``task_0``, ``task_1``, ...
        name : str, default=None
            The model's name in the legend.
        n_cols : int, default=3
            Panels per row of a new figure.
        ax : array-like of matplotlib Axes, default=None
            One Axes per task, such as another display's ``ax_``; ``None``
            makes a new figure.
        plot_chance_level : bool, default=True
            Draw the diagonal where the panel has none yet; see :meth:`plot`.
        line_kwargs : dict, default=None
            Passed to ``matplotlib.axes.Axes.plot`` for the curves.

        Returns
        -------
        display : TaskROCDisplay
            A new display of the tasks' ROC curves, drawn by :meth:`plot`.
        """
        fpr, tpr, roc_auc = {}, {}, {}
        for task, (labels, proba) in _binary_tasks(
            y_true, y_proba, target_names
        ).items():
            fpr[task], tpr[task], _ = roc_curve(labels, proba)
            roc_auc[task] = float(roc_auc_score(labels, proba))
        display = cls(
            fpr=fpr, tpr=tpr, roc_auc=pd.Series(roc_auc, dtype=float), name=name
        )
        return display.plot(
            ax=ax,
            n_cols=n_cols,
            plot_chance_level=plot_chance_level,
            line_kwargs=line_kwargs,
        )
