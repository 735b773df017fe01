"""The displays of binary tasks: TaskCalibrationDisplay and TaskROCDisplay."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from _estimator_helpers import fast
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.calibration import calibration_curve
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.neighbors import KNeighborsRegressor
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhealth.plot import TaskCalibrationDisplay, TaskROCDisplay

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.colors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

DISPLAYS = [TaskCalibrationDisplay, TaskROCDisplay]
TASKS = ["diabetes", "smoker", "hypertension"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def legend_labels(ax):
    return [text.get_text() for text in ax.get_legend().get_texts()]


def n_colors(lines):
    return len({matplotlib.colors.to_hex(line.get_color()) for line in lines})


@pytest.fixture
def binary():
    """Labels of three binary tasks, some unknown, and probabilities whose
    unknown rows would change every score if they counted."""
    rng = np.random.RandomState(0)
    y_proba = rng.uniform(size=(60, 3))
    y_true = (rng.uniform(size=(60, 3)) < y_proba).astype(float)
    unknown = rng.uniform(size=(60, 3)) < 0.25
    y_true[unknown] = np.nan
    y_proba[unknown] = 1 - y_proba[unknown]  # misleading, were they kept
    return y_true, y_proba


@pytest.fixture
def multilabel():
    """Inputs and a 0/1 indicator matrix of three tasks that depend on them."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 4))
    logits = X[:, :3] * np.array([2.0, -1.5, 1.0])
    Y = (rng.uniform(size=(150, 3)) < 1 / (1 + np.exp(-logits))).astype(int)
    return X, Y


@pytest.fixture
def mlp(multilabel):
    X, Y = multilabel
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0).fit(
            X, Y
        )


def observed(y_true, y_proba, t):
    rows = ~np.isnan(y_true[:, t])
    return y_true[rows, t], y_proba[rows, t]


# ------------------------------------------------------------------------- ROC
def test_roc_auc_shown_is_roc_auc_score_on_the_observed_rows(binary):
    disp = TaskROCDisplay.from_predictions(*binary, target_names=TASKS)
    expected = [roc_auc_score(*observed(*binary, t)) for t in range(3)]
    assert disp.roc_auc.index.tolist() == TASKS
    assert disp.roc_auc.tolist() == expected
    assert [legend_labels(ax)[-1] for ax in disp.ax_] == [
        f"AUC = {auc:.2f}" for auc in expected
    ]


def test_roc_curves_are_those_of_the_observed_rows(binary):
    disp = TaskROCDisplay.from_predictions(*binary, target_names=TASKS)
    for t, (task, line) in enumerate(zip(TASKS, disp.lines_, strict=True)):
        fpr, tpr, _ = roc_curve(*observed(*binary, t))
        assert_array_equal(disp.fpr[task], fpr)
        assert_array_equal(disp.tpr[task], tpr)
        assert_array_equal(line.get_xdata(), fpr)
        assert_array_equal(line.get_ydata(), tpr)


def test_roc_panels_are_titled_by_task_with_the_chance_diagonal(binary):
    disp = TaskROCDisplay.from_predictions(*binary, target_names=TASKS, n_cols=2)
    assert disp.figure_.axes == list(disp.ax_)
    assert [ax.get_subplotspec().rowspan.start for ax in disp.ax_] == [0, 0, 1]
    for ax, task in zip(disp.ax_, TASKS, strict=True):
        assert ax.get_title() == task
        assert (ax.get_xlabel(), ax.get_ylabel()) == (
            "false positive rate",
            "true positive rate",
        )
        chance, _ = ax.get_lines()
        assert_array_equal(chance.get_xydata(), [[0, 0], [1, 1]])
        assert legend_labels(ax)[0] == "chance level (AUC = 0.5)"


def test_roc_without_chance_level_draws_the_curves_only(binary):
    disp = TaskROCDisplay.from_predictions(*binary, plot_chance_level=False)
    assert [len(ax.get_lines()) for ax in disp.ax_] == [1, 1, 1]


# ----------------------------------------------------------------- calibration
def test_ece_of_a_tiny_example_is_the_hand_computed_one():
    # two bins, [0, 0.5) and [0.5, 1]; the label of the third row is unknown
    y_true = [0, 1, np.nan, 1, 0]
    y_proba = [0.2, 0.4, 0.99, 0.9, 0.7]
    disp = TaskCalibrationDisplay.from_predictions(y_true, y_proba, n_bins=2)
    # low bin: 0.2 and 0.4, mean 0.3, one positive in two: |0.3 - 0.5| = 0.2
    # high bin: 0.9 and 0.7, mean 0.8, one positive in two: |0.8 - 0.5| = 0.3
    assert_allclose(disp.prob_pred["task_0"], [0.3, 0.8])
    assert_allclose(disp.prob_true["task_0"], [0.5, 0.5])
    assert_array_equal(disp.bin_counts["task_0"], [2, 2])
    assert disp.ece["task_0"] == pytest.approx(2 / 4 * 0.2 + 2 / 4 * 0.3)
    assert legend_labels(disp.ax_[0]) == ["perfectly calibrated", "ECE = 0.250"]


def test_ece_weighs_each_bin_by_its_share_of_the_labels():
    y_true = [0, 0, 0, 1]
    y_proba = [0.1, 0.1, 0.1, 0.6]
    disp = TaskCalibrationDisplay.from_predictions(y_true, y_proba, n_bins=2)
    # three labels at 0.1 (none positive), one at 0.6 (positive)
    assert_array_equal(disp.bin_counts["task_0"], [3, 1])
    assert disp.ece["task_0"] == pytest.approx(3 / 4 * 0.1 + 1 / 4 * 0.4)


def test_ece_with_quantile_bins_uses_calibration_curves_quantile_bins():
    y_true = [0, 0, 1, 0, 1, 1]
    y_proba = [0.05, 0.1, 0.2, 0.3, 0.8, 0.95]
    disp = TaskCalibrationDisplay.from_predictions(
        y_true, y_proba, n_bins=3, strategy="quantile"
    )
    # tertiles: {0.05, 0.1}, {0.2, 0.3}, {0.8, 0.95}
    assert_array_equal(disp.bin_counts["task_0"], [2, 2, 2])
    gaps = [abs(0.075 - 0), abs(0.25 - 0.5), abs(0.875 - 1)]
    assert disp.ece["task_0"] == pytest.approx(sum(gaps) / 3)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_calibration_curves_are_calibration_curve_on_the_observed_rows(
    binary, strategy
):
    disp = TaskCalibrationDisplay.from_predictions(
        *binary, target_names=TASKS, n_bins=4, strategy=strategy
    )
    for t, (task, line) in enumerate(zip(TASKS, disp.lines_, strict=True)):
        labels, proba = observed(*binary, t)
        prob_true, prob_pred = calibration_curve(
            labels, proba, n_bins=4, strategy=strategy
        )
        assert_array_equal(disp.prob_true[task], prob_true)
        assert_array_equal(disp.prob_pred[task], prob_pred)
        assert disp.bin_counts[task].sum() == len(labels)
        assert_array_equal(line.get_xdata(), prob_pred)
        assert_array_equal(line.get_ydata(), prob_true)


def test_calibration_legends_give_each_tasks_ece(binary):
    disp = TaskCalibrationDisplay.from_predictions(*binary, target_names=TASKS)
    assert disp.ece.index.tolist() == TASKS
    assert [legend_labels(ax) for ax in disp.ax_] == [
        ["perfectly calibrated", f"ECE = {disp.ece[task]:.3f}"] for task in TASKS
    ]
    for ax, task in zip(disp.ax_, TASKS, strict=True):
        assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == (
            task,
            "mean predicted probability",
            "fraction of positives",
        )


def test_invalid_strategy_is_scikit_learns_error(binary):
    with pytest.raises(ValueError, match="'strategy' parameter of calibration_curve"):
        TaskCalibrationDisplay.from_predictions(*binary, strategy="kmeans")


# ----------------------------------------------------------------- both kinds
@pytest.mark.parametrize("display", DISPLAYS)
def test_a_1d_y_is_one_task(display):
    y_true, y_proba = [0, 1, 1, 0, np.nan], [0.2, 0.7, 0.6, 0.5, 0.1]
    disp = display.from_predictions(y_true, y_proba)
    assert [ax.get_title() for ax in disp.ax_] == ["task_0"]


@pytest.mark.parametrize("display", DISPLAYS)
def test_a_dataframes_columns_name_the_tasks(display, binary):
    y_true = pd.DataFrame(binary[0], columns=TASKS)
    disp = display.from_predictions(y_true, binary[1])
    assert [ax.get_title() for ax in disp.ax_] == TASKS


@pytest.mark.parametrize("display", DISPLAYS)
def test_a_second_model_is_drawn_into_the_same_panels(display, binary):
    y_true, y_proba = binary
    first = display.from_predictions(y_true, y_proba, name="model A")
    second = display.from_predictions(y_true, y_proba**2, name="model B", ax=first.ax_)
    assert list(second.ax_) == list(first.ax_)
    assert second.figure_.axes == list(first.ax_)
    for t, ax in enumerate(first.ax_):
        if display is TaskROCDisplay:
            reference = "chance level (AUC = 0.5)"
            scores = [f"AUC = {d.roc_auc.iloc[t]:.2f}" for d in (first, second)]
        else:
            reference = "perfectly calibrated"
            scores = [f"ECE = {d.ece.iloc[t]:.3f}" for d in (first, second)]
        assert legend_labels(ax) == [
            reference,
            f"model A ({scores[0]})",
            f"model B ({scores[1]})",
        ]
        reference_line, *curves = ax.get_lines()  # the reference drawn once
        assert reference_line.get_label() == reference
        assert curves == [first.lines_[t], second.lines_[t]]
        assert n_colors(curves) == 2


@pytest.mark.parametrize("display", DISPLAYS)
def test_axes_given_must_be_one_per_task(display, binary):
    _, grid = plt.subplots(1, 2)
    with pytest.raises(ValueError, match=r"one Axes per task \(3\); got 2"):
        display.from_predictions(*binary, ax=grid)


@pytest.mark.parametrize("display", DISPLAYS)
def test_labels_other_than_0_and_1_are_a_value_error_naming_the_task(display):
    y_true = np.array([[0, 120.0], [1, 135.0], [1, 150.0]])
    y_proba = np.full((3, 2), 0.5)
    message = (
        "Task 'sbp' has labels other than 0 and 1, such as 120: these displays "
        "need binary outcomes, 1 for the positive label, 0 for the negative and "
        "NaN where unknown. Encode it as 0/1, or leave the task out "
        "(from_estimator's tasks= selects the tasks to plot)."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        display.from_predictions(y_true, y_proba, target_names=["diabetes", "sbp"])


@pytest.mark.parametrize("display", DISPLAYS)
def test_a_task_with_a_single_observed_class_is_a_value_error(display):
    y_true = np.array([[0, 1], [1, np.nan], [1, 1]])
    with pytest.raises(
        ValueError,
        match=r"^Task 'task_1' has only the label 1 among its 2 observed rows: its "
        r"ROC and calibration curves need both labels, 0 and 1\. Give rows with "
        r"both, or leave the task out",
    ):
        display.from_predictions(y_true, np.full((3, 2), 0.5))


@pytest.mark.parametrize("display", DISPLAYS)
def test_a_task_without_an_observed_label_is_a_value_error(display):
    y_true = np.array([[0, np.nan], [1, np.nan]])
    with pytest.raises(
        ValueError, match=r"^Task 'task_1' has no observed label \(all 2 are NaN\)"
    ):
        display.from_predictions(y_true, np.full((2, 2), 0.5))


@pytest.mark.parametrize("display", DISPLAYS)
@pytest.mark.parametrize("value", [1.5, -0.1, np.nan, np.inf])
def test_probabilities_that_are_not_in_0_1_are_a_value_error(display, value):
    y_proba = np.array([[0.2, 0.3], [0.6, value], [0.4, 0.9]])
    with pytest.raises(
        ValueError,
        match=rf"^The predicted probabilities of task 'task_1' hold {value:g}, not "
        r"a probability in \[0, 1\], on a row with a label: pass the probabilities "
        r"of the label 1 \(a classifier's predict_proba, or the predict of a task "
        r"fitted with loss='log_loss'\), not scores",
    ):
        display.from_predictions([[0, 0], [1, 1], [1, 0]], y_proba)


@pytest.mark.parametrize("display", DISPLAYS)
def test_probabilities_of_unknown_labels_are_not_checked(display):
    y_true = [0, 1, np.nan, 1, 0]
    y_proba = [0.2, 0.7, np.nan, 0.6, 0.5]
    disp = display.from_predictions(y_true, y_proba)
    assert len(disp.lines_) == 1


@pytest.mark.parametrize("display", DISPLAYS)
def test_both_columns_of_a_single_tasks_predict_proba_are_a_value_error(display):
    with pytest.raises(
        ValueError,
        match=r"^y_proba has shape \(3, 2\), but y_true \(3, 1\): give one probability "
        r"of the label 1 per row and task: for a single task, pass the probabilities "
        r"of the label 1, predict_proba\(X\)\[:, 1\]\.$",
    ):
        display.from_predictions([0, 1, 1], [[0.8, 0.2], [0.3, 0.7], [0.4, 0.6]])


@pytest.mark.parametrize("display", DISPLAYS)
def test_target_names_must_name_each_task_once(display, binary):
    with pytest.raises(
        ValueError, match=r"^target_names must be 3 distinct names, one per task"
    ):
        display.from_predictions(*binary, target_names=["a", "b"])


# ------------------------------------------------------------- from_estimator
@pytest.mark.parametrize("display", DISPLAYS)
def test_from_estimator_plots_a_multilabel_classifiers_predict_proba(
    display, multilabel, mlp
):
    X, Y = multilabel
    Y = Y.astype(float)
    Y[::7, 1] = np.nan
    from_estimator = display.from_estimator(mlp, X, Y)
    from_predictions = display.from_predictions(Y, mlp.predict_proba(X))
    score = "roc_auc" if display is TaskROCDisplay else "ece"
    assert_array_equal(getattr(from_estimator, score), getattr(from_predictions, score))
    assert [legend_labels(ax)[-1].split(" (")[0] for ax in from_estimator.ax_] == [
        "MLPClassifier"
    ] * 3


def test_from_estimator_roc_auc_is_that_of_the_observed_labels(multilabel, mlp):
    X, Y = multilabel
    Y = pd.DataFrame(Y.astype(float), columns=TASKS)
    Y.iloc[::5, 0] = np.nan
    disp = TaskROCDisplay.from_estimator(mlp, X, Y)
    rows = Y["diabetes"].notna().to_numpy()
    proba = mlp.predict_proba(X)[rows, 0]
    assert disp.roc_auc["diabetes"] == roc_auc_score(Y["diabetes"][rows], proba)
    assert [ax.get_title() for ax in disp.ax_] == TASKS


@pytest.mark.parametrize("display", DISPLAYS)
def test_from_estimator_takes_the_second_column_for_a_single_task(display, multilabel):
    X, Y = multilabel
    y = pd.Series(Y[:, 0], name="diabetes")
    clf = LogisticRegression().fit(X, y)
    disp = display.from_estimator(clf, X, y)
    expected = display.from_predictions(y, clf.predict_proba(X)[:, 1])
    score = "roc_auc" if display is TaskROCDisplay else "ece"
    assert_array_equal(getattr(disp, score), getattr(expected, score))
    assert [ax.get_title() for ax in disp.ax_] == ["diabetes"]


def test_from_estimator_works_on_a_pipeline_named_by_its_last_step(multilabel):
    X, Y = multilabel
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y[:, 0])
    disp = TaskROCDisplay.from_estimator(pipe, X, Y[:, 0])
    auc = roc_auc_score(Y[:, 0], pipe.predict_proba(X)[:, 1])
    assert legend_labels(disp.ax_[0])[-1] == f"LogisticRegression (AUC = {auc:.2f})"


def test_from_estimator_takes_column_1_of_each_tasks_list_entry(multilabel):
    X, Y = multilabel
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, Y)
    disp = TaskROCDisplay.from_estimator(forest, X, Y)
    proba = np.column_stack([p[:, 1] for p in forest.predict_proba(X)])
    assert disp.roc_auc.tolist() == [
        roc_auc_score(Y[:, t], proba[:, t]) for t in range(3)
    ]


@pytest.fixture
def mixed():
    """Inputs, a continuous task and two binary ones (0/1), and a regressor
    fitted on them, whose predictions of the binary tasks are probabilities."""
    rng = np.random.RandomState(1)
    X = rng.normal(size=(120, 3))
    Y = pd.DataFrame(
        {
            "sbp": 120 + 10 * X[:, 0],
            "diabetes": (X[:, 1] + rng.normal(size=120) > 0).astype(float),
            "smoker": (X[:, 2] + rng.normal(size=120) > 0).astype(float),
        }
    )
    return X, Y, KNeighborsRegressor(n_neighbors=7).fit(X, Y)


@pytest.mark.parametrize("display", DISPLAYS)
@pytest.mark.parametrize("tasks", [["diabetes", "smoker"], [1, 2], ["diabetes", 2]])
def test_tasks_select_a_regressors_probability_columns(display, mixed, tasks):
    X, Y, knn = mixed
    disp = display.from_estimator(knn, X, Y, tasks=tasks)
    expected = display.from_predictions(
        Y[["diabetes", "smoker"]], knn.predict(X)[:, 1:]
    )
    score = "roc_auc" if display is TaskROCDisplay else "ece"
    assert_array_equal(getattr(disp, score), getattr(expected, score))
    assert [ax.get_title() for ax in disp.ax_] == ["diabetes", "smoker"]
    assert legend_labels(disp.ax_[0])[-1].startswith("KNeighborsRegressor (")


def test_from_estimator_leaves_the_unknown_labels_out(mixed):
    X, Y, knn = mixed
    Y = Y.copy()
    Y.loc[:39, "smoker"] = np.nan
    disp = TaskROCDisplay.from_estimator(knn, X, Y, tasks="smoker")
    auc = roc_auc_score(Y["smoker"][40:], knn.predict(X)[40:, 2])
    assert disp.roc_auc.tolist() == [auc]


def test_a_continuous_task_left_in_is_a_value_error_naming_it(mixed):
    X, Y, knn = mixed
    with pytest.raises(
        ValueError, match=r"^Task 'sbp' has labels other than 0 and 1, such as"
    ):
        TaskROCDisplay.from_estimator(knn, X, Y)


@pytest.mark.parametrize("tasks", ["bmi", 3, [], [1, 1], True])
def test_unknown_tasks_are_a_value_error(mixed, tasks):
    X, Y, knn = mixed
    message = (
        "tasks must be target names, one or more of ['sbp', 'diabetes', "
        "'smoker'], or their positions, from 0 to 2, each at most once; got "
        f"{tasks!r}."
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        TaskCalibrationDisplay.from_estimator(knn, X, Y, tasks=tasks)


def test_a_multiclass_classifier_is_a_value_error(multilabel):
    X, Y = multilabel
    clf = LogisticRegression().fit(X, Y.sum(axis=1))  # 0 to 3
    with pytest.raises(
        ValueError,
        match=r"^LogisticRegression\.predict_proba\(X\) has 4 columns, but y has 1 "
        r"task: these displays need one probability of the label 1 per task",
    ):
        TaskROCDisplay.from_estimator(clf, X, Y[:, 0])


def test_a_classifier_of_other_labels_than_0_and_1_is_a_value_error(multilabel):
    X, Y = multilabel
    clf = LogisticRegression().fit(X, np.where(Y[:, 0] == 1, "yes", "no"))
    with pytest.raises(
        ValueError,
        match=r"^The classifier's classes for task 'task_0' are \['no', 'yes'\]; "
        r"these displays need binary outcomes labelled 0 and 1",
    ):
        TaskROCDisplay.from_estimator(clf, X, Y[:, 0])


def test_from_estimator_needs_a_fitted_estimator(multilabel):
    X, Y = multilabel
    with pytest.raises(NotFittedError):
        TaskROCDisplay.from_estimator(LogisticRegression(), X, Y[:, 0])


@pytest.fixture(scope="module")
def health_model():
    """A skhealth regressor with a continuous task and a binary one
    (loss="log_loss", whose predictions are probabilities), and its data."""
    rng = np.random.RandomState(3)
    X = rng.normal(size=(100, 3))
    Y = pd.DataFrame(
        {
            "sbp": 120 + 10 * X[:, 0],
            "diabetes": (X[:, 1] + 0.5 * rng.normal(size=100) > 0).astype(float),
        }
    )
    Y.loc[::6, "diabetes"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = fast(loss=["squared_error", "log_loss"], max_iter=10).fit(X, Y)
    return reg, X, Y


@pytest.mark.parametrize("display", DISPLAYS)
def test_from_estimator_plots_a_skhealth_regressors_log_loss_task(
    display, health_model
):
    reg, X, Y = health_model
    disp = display.from_estimator(reg, X, Y.to_numpy(), tasks="diabetes")
    expected = display.from_predictions(Y[["diabetes"]], reg.predict(X)[:, [1]])
    score = "roc_auc" if display is TaskROCDisplay else "ece"
    assert_array_equal(getattr(disp, score), getattr(expected, score))
    # an array y: the model's target_names_ name the tasks
    assert [ax.get_title() for ax in disp.ax_] == ["diabetes"]
    assert legend_labels(disp.ax_[0])[-1].startswith("MultiTaskHealthRegressor (")


def test_y_columns_in_another_order_than_the_models_are_a_value_error(health_model):
    reg, X, Y = health_model
    with pytest.raises(ValueError, match=re.escape("pass y[['sbp', 'diabetes']]")):
        TaskROCDisplay.from_estimator(reg, X, Y[["diabetes", "sbp"]], tasks=0)
