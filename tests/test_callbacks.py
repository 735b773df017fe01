import copy
import io
import pickle
import types
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from skorch.callbacks import PrintLog, ProgressBar
from skorch.history import History
from tqdm import tqdm

from skhealth import MultiTaskHealthRegressor
from skhealth._net import TaskDataset
from skhealth.callbacks import TaskMetrics, TaskPrintLog, TrainingProgress
from skhealth.losses import MaskedMultiTaskLoss, label_weights
from skhealth.metrics import task_scores


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 4))
    Y = X[:, :2] @ rng.normal(size=(2, 2)) + 0.1 * rng.normal(size=(60, 2))
    return X, Y


def fit_with_bar(data, bar, **params):
    """Fit a small estimator with ``bar``; return it and the bar that ran."""
    reg = MultiTaskHealthRegressor(
        hidden_layer_sizes=8, batch_size=20, random_state=0, callbacks=[bar], **params
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(*data)
    return reg, dict(reg.net_.callbacks_)["TrainingProgress"]


def shown(file):
    return TrainingProgress(file=file, disable=False)


def test_bar_counts_the_epochs_out_of_max_iter(data):
    reg, bar = fit_with_bar(data, shown(io.StringIO()), max_iter=4)
    assert (bar.pbar_.n, bar.pbar_.total) == (4, 4)
    assert reg.n_iter_ == 4


def test_bar_ends_full_at_the_epochs_trained_when_stopping_early(data):
    reg, bar = fit_with_bar(
        data, shown(io.StringIO()), max_iter=50, n_iter_no_change=2, tol=10.0
    )
    assert reg.n_iter_ == 3
    assert (bar.pbar_.n, bar.pbar_.total) == (3, 3)


def test_bar_writes_to_the_given_stream(data):
    log = io.StringIO()
    fit_with_bar(data, shown(log), max_iter=4)
    assert "4/4" in log.getvalue()


def test_bar_writes_to_an_open_file(data, tmp_path):
    with open(tmp_path / "log.txt", "w") as log:
        fit_with_bar(data, shown(log), max_iter=2)
    assert "2/2" in (tmp_path / "log.txt").read_text()


def test_bar_shows_the_latest_loss_and_validation_r2(data):
    reg, bar = fit_with_bar(data, shown(io.StringIO()), max_iter=3, early_stopping=True)
    last = reg.history_[-1]
    assert bar.pbar_.postfix == (
        f"train_loss={tqdm.format_num(last['train_loss'])}, "
        f"valid_r2={tqdm.format_num(last['valid_r2'])}"
    )


def test_bars_are_closed_when_training_ends(data):
    log = io.StringIO()
    bar = TrainingProgress(batches=True, file=log, disable=False)
    _, bar = fit_with_bar(data, bar, max_iter=2)
    # tqdm marks a bar disabled once closed; these were created enabled.
    assert bar.pbar_.disable
    assert bar.batch_pbar_.disable
    assert log.getvalue().endswith("\n")


def test_batch_bar_counts_each_epochs_training_batches(data):
    bar = TrainingProgress(batches=True, file=io.StringIO(), disable=False)
    _, bar = fit_with_bar(data, bar, max_iter=2, early_stopping=True)
    # 54 training rows (10% held out) in batches of 20
    assert (bar.batch_pbar_.n, bar.batch_pbar_.total) == (3, 3)


def test_no_batch_bar_by_default(data):
    _, bar = fit_with_bar(data, shown(io.StringIO()), max_iter=1)
    assert bar.batch_pbar_ is None


def test_bar_is_silent_on_a_stream_that_is_not_a_terminal(data):
    log = io.StringIO()
    fit_with_bar(data, TrainingProgress(file=log), max_iter=2)
    assert log.getvalue() == ""


def test_warm_start_counts_only_the_new_epochs(data):
    reg, _ = fit_with_bar(data, shown(io.StringIO()), max_iter=3, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.set_params(max_iter=2).fit(*data)
    bar = dict(reg.net_.callbacks_)["TrainingProgress"]
    assert (bar.pbar_.n, bar.pbar_.total) == (2, 2)
    assert reg.n_iter_ == 5


def test_partial_fit_shows_its_single_epoch(data):
    reg = MultiTaskHealthRegressor(callbacks=[shown(io.StringIO())]).partial_fit(*data)
    bar = dict(reg.net_.callbacks_)["TrainingProgress"]
    assert (bar.pbar_.n, bar.pbar_.total) == (1, 1)


@pytest.mark.parametrize("duplicate", [copy.deepcopy, clone])
def test_copies_share_the_stream_and_the_settings(duplicate):
    log = io.StringIO()
    bar = TrainingProgress(batches=True, postfix_keys=("valid_loss",), file=log)
    twin = duplicate(bar)
    assert twin is not bar
    assert twin.file is log
    assert twin.get_params() == bar.get_params()


def test_fitted_estimator_with_a_bar_pickles(data):
    reg, _ = fit_with_bar(data, shown(io.StringIO()), max_iter=2)
    restored = pickle.loads(pickle.dumps(reg))
    assert_array_equal(restored.predict(data[0]), reg.predict(data[0]))
    assert dict(restored.net_.callbacks_)["TrainingProgress"].pbar_ is None


def test_bar_runs_beside_skorchs_progress_bar_each_under_its_own_name(data):
    # skorch names a net's callbacks by their class
    reg = MultiTaskHealthRegressor(
        max_iter=1, callbacks=[shown(io.StringIO()), ProgressBar()]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(*data)
    callbacks = dict(reg.net_.callbacks_)
    assert isinstance(callbacks["TrainingProgress"], TrainingProgress)
    assert type(callbacks["ProgressBar"]) is ProgressBar


# --------------------------------------------------------------- TaskMetrics
def test_a_task_without_labels_in_an_epoch_has_no_loss_and_no_r2(data):
    X, Y = data[:2]
    reg = MultiTaskHealthRegressor(hidden_layer_sizes=(8,), random_state=0)
    reg.partial_fit(X, Y)
    unmeasured = np.array(Y, dtype=float)
    unmeasured[:, 1] = np.nan
    reg.partial_fit(X, unmeasured)
    epoch, name = reg.history_[-1], reg.target_names_[1]
    assert np.isnan(epoch[f"train_loss_{name}"])
    assert np.isnan(epoch[f"train_r2_{name}"])


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("members", [None, 3])
def test_task_metrics_over_batches_equal_the_scores_of_the_whole_epoch(
    members, training
):
    rng = np.random.RandomState(0)
    y = rng.normal(size=(50, 2))
    y[rng.rand(50, 2) < 0.3] = np.nan
    shape = (50, 2) if members is None else (members, 50, 2)
    y_pred = torch.as_tensor(rng.normal(size=shape) + np.nan_to_num(y))
    y_true, weight = label_weights(torch.as_tensor(y))
    data = TaskDataset(torch.zeros(50, 1), y_true, weight)
    criterion = MaskedMultiTaskLoss(["huber", "squared_error"])
    net = types.SimpleNamespace(history=History(), criterion_=criterion)
    net.history.new_epoch()
    metrics = TaskMetrics(["a", "b"])
    # scored as the training data, or as the validation split (the holdout)
    metrics.on_train_begin(
        net, X=data if training else TaskDataset(data.X, data.y, holdout=data)
    )
    metrics.on_epoch_begin(net)
    for rows in np.array_split(np.arange(50), 3):  # batches of 17, 17, 16
        part = y_pred[..., rows, :], y_true[rows], weight[rows]
        metrics.on_batch_end(
            net,
            batch=(None, part[1:]),
            training=training,
            y_pred=part[0],
            task_losses=criterion(*part),
        )
    metrics.on_epoch_end(net)
    mean_pred = y_pred if members is None else y_pred.mean(dim=0)
    expected_r2 = task_scores(y, mean_pred.numpy())["r2"].to_numpy()
    expected_loss = criterion(y_pred, y_true, weight).numpy()
    epoch, split = net.history[-1], "train" if training else "valid"
    np.testing.assert_allclose(
        [epoch[f"{split}_r2_a"], epoch[f"{split}_r2_b"]], expected_r2
    )
    np.testing.assert_allclose(
        [epoch[f"{split}_loss_a"], epoch[f"{split}_loss_b"]], expected_loss, rtol=1e-6
    )
    assert ("valid_r2" in epoch) is not training


# -------------------------------------------------------------- TaskPrintLog
def test_print_log_lists_task_columns_in_target_order_the_others_as_skorch():
    log = TaskPrintLog(["sbp", "dbp"]).initialize()
    row = {
        "epoch": 1,
        "dur": 0.1,
        "valid_r2_dbp": 0.4,
        "valid_r2_sbp": 0.3,
        "valid_r2": 0.35,
        "train_loss_dbp": 0.2,
        "train_loss_sbp": 0.1,
        "train_loss": 0.15,
        "lr": 0.001,
    }
    header = log.table(row).splitlines()[0].split()
    assert header == [
        "epoch",
        "lr",
        "train_loss",
        "train_loss_sbp",
        "train_loss_dbp",
        "valid_r2",
        "valid_r2_sbp",
        "valid_r2_dbp",
        "dur",
    ]


def test_print_log_is_a_skorch_print_log_with_its_parameters():
    log = TaskPrintLog(["sbp"], keys_ignored=["dur"], floatfmt=".2f")
    assert isinstance(log, PrintLog)
    assert clone(log).get_params() == {
        "target_names": ["sbp"],
        "keys_ignored": ["dur"],
        "sink": print,
        "tablefmt": "simple",
        "floatfmt": ".2f",
        "stralign": "right",
    }


def test_a_binary_tasks_r2_is_that_of_its_probabilities():
    # a log_loss task's outputs are log-odds: its R² is the Brier skill score
    rng = np.random.RandomState(0)
    y = torch.as_tensor(rng.randint(0, 2, size=(30, 1)).astype(np.float64))
    logits = torch.as_tensor(rng.normal(size=(30, 1)))
    criterion = MaskedMultiTaskLoss(["log_loss"])
    data = TaskDataset(torch.zeros(30, 1), y, None)
    net = types.SimpleNamespace(history=History(), criterion_=criterion)
    net.history.new_epoch()
    metrics = TaskMetrics(["outcome"])
    metrics.on_train_begin(net, X=data)
    metrics.on_epoch_begin(net)
    metrics.on_batch_end(
        net,
        batch=data.batch(slice(None)),
        training=True,
        y_pred=logits,
        task_losses=criterion(logits, y),
    )
    metrics.on_epoch_end(net)
    expected = r2_score(y.numpy(), torch.sigmoid(logits).numpy())
    assert net.history[-1, "train_r2_outcome"] == pytest.approx(expected)
