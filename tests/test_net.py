"""The net's intra-op threads: one for a small network on the CPU, torch's
setting for a large one, and torch's setting restored afterwards."""

import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback

from skhealth import MultiTaskHealthRegressor, _net
from skhealth._net import at_most_threads, training_threads


@pytest.fixture
def two_threads():
    """Torch on 2 intra-op threads for the test, its setting restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


class _RecordThreads(Callback):
    def on_epoch_end(self, net, **kwargs):
        net.history.record("torch_threads", torch.get_num_threads())


class _Fail(Callback):
    def on_epoch_end(self, net, **kwargs):
        raise RuntimeError("callback failed")


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(40, 4))
    Y = X[:, :2] @ rng.normal(size=(2, 2)) + 0.1 * rng.normal(size=(40, 2))
    return X, Y


# 4 features, one hidden layer of 8, 2 tasks: (4 * 8 + 8) + (8 * 2 + 2) = 58
# parameters; batches of 20 rows: 58 * 20 = 1160 multiply-adds per batch.
_SMALL = dict(hidden_layer_sizes=(8,), n_members=1, batch_size=20)
_SMALL_WORK = 1160


def fit(data, **params):
    reg = MultiTaskHealthRegressor(max_iter=2, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return reg.fit(*data)


def test_the_default_network_trains_on_one_thread(two_threads):
    # 3 features, 64-64 trunk, 4 tasks: 4676 parameters a member, 5 members,
    # batches of 200 rows: 4.7 million multiply-adds per batch
    assert training_threads(n_parameters=23_380, batch_size=200) == 1


def test_a_wide_network_trains_on_torchs_threads(two_threads):
    # 256 features, 512-512 trunk, 4 tasks, one member: 396,292 parameters,
    # batches of 200 rows: 79 million multiply-adds per batch
    assert training_threads(n_parameters=396_292, batch_size=200) == 2


def test_torchs_threads_from_min_parallel_work_on(two_threads):
    assert _net.MIN_PARALLEL_WORK == 50_000_000
    assert training_threads(n_parameters=250_000, batch_size=200) == 2
    assert training_threads(n_parameters=249_999, batch_size=200) == 1


def test_training_threads_never_exceed_torchs_setting(two_threads):
    torch.set_num_threads(1)
    assert training_threads(n_parameters=396_292, batch_size=200) == 1


def test_min_parallel_work_0_keeps_torchs_threads(two_threads, monkeypatch):
    monkeypatch.setattr(_net, "MIN_PARALLEL_WORK", 0)
    assert training_threads(n_parameters=1, batch_size=1) == 2


@pytest.mark.parametrize(
    ("min_parallel_work", "threads"), [(_SMALL_WORK, 2), (_SMALL_WORK + 1, 1)]
)
def test_fit_sizes_the_threads_by_batch_size_times_parameters(
    data, two_threads, monkeypatch, min_parallel_work, threads
):
    monkeypatch.setattr(_net, "MIN_PARALLEL_WORK", min_parallel_work)
    reg = fit(data, callbacks=[_RecordThreads()], **_SMALL)
    assert reg.history_[:, "torch_threads"] == [threads, threads]


def test_fit_restores_torchs_threads(data, two_threads):
    reg = fit(data, callbacks=[_RecordThreads()], **_SMALL)
    assert reg.history_[:, "torch_threads"] == [1, 1]
    assert torch.get_num_threads() == 2


def test_partial_fit_restores_torchs_threads(data, two_threads):
    reg = MultiTaskHealthRegressor(callbacks=[_RecordThreads()], **_SMALL)
    reg.partial_fit(*data).partial_fit(*data)
    assert reg.history_[:, "torch_threads"] == [1, 1]
    assert torch.get_num_threads() == 2


def test_a_failing_fit_restores_torchs_threads(data, two_threads):
    with pytest.raises(RuntimeError, match="callback failed"):
        fit(data, callbacks=[_Fail()], **_SMALL)
    assert torch.get_num_threads() == 2


def _interrupted_on_one_thread():
    with at_most_threads(1):
        assert torch.get_num_threads() == 1
        raise KeyboardInterrupt


def test_an_interrupted_block_restores_torchs_threads(two_threads):
    with pytest.raises(KeyboardInterrupt):
        _interrupted_on_one_thread()
    assert torch.get_num_threads() == 2


def test_overlapping_blocks_restore_the_setting_from_before_the_first(two_threads):
    # as two fits in two threads that start and end in this order
    first, second = at_most_threads(1), at_most_threads(1)
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert torch.get_num_threads() == 1  # the second is still running
    second.__exit__(None, None, None)
    assert torch.get_num_threads() == 2


def test_a_block_asking_for_more_threads_changes_nothing(two_threads):
    with at_most_threads(4):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == 2


def test_one_thread_fits_the_same_network_as_torchs_threads(
    data, two_threads, monkeypatch
):
    one = fit(data, callbacks=[_RecordThreads()], **_SMALL)
    monkeypatch.setattr(_net, "MIN_PARALLEL_WORK", 0)
    two = fit(data, callbacks=[_RecordThreads()], **_SMALL)
    assert one.history_[:, "torch_threads"] == [1, 1]
    assert two.history_[:, "torch_threads"] == [2, 2]
    assert_array_equal(one.predict(data[0]), two.predict(data[0]))


@pytest.mark.gpu
def test_training_on_a_gpu_keeps_torchs_threads(data, two_threads, cuda_device):
    reg = fit(data, callbacks=[_RecordThreads()], device=cuda_device, **_SMALL)
    assert reg.history_[:, "torch_threads"] == [2, 2]
