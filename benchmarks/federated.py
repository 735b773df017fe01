"""Federated training on NHANES: sites by ethnicity (or age band), one without
lab data.

NHANES' training rows (four fifths, seed 0) are dealt into sites: with
``--split ethnicity`` (the default) four, Non-Hispanic White, Non-Hispanic
Black, Hispanic, and Asian or other; with ``--split age`` three, under 40, 40
to 59, 60 and over. The last site measures neither HbA1c nor total
cholesterol (its labels of those are removed). The held-out fifth is the
common test set; each site's test rows are those of its group.

- ``federated``: Flower's simulation engine trains one
  ``MultiTaskHealthRegressor`` across the sites (``--rounds`` rounds of
  ``--local-epochs`` epochs, FedAvg or ``--strategy fedprox``), each task's
  head averaged by the sites' label counts, no rows held out;
- ``pooled``: the same estimator fitted on every site's rows together (the
  same labels missing), as a user would: the default preprocessing, early
  stopping on a tenth of the rows;
- ``site only``: each site's own model on its rows alone, the same way.

Every model is one network (``n_members=1``) from ``random_state=0``; with
``--epsilon E``, every model trains with ``dp=DP(target_epsilon=E)``
(NHANES' ``target_ranges``) for rounds x local epochs epochs. Prints
the mean R² over the seven tasks on the common test set, each site's test rows
scored by its own model, the federated and the pooled one (on the tasks the
site measures), the bytes sent per round and the wall time. Torch uses one
thread per process.

Run from the repository root::

    python benchmarks/federated.py [--split ethnicity|age] [--rounds 80] [--epsilon E]
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes
from skhealth.federated.flower import run_simulation
from skhealth.metrics import score_tasks
from skhealth.preprocessing import make_default_preprocessor
from skhealth.privacy import DP

LAB_TASKS = ["hba1c", "total_cholesterol"]
GROUPS = {
    "Non-Hispanic White": "White",
    "Non-Hispanic Black": "Black",
    "Mexican American": "Hispanic",
    "Other Hispanic": "Hispanic",
    "Non-Hispanic Asian": "Asian or other (no lab)",
    "Other Race - Including Multi-Racial": "Asian or other (no lab)",
}
AGE_BANDS = ["under 40", "40 to 59", "60 and over (no lab)"]


def site_of(X, split):
    """Each row's site name."""
    if split == "age":
        band = pd.cut(X["age"], [0, 40, 60, 200], right=False, labels=False)
        return band.map(dict(enumerate(AGE_BANDS))).to_numpy()
    return X["race_ethnicity"].astype(str).map(GROUPS).to_numpy()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=["ethnicity", "age"], default="ethnicity")
    parser.add_argument("--rounds", type=int, default=80)
    parser.add_argument("--local-epochs", type=int, default=1)
    parser.add_argument("--strategy", choices=["fedavg", "fedprox"], default="fedavg")
    parser.add_argument(
        "--epsilon",
        type=float,
        default=None,
        help="train each site with dp=DP(target_epsilon=EPSILON) (NHANES' "
        "target_ranges; the same for the pooled and site-only models)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, Y = load_nhanes(return_X_y=True)
    X_train, X_test, Y_train, Y_test = train_test_split(
        X, Y, test_size=0.2, random_state=0
    )
    names = AGE_BANDS if args.split == "age" else list(dict.fromkeys(GROUPS.values()))
    site, test_site = site_of(X_train, args.split), site_of(X_test, args.split)
    sites = {}
    for name in names:
        Y_site = Y_train[site == name].copy()
        if name == names[-1]:
            Y_site[LAB_TASKS] = np.nan
        sites[name] = (X_train[site == name], Y_site)
    estimator = MultiTaskHealthRegressor(n_members=1, random_state=0)
    if args.epsilon is not None:
        dp = DP(target_epsilon=args.epsilon, target_bounds=load_nhanes().target_ranges)
        # a private fit runs max_iter epochs: as many as the federated rounds
        estimator.set_params(dp=dp, max_iter=args.rounds * args.local_epochs)

    start = time.perf_counter()
    federated, rounds = run_simulation(
        estimator,
        sites,
        rounds=args.rounds,
        local_epochs=args.local_epochs,
        strategy=args.strategy,
    )
    federated_seconds = time.perf_counter() - start

    X_pooled = pd.concat([X for X, _ in sites.values()])
    Y_pooled = pd.concat([Y for _, Y in sites.values()])
    start = time.perf_counter()
    pooled = make_pipeline(make_default_preprocessor(X_pooled), clone(estimator))
    pooled.fit(X_pooled, Y_pooled)
    pooled_seconds = time.perf_counter() - start

    def mean_r2(model, X, Y, tasks=None):
        scores = score_tasks(model, X, Y)["r2"]
        return scores[tasks].mean() if tasks is not None else scores.mean()

    print(
        f"common test set ({len(X_test)} people), mean R² over 7 tasks:\n"
        f"  federated {mean_r2(federated, X_test, Y_test):.3f} "
        f"({args.rounds} rounds, {federated_seconds:.0f} s with the engine's start"
        + (
            f"; epsilon {federated[-1].epsilon_:.2f} at most, per site"
            if args.epsilon is not None
            else ""
        )
        + ")\n"
        f"  pooled    {mean_r2(pooled, X_test, Y_test):.3f} "
        f"({pooled[-1].n_iter_} epochs"
        + ("" if args.epsilon is not None else ", early stopping")
        + f"; {pooled_seconds:.0f} s)"
    )
    rows = []
    for name, (X_site, Y_site) in sites.items():
        tasks = [t for t in Y_site.columns if Y_site[t].notna().any()]
        own = make_pipeline(make_default_preprocessor(X_site), clone(estimator))
        own.fit(X_site, Y_site[tasks])
        X_band, Y_band = X_test[test_site == name], Y_test[test_site == name]
        rows.append(
            {
                "site": name,
                "training rows": len(X_site),
                "test rows": len(X_band),
                "tasks": len(tasks),
                "site only": mean_r2(own, X_band, Y_band[tasks]),
                "federated": mean_r2(federated, X_band, Y_band, tasks),
                "pooled": mean_r2(pooled, X_band, Y_band, tasks),
            }
        )
    with pd.option_context("display.width", 200, "display.precision", 3):
        print("\neach site's test rows, mean R² over the tasks it measures:")
        print(pd.DataFrame(rows).to_string(index=False))
        print(
            f"\nbytes sent per round: {rounds['bytes'].iloc[0]:,} (the weights to "
            f"each of {len(sites)} sites and back); seconds per round: median "
            f"{rounds['seconds'].median():.2f}"
        )


if __name__ == "__main__":
    main()
