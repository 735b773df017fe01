import re
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from _estimator_helpers import fast
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.history import History

from skhealth import MultiTaskHealthRegressor
from skhealth.inspection import task_attributions, task_permutation_importance
from skhealth.metrics import get_scorer, task_scores
from skhealth.plot import (
    AttributionDisplay,
    TaskImportanceDisplay,
    TaskPredictionErrorDisplay,
    TaskWeightDisplay,
    TrainingCurveDisplay,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.colors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

TARGETS = ["sbp", "hdl"]
# nine tasks, as a health study measures them, in no alphabetical order
NINE = ["sbp", "dbp", "hdl", "ldl", "tg", "hba1c", "bmi", "waist", "glucose"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def make_history(n_epochs=3, splits=("train", "valid"), targets=TARGETS):
    """A skorch History with per-task loss and R² (value = epoch + task/10)."""
    history = History()
    for epoch in range(1, n_epochs + 1):
        history.new_epoch()
        history.record("epoch", epoch)
        for split in splits:
            for t, target in enumerate(targets):
                history.record(f"{split}_loss_{target}", epoch + t / 10)
                history.record(f"{split}_r2_{target}", -(epoch + t / 10))
        history.record("task_weights", [epoch / 10 + t for t in range(len(targets))])
    return history


def legend_labels(legend):
    return [text.get_text() for text in legend.get_texts()]


def n_colors(lines):
    return len({matplotlib.colors.to_hex(line.get_color()) for line in lines})


def covered_by(legend, axes):
    """The titles of the ``axes`` whose plotting area ``legend`` covers."""
    legend.figure.canvas.draw()
    box = legend.get_window_extent()
    return [ax.get_title() for ax in axes if box.overlaps(ax.get_window_extent())]


@pytest.fixture(scope="module")
def fitted():
    """A small estimator with validation curves, its data, and an unfitted copy."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 4))
    Y = X[:, :3] @ rng.normal(size=(3, 3)) + 0.1 * rng.normal(size=(80, 3))
    Y[rng.rand(80) < 0.2, 1] = np.nan
    reg = MultiTaskHealthRegressor(
        hidden_layer_sizes=8, early_stopping=True, max_iter=4, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, Y)
    return reg, X, Y


# ----------------------------------------------------------- training curves
def test_training_curves_draw_each_task_and_split_from_the_history():
    history = make_history()
    disp = TrainingCurveDisplay.from_history(history, TARGETS)
    assert sorted(disp.lines_) == [
        ("train", "hdl"),
        ("train", "sbp"),
        ("valid", "hdl"),
        ("valid", "sbp"),
    ]
    for (split, target), line in disp.lines_.items():
        assert_array_equal(line.get_xdata(), [1, 2, 3])
        assert_array_equal(line.get_ydata(), history[:, f"{split}_loss_{target}"])


def test_training_curves_keep_the_plotted_data():
    disp = TrainingCurveDisplay.from_history(make_history(), TARGETS)
    assert disp.metric == "loss"
    assert list(disp.train_curves.columns) == TARGETS
    assert list(disp.train_curves.index) == [1, 2, 3]
    assert_array_equal(disp.valid_curves["hdl"], [1.1, 2.1, 3.1])


def test_training_curves_draw_one_panel_per_task_titled_with_its_name():
    disp = TrainingCurveDisplay.from_history(make_history(targets=NINE), NINE)
    assert disp.ax_.shape == (9,)
    assert disp.figure_.axes == list(disp.ax_)
    assert [ax.get_title() for ax in disp.ax_] == NINE
    assert [ax.get_subplotspec().rowspan.start for ax in disp.ax_] == [
        0, 0, 0, 1, 1, 1, 2, 2, 2
    ]  # fmt: skip
    for ax, task in zip(disp.ax_, NINE, strict=True):
        assert ax.get_lines() == [
            disp.lines_["train", task],
            disp.lines_["valid", task],
        ]


def test_training_curves_label_each_panels_axes():
    disp = TrainingCurveDisplay.from_history(make_history(), TARGETS)
    for ax in disp.ax_:
        assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss (standardised)")


def test_training_curves_tick_whole_epochs():
    disp = TrainingCurveDisplay.from_history(make_history(), TARGETS)
    ticks = disp.ax_[0].get_xticks()
    assert_array_equal(ticks, np.round(ticks))


def test_training_curves_legend_names_the_splits_above_the_panels():
    disp = TrainingCurveDisplay.from_history(make_history(targets=NINE), NINE)
    (legend,) = disp.figure_.legends
    assert legend_labels(legend) == ["training", "validation"]
    assert all(ax.get_legend() is None for ax in disp.ax_)
    assert covered_by(legend, disp.ax_) == []


def test_training_curves_style_train_solid_and_valid_dashed_in_every_panel():
    disp = TrainingCurveDisplay.from_history(make_history(), TARGETS)
    for task in TARGETS:
        train, valid = disp.lines_["train", task], disp.lines_["valid", task]
        assert (train.get_linestyle(), train.get_color()) == ("-", "C0")
        assert (valid.get_linestyle(), valid.get_color()) == ("--", "C1")


def test_n_cols_sets_the_panels_per_row():
    history = make_history(targets=["a", "b", "c"])
    disp = TrainingCurveDisplay.from_history(history, ["a", "b", "c"], n_cols=2)
    assert [ax.get_subplotspec().colspan.start for ax in disp.ax_] == [0, 1, 0]
    assert [ax.get_subplotspec().rowspan.start for ax in disp.ax_] == [0, 0, 1]


def test_r2_metric_reads_the_r2_keys():
    history = make_history()
    disp = TrainingCurveDisplay.from_history(history, TARGETS, metric="r2")
    assert disp.ax_[0].get_ylabel() == "R²"
    assert_array_equal(
        disp.lines_["valid", "sbp"].get_ydata(), history[:, "valid_r2_sbp"]
    )


def test_absent_validation_split_is_not_drawn():
    disp = TrainingCurveDisplay.from_history(make_history(splits=("train",)), TARGETS)
    assert disp.valid_curves is None
    assert sorted(disp.lines_) == [("train", "hdl"), ("train", "sbp")]
    assert legend_labels(disp.figure_.legends[0]) == ["training"]


def test_epochs_without_a_value_are_gaps():
    history = make_history(n_epochs=2, splits=("train",))
    history.new_epoch()
    history.record("train_loss_sbp", 9.0)
    history.record("train_loss_hdl", 8.0)
    history[0]["valid_loss_sbp"], history[0]["valid_loss_hdl"] = 5.0, 6.0
    disp = TrainingCurveDisplay.from_history(history, TARGETS)
    assert_array_equal(disp.lines_["valid", "sbp"].get_ydata(), [5.0, np.nan, np.nan])
    assert_array_equal(disp.lines_["train", "sbp"].get_ydata(), [1.0, 2.0, 9.0])


def test_tasks_selects_the_lines():
    disp = TrainingCurveDisplay.from_history(make_history(), TARGETS, tasks="hdl")
    assert sorted(disp.lines_) == [("train", "hdl"), ("valid", "hdl")]


def test_curves_draw_every_task_on_a_single_given_axes():
    _, ax = plt.subplots()
    disp = TrainingCurveDisplay.from_history(make_history(), TARGETS, ax=ax)
    assert list(disp.ax_) == [ax]
    assert ax.get_lines() == list(disp.lines_.values())
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss (standardised)")


def test_curves_on_a_single_axes_colour_each_task_and_style_each_split():
    _, ax = plt.subplots()
    disp = TrainingCurveDisplay.from_history(make_history(), TARGETS, ax=ax)
    assert disp.lines_["train", "hdl"].get_color() == "C1"
    assert disp.lines_["valid", "hdl"].get_color() == "C1"
    assert disp.lines_["valid", "sbp"].get_color() == "C0"
    assert disp.lines_["valid", "sbp"].get_linestyle() == "--"


def test_curves_on_a_single_axes_keep_the_legend_beside_it():
    _, ax = plt.subplots(figsize=(8, 4.8), layout="constrained")
    TrainingCurveDisplay.from_history(make_history(targets=NINE), NINE, ax=ax)
    legend = ax.get_legend()
    assert legend_labels(legend) == [*NINE, "training", "validation"]
    assert covered_by(legend, [ax]) == []


def test_curves_of_twelve_tasks_on_a_single_axes_have_twelve_colours():
    targets = [f"t{t}" for t in range(12)]
    _, ax = plt.subplots()
    disp = TrainingCurveDisplay.from_history(
        make_history(targets=targets), targets, ax=ax
    )
    assert n_colors(disp.lines_["train", task] for task in targets) == 12


def test_curves_draw_in_the_given_panels_with_the_legend_in_the_first():
    _, grid = plt.subplots(1, 2)
    disp = TrainingCurveDisplay.from_history(make_history(), TARGETS, ax=grid)
    assert list(disp.ax_) == list(grid)
    assert disp.ax_[1].get_lines() == [
        disp.lines_["train", "hdl"],
        disp.lines_["valid", "hdl"],
    ]
    assert legend_labels(grid[0].get_legend()) == ["training", "validation"]
    assert disp.figure_.legends == []


def test_given_panels_must_match_the_curves_tasks():
    _, grid = plt.subplots(1, 3)
    with pytest.raises(ValueError, match=r"one Axes per task \(2\); got 3"):
        TrainingCurveDisplay.from_history(make_history(), TARGETS, ax=grid)


def test_unknown_metric_is_rejected_naming_the_options():
    with pytest.raises(ValueError, match=r"metric must be one of \['loss', 'r2'\]"):
        TrainingCurveDisplay.from_history(make_history(), TARGETS, metric="mae")


def test_unknown_task_is_rejected_naming_the_targets():
    with pytest.raises(ValueError, match=r"\['sbp', 'hdl'\]; got \['bmi'\]"):
        TrainingCurveDisplay.from_history(make_history(), TARGETS, tasks=["bmi"])


def test_history_without_per_task_values_names_the_setting_recording_them():
    history = History()
    history.new_epoch()
    history.record("train_loss", 1.0)
    with pytest.raises(ValueError, match="early_stopping=True"):
        TrainingCurveDisplay.from_history(history, TARGETS)


def test_target_names_the_history_lacks_are_named():
    with pytest.raises(ValueError, match="'train_loss_bmi'"):
        TrainingCurveDisplay.from_history(make_history(), [*TARGETS, "bmi"])


def test_history_must_be_a_list_of_epochs():
    with pytest.raises(ValueError, match="one dict per epoch"):
        TrainingCurveDisplay.from_history({"train_loss_sbp": [1.0]}, ["sbp"])


def test_training_curves_from_estimator_plot_its_history(fitted):
    reg, _, _ = fitted
    disp = TrainingCurveDisplay.from_estimator(reg, metric="r2")
    assert len(disp.lines_) == 2 * reg.n_tasks_
    for (split, target), line in disp.lines_.items():
        assert_array_equal(line.get_xdata(), np.arange(1, reg.n_iter_ + 1))
        assert_allclose(line.get_ydata(), reg.history_[:, f"{split}_r2_{target}"])


def test_training_curves_from_a_pipeline_plot_its_regressor(fitted):
    reg, X, Y = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe = make_pipeline(StandardScaler(), clone(reg)).fit(X, Y)
    disp = TrainingCurveDisplay.from_estimator(pipe, tasks="task_0")
    assert_allclose(
        disp.lines_["train", "task_0"].get_ydata(),
        pipe[-1].history_[:, "train_loss_task_0"],
    )


@pytest.mark.parametrize("display", [TrainingCurveDisplay, TaskWeightDisplay])
def test_history_displays_need_a_fitted_estimator(display):
    with pytest.raises(NotFittedError):
        display.from_estimator(MultiTaskHealthRegressor())


@pytest.mark.parametrize("display", [TrainingCurveDisplay, TaskWeightDisplay])
def test_history_displays_reject_another_kind_of_estimator_with_a_type_error(display):
    ridge = Ridge().fit(np.eye(3), np.eye(3))
    with pytest.raises(
        TypeError,
        match=r"^estimator must be a MultiTaskHealthRegressor .*; got Ridge\.$",
    ):
        display.from_estimator(ridge)


def test_training_curves_from_a_search_plot_its_best_estimator(fitted):
    reg, X, Y = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(
            clone(reg), {"alpha": [1e-4, 1e-2]}, cv=2, scoring=get_scorer("r2")
        ).fit(X, Y)
    disp = TrainingCurveDisplay.from_estimator(search, tasks="task_0")
    assert_allclose(
        disp.lines_["train", "task_0"].get_ydata(),
        search.best_estimator_.history_[:, "train_loss_task_0"],
    )


def test_missing_matplotlib_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    disp = TrainingCurveDisplay(
        train_curves=pd.DataFrame({"sbp": [1.0]}), valid_curves=None, metric="loss"
    )
    with pytest.raises(ImportError, match=r"pip install 'skhealth\[plot\]'"):
        disp.plot()


# -------------------------------------------------------------- task weights
def test_task_weights_draw_one_line_per_task_from_the_history():
    history = make_history()
    disp = TaskWeightDisplay.from_history(history, TARGETS)
    assert list(disp.lines_) == TARGETS
    assert_array_equal(disp.lines_["sbp"].get_xdata(), [1, 2, 3])
    assert_allclose(disp.lines_["sbp"].get_ydata(), [0.1, 0.2, 0.3])
    assert_allclose(disp.lines_["hdl"].get_ydata(), [1.1, 1.2, 1.3])
    assert_allclose(disp.weights.to_numpy(), history[:, "task_weights"])


def test_task_weights_label_axes_and_legend():
    disp = TaskWeightDisplay.from_history(make_history(), TARGETS)
    assert (disp.ax_.get_xlabel(), disp.ax_.get_ylabel()) == ("epoch", "task weight")
    assert legend_labels(disp.ax_.get_legend()) == TARGETS


def test_task_weights_legend_sits_beside_the_axes():
    disp = TaskWeightDisplay.from_history(make_history(targets=NINE), NINE)
    assert covered_by(disp.ax_.get_legend(), [disp.ax_]) == []


def test_task_weights_of_twelve_tasks_have_twelve_colours():
    targets = [f"t{t}" for t in range(12)]
    disp = TaskWeightDisplay.from_history(make_history(targets=targets), targets)
    assert n_colors(disp.lines_.values()) == 12


def test_varying_task_weights_have_no_title_from_a_history():
    disp = TaskWeightDisplay.from_history(make_history(), TARGETS)
    assert disp.ax_.get_title() == ""


@pytest.fixture
def constant_weights():
    """A history whose task weights are 0.5 and 1.5 every epoch."""
    history = make_history()
    for entry in history:
        entry["task_weights"] = [0.5, 1.5]
    return history


def test_constant_task_weights_are_titled_constant_from_a_history(constant_weights):
    disp = TaskWeightDisplay.from_history(constant_weights, TARGETS)
    assert disp.ax_.get_title() == "constant weights"


def test_constant_task_weights_are_drawn_from_zero(constant_weights):
    disp = TaskWeightDisplay.from_history(constant_weights, TARGETS)
    assert_allclose(disp.ax_.get_ylim(), [0, 1.65])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    ("task_weighting", "title"),
    [
        ("equal", "constant, equal weights (task_weighting='equal')"),
        ("pcgrad", "constant, equal weights (task_weighting='pcgrad')"),
        ([1.0, 3.0, 1.0], "constant weights (task_weighting=Fixed(...))"),
        ("dwa", "task_weighting='dwa'"),
    ],
)
def test_task_weights_from_estimator_name_its_weighting_in_the_title(
    fitted, task_weighting, title
):
    _, X, Y = fitted
    reg = fast(task_weighting=task_weighting, hidden_layer_sizes=8, max_iter=3)
    disp = TaskWeightDisplay.from_estimator(reg.fit(X, Y))
    assert disp.ax_.get_title() == title


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    ("task_weighting", "max_iter"), [("dwa", 2), ("uncertainty", 1)]
)
def test_adaptive_weights_a_short_fit_left_unchanged_are_not_called_constant(
    fitted, task_weighting, max_iter
):
    _, X, Y = fitted
    reg = fast(task_weighting=task_weighting, hidden_layer_sizes=8, max_iter=max_iter)
    disp = TaskWeightDisplay.from_estimator(reg.fit(X, Y))
    assert (disp.weights.nunique() == 1).all()  # unchanged, as for 'equal'
    assert disp.ax_.get_title() == f"task_weighting={task_weighting!r}"


def test_equal_weights_from_a_history_are_not_called_equal():
    history = make_history()
    for entry in history:
        entry["task_weights"] = [1.0, 1.0]
    disp = TaskWeightDisplay.from_history(history, TARGETS)
    assert disp.ax_.get_title() == "constant weights"


def test_history_without_task_weights_names_the_setting():
    history = History()
    history.new_epoch()
    history.record("train_loss", 1.0)
    with pytest.raises(ValueError, match="task_weighting"):
        TaskWeightDisplay.from_history(history, TARGETS)


def test_task_weights_need_one_weight_per_target():
    with pytest.raises(ValueError, match="one weight per target"):
        TaskWeightDisplay.from_history(make_history(), [*TARGETS, "bmi"])


def test_task_weights_from_estimator_plot_its_history(fitted):
    reg, _, _ = fitted
    disp = TaskWeightDisplay.from_estimator(reg)
    assert list(disp.lines_) == list(reg.target_names_)
    assert_allclose(disp.weights.to_numpy(), reg.history_[:, "task_weights"])


# ---------------------------------------------------------- prediction error
@pytest.fixture
def predictions():
    rng = np.random.RandomState(0)
    y_pred = rng.normal(size=(30, 4))
    y_true = y_pred + 0.3 * rng.normal(size=(30, 4))
    y_true[[2, 5, 7], 1] = np.nan
    return y_true, y_pred


def test_prediction_error_draws_one_panel_per_task(predictions):
    disp = TaskPredictionErrorDisplay.from_predictions(*predictions, n_cols=3)
    assert isinstance(disp.ax_, np.ndarray)
    assert disp.ax_.shape == (4,)
    assert disp.figure_.axes == list(disp.ax_)
    assert [ax.get_subplotspec().colspan.start for ax in disp.ax_] == [0, 1, 2, 0]
    assert [ax.get_subplotspec().rowspan.start for ax in disp.ax_] == [0, 0, 0, 1]


def test_every_display_keeps_its_axes_and_figure_as_scikit_learns_do(
    fitted, predictions
):
    reg, _, _ = fitted
    single = TaskWeightDisplay.from_estimator(reg)
    assert single.figure_ is single.ax_.figure
    assert single.figure_.axes == [single.ax_]
    for grid in [
        TrainingCurveDisplay.from_estimator(reg),
        TaskPredictionErrorDisplay.from_predictions(*predictions),
    ]:
        assert grid.figure_.axes == list(grid.ax_)


def test_prediction_error_titles_give_each_tasks_r2(predictions):
    disp = TaskPredictionErrorDisplay.from_predictions(
        *predictions, target_names=["a", "b", "c", "d"]
    )
    r2 = task_scores(*predictions)["r2"].to_numpy()
    assert [ax.get_title() for ax in disp.ax_] == [
        f"{name} (R² = {score:.2f})" for name, score in zip("abcd", r2, strict=True)
    ]


def test_prediction_error_scatters_the_observed_rows(predictions):
    y_true, y_pred = predictions
    disp = TaskPredictionErrorDisplay.from_predictions(y_true, y_pred)
    observed = ~np.isnan(y_true[:, 1])
    assert_allclose(
        disp.scatters_[1].get_offsets(),
        np.column_stack([y_pred[observed, 1], y_true[observed, 1]]),
    )
    assert len(disp.scatters_[0].get_offsets()) == 30


def test_task_without_observed_rows_gets_an_empty_panel(predictions):
    y_true, y_pred = predictions
    y_true[:, 2] = np.nan
    disp = TaskPredictionErrorDisplay.from_predictions(y_true, y_pred)
    assert len(disp.scatters_[2].get_offsets()) == 0
    assert disp.ax_[2].get_title() == "task_2 (R² = nan)"


def test_actual_vs_predicted_draws_the_identity_over_the_data(predictions):
    y_true, y_pred = predictions
    disp = TaskPredictionErrorDisplay.from_predictions(y_true, y_pred)
    both = np.concatenate([y_true[:, 0], y_pred[:, 0]])
    assert_allclose(disp.lines_[0].get_xdata(), [both.min(), both.max()])
    assert_allclose(disp.lines_[0].get_ydata(), [both.min(), both.max()])
    assert (disp.ax_[0].get_xlabel(), disp.ax_[0].get_ylabel()) == (
        "predicted",
        "observed",
    )


def test_residual_vs_predicted_scatters_residuals_around_zero(predictions):
    y_true, y_pred = predictions
    disp = TaskPredictionErrorDisplay.from_predictions(
        y_true, y_pred, kind="residual_vs_predicted"
    )
    observed = ~np.isnan(y_true[:, 1])
    assert_allclose(
        disp.scatters_[1].get_offsets(),
        np.column_stack(
            [y_pred[observed, 1], y_true[observed, 1] - y_pred[observed, 1]]
        ),
    )
    assert_allclose(disp.lines_[1].get_ydata(), [0, 0])
    assert disp.ax_[1].get_ylabel() == "residual (observed - predicted)"


def test_target_names_default_to_dataframe_columns(predictions):
    y_true, y_pred = predictions
    frame = pd.DataFrame(y_true, columns=["sbp", "hdl", "bmi", "hba1c"])
    disp = TaskPredictionErrorDisplay.from_predictions(frame, y_pred)
    assert disp.target_names == ["sbp", "hdl", "bmi", "hba1c"]


def test_one_dimensional_targets_give_one_panel(predictions):
    y_true, y_pred = predictions
    disp = TaskPredictionErrorDisplay.from_predictions(y_true[:, 0], y_pred[:, 0])
    assert len(disp.figure_.axes) == 1
    assert disp.target_names == ["task_0"]


@pytest.mark.parametrize(("subsample", "n_shown"), [(10, 10), (0.5, 15), (None, 30)])
def test_subsample_limits_the_rows_shown(predictions, subsample, n_shown):
    disp = TaskPredictionErrorDisplay.from_predictions(
        *predictions, subsample=subsample, random_state=0
    )
    assert len(disp.y_true) == n_shown
    assert len(np.unique(disp.y_pred[:, 0])) == n_shown  # drawn without replacement


def test_subsample_is_reproducible_with_random_state(predictions):
    first, second = (
        TaskPredictionErrorDisplay.from_predictions(
            *predictions, subsample=10, random_state=3
        )
        for _ in range(2)
    )
    assert_array_equal(first.y_pred, second.y_pred)


def test_r2_in_titles_is_on_all_rows_not_the_subsample(predictions):
    disp = TaskPredictionErrorDisplay.from_predictions(
        *predictions, subsample=5, random_state=0
    )
    assert_allclose(disp.r2, task_scores(*predictions)["r2"])


def test_subsample_takes_numpy_scalars(predictions):
    disp = TaskPredictionErrorDisplay.from_predictions(
        *predictions, subsample=np.int64(10), random_state=0
    )
    assert len(disp.scatters_[0].get_offsets()) == 10
    disp = TaskPredictionErrorDisplay.from_predictions(
        *predictions, subsample=np.float64(0.2), random_state=0
    )
    assert len(disp.scatters_[0].get_offsets()) == 6


@pytest.mark.parametrize(
    "subsample", [0, -3, 0.0, 1.0, 1.5, float("nan"), True, False, np.True_, "10"]
)
def test_invalid_subsample_is_rejected(predictions, subsample):
    # a bool is not a number of rows (scikit-learn 1.9 raises a TypeError on
    # True deep in numpy, and takes False for 0)
    message = rf"subsample must be a positive int .* got {re.escape(repr(subsample))}\."
    with pytest.raises(ValueError, match=message):
        TaskPredictionErrorDisplay.from_predictions(*predictions, subsample=subsample)


def test_invalid_subsample_from_estimator_is_a_value_error(fitted):
    reg, X, Y = fitted
    with pytest.raises(ValueError, match=r"subsample must be .* got True\."):
        TaskPredictionErrorDisplay.from_estimator(reg, X, Y, subsample=True)


def test_unknown_kind_is_rejected_naming_the_options(predictions):
    with pytest.raises(ValueError, match="'actual_vs_predicted', 'residual_vs"):
        TaskPredictionErrorDisplay.from_predictions(*predictions, kind="residuals")


def test_n_cols_must_be_positive(predictions):
    with pytest.raises(ValueError, match="n_cols must be a positive integer"):
        TaskPredictionErrorDisplay.from_predictions(*predictions, n_cols=0)


def test_prediction_error_draws_on_the_given_axes(predictions):
    _, grid = plt.subplots(2, 2)
    disp = TaskPredictionErrorDisplay.from_predictions(*predictions, ax=grid)
    assert list(disp.ax_) == list(grid.ravel())


def test_given_axes_must_match_the_tasks(predictions):
    _, grid = plt.subplots(1, 3)
    with pytest.raises(ValueError, match=r"one Axes per task \(4\); got 3"):
        TaskPredictionErrorDisplay.from_predictions(*predictions, ax=grid)


def test_style_kwargs_accept_matplotlib_aliases(predictions):
    disp = TaskPredictionErrorDisplay.from_predictions(
        *predictions, line_kwargs={"c": "red"}, scatter_kwargs={"alpha": 0.2}
    )
    assert disp.lines_[0].get_color() == "red"
    assert disp.scatters_[0].get_alpha() == 0.2


def test_prediction_error_from_estimator_uses_its_predictions(fitted):
    reg, X, Y = fitted
    disp = TaskPredictionErrorDisplay.from_estimator(reg, X, Y)
    observed = ~np.isnan(Y[:, 1])
    assert_allclose(
        disp.scatters_[1].get_offsets(),
        np.column_stack([reg.predict(X)[observed, 1], Y[observed, 1]]),
    )
    assert disp.target_names == list(reg.target_names_)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_prediction_error_with_target_columns_in_another_order_is_a_value_error(
    fitted,
):
    _, X, Y = fitted
    Y = pd.DataFrame(Y, columns=["a", "b", "c"])
    reg = MultiTaskHealthRegressor(hidden_layer_sizes=8, max_iter=2).fit(X, Y)
    with pytest.raises(ValueError, match=re.escape("pass y[['a', 'b', 'c']]")):
        TaskPredictionErrorDisplay.from_estimator(reg, X, Y[["c", "a", "b"]])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_prediction_error_from_a_search_checks_y_against_its_best_estimator(fitted):
    _, X, Y = fitted
    Y = pd.DataFrame(Y, columns=["a", "b", "c"])
    search = GridSearchCV(
        MultiTaskHealthRegressor(hidden_layer_sizes=8, max_iter=2),
        {"alpha": [1e-4]},
        cv=2,
        scoring=get_scorer("r2"),
    ).fit(X, Y)
    with pytest.raises(ValueError, match=re.escape("pass y[['a', 'b', 'c']]")):
        TaskPredictionErrorDisplay.from_estimator(search, X, Y[["c", "a", "b"]])


def test_prediction_error_needs_a_fitted_estimator(fitted):
    _, X, Y = fitted
    with pytest.raises(NotFittedError):
        TaskPredictionErrorDisplay.from_estimator(MultiTaskHealthRegressor(), X, Y)


# ------------------------------------------------------------ task importance
@pytest.fixture
def importances():
    """task_permutation_importance's table: sbp relies on age, hdl on steps."""
    return pd.DataFrame(
        {
            "task": ["sbp"] * 3 + ["hdl"] * 3,
            "feature": ["age", "bmi", "steps"] * 2,
            "importance_mean": [0.40, 0.001, 0.05, 0.02, 0.10, 0.30],
            "importance_std": [0.01] * 6,
        }
    )


def tick_labels(axis):
    return [label.get_text() for label in axis.get_ticklabels()]


def test_importance_heatmap_has_a_column_per_task_in_order(importances):
    disp = TaskImportanceDisplay.from_importances(importances)
    assert tick_labels(disp.ax_.xaxis) == ["sbp", "hdl"]
    assert disp.ax_.get_xlabel() == "task"


def test_importance_heatmap_puts_the_most_important_column_first(importances):
    disp = TaskImportanceDisplay.from_importances(importances)
    # by each column's largest importance over the tasks
    assert tick_labels(disp.ax_.yaxis) == ["age", "steps", "bmi"]
    assert_array_equal(
        disp.image_.get_array(), [[0.40, 0.02], [0.05, 0.30], [0.001, 0.10]]
    )


def test_importance_heatmap_writes_values_leaving_zeros_blank(importances):
    disp = TaskImportanceDisplay.from_importances(importances)
    written = [[t and t.get_text() for t in row] for row in disp.text_]
    assert written == [["0.40", "0.02"], ["0.05", "0.30"], [None, "0.10"]]


def test_importance_heatmap_values_can_be_left_out(importances):
    disp = TaskImportanceDisplay.from_importances(importances)
    bare = TaskImportanceDisplay(importances=disp.importances).plot(
        include_values=False, colorbar=False
    )
    assert (bare.text_ == None).all()  # noqa: E711 (an array of objects)
    assert bare.colorbar_ is None
    assert bare.figure_.axes == [bare.ax_]


def test_importance_heatmap_max_features_keeps_the_most_important(importances):
    disp = TaskImportanceDisplay.from_importances(importances, max_features=2)
    assert tick_labels(disp.ax_.yaxis) == ["age", "steps"]


def test_importance_heatmap_draws_on_the_given_axes(importances):
    _, ax = plt.subplots()
    disp = TaskImportanceDisplay.from_importances(importances, ax=ax)
    assert disp.ax_ is ax
    assert disp.colorbar_.ax.get_ylabel() == "importance"


@pytest.mark.parametrize(
    ("scoring", "label"),
    [
        ("r2", "drop in R² when shuffled"),
        ("neg_mean_absolute_error", "rise in MAE when shuffled"),
    ],
)
def test_importance_heatmap_from_estimator_shuffles_each_column(fitted, scoring, label):
    reg, X, Y = fitted
    disp = TaskImportanceDisplay.from_estimator(
        reg, X, Y, scoring=scoring, n_repeats=2, random_state=0
    )
    expected = task_permutation_importance(
        reg, X, Y, scoring=scoring, n_repeats=2, random_state=0
    ).pivot(index="feature", columns="task", values="importance_mean")
    assert_allclose(disp.importances, expected.loc[disp.importances.index])
    assert disp.importances.columns.tolist() == list(reg.target_names_)
    assert disp.colorbar_.ax.get_ylabel() == label


def test_importances_without_their_columns_are_a_value_error(importances):
    with pytest.raises(ValueError, match=r"it lacks \['importance_mean'\]"):
        TaskImportanceDisplay.from_importances(
            importances.drop(columns="importance_mean")
        )


@pytest.mark.parametrize("max_features", [0, 1.5, True])
def test_importance_max_features_must_be_a_positive_integer(importances, max_features):
    with pytest.raises(ValueError, match=f"max_features must be .* got {max_features}"):
        TaskImportanceDisplay.from_importances(importances, max_features=max_features)


# --------------------------------------------------------------- attributions
@pytest.fixture
def attributions():
    """task_attributions' table for one person, p7: age rises sbp most, steps
    lowers hdl most."""
    features = ["age", "bmi", "steps", "site"]
    return pd.DataFrame(
        {
            "sample": ["p7"] * 8,
            "task": ["sbp"] * 4 + ["hdl"] * 4,
            "feature": features * 2,
            "value": [63.0, np.nan, 9000, "b"] * 2,
            "attribution": [6.0, -0.5, -1.0, 2.0, 0.2, 0.4, -3.0, 1.0],
            "prediction": [131.5] * 4 + [48.6] * 4,
            "baseline_prediction": [125.0] * 4 + [50.0] * 4,
        }
    )


def bars(disp, task):
    """``(label, width, colour)`` of a task's bars, from the top down."""
    panel = disp.ax_[list(disp.bars_).index(task)]
    return [
        (label, bar.get_width(), matplotlib.colors.to_hex(bar.get_facecolor()))
        for label, bar in zip(
            tick_labels(panel.yaxis)[::-1], disp.bars_[task][::-1], strict=True
        )
    ]


RED, BLUE, GREY = (matplotlib.colors.to_hex(c) for c in ("C3", "C0", "grey"))


def test_attribution_bars_put_the_largest_on_top_rises_red_falls_blue(attributions):
    disp = AttributionDisplay.from_attributions(attributions)
    assert bars(disp, "sbp") == [
        ("age = 63", 6.0, RED),
        ("site = b", 2.0, RED),
        ("steps = 9000", -1.0, BLUE),
        ("bmi = missing", -0.5, BLUE),
    ]


def test_attribution_panels_are_the_tasks_titled_with_the_predictions(attributions):
    disp = AttributionDisplay.from_attributions(attributions)
    assert [ax.get_title() for ax in disp.ax_] == [
        "sbp\n131.5 (baseline 125)",
        "hdl\n48.6 (baseline 50)",
    ]
    assert disp.figure_.axes == list(disp.ax_)


def test_attribution_bars_beyond_max_features_are_summed_in_grey(attributions):
    disp = AttributionDisplay.from_attributions(attributions, max_features=2)
    assert bars(disp, "hdl") == [
        ("steps = 9000", -3.0, BLUE),
        ("site = b", 1.0, RED),
        ("2 other columns", pytest.approx(0.6), GREY),
    ]


def test_attribution_bars_of_every_column_need_no_other_bar(attributions):
    disp = AttributionDisplay.from_attributions(attributions, max_features=3)
    assert len(bars(disp, "hdl")) == 4  # a bar of one "other column" is its own


def test_attribution_tasks_selects_the_panels(attributions):
    disp = AttributionDisplay.from_attributions(attributions, tasks="hdl")
    assert list(disp.bars_) == ["hdl"]


def test_attributions_of_several_people_need_a_sample(attributions):
    two = pd.concat([attributions, attributions.assign(sample="p9")])
    with pytest.raises(ValueError, match=r"hold 2 people; pass sample=.*'p7', 'p9'"):
        AttributionDisplay.from_attributions(two)
    disp = AttributionDisplay.from_attributions(two, sample="p9")
    assert disp.attributions["sample"].unique().tolist() == ["p9"]


def test_attributions_of_an_unknown_sample_are_a_value_error(attributions):
    with pytest.raises(ValueError, match="sample='p8' is not in the 'sample'"):
        AttributionDisplay.from_attributions(attributions, sample="p8")


def test_attribution_max_features_must_be_a_positive_integer(attributions):
    with pytest.raises(ValueError, match="max_features must be a positive integer"):
        AttributionDisplay.from_attributions(attributions, max_features=0)


def test_attributions_from_estimator_explain_a_row_against_x(fitted):
    reg, X, _ = fitted
    disp = AttributionDisplay.from_estimator(reg, X, row=4)
    expected = task_attributions(reg, X[[4]], baseline=X)
    for task, bar_container in disp.bars_.items():
        widths = sorted(bar.get_width() for bar in bar_container)
        found = expected.loc[expected["task"] == task, "attribution"]
        assert_allclose(widths, sorted(found))


@pytest.mark.parametrize("row", [80, -1, 1.0])
def test_attribution_row_must_be_a_position_in_x(fitted, row):
    reg, X, _ = fitted
    with pytest.raises(ValueError, match=f"from 0 to 79; got {row}"):
        AttributionDisplay.from_estimator(reg, X, row=row)
