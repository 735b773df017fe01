"""
A grid search on a Dask cluster: the serial search's results, on workers
========================================================================

A ``GridSearchCV`` runs its fits through joblib; inside
:func:`skhealth.parallel.on_cluster`, joblib sends them to a Dask cluster (or
a Ray one) instead. Here a ``LocalCluster`` of two worker processes stands in
for a cluster of many machines; with a real one, give the address of its
scheduler. Every fit is seeded by the estimator's ``random_state``, so the
search on the cluster finds, candidate by candidate, the scores of the same
search run serially in this process.
"""

import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from distributed import LocalCluster
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes
from skhealth.parallel import on_cluster
from skhealth.preprocessing import make_default_preprocessor

# a few epochs, far from converged
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, Y = load_nhanes(return_X_y=True)
grid = {
    "multitaskhealthregressor__alpha": [1e-4, 1e-2],
    "multitaskhealthregressor__learning_rate_init": [1e-3, 1e-2],
}


def timed_search(n_jobs):
    """Fit the search (4 candidates, 3 folds: 12 fits); it and its seconds."""
    regressor = MultiTaskHealthRegressor(
        n_members=1, max_iter=5, early_stopping=False, random_state=0
    )
    search = GridSearchCV(
        make_pipeline(make_default_preprocessor(X), regressor),
        grid,
        cv=3,
        refit=False,
        n_jobs=n_jobs,
    )
    start = time.perf_counter()
    search.fit(X, Y)
    return search, time.perf_counter() - start


# %%
# The cluster's workers are fresh Python processes, with torch on one thread
# in each; nothing forks a process that has started CUDA. Python starts such a
# process by importing the script that started it (multiprocessing's "spawn"),
# so the code that starts the cluster goes under the ``__main__`` guard, as in
# any script that starts processes. :func:`~skhealth.parallel.on_cluster`
# connects to the scheduler before anything else: an address where none
# answers is a ``ValueError`` before any fit.
if __name__ == "__main__":
    serial, serial_seconds = timed_search(n_jobs=1)
    start = time.perf_counter()
    with LocalCluster(
        n_workers=2, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        started = time.perf_counter() - start
        with on_cluster("dask", cluster.scheduler_address):
            clustered, cluster_seconds = timed_search(n_jobs=2)
    print(f"serial search: {serial_seconds:.1f} s")
    print(
        f"search on 2 Dask workers: {cluster_seconds:.1f} s (the cluster took "
        f"{started:.1f} s to start)"
    )
    print(f"best parameters, serial: {serial.best_params_}")
    print(f"best parameters, on the cluster: {clustered.best_params_}")

# %%
# Every candidate's mean cross-validated score, and every fit's score on its
# fold, serial and on the cluster: they coincide, so the best parameters are
# the same. (The times printed above depend on the machine and on what else
# runs on it: with fits this short, starting the workers and sending them the
# work weigh as much as the fits. ``benchmarks/search.py`` times longer
# searches.)
if __name__ == "__main__":
    results = {"serial": serial.cv_results_, "cluster": clustered.cv_results_}
    mean = {name: r["mean_test_score"] for name, r in results.items()}
    folds = {
        name: np.concatenate([r[f"split{k}_test_score"] for k in range(3)])
        for name, r in results.items()
    }
    difference = np.max(np.abs(folds["serial"] - folds["cluster"]))
    print(f"largest difference of a fold's score: {difference:.1e}")

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    labels = [
        f"alpha={p['multitaskhealthregressor__alpha']:g}\n"
        f"lr={p['multitaskhealthregressor__learning_rate_init']:g}"
        for p in serial.cv_results_["params"]
    ]
    position = np.arange(len(labels))
    left.plot(position, mean["serial"], "o", markersize=12, alpha=0.4, label="serial")
    left.plot(position, mean["cluster"], "kx", label="on 2 Dask workers")
    left.set_xticks(position, labels)
    left.set_ylabel("mean R² over 3 folds")
    left.set_title("Each candidate's score: the same")
    left.legend()
    right.plot(folds["serial"], folds["cluster"], "o")
    low, high = right.get_xlim()
    right.plot([low, high], [low, high], color="grey", linewidth=0.8)
    right.set_xlabel("R² on the fold, serial search")
    right.set_ylabel("R² on the fold, search on 2 Dask workers")
    right.set_title("Each of the 12 fits' scores: the same")
    fig.tight_layout()
    plt.show()
