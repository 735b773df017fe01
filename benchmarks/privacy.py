"""Differential privacy on NHANES: accuracy at epsilon 1, 3 and 8 against
non-private training, and the cost in fit time.

One split of NHANES (a fifth of the rows held out, seed 0). Every model is
the default pipeline (:func:`~skhealth.preprocessing.make_default_preprocessor`
and a ``MultiTaskHealthRegressor``) fitted on the other rows:

- ``default``: the estimator's defaults (an ensemble of 5, early stopping);
- ``non-private``: the private models' settings (``--epochs`` epochs,
  ``--lr``, ``--batch-size``, ``--members``, no early stopping) without ``dp``;
- ``epsilon=e``: the same with ``dp=DP(target_epsilon=e, target_delta=1e-5,
  target_bounds=load_nhanes().target_ranges)``.

The preprocessing (imputation, scaling, one-hot categories) is fitted on the
training rows outside the privacy accounting: the guarantee covers the
network and the target standardisation, not it (see the user guide's privacy
page). Prints each model's mean R² over the seven tasks on the held-out rows,
per task, the epsilon spent, the fit time and its ratio to the non-private
fit's. Torch uses one thread.

Run from the repository root::

    python benchmarks/privacy.py [--epochs 100] [--lr 0.003] [--batch-size 128]
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time
import warnings

import pandas as pd
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes
from skhealth.metrics import score_tasks
from skhealth.preprocessing import make_default_preprocessor
from skhealth.privacy import DP


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.003)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--members", type=int, default=1)
    parser.add_argument("--max-grad-norm", type=float, default=1.0)
    parser.add_argument("--epsilons", type=float, nargs="+", default=[1, 3, 8])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    nhanes = load_nhanes()
    X_train, X_test, Y_train, Y_test = train_test_split(
        nhanes.data, nhanes.target, test_size=0.2, random_state=0
    )
    settings = dict(
        max_iter=args.epochs,
        learning_rate_init=args.lr,
        batch_size=args.batch_size,
        n_members=args.members,
        early_stopping=False,
        random_state=0,
    )
    models = {
        "default": MultiTaskHealthRegressor(random_state=0),
        "non-private": MultiTaskHealthRegressor(**settings),
    }
    for epsilon in args.epsilons:
        dp = DP(
            target_epsilon=epsilon,
            max_grad_norm=args.max_grad_norm,
            target_bounds=nhanes.target_ranges,
        )
        models[f"epsilon={epsilon:g}"] = MultiTaskHealthRegressor(**settings, dp=dp)
    rows, times = {}, {}
    for name, reg in models.items():
        pipeline = make_pipeline(make_default_preprocessor(X_train), reg)
        start = time.perf_counter()
        pipeline.fit(X_train, Y_train)
        times[name] = time.perf_counter() - start
        scores = score_tasks(pipeline, X_test, Y_test)["r2"]
        rows[name] = {
            "mean R²": scores.mean(),
            "epsilon spent": getattr(reg, "epsilon_", float("nan")),
            "noise": getattr(reg, "noise_multiplier_", float("nan")),
            "fit s": times[name],
            "time / non-private": times[name] / times.get("non-private", 1.0),
            **scores.to_dict(),
        }
        print(f"{name}: mean R² {scores.mean():.3f} in {times[name]:.1f} s", flush=True)
    rows["default"]["time / non-private"] = times["default"] / times["non-private"]
    table = pd.DataFrame(rows).T
    with pd.option_context(
        "display.width", 250, "display.max_columns", None, "display.precision", 3
    ):
        print(table)


if __name__ == "__main__":
    main()
