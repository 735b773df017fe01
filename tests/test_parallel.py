"""Searches on a Dask cluster and on Ray (skhealth.parallel.on_cluster): a
LocalCluster and a local Ray started here, on 127.0.0.1."""

import os
import socket
import time
import warnings

import pytest
import torch
from numpy.testing import assert_allclose
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback

from skhealth import MultiTaskHealthRegressor, _net
from skhealth.datasets import make_health_data
from skhealth.parallel import on_cluster

_GRID = {"alpha": [1e-4, 1.0], "learning_rate_init": [1e-3, 1e-2]}


@pytest.fixture(scope="module")
def data():
    return make_health_data(n_samples=80, n_features=4, n_tasks=2, random_state=0)


def test_no_dask_client_and_no_address_is_an_error():
    # first in this file: later tests leave clients of their clusters behind
    pytest.importorskip("distributed")
    with pytest.raises(ValueError, match="found no Dask client"), on_cluster("dask"):
        pass


class _RecordWhere(Callback):
    """Append where each fit trains to the file ``path``: its process's id
    and its Dask worker's address (``-`` outside Dask)."""

    def __init__(self, path):
        self.path = path

    def on_train_begin(self, net, **kwargs):
        try:
            from distributed import get_worker

            worker = get_worker().address
        except (ImportError, ValueError):
            worker = "-"
        with open(self.path, "a") as f:
            f.write(f"{os.getpid()} {worker}\n")


def _where(path):
    return [line.split() for line in path.read_text().splitlines()]


def _search(data, n_jobs, callbacks=None, device="cpu"):
    search = GridSearchCV(
        MultiTaskHealthRegressor(
            hidden_layer_sizes=(8,),
            n_members=1,
            max_iter=4,
            random_state=0,
            callbacks=callbacks,
            device=device,
        ),
        _GRID,
        cv=2,
        n_jobs=n_jobs,
        refit=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return search.fit(*data)


@pytest.fixture(scope="module")
def serial(data):
    return _search(data, n_jobs=1)


def _assert_same_search(search, serial):
    assert search.best_params_ == serial.best_params_
    assert_allclose(
        search.cv_results_["mean_test_score"],
        serial.cv_results_["mean_test_score"],
        rtol=1e-6,
    )


def test_a_search_on_dask_picks_the_parameters_of_a_serial_search(
    data, serial, dask_cluster, tmp_path
):
    path = tmp_path / "where"
    with on_cluster("dask", dask_cluster.scheduler_address):
        search = _search(data, n_jobs=2, callbacks=[_RecordWhere(str(path))])
    _assert_same_search(search, serial)
    # all 8 fits (4 candidates, 2 folds) trained on the cluster's worker
    (worker,) = dask_cluster.scheduler_info["workers"]
    assert [where[1] for where in _where(path)] == [worker] * 8


def test_the_joblib_calls_inside_a_fit_run_in_its_dask_worker(data, dask_cluster):
    import distributed

    # a ColumnTransformer fits and transforms its columns through joblib
    pipeline = make_pipeline(
        ColumnTransformer(
            [("scaled", StandardScaler(), [0, 1])], remainder="passthrough"
        ),
        MultiTaskHealthRegressor(hidden_layer_sizes=(8,), n_members=1, max_iter=2),
    )
    search = GridSearchCV(
        pipeline,
        {"multitaskhealthregressor__alpha": [1e-4, 1.0]},
        cv=2,
        n_jobs=2,
        refit=False,  # a refit here would send its calls to the cluster
    )
    with (
        on_cluster("dask", dask_cluster.scheduler_address) as client,
        distributed.get_task_stream(client) as stream,
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(*data)
    names = {task["key"].split("-")[0] for task in stream.data}
    assert any(name.startswith("batch_of__fit_and_score") for name in names)
    assert not any("transform_one" in name for name in names), names


def test_on_cluster_uses_the_current_dask_client_without_an_address(
    data, serial, dask_cluster
):
    from distributed import Client

    with Client(dask_cluster) as client, on_cluster("dask") as used:
        assert used is client
        search = _search(data, n_jobs=2)
    _assert_same_search(search, serial)


class _RecordSpan(Callback):
    """Record when training began and ended, and torch's threads."""

    def on_train_begin(self, net, **kwargs):
        self.began = time.perf_counter()

    def on_epoch_begin(self, net, **kwargs):
        net.history.record("torch_threads", torch.get_num_threads())

    def on_train_end(self, net, **kwargs):
        net.history.record("span", (self.began, time.perf_counter()))


def _fit_on_four_threads(data):
    torch.set_num_threads(4)  # the worker thread's torch setting
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = MultiTaskHealthRegressor(
            hidden_layer_sizes=(8,),
            n_members=1,
            max_iter=3,
            random_state=0,
            callbacks=[_RecordSpan()],
        )
        return reg.fit(*data)


def test_fits_in_threads_of_one_dask_worker_take_turns_on_its_threads(
    data, dask_cluster, monkeypatch
):
    # training on every thread torch allows, as a wide network would
    monkeypatch.setattr(_net, "MIN_PARALLEL_WORK", 0)
    with on_cluster("dask", dask_cluster.scheduler_address) as client:
        futures = [
            client.submit(_fit_on_four_threads, data, pure=False) for _ in range(2)
        ]
        first, second = sorted(
            client.gather(futures), key=lambda reg: reg.history_[-1, "span"]
        )
    assert first.history_[-1, "span"][1] <= second.history_[-1, "span"][0]
    for reg in (first, second):
        assert reg.history_[:, "torch_threads"] == [4, 4, 4]
    # the same network as a fit alone
    assert_allclose(first.predict(data[0]), second.predict(data[0]), rtol=0)


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_dask_scheduler_is_an_error_naming_it():
    pytest.importorskip("distributed")
    address = f"tcp://127.0.0.1:{_closed_port()}"
    with (
        pytest.raises(ValueError, match=f"reach the Dask scheduler at '{address}'"),
        on_cluster("dask", address, timeout=1),
    ):
        pass


def test_an_unreachable_ray_cluster_is_an_error_naming_it():
    pytest.importorskip("ray")
    address = f"127.0.0.1:{_closed_port()}"
    with (
        pytest.raises(ValueError, match=f"reach the Ray cluster at '{address}'"),
        on_cluster("ray", address, timeout=1),
    ):
        pass


@pytest.mark.parametrize(
    ("engine", "gpus", "message"),
    [
        ("spark", 0, "engine must be 'dask' or 'ray', got 'spark'"),
        ("dask", -1, "gpus_per_fit must be a number >= 0, got -1"),
        ("ray", True, "gpus_per_fit must be a number >= 0, got True"),
    ],
)
def test_bad_settings_are_errors(engine, gpus, message):
    with (
        pytest.raises(ValueError, match=message),
        on_cluster(engine, gpus_per_fit=gpus),
    ):
        pass


@pytest.mark.slow
def test_a_search_on_ray_picks_the_parameters_of_a_serial_search(
    data, serial, tmp_path
):
    ray = pytest.importorskip("ray")
    path = tmp_path / "where"
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        # Ray's workers unpickle this module's callback
        runtime_env={"env_vars": {"PYTHONPATH": os.path.dirname(__file__)}},
    )
    try:
        with on_cluster("ray"):
            search = _search(data, n_jobs=2, callbacks=[_RecordWhere(str(path))])
    finally:
        ray.shutdown()
    _assert_same_search(search, serial)
    # the 8 fits ran in Ray's worker processes, not in this one
    pids = [int(where[0]) for where in _where(path)]
    assert len(pids) == 8
    assert os.getpid() not in pids


class _RecordGPU(Callback):
    """Append each fit's visible GPUs and the device its module is on."""

    def __init__(self, path):
        self.path = path

    def on_train_begin(self, net, **kwargs):
        device = next(net.module_.parameters()).device
        with open(self.path, "a") as f:
            f.write(f"{os.environ.get('CUDA_VISIBLE_DEVICES', '-')} {device}\n")


@pytest.mark.gpu
def test_a_search_on_ray_trains_each_fit_on_the_gpu_it_was_given(
    data, cuda_device, tmp_path
):
    ray = pytest.importorskip("ray")
    path = tmp_path / "gpus"
    ray.init(
        num_cpus=2,
        num_gpus=1,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        runtime_env={"env_vars": {"PYTHONPATH": os.path.dirname(__file__)}},
    )
    try:
        with on_cluster("ray", gpus_per_fit=1):
            search = _search(
                data, n_jobs=2, callbacks=[_RecordGPU(str(path))], device=cuda_device
            )
    finally:
        ray.shutdown()
    serial = _search(data, n_jobs=1, device=cuda_device)
    assert search.best_params_ == serial.best_params_
    # every fit saw one GPU (Ray's), and trained on it
    assert [where[1] for where in _where(path)] == ["cuda:0"] * 8
    assert all(where[0] != "-" for where in _where(path))
