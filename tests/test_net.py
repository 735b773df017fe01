"""The net's intra-op threads: one for a small network on the CPU, torch's
setting for a large one, and torch's setting restored afterwards."""

import threading
import time
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback

from skhealth import MultiTaskHealthRegressor, _net
from skhealth._net import cpu_share, refresh_cpu_share, training_threads


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
    with cpu_share(1):
        assert torch.get_num_threads() == 1
        raise KeyboardInterrupt


def test_an_interrupted_block_restores_torchs_threads(two_threads):
    with pytest.raises(KeyboardInterrupt):
        _interrupted_on_one_thread()
    assert torch.get_num_threads() == 2


def test_a_block_asking_for_more_threads_changes_nothing(two_threads):
    with cpu_share(4):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == 2


def test_a_block_inside_another_keeps_the_outer_ones_threads(two_threads):
    with cpu_share(1):
        with cpu_share():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def _in_threads(n, work):
    """Run ``work(barrier)`` in ``n`` threads at once; their results."""
    barrier = threading.Barrier(n, timeout=30)
    results = [None] * n

    def run(i):
        results[i] = work(barrier)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_blocks_running_at_once_in_threads_share_the_threads():
    def work(barrier):
        torch.set_num_threads(4)
        with cpu_share():
            barrier.wait()  # both blocks running
            refresh_cpu_share()
            during = torch.get_num_threads()
            barrier.wait()  # neither has ended before the other looked
        return during, torch.get_num_threads()

    assert _in_threads(2, work) == [(2, 4), (2, 4)]


def test_a_block_takes_the_whole_setting_again_once_the_others_end():
    def work(barrier):
        torch.set_num_threads(4)
        first = barrier.wait() == 0
        with cpu_share():
            barrier.wait()
            if first:  # the other thread ends its block
                barrier.wait()
                refresh_cpu_share()
                return torch.get_num_threads()
        barrier.wait()
        return None

    assert sorted(_in_threads(2, work), key=str) == [4, None]


class _RecordSpan(Callback):
    """Record each epoch's start and end times and torch's threads."""

    def on_epoch_begin(self, net, **kwargs):
        net.history.record("began", time.perf_counter())
        net.history.record("torch_threads", torch.get_num_threads())

    def on_epoch_end(self, net, **kwargs):
        net.history.record("ended", time.perf_counter())


def test_fits_in_threads_of_one_process_take_turns_on_torchs_threads(data, monkeypatch):
    # a wide network's training takes all of torch's threads
    monkeypatch.setattr(_net, "MIN_PARALLEL_WORK", 0)
    alone = fit(data, **_SMALL).predict(data[0])  # no thread beside it

    def work(barrier):
        torch.set_num_threads(4)
        barrier.wait()
        return fit(data, callbacks=[_RecordSpan()], **_SMALL)

    first, second = sorted(
        _in_threads(2, work), key=lambda reg: reg.history_[0, "began"]
    )
    # one trains after the other: neither's random draws (dropout) are the
    # other's, and the one training has all the threads
    assert first.history_[-1, "ended"] <= second.history_[0, "began"]
    for reg in (first, second):
        assert reg.history_[:, "torch_threads"] == [4, 4]
        assert_array_equal(reg.predict(data[0]), alone)


def test_a_prediction_beside_a_running_block_takes_its_share(data):
    reg = fit(data, **_SMALL)
    seen = []
    reg.net_.module_.register_forward_pre_hook(
        lambda module, args: seen.append(torch.get_num_threads())
    )
    entered, done = threading.Event(), threading.Event()

    def other_block():
        with cpu_share():
            entered.set()
            done.wait(30)

    other = threading.Thread(target=other_block)
    other.start()
    entered.wait(30)
    torch.set_num_threads(4)
    try:
        reg.predict(data[0])
        assert seen == [2]  # 4 threads, 2 blocks running
        assert torch.get_num_threads() == 4
    finally:
        done.set()
        other.join()


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
