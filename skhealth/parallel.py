"""Searches and other joblib work on a Dask or Ray cluster.

scikit-learn runs the fits of a search (``GridSearchCV``,
``RandomizedSearchCV``, ``cross_validate``) through joblib, whose backend says
where they run. :func:`on_cluster` sets that backend to a Dask cluster
(``distributed``) or a Ray cluster for a block, connecting to it first, so an
unreachable scheduler is an error before any fit starts::

    from distributed import LocalCluster
    from sklearn.model_selection import GridSearchCV
    from skhealth.parallel import on_cluster

    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster:
        with on_cluster("dask", cluster.scheduler_address):
            search = GridSearchCV(MultiTaskHealthRegressor(), grid, n_jobs=-1)
            search.fit(X, Y)

Threads: process workers (loky's, Ray's, a Dask cluster's with
``processes=True``) start with torch on 1 intra-op thread (their
``OMP_NUM_THREADS``) and run their fits side by side. Fits in the threads of
one process (a Dask ``LocalCluster(processes=False, threads_per_worker=k)``)
take turns, since torch's random generators are the process's
(:func:`skhealth._torch_utils.torch_seed`): such a search gives the serial
results in about the serial time. Predictions running beside them divide
torch's threads with them (:class:`skhealth._net.cpu_share`), so nothing
oversubscribes the cores. Search on process workers.

GPUs: with ``gpus_per_fit``, each fit holds that many GPUs of the cluster's
(Ray's ``num_gpus``, a Dask worker resource named ``"GPU"``), and an
estimator with ``device="cuda"`` trains on the one it was given: Ray sets
``CUDA_VISIBLE_DEVICES`` for the fit, and a Dask worker per GPU (started with
``CUDA_VISIBLE_DEVICES`` and ``--resources GPU=1``) sees only its own. Both
start their workers as fresh processes: nothing forks after CUDA started.
"""

import builtins
import contextlib
import importlib
import socket

import joblib
from joblib._dask import Batch, DaskDistributedBackend

__all__ = ["on_cluster"]

_ENGINES = {"dask": "distributed", "ray": "ray"}


def _engine(name):
    try:
        return importlib.import_module(_ENGINES[name])
    except ImportError as error:
        raise ImportError(
            f"on_cluster({name!r}) needs the {_ENGINES[name]!r} package: "
            f"pip install 'skhealth[{name}]'."
        ) from error


@contextlib.contextmanager
def on_cluster(engine, address=None, *, gpus_per_fit=0, timeout=10.0):
    """Run the block's joblib work (a search's fits) on a Dask or Ray cluster.

    Parameters
    ----------
    engine : {"dask", "ray"}
        The cluster's engine.
    address : str, default=None
        The scheduler's address (Dask: ``"tcp://host:8786"``; Ray:
        ``"host:6379"`` or ``"auto"``). ``None``: the cluster this process
        is already connected to (Dask's current ``Client``, an initialised
        Ray); for Ray, a local instance is started when there is none.
    gpus_per_fit : int, default=0
        GPUs each fit holds: Ray's ``num_gpus``; for Dask, the units of the
        workers' ``"GPU"`` resource.
    timeout : float, default=10.0
        Seconds to wait for the scheduler to answer.

    Yields
    ------
    client : distributed.Client or None
        The Dask client the block runs on; ``None`` for Ray.

    Raises
    ------
    ValueError
        For an unknown engine, a negative ``gpus_per_fit``, an unreachable
        scheduler or, with ``address=None``, no Dask client to run on.
    ImportError
        When the engine's package is not installed.

    Examples
    --------
    A cluster of one worker of two threads, quick to start here; a search
    runs its fits in parallel on workers that are processes (see the module's
    notes: a script starting them needs ``if __name__ == "__main__":``).

    >>> from distributed import LocalCluster
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skhealth import MultiTaskHealthRegressor
    >>> from skhealth.datasets import make_health_data
    >>> from skhealth.parallel import on_cluster
    >>> X, Y = make_health_data(n_samples=60, n_features=4, n_tasks=2,
    ...                         random_state=0)
    >>> search = GridSearchCV(
    ...     MultiTaskHealthRegressor(max_iter=3, n_members=1, random_state=0),
    ...     {"alpha": [1e-4, 1e-2]}, cv=2, n_jobs=2)
    >>> with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
    ...                   dashboard_address=None) as cluster:
    ...     with on_cluster("dask", cluster.scheduler_address):
    ...         search = search.fit(X, Y)
    >>> sorted(search.best_params_)
    ['alpha']
    """
    if engine not in _ENGINES:
        raise ValueError(f"engine must be 'dask' or 'ray', got {engine!r}.")
    if isinstance(gpus_per_fit, bool) or not (
        isinstance(gpus_per_fit, (int, float)) and gpus_per_fit >= 0
    ):
        raise ValueError(f"gpus_per_fit must be a number >= 0, got {gpus_per_fit!r}.")
    module = _engine(engine)
    if engine == "dask":
        joblib.register_parallel_backend("skhealth-dask", _InWorkerDaskBackend)
        with _dask_client(module, address, timeout) as client:
            resources = {"resources": {"GPU": gpus_per_fit}} if gpus_per_fit else {}
            with joblib.parallel_config(
                backend="skhealth-dask", client=client, **resources
            ):
                yield client
        return
    with _ray(module, address, timeout):
        from ray.util.joblib import register_ray

        register_ray()
        remote = {"num_gpus": gpus_per_fit} if gpus_per_fit else None
        with joblib.parallel_config(backend="ray", ray_remote_args=remote):
            yield None


class _InWorkerBatch(Batch):
    """A batch of a search's calls run in the worker that got it, with the
    joblib calls they make run there, one after another."""

    def __call__(self, tasks=None):
        with joblib.parallel_config(backend="sequential"):
            return [func(*args, **kwargs) for func, args, kwargs in tasks]


class _InWorkerDaskBackend(DaskDistributedBackend):
    """joblib's Dask backend whose tasks run the joblib calls they make (a
    pipeline's ``ColumnTransformer`` makes some in every fit) themselves.

    joblib's own sends them to the cluster as more tasks: a fit waiting on
    them gives up its worker's slot, the worker starts another fit beside it
    in the same process, and the small tasks queue behind fits on other
    workers. On 2 cores, a search of the default pipeline on NHANES took 1.5
    to 1.7 times the serial time halved that way (``benchmarks/search.py``).
    """

    async def _to_func_args(self, func):
        _, tasks = await super()._to_func_args(func)
        return _InWorkerBatch(tasks), tasks


@contextlib.contextmanager
def _dask_client(distributed, address, timeout):
    """The Dask client at ``address`` (closed after the block), or the
    current one."""
    if address is None:
        try:
            yield distributed.get_client()
        except ValueError as error:
            raise ValueError(
                "on_cluster('dask') found no Dask client in this process: give "
                "the scheduler's address (on_cluster('dask', 'tcp://host:8786')) "
                "or create a Client first."
            ) from error
        return
    try:
        client = distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise _unreachable(
            address, timeout, "Dask scheduler", "`dask scheduler`, or a LocalCluster"
        ) from error
    with client:
        yield client


def _unreachable(address, timeout, what, start):
    return ValueError(
        f"Could not reach the {what} at {address!r} within {timeout} s. Start "
        f"it ({start}) and give the address it prints."
    )


def _check_reachable(address, timeout, what, start):
    """Raise unless a TCP connection to ``address`` (``[scheme://]host:port``;
    other forms, as Ray's ``"auto"``, are left to the engine) opens."""
    host, _, port = (address or "").rpartition("://")[2].rpartition(":")
    if not (host and port.isdigit()):
        return
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as error:
        raise _unreachable(address, timeout, what, start) from error


@contextlib.contextmanager
def _ray(ray, address, timeout):
    """Ray connected to ``address`` for the block (disconnected after it when
    connected here)."""
    # Ray replaces builtins.print in the driver and leaves it so; objects
    # holding the built-in print (skorch's callbacks) would no longer pickle
    printer = builtins.print
    started = not ray.is_initialized()
    try:
        if started:
            # Ray retries an unreachable address for minutes: try it first
            _check_reachable(address, timeout, "Ray cluster", "`ray start --head`")
            ray.init(address=address, include_dashboard=False)
        yield
    finally:
        if started and ray.is_initialized():
            ray.shutdown()
        builtins.print = printer
