"""Are skhealth's per-task uncertainties calibrated, sharp and cheap? (#16)

Repeated random 75/25 train/test splits of the shipped NHANES data
(``train_test_split(test_size=0.25, random_state=r)``, ``r`` in ``0 ..
--repeats - 1``, 20 by default), each through the pipeline of ``skhealth fit``,
``make_pipeline(make_default_preprocessor(X), MultiTaskHealthRegressor(
random_state=r))``. Every metric is per task, on the test rows' observed
labels (``NaN`` labels left out), averaged over repeats (``±``: their standard
deviation over repeats). Two models are fitted per repeat:

* **default**: the pipeline fitted on all training rows. Its intervals and
  stds come from the calibration made at fit (cross-fitted out-of-fold
  residuals, ``early_stopping="cross_fit"``). The out-of-fold residuals
  themselves are recorded during the fit (by wrapping the private
  ``skhealth._estimator.calibrate``) for the constant baselines below.
* **split**: the same pipeline refitted on the training rows but a random
  ``--calibration-fraction`` (25 %) of them, then recalibrated with
  ``calibrate`` on those held-out rows. The non-adaptive baselines use the
  same model and the same calibration rows, so the comparisons are paired.

The goals (issue #16, "Goals"), each printed as a table with a pass/fail
marker:

1. Coverage of the default model's 80, 90 and 95 % intervals
   (``predict_interval``); goal: 90 % intervals cover 89-91 % on every task.
2. Coverage of the 90 % intervals per subgroup: sex, and age bands (< 40,
   40-60, >= 60 years); goal: within 87-93 %. For the default model, for the
   split model calibrated without groups, per group (Mondrian:
   ``calibrate(..., groups=sex)`` or ``groups=age band``), and for the
   constant-width conformal baseline.
3. Mean width of the 90 % intervals against split conformal without
   adaptivity on the same model: ``prediction ± q``, ``q`` the conformal
   quantile (rank ``ceil(0.9 (n + 1))``) of the absolute residuals of the
   split model on its calibration rows, against the split model's own
   intervals after ``calibrate`` on the same rows. Goal: no wider (the table
   says where wider). Also the default model's width against a constant width
   from its own out-of-fold residuals, and both methods' interval scores.
4. Winkler interval score of the default model's 90 % intervals, ``(u - l) +
   2 / 0.1 * (distance of y outside [l, u])``, against the ensemble's spread
   alone: ``prediction ± 1.645 sd``, ``sd`` the members' standard deviation
   (``net_.member_moments``, times ``network_share_`` and the target scale).
   Goal: lower on every task.
5. Gaussian CRPS (closed form) of ``predict(X, return_std=True)`` against a
   constant std per task, the RMSE of the calibration residuals (the default
   model's out-of-fold residuals; the split model's residuals on its
   calibration rows, which its ``calibrate`` also saw). Goal: lower on every
   task. Also ``mean z²``, the mean squared residual in units of the
   predicted variance (1 for calibrated stds).
6. Cost of ``predict(X, return_std=True)`` and of ``predict_interval`` against
   a plain ``predict``, on 1 row and on the test set, through the pipeline
   (``predict_interval`` as ``pipe[-1].predict_interval(pipe[:-1].transform(X))``)
   and on the estimator alone (preprocessed rows): the minimum over repeated
   ``timeit`` runs, on the first repeat's default model. Goal: at most 1.5x.

Torch and BLAS use one thread. Run from the repository root::

    nice python benchmarks/uncertainty.py               # 20 repeats, ~8 minutes
    python benchmarks/uncertainty.py --repeats 5        # a quarter of the time
    python benchmarks/uncertainty.py --quick            # smoke run, seconds

``--output FILE.csv`` also writes every repeat's per-task metrics.
"""

import os

# One thread everywhere, for comparable timings (and before numpy/torch load).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import contextlib
import datetime
import math
import shlex
import sys
import time
import timeit
import warnings

import numpy as np
import pandas as pd
import torch
from scipy.stats import norm
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

import skhealth._estimator
from skhealth import MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes
from skhealth.preprocessing import make_default_preprocessor

CONFIDENCES = (0.8, 0.9, 0.95)
NOMINAL = 0.9
# goal 1: the 90 % intervals' coverage; goal 2: each subgroup's, in points
COVERAGE_GOAL = (0.89, 0.91)
SUBGROUP_TOLERANCE = 0.03
COST_GOAL = 1.5
AGE_BANDS = {"age < 40": (0, 40), "age 40-60": (40, 60), "age >= 60": (60, np.inf)}


def sex_groups(X):
    return X["sex"].astype(str).to_numpy()


def age_groups(X):
    age = X["age"].to_numpy()
    groups = np.empty(len(age), dtype=object)
    for label, (low, high) in AGE_BANDS.items():
        groups[(age >= low) & (age < high)] = label
    return groups


@contextlib.contextmanager
def recording_calibration():
    """Record the arguments of skhealth's calibration while fitting: the
    standardised labels, their weights and the out-of-fold predictions."""
    original = skhealth._estimator.calibrate
    recorded = {}

    def recording(X, Y, weight, prediction, spread, **kwargs):
        recorded.update(Y=Y, weight=weight, prediction=prediction)
        return original(X, Y, weight, prediction, spread, **kwargs)

    skhealth._estimator.calibrate = recording
    try:
        yield recorded
    finally:
        skhealth._estimator.calibrate = original


def out_of_fold_residuals(recorded, reg):
    """The recorded out-of-fold residuals in the targets' units, ``NaN`` for
    a missing label (the default target transform, the identity)."""
    residual = (recorded["Y"] - recorded["prediction"]) * reg._target_scaler.scale_
    return np.where(recorded["weight"] > 0, residual, np.nan)


def conformal_quantile(scores, confidence):
    """The split conformal quantile of ``scores`` (1-D, no NaN): the one of
    rank ``ceil(confidence * (n + 1))``."""
    scores = np.sort(scores)
    rank = math.ceil(confidence * (len(scores) + 1))
    return scores[rank - 1] if rank <= len(scores) else np.inf


def per_task(values, Y, rows=None):
    """Per task, the mean of ``values`` (n, T) over the rows (a mask, or all)
    whose label is observed."""
    observed = ~np.isnan(Y)
    if rows is not None:
        observed &= rows[:, None]
    return np.array([values[observed[:, t], t].mean() for t in range(Y.shape[1])])


def inside(lower, upper, y):
    return ((y >= lower) & (y <= upper)).astype(float)


def winkler(lower, upper, Y, confidence=NOMINAL):
    alpha = 1 - confidence
    below = np.clip(lower - Y, 0, None)
    above = np.clip(Y - upper, 0, None)
    return (upper - lower) + 2 / alpha * (below + above)


def gaussian_crps(mean, std, Y):
    """The CRPS of N(mean, std²) at ``Y`` (closed form)."""
    z = (Y - mean) / std
    return std * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / np.sqrt(np.pi))


def estimator_intervals(pipe, X, confidence, groups=None):
    reg = pipe[-1]
    bounds = reg.predict_interval(pipe[:-1].transform(X), confidence, groups=groups)
    return bounds[..., 0], bounds[..., 1]


def ensemble_sd(pipe, X):
    """The members' standard deviation in the targets' units, as it enters
    the blended prediction."""
    reg = pipe[-1]
    Xt = np.ascontiguousarray(pipe[:-1].transform(X), dtype=np.float32)
    _, variance = reg.net_.member_moments(torch.from_numpy(Xt))
    return np.sqrt(variance * reg.network_share_**2) * reg._target_scaler.scale_


def fit_quietly(pipe, X, Y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return pipe.fit(X, Y)


def make_pipe(X, seed, quick):
    settings = dict(max_iter=5) if quick else {}
    return make_pipeline(
        make_default_preprocessor(X),
        MultiTaskHealthRegressor(random_state=seed, **settings),
    )


def one_repeat(X, Y, seed, calibration_fraction, quick):
    """Every metric of one split, as long-format records."""
    X_train, X_test, Y_train, Y_test = train_test_split(
        X, Y, test_size=0.25, random_state=seed
    )
    y_test = Y_test.to_numpy()
    tasks = list(Y.columns)
    subgroups = {"sex": sex_groups(X_test), "age": age_groups(X_test)}
    records = []

    def record(metric, values, model, group="all"):
        for task, value in zip(tasks, values, strict=True):
            records.append(
                dict(
                    repeat=seed,
                    model=model,
                    group=group,
                    metric=metric,
                    task=task,
                    value=float(value),
                )
            )

    def record_coverage(lower, upper, model):
        hit = inside(lower, upper, y_test)
        for by in subgroups.values():
            for label in np.unique(by):
                record("coverage", per_task(hit, y_test, by == label), model, label)

    # the default model, calibrated at fit on its out-of-fold residuals
    pipe = make_pipe(X, seed, quick)
    with recording_calibration() as recorded:
        fit_quietly(pipe, X_train, Y_train)
    oof = out_of_fold_residuals(recorded, pipe[-1])
    prediction, std = pipe.predict(X_test, return_std=True)
    for confidence in CONFIDENCES:
        lower, upper = estimator_intervals(pipe, X_test, confidence)
        label = f"coverage {100 * confidence:g}"
        record(label, per_task(inside(lower, upper, y_test), y_test), "default")
        if confidence == NOMINAL:
            record(
                "coverage", per_task(inside(lower, upper, y_test), y_test), "default"
            )
            record("width", per_task(upper - lower, y_test), "default")
            record(
                "winkler", per_task(winkler(lower, upper, y_test), y_test), "default"
            )
            record_coverage(lower, upper, "default")
    # the same prediction, the ensemble's spread alone
    half = norm.ppf(0.5 + NOMINAL / 2) * ensemble_sd(pipe, X_test)
    lower, upper = prediction - half, prediction + half
    record("coverage", per_task(inside(lower, upper, y_test), y_test), "ensemble sd")
    record("width", per_task(upper - lower, y_test), "ensemble sd")
    record("winkler", per_task(winkler(lower, upper, y_test), y_test), "ensemble sd")
    # constant width and constant std from the out-of-fold residuals
    q = [conformal_quantile(np.abs(r[~np.isnan(r)]), NOMINAL) for r in oof.T]
    lower, upper = prediction - np.array(q), prediction + np.array(q)
    record("coverage", per_task(inside(lower, upper, y_test), y_test), "oof constant")
    record("width", per_task(upper - lower, y_test), "oof constant")
    record("winkler", per_task(winkler(lower, upper, y_test), y_test), "oof constant")
    record("crps", per_task(gaussian_crps(prediction, std, y_test), y_test), "default")
    record("z2", per_task(((y_test - prediction) / std) ** 2, y_test), "default")
    # does the std follow each subgroup's noise? (for goal 2's diagnosis)
    for by in subgroups.values():
        for label in np.unique(by):
            rows = by == label
            record(
                "mse",
                per_task((y_test - prediction) ** 2, y_test, rows),
                "default",
                label,
            )
            record("variance", per_task(std**2, y_test, rows), "default", label)
    rmse = np.sqrt(np.nanmean(oof**2, axis=0))
    constant = np.broadcast_to(rmse, prediction.shape)
    crps = gaussian_crps(prediction, constant, y_test)
    record("crps", per_task(crps, y_test), "oof constant")
    record(
        "z2", per_task(((y_test - prediction) / constant) ** 2, y_test), "oof constant"
    )

    # the split model: refitted without a calibration part of the training rows
    X_fit, X_cal, Y_fit, Y_cal = train_test_split(
        X_train, Y_train, test_size=calibration_fraction, random_state=seed
    )
    split = fit_quietly(make_pipe(X, seed, quick), X_fit, Y_fit)
    reg, Xt_cal = split[-1], split[:-1].transform(X_cal)
    y_cal = Y_cal.to_numpy()
    prediction = split.predict(X_test)
    residual = np.abs(y_cal - split.predict(X_cal))
    q = np.array([conformal_quantile(r[~np.isnan(r)], NOMINAL) for r in residual.T])
    lower, upper = prediction - q, prediction + q
    record("coverage", per_task(inside(lower, upper, y_test), y_test), "split constant")
    record("width", per_task(upper - lower, y_test), "split constant")
    record("winkler", per_task(winkler(lower, upper, y_test), y_test), "split constant")
    record_coverage(lower, upper, "split constant")
    rmse = np.sqrt(np.nanmean(residual**2, axis=0))
    constant = np.broadcast_to(rmse, prediction.shape)
    crps = gaussian_crps(prediction, constant, y_test)
    record("crps", per_task(crps, y_test), "split constant")
    record(
        "z2",
        per_task(((y_test - prediction) / constant) ** 2, y_test),
        "split constant",
    )

    reg.calibrate(Xt_cal, Y_cal)
    _, std = split.predict(X_test, return_std=True)
    lower, upper = estimator_intervals(split, X_test, NOMINAL)
    record("coverage", per_task(inside(lower, upper, y_test), y_test), "split")
    record("width", per_task(upper - lower, y_test), "split")
    record("winkler", per_task(winkler(lower, upper, y_test), y_test), "split")
    record_coverage(lower, upper, "split")
    record("crps", per_task(gaussian_crps(prediction, std, y_test), y_test), "split")
    record("z2", per_task(((y_test - prediction) / std) ** 2, y_test), "split")

    # Mondrian: calibrated per sex, then per age band, on the same rows
    for name, groups in (("sex", sex_groups), ("age", age_groups)):
        reg.calibrate(Xt_cal, Y_cal, groups=groups(X_cal))
        lower, upper = estimator_intervals(split, X_test, NOMINAL, groups(X_test))
        model = f"Mondrian by {name}"
        record("coverage", per_task(inside(lower, upper, y_test), y_test), model)
        record("width", per_task(upper - lower, y_test), model)
        record_coverage(lower, upper, model)
    return pipe, X_test, records


def prediction_calls(pipe, X):
    """The calls timed: plain, with stds, and intervals, through the pipeline
    and on the estimator alone (``X`` preprocessed beforehand)."""
    reg, preprocess = pipe[-1], pipe[:-1]
    Xt = preprocess.transform(X)
    return {
        ("pipeline", "predict"): lambda: pipe.predict(X),
        ("pipeline", "return_std"): lambda: pipe.predict(X, return_std=True),
        ("pipeline", "predict_interval"): lambda: reg.predict_interval(
            preprocess.transform(X)
        ),
        ("estimator", "predict"): lambda: reg.predict(Xt),
        ("estimator", "return_std"): lambda: reg.predict(Xt, return_std=True),
        ("estimator", "predict_interval"): lambda: reg.predict_interval(Xt),
    }


def time_cost(pipe, X_test, quick):
    """Seconds per call of predict, predict(return_std=True) and
    predict_interval, through the pipeline and on the estimator alone: the
    fastest of repeated runs, the calls interleaved so that a busy spell of
    the machine slows each of them."""
    rows = []
    for size, X in (("1 row", X_test.iloc[:1]), ("test set", X_test)):
        number = 1 if quick else (100 if size == "1 row" else 5)
        calls = prediction_calls(pipe, X)
        seconds = dict.fromkeys(calls, np.inf)
        for _ in range(3 if quick else 15):
            for key, call in calls.items():
                run = timeit.timeit(call, number=number) / number
                seconds[key] = min(seconds[key], run)
        for path in ("pipeline", "estimator"):
            rows.append(
                {
                    "rows": f"{size} ({len(X)})",
                    "through": path,
                    "predict ms": 1e3 * seconds[path, "predict"],
                    "return_std ms": 1e3 * seconds[path, "return_std"],
                    "return_std x": seconds[path, "return_std"]
                    / seconds[path, "predict"],
                    "interval ms": 1e3 * seconds[path, "predict_interval"],
                    "interval x": seconds[path, "predict_interval"]
                    / seconds[path, "predict"],
                }
            )
    return pd.DataFrame(rows).set_index(["rows", "through"])


# ------------------------------------------------------------------- reporting
def summary(records, metric, models, groups="all"):
    """Mean and sd over repeats of ``metric`` for ``models`` on the test rows
    of ``groups`` (a label or a list), indexed by task, model and group (sd 0
    for a single repeat)."""
    rows = records[
        (records["metric"] == metric)
        & records["model"].isin(models)
        & records["group"].isin([groups] if isinstance(groups, str) else groups)
    ]
    table = rows.groupby(["task", "model", "group"], sort=False)["value"].agg(
        ["mean", "std"]
    )
    return table.fillna(0.0)


def task_means(records, metric, models):
    """Per task (rows) and model (columns), the mean over repeats of
    ``metric`` on all the test labels."""
    table = summary(records, metric, models)["mean"].unstack(["model", "group"])
    return table.droplevel("group", axis=1)


def spread_cell(mean, sd, percent=False):
    if percent:
        return f"{100 * mean:5.1f} ± {100 * sd:3.1f}"
    return f"{mean:.3f} ± {sd:.3f}"


def mark(ok):
    return "pass" if ok else "FAIL"


def print_table(title, goal, table):
    print(f"\n== {title}")
    print(f"Goal: {goal}")
    print(table.to_string())


def report(records, tasks, n_repeats):
    # goal 1
    rows = []
    for task in tasks:
        row = {"task": task}
        for confidence in CONFIDENCES:
            label = f"coverage {100 * confidence:g}"
            values = records[
                (records.metric == label)
                & (records.model == "default")
                & (records.task == task)
            ]["value"]
            row[f"{100 * confidence:g} %"] = spread_cell(
                values.mean(), values.std(ddof=1) if n_repeats > 1 else 0.0, True
            )
            if confidence == NOMINAL:
                mean90 = values.mean()
        values = records[
            (records.metric == "coverage")
            & (records.model == "split")
            & (records.group == "all")
            & (records.task == task)
        ]["value"]
        row["90 %, split model"] = spread_cell(
            values.mean(), values.std(ddof=1) if n_repeats > 1 else 0.0, True
        )
        row["goal 89-91 %"] = mark(COVERAGE_GOAL[0] <= mean90 <= COVERAGE_GOAL[1])
        rows.append(row)
    print_table(
        "1. Coverage of the default model's intervals (%, test labels)",
        "90 % intervals cover 89-91 % on every task (mean over repeats; ± is the "
        "sd over repeats, the mean's standard error sd / sqrt(repeats)). The "
        "goal is the default model's; the split model (calibrate() on a held-out "
        "part of the training rows) is for reference.",
        pd.DataFrame(rows).set_index("task"),
    )

    # goal 2
    labels = [*np.unique(records.loc[records.group != "all", "group"])]
    order = [g for g in ("Female", "Male") if g in labels] + [
        g for g in AGE_BANDS if g in labels
    ]
    variants = {
        "default": "default model (calibrated at fit)",
        "split": "split model, calibrate() without groups",
        "Mondrian by sex": "split model, calibrate(groups=sex)",
        "Mondrian by age": "split model, calibrate(groups=age band)",
        "split constant": "split model, constant-width conformal",
    }
    for model, title in variants.items():
        table = summary(records, "coverage", [model], order).reset_index()
        if table.empty:
            continue
        pivot = table.pivot(index="task", columns="group", values="mean")
        pivot = pivot.reindex(index=tasks, columns=order)
        worst = (pivot - NOMINAL).abs().max(axis=1)
        shown = (100 * pivot).round(1)
        shown["worst gap"] = (100 * worst).round(1)
        shown["goal ±3"] = [mark(w <= SUBGROUP_TOLERANCE + 1e-12) for w in worst]
        sd = 100 * table["std"]
        print_table(
            f"2. Coverage of 90 % intervals per subgroup (%): {title}",
            "within 87-93 % in every subgroup (mean over repeats; a subgroup's "
            f"coverage varies by {sd.min():.1f}-{sd.max():.1f} points (sd) between "
            "repeats, its mean's standard error is sd / sqrt(repeats)).",
            shown,
        )

    # goal 2's diagnosis: the default model's std against each subgroup's errors
    mse = summary(records, "mse", ["default"], order)["mean"]
    variance = summary(records, "variance", ["default"], order)["mean"]
    if len(mse):
        ratio = np.sqrt(mse / variance).reset_index(["model"], drop=True)
        ratio = ratio.unstack("group").reindex(index=tasks, columns=order)
        print_table(
            "2b. Per subgroup: RMSE of the default model's test residuals / RMS of "
            "its predicted std",
            "none (a diagnosis): 1 where the std follows the subgroup's noise, above "
            "1 where it is too small (undercoverage), below where too large.",
            ratio.round(3),
        )

    # goal 3
    models = ["split", "split constant", "default", "oof constant"]
    table = task_means(records, "width", models)
    winkler_means = task_means(records, "winkler", models)
    coverage_means = task_means(records, "coverage", ["split", "split constant"])
    shown = pd.DataFrame(index=tasks)
    shown["constant width"] = table["split constant"]
    shown["skhealth width"] = table["split"]
    shown["ratio"] = table["split"] / table["split constant"]
    shown["constant cov %"] = 100 * coverage_means["split constant"]
    shown["skhealth cov %"] = 100 * coverage_means["split"]
    shown["constant Winkler"] = winkler_means["split constant"]
    shown["skhealth Winkler"] = winkler_means["split"]
    shown["goal width"] = [mark(r <= 1) for r in shown["ratio"]]
    shown["default vs OOF: width ratio"] = table["default"] / table["oof constant"]
    shown["Winkler ratio"] = winkler_means["default"] / winkler_means["oof constant"]
    print_table(
        "3. Mean width of 90 % intervals (targets' units): adaptive vs constant",
        "skhealth's intervals no wider than constant-width split conformal on the "
        "same model and calibration rows (ratio <= 1). The last two columns: the "
        "default model's intervals against a constant width from its own "
        "out-of-fold residuals.",
        shown.round(3),
    )

    # goal 4
    width = task_means(records, "width", ["default", "ensemble sd"])
    coverage = task_means(records, "coverage", ["default", "ensemble sd"])
    score = summary(records, "winkler", ["default", "ensemble sd"])
    shown = pd.DataFrame(index=tasks)
    for model, name in (("default", "skhealth"), ("ensemble sd", "ensemble sd")):
        shown[f"{name} Winkler"] = [
            spread_cell(*score.loc[(task, model, "all")]) for task in tasks
        ]
        shown[f"{name} width"] = width[model]
        shown[f"{name} cov %"] = 100 * coverage[model]
    means = score["mean"]
    shown["ratio"] = [
        means.loc[(t, "default", "all")] / means.loc[(t, "ensemble sd", "all")]
        for t in tasks
    ]
    shown["goal"] = [mark(r < 1) for r in shown["ratio"]]
    print_table(
        "4. Winkler score of 90 % intervals (targets' units, lower is better)",
        "skhealth's intervals score lower than prediction ± 1.645 ensemble sd on "
        "every task.",
        shown.round(3),
    )

    # goal 5
    models = ["default", "oof constant", "split", "split constant"]
    crps = task_means(records, "crps", models)
    z2 = task_means(records, "z2", models)
    shown = pd.DataFrame(index=tasks)
    shown["default CRPS"] = crps["default"]
    shown["OOF constant"] = crps["oof constant"]
    shown["ratio"] = crps["default"] / crps["oof constant"]
    shown["mean z²"] = z2["default"]
    shown["constant z²"] = z2["oof constant"]
    shown["split CRPS"] = crps["split"]
    shown["split constant"] = crps["split constant"]
    shown["split ratio"] = crps["split"] / crps["split constant"]
    shown["split mean z²"] = z2["split"]
    shown["split constant z²"] = z2["split constant"]
    shown["goal"] = [
        mark(a < 1 and b < 1)
        for a, b in zip(shown["ratio"], shown["split ratio"], strict=True)
    ]
    print_table(
        "5. Gaussian CRPS of predict(return_std=True) (targets' units, lower is "
        "better)",
        "lower than a constant std (the RMSE of the same calibration residuals) on "
        "every task. (mean z²: the test residuals' mean square in units of the "
        "predicted variance, 1 when calibrated; the constant std's for reference.)",
        shown.round(4),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=20, help="random splits (seeds 0..R-1)"
    )
    parser.add_argument(
        "--calibration-fraction",
        type=float,
        default=0.25,
        help="share of the training rows held out to calibrate the split model",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 1 repeat, 5 epochs, few timing runs",
    )
    parser.add_argument("--output", help="also write every record to this CSV file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    n_repeats = 1 if args.quick else args.repeats

    print("$", shlex.join([os.path.basename(sys.executable), *sys.argv]))
    print(f"{datetime.datetime.now():%Y-%m-%d %H:%M}, torch threads: 1")
    X, Y = load_nhanes(return_X_y=True)
    tasks = list(Y.columns)
    print(
        f"NHANES: {X.shape[0]} rows, {X.shape[1]} features, {len(tasks)} tasks; "
        f"{n_repeats} repeat(s) of a 75/25 split, calibration split "
        f"{100 * args.calibration_fraction:g} % of the training rows"
        + (" (--quick: 5 epochs, numbers meaningless)" if args.quick else "")
    )
    start = time.perf_counter()
    all_records, timed = [], None
    for seed in range(n_repeats):
        pipe, X_test, records = one_repeat(
            X, Y, seed, args.calibration_fraction, args.quick
        )
        all_records += records
        if timed is None:
            timed = (pipe, X_test)
        print(f"  repeat {seed}: {time.perf_counter() - start:.0f} s", flush=True)
    records = pd.DataFrame(all_records)
    if args.output:
        records.to_csv(args.output, index=False)
    pd.set_option("display.width", 250)
    report(records, tasks, n_repeats)

    cost = time_cost(*timed, args.quick)
    worst = cost[["return_std x", "interval x"]].max(axis=1)
    shown = cost.round(2)
    shown["goal <= 1.5x"] = [mark(w <= COST_GOAL) for w in worst]
    print_table(
        "6. Cost per call, relative to a plain predict (min of repeated timeit)",
        "predict(X, return_std=True) and predict_interval at most 1.5x predict.",
        shown,
    )
    print(f"\nTotal {time.perf_counter() - start:.0f} s.")


if __name__ == "__main__":
    main()
