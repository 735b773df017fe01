"""User callbacks, the skorch scorers refused, and the table verbose prints."""

import pandas as pd
import pytest
from _estimator_helpers import NO_CONVERGENCE_NOISE, fast
from skorch.callbacks import BatchScoring, Callback, EpochScoring

pytestmark = NO_CONVERGENCE_NOISE


class _RecordLearningRate(Callback):
    def on_epoch_end(self, net, **kwargs):
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])


def test_user_callbacks_run_and_are_not_modified(regression_data):
    X, Y = regression_data
    callback = _RecordLearningRate()
    reg = fast(callbacks=[callback], learning_rate_init=0.01, max_iter=3).fit(X, Y)
    assert reg.history_[:, "lr"] == [0.01, 0.01, 0.01]
    assert reg.callbacks[0] is callback
    assert vars(callback) == vars(_RecordLearningRate())


@pytest.mark.parametrize(
    "callback", [EpochScoring("r2"), ("mae", BatchScoring("neg_mean_absolute_error"))]
)
def test_skorch_scorers_are_a_value_error_naming_the_recorded_r2(
    callback, regression_data
):
    X, Y = regression_data
    message = r"Scoring cannot score this net.*train_r2_<task>, valid_r2_<task>"
    with pytest.raises(ValueError, match=message):
        fast(callbacks=[callback]).fit(X, Y)


# ------------------------------------------------------------------- verbose
def test_verbose_prints_the_epoch_table(regression_data, capsys):
    X, Y = regression_data
    fast(verbose=1, max_iter=2).fit(X, Y)
    out = capsys.readouterr().out
    assert "epoch" in out
    assert "train_loss_task_2" in out
    assert "train_r2_task_0" not in out  # kept in history_, left out of the table
    assert len([line for line in out.splitlines() if line.strip()[:1].isdigit()]) == 2


def test_verbose_table_shows_each_tasks_training_loss_and_validation_r2(
    regression_data, capsys
):
    X, Y = regression_data
    fast(verbose=1, max_iter=2, early_stopping=True).fit(X, Y)
    header = capsys.readouterr().out.splitlines()[0].split()
    per_task = [
        f"{key}_task_{t}" for key in ("train_loss", "valid_r2") for t in range(3)
    ]
    for column in ["epoch", "train_loss", "valid_loss", "valid_r2", *per_task]:
        assert column in header


def test_verbose_2_table_adds_each_tasks_training_r2_and_validation_loss(
    regression_data, capsys
):
    X, Y = regression_data
    fast(verbose=2, max_iter=2, early_stopping=True).fit(X, Y)
    header = capsys.readouterr().out.splitlines()[0].split()
    per_task = [
        f"{key}_task_{t}"
        for key in ("train_loss", "train_r2", "valid_loss", "valid_r2")
        for t in range(3)
    ]
    tabulated = [column for column in header if column.endswith(("_0", "_1", "_2"))]
    assert tabulated == sorted(per_task)


def test_verbose_table_lists_the_tasks_in_target_order(regression_data, capsys):
    X, Y = regression_data
    Y = pd.DataFrame(Y, columns=["sbp", "dbp", "hdl"])  # not in alphabetical order
    fast(verbose=1, max_iter=2, early_stopping=True).fit(X, Y)
    header = capsys.readouterr().out.splitlines()[0].split()
    assert [column for column in header if column.endswith(tuple(Y))] == [
        "train_loss_sbp",
        "train_loss_dbp",
        "train_loss_hdl",
        "valid_r2_sbp",
        "valid_r2_dbp",
        "valid_r2_hdl",
    ]


def test_silent_by_default(regression_data, capsys):
    X, Y = regression_data
    fast(max_iter=2).fit(X, Y)
    assert capsys.readouterr().out == ""
