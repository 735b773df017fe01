"""Grid search on a cluster: a 2-worker search against a serial one on NHANES.

Goal (issue "search on a cluster"): on 2 cores, a search on 2 workers takes
at most 1.25 x (serial time / 2).

The search is a ``GridSearchCV`` of the default pipeline
(:func:`~skhealth.preprocessing.make_default_preprocessor` and a
``MultiTaskHealthRegressor``) on all of NHANES: 4 candidates (``alpha`` 1e-4
or 1e-2 x ``learning_rate_init`` 1e-3 or 3e-3), ``cv=3``, ``refit=False``,
so 12 fits, each of ``--max-iter`` epochs without early stopping from
``random_state=0``: every fit does the same work. It runs, in one process
and in this order, on:

- ``serial``: ``n_jobs=1``, the fits one after another in this process;
- ``loky``: ``n_jobs=2``, joblib's default backend (2 worker processes);
- ``dask``: ``n_jobs=2`` under ``on_cluster("dask", address)``, a
  ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``;
- ``ray``: ``n_jobs=2`` under ``on_cluster("ray")`` after
  ``ray.init(num_cpus=2)``; Ray's joblib backend starts a pool of fresh
  actor processes for every search, so its time includes their start;
- ``dask-threads``: ``n_jobs=2`` on a ``LocalCluster(n_workers=1,
  threads_per_worker=2, processes=False)``. Fits in the threads of one process
  take turns in skhealth (torch's random generators are one per process), so
  this one is expected to take about the serial time: it is reported, not
  held to the goal.

Each engine is started (the cluster, ``ray.init``) before anything is timed,
and first runs a warm-up search of one epoch a fit, so its workers have
imported torch and skhealth; then a probe (8 trivial calls through joblib)
times one call's overhead and finds the worker processes and their torch
threads; then the search runs once. Only ``search.fit`` is timed. With
``--repeats``, every engine runs again in each of that many rounds, one after
the other (so a burst of other load hits them all), and each engine's best
round counts. ``--preprocessed`` searches the regressor alone on the features
preprocessed once beforehand: no joblib call inside a fit (the pipeline's
``ColumnTransformer`` makes some, which joblib's own Dask backend would send
to the cluster as tasks of their own; ``on_cluster`` runs them in the fit's
worker).

Prints one row per engine: the seconds to start it, of the warm-up and of
the probe's call (Ray's backend starts a new pool of actor processes for
every call), the search's seconds, their ratio to the serial time halved
(the goal is ``ratio <= 1.25``), whether the goal is met, whether
``best_params_`` equals the serial search's and the largest difference of
``mean_test_score`` from it, and the worker processes and torch threads that
the probe found; ``cores busy`` is the share of the machine's CPU time
(``/proc/stat``, all processes) spent during the search: about 0.5 for the
serial search and 1.0 for a 2-worker one on an idle 2-core machine, more for
the serial one when other work competes, less for a parallel one that leaves
a core idle. Then the load average before and after and the wall time: time
it on an otherwise idle machine, other work on the 2 cores shows in the
ratios. Torch uses one thread per process.

Run from the repository root::

    python benchmarks/search.py [--max-iter 30] [--repeats 1] [--preprocessed]
        [--engines loky dask ray dask-threads]
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import contextlib
import time
import warnings

import joblib
import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes
from skhealth.parallel import on_cluster
from skhealth.preprocessing import make_default_preprocessor

ENGINES = ["loky", "dask", "ray", "dask-threads"]
GOAL = 1.25
GRID = {
    "multitaskhealthregressor__alpha": [1e-4, 1e-2],
    "multitaskhealthregressor__learning_rate_init": [1e-3, 3e-3],
}


def make_search(X, *, max_iter, members, n_jobs):
    """The benchmark's search: 4 candidates x 3 folds, no refit.

    The default pipeline for a DataFrame ``X``; the regressor alone for an
    array (features preprocessed already).
    """
    regressor = MultiTaskHealthRegressor(
        max_iter=max_iter,
        n_members=members,
        early_stopping=False,
        random_state=0,
    )
    if not isinstance(X, pd.DataFrame):
        grid = {name.split("__")[-1]: values for name, values in GRID.items()}
        return GridSearchCV(regressor, grid, cv=3, refit=False, n_jobs=n_jobs)
    pipeline = make_pipeline(make_default_preprocessor(X), regressor)
    return GridSearchCV(pipeline, GRID, cv=3, refit=False, n_jobs=n_jobs)


def _cpu_jiffies():
    """The machine's busy and total CPU time since boot (Linux'
    ``/proc/stat``, in jiffies), or ``None`` elsewhere."""
    try:
        with open("/proc/stat") as stat:
            # user to steal: guest time is counted in user already
            fields = [int(field) for field in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def cores_busy(before, after):
    """The share of the machine's cores busy between two ``_cpu_jiffies``."""
    if before is None or after is None or after[1] == before[1]:
        return float("nan")
    return (after[0] - before[0]) / (after[1] - before[1])


def _worker():
    """This process's id and torch's threads (run through the engine)."""
    return os.getpid(), torch.get_num_threads()


@contextlib.contextmanager
def started(name):
    """Start engine ``name`` (the time it takes is not the search's).

    Yields the seconds it took to start and a function returning the context
    that runs a block's joblib work on it.
    """
    start = time.perf_counter()
    if name in ("serial", "loky"):
        yield 0.0, contextlib.nullcontext
    elif name in ("dask", "dask-threads"):
        from distributed import LocalCluster

        processes = name == "dask"
        with LocalCluster(
            n_workers=2 if processes else 1,
            threads_per_worker=1 if processes else 2,
            processes=processes,
            dashboard_address=None,
        ) as cluster:
            seconds = time.perf_counter() - start
            yield seconds, lambda: on_cluster("dask", cluster.scheduler_address)
    elif name == "ray":
        import ray

        ray.init(num_cpus=2, include_dashboard=False)
        seconds = time.perf_counter() - start
        try:
            yield seconds, lambda: on_cluster("ray")
        finally:
            ray.shutdown()
    else:
        raise ValueError(f"unknown engine {name!r}")


def run_engine(name, X, Y, args):
    """Start engine ``name``, warm it up, time the search on it.

    Returns the row of the times and probe, and the fitted search.
    """
    n_jobs = 1 if name == "serial" else 2
    with started(name) as (start_seconds, on_engine), on_engine():
        start = time.perf_counter()
        make_search(X, max_iter=1, members=args.members, n_jobs=n_jobs).fit(X, Y)
        warm_up = time.perf_counter() - start
        start = time.perf_counter()
        probe = joblib.Parallel(n_jobs=n_jobs)(
            joblib.delayed(_worker)() for _ in range(4 * n_jobs)
        )
        call = time.perf_counter() - start
        search = make_search(
            X, max_iter=args.max_iter, members=args.members, n_jobs=n_jobs
        )
        jiffies = _cpu_jiffies()
        start = time.perf_counter()
        search.fit(X, Y)
        seconds = time.perf_counter() - start
        busy = cores_busy(jiffies, _cpu_jiffies())
    row = {
        "start s": start_seconds,
        "warm-up s": warm_up,
        "call s": call,
        "seconds": seconds,
        "cores busy": busy,
        "processes": len({pid for pid, _ in probe}),
        "torch threads": ",".join(str(t) for t in sorted({t for _, t in probe})),
    }
    return row, search


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=30)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="rounds of every engine, one after the other; the best counts",
    )
    parser.add_argument(
        "--engines",
        nargs="+",
        choices=ENGINES,
        default=ENGINES,
        help="the engines to time against the serial search (always run)",
    )
    parser.add_argument(
        "--preprocessed",
        action="store_true",
        help="search the regressor alone on the features preprocessed once "
        "beforehand (no joblib calls inside a fit)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, Y = load_nhanes(return_X_y=True)
    if args.preprocessed:
        X = make_default_preprocessor(X).fit_transform(X)
    names = ["serial", *dict.fromkeys(args.engines)]
    load_before = os.getloadavg()
    wall = time.perf_counter()
    runs = {name: [] for name in names}
    for repeat in range(args.repeats):
        for name in names:
            row, search = run_engine(name, X, Y, args)
            runs[name].append((row, search))
            print(f"round {repeat + 1}, {name}: {row['seconds']:.1f} s", flush=True)
    wall = time.perf_counter() - wall
    load_after = os.getloadavg()

    rows, searches = {}, {}
    for name, results in runs.items():
        rows[name], searches[name] = min(results, key=lambda run: run[0]["seconds"])
    serial = searches["serial"]
    half = rows["serial"]["seconds"] / 2
    for name, row in rows.items():
        search = searches[name]
        row["ratio"] = row["seconds"] / half
        row["goal met"] = "-" if name == "serial" else row["ratio"] <= GOAL
        row["same best_params_"] = search.best_params_ == serial.best_params_
        row["max |Δ score|"] = np.max(
            np.abs(
                search.cv_results_["mean_test_score"]
                - serial.cv_results_["mean_test_score"]
            )
        )
    columns = [
        "start s",
        "warm-up s",
        "call s",
        "seconds",
        "cores busy",
        "ratio",
        "goal met",
        "same best_params_",
        "max |Δ score|",
        "processes",
        "torch threads",
    ]
    table = pd.DataFrame(rows).T[columns]
    table.index.name = "engine"
    fits = len(serial.cv_results_["params"]) * serial.n_splits_
    print(
        f"\n{len(X)} rows"
        + (", preprocessed beforehand" if args.preprocessed else "")
        + f"; {fits} fits of {args.max_iter} epochs, "
        f"{args.members} member(s); best of {args.repeats}; "
        f"{os.cpu_count()} cores; goal: ratio = seconds / (serial / 2) <= {GOAL}"
    )
    with pd.option_context(
        "display.width", 200, "display.max_columns", None, "display.precision", 3
    ):
        print(table)
    params = {k.split("__")[-1]: v for k, v in serial.best_params_.items()}
    print(f"serial best_params_: {params}")
    print(
        f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; "
        f"wall time {wall:.0f} s"
    )


if __name__ == "__main__":
    main()
