"""Updating a model on new rows: NHANES split into old and new people by age.

The old rows are the people under ``--age`` (default 50), the new rows those
of that age or older: the population the model meets moves up in age, and
with it blood pressure, HbA1c and waist circumference. A fifth of the old
rows (``KFold``-free: one split, seed 0) is kept aside to see what the update
forgets. The steps:

1. fit the default pipeline (:func:`~skhealth.preprocessing.make_default_preprocessor`
   and ``MultiTaskHealthRegressor(random_state=0)``) on the other old rows,
   with a data profile of them;
2. :func:`skhealth.monitoring.update` it on the new rows (a fifth held out,
   seed 0): the drift report, and per task R² on the held-out new rows before
   and after;
3. the same with ``refit_preprocessing=True``, and with the old training rows
   replayed beside the new ones (``replay=(X_old, Y_old)``);
4. for reference, the same pipeline fitted from scratch on the old training
   rows and the new training rows together, and on the new training rows
   alone.

Prints the drift report, the update's report, and a table of per-task R² of
each model on the held-out new rows and on the held-out old rows, with the
time each took. Torch uses one thread.

Run from the repository root::

    python benchmarks/update.py [--age 50]
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
from skhealth.metrics import score_tasks
from skhealth.monitoring import data_profile, update
from skhealth.preprocessing import make_default_preprocessor


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--age", type=float, default=50.0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    X, Y = load_nhanes(return_X_y=True)
    old = (X["age"] < args.age).to_numpy()
    X_old, X_old_test, Y_old, Y_old_test = train_test_split(
        X[old], Y[old], test_size=0.2, random_state=0
    )
    X_new, Y_new = X[~old], Y[~old]
    # the rows update holds out: the same draw as its own (seed 0)
    train, hold = train_test_split(np.arange(len(X_new)), test_size=0.2, random_state=0)
    print(
        f"NHANES: {old.sum()} people under {args.age:g} (old: {len(X_old)} to fit, "
        f"{len(X_old_test)} held out), {(~old).sum()} of {args.age:g} or older "
        f"(new: {len(train)} to update on, {len(hold)} held out)\n"
    )

    pipeline = make_pipeline(
        make_default_preprocessor(X), MultiTaskHealthRegressor(random_state=0)
    )
    models, seconds = {}, {}

    start = time.perf_counter()
    model = clone(pipeline).fit(X_old, Y_old)
    model.data_profile_ = data_profile(X_old)
    seconds["old"] = time.perf_counter() - start
    models["old"] = model

    start = time.perf_counter()
    updated, report = update(model, X_new, Y_new, random_state=0)
    seconds["updated"] = time.perf_counter() - start
    models["updated"] = updated
    print(report.summary(top=len(X.columns)))

    start = time.perf_counter()
    refitted, refit_report = update(
        model, X_new, Y_new, refit_preprocessing=True, random_state=0
    )
    seconds["updated, preprocessing refitted"] = time.perf_counter() - start
    models["updated, preprocessing refitted"] = refitted
    print(f"\nWith refit_preprocessing=True: {refit_report.n_epochs} epochs")

    start = time.perf_counter()
    replayed, replay_report = update(
        model, X_new, Y_new, replay=(X_old, Y_old), random_state=0
    )
    seconds["updated, old rows replayed"] = time.perf_counter() - start
    models["updated, old rows replayed"] = replayed
    print(f"With the old rows replayed: {replay_report.n_epochs} epochs")

    for name, (X_fit, Y_fit) in {
        "scratch on old + new": (
            pd.concat([X_old, X_new.iloc[train]]),
            pd.concat([Y_old, Y_new.iloc[train]]),
        ),
        "scratch on new only": (X_new.iloc[train], Y_new.iloc[train]),
    }.items():
        start = time.perf_counter()
        models[name] = clone(pipeline).fit(X_fit, Y_fit)
        seconds[name] = time.perf_counter() - start

    rows = []
    for name, fitted in models.items():
        new = score_tasks(fitted, X_new.iloc[hold], Y_new.iloc[hold])["r2"]
        old_scores = score_tasks(fitted, X_old_test, Y_old_test)["r2"]
        rows.append(
            {
                "model": name,
                **{f"new {task}": r2 for task, r2 in new.items()},
                "new mean": new.mean(),
                "old mean": old_scores.mean(),
                "seconds": seconds[name],
            }
        )
    table = pd.DataFrame(rows).set_index("model")
    print(
        f"\nR² on the {len(hold)} held-out new rows (per task, and mean) and mean "
        f"R² on the {len(X_old_test)} held-out old rows:"
    )
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(table.to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
