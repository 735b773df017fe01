"""Cross-validated ROC-AUC, log-loss and calibration of skhealth's classifier (#20).

The data: the six binary outcomes of
:func:`skhealth.datasets.load_nhanes_outcomes` (hypertension, diabetes,
obesity, depression, high cholesterol, low HDL; 5263 adults, ``NaN`` where an
outcome is unknown, 17 % of the rows missing one), and for the mixed model its
eight continuous measurements (``measurements=True``). Every model sees the
same folds (``KFold(shuffle=True)``, ``--seed``) through the same
preprocessing fitted on the training fold only: that of ``skhealth fit`` and of
``benchmarks/accuracy.py``,
:func:`skhealth.preprocessing.make_default_preprocessor` (numeric columns
median-imputed and standardised, the others one-hot encoded). The models:

* ``skhealth default``: ``MultiTaskHealthClassifier(random_state=seed)`` on
  the six outcomes, every row kept (unknown labels left out of the loss).
* ``LogisticRegressionCV per task``: on that task's observed rows, its ``C``
  chosen by 5-fold log-loss.
* ``HGB per task, early stop``: ``HistGradientBoostingClassifier`` with
  ``early_stopping=True`` (validation log-loss), learning rate 0.05, up to
  1000 iterations, on that task's observed rows.
* ``CatBoost per task``: ``CatBoostClassifier`` with its defaults (1000
  iterations) on that task's observed rows; ``CatBoost MultiLogloss``: one
  ``CatBoostClassifier(loss_function="MultiLogloss")`` for all six, on the
  rows whose six labels are all known (it takes no missing labels). Skipped
  with a note when ``catboost`` is not installed.
* ``skhealth per task``: one ``MultiTaskHealthClassifier(random_state=seed)``
  per outcome (a 1-D ``y``), on that task's observed rows: the default network
  without sharing between outcomes.
* ``skhealth mixed``: one ``MultiTaskHealthRegressor(random_state=seed)`` on
  the six outcomes (``loss="log_loss"``, its ``predict`` is P(1)) and the
  eight measurements (``loss="squared_error"``): systolic and diastolic blood
  pressure, total and HDL cholesterol, HbA1c, waist, BMI, PHQ-9. Scored on the
  outcomes like the others, and on the measurements against
* ``skhealth measurements only``: ``MultiTaskHealthRegressor(random_state=
  seed)`` on the eight measurements alone (scored on them only).

``--variants`` adds the default classifier with other parameters (``VARIANTS``:
early stopping on a 10 % holdout instead of cross-fitting, ``n_members=10``,
``alpha=1e-3``, 128-128 units, no dropout), to see which of them helps.

The metrics, per task on the observed labels of the test fold, through
:func:`skhealth.metrics.classification_task_scores`: ROC-AUC and log-loss,
averaged over folds (the goal of #20: the default's mean ROC-AUC over tasks at
least the best baseline's). Expected calibration error, on 10 uniform bins
(``sum_b n_b / n |mean p_b - share of positives_b|``, the ECE of
:class:`skhealth.plot.TaskCalibrationDisplay` with ``n_bins=10``), is taken on
the out-of-fold probabilities of all folds together (each row predicted by the
model that did not train on it), as one fold's 1000 rows alone give a
perfectly calibrated model an ECE of 0.02-0.04. Beside it, ``ECE floor``: the
mean ECE of the default's own probabilities against labels drawn from them
(``Bernoulli(p)``, 200 draws), the ECE a perfectly calibrated model would show
on these rows (goal of #20: ECE <= 0.02 per task). The measurements are scored
by R² on their observed test labels (:func:`skhealth.metrics.task_scores`).

The script prints: a summary per model (mean AUC over tasks, its standard
deviation over folds, the paired difference to the default and its standard
deviation over folds, the gap's standard error being ``gap sd /
sqrt(folds)``; mean log-loss; mean and largest ECE; fit seconds per fold,
preprocessing included, and their ratio to the default's), then each task's
AUC, log-loss and ECE by model, the two goals with pass/FAIL, and the
measurements' R², mixed against alone (their paired difference and its
standard deviation over folds). Torch, BLAS and the tree models use one
thread. Run from the repository root::

    nice python benchmarks/classification.py             # every model, 5 folds
    python benchmarks/classification.py --folds 3        # faster
    python benchmarks/classification.py --models skhealth-default logreg
    python benchmarks/classification.py --variants       # and the default's variants
    python benchmarks/classification.py --quick          # smoke run, seconds

``--output FILE.csv`` also writes every fold's per-task scores and fit seconds.
"""

import os

# One thread everywhere, for comparable fit times (and before numpy/torch load).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import datetime
import shlex
import sys
import time
import traceback
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import KFold

from skhealth import MultiTaskHealthClassifier, MultiTaskHealthRegressor
from skhealth.datasets import load_nhanes_outcomes
from skhealth.metrics import classification_task_scores, task_scores
from skhealth.preprocessing import make_default_preprocessor

N_BINS = 10
ECE_GOAL = 0.02
FLOOR_DRAWS = 200
# --quick: a random subset of the rows, for a smoke run of the whole script
QUICK_ROWS = 600
# the default classifier with one parameter changed (--variants)
VARIANTS = {
    "holdout-early-stopping": dict(early_stopping=True),
    "n-members-10": dict(n_members=10),
    "alpha-1e-3": dict(alpha=1e-3),
    "hidden-128-128": dict(hidden_layer_sizes=(128, 128)),
    "no-dropout": dict(dropout=0.0),
}


class Multilabel(BaseEstimator):
    """A classifier fitted on every row; ``proba`` is its ``predict_proba``."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, Y):
        self.estimator_ = clone(self.estimator).fit(X, Y)
        return self

    def proba(self, X):
        return self.estimator_.predict_proba(X)


class PerTask(BaseEstimator):
    """One clone of a binary classifier per task, each on its observed rows."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, Y):
        self.estimators_ = []
        for labels in np.asarray(Y, dtype=float).T:
            known = ~np.isnan(labels)
            self.estimators_.append(
                clone(self.estimator).fit(X[known], labels[known].astype(int))
            )
        return self

    def proba(self, X):
        return np.column_stack([e.predict_proba(X)[:, 1] for e in self.estimators_])


class CompleteRows(BaseEstimator):
    """A multilabel classifier fitted on the rows whose labels are all known."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, Y):
        Y = np.asarray(Y, dtype=float)
        complete = ~np.isnan(Y).any(axis=1)
        self.estimator_ = clone(self.estimator).fit(
            X[complete], Y[complete].astype(int)
        )
        return self

    def proba(self, X):
        return self.estimator_.predict_proba(X)


class Mixed(BaseEstimator):
    """A regressor on the outcomes (log-loss) and the measurements (squared
    error); ``proba`` is its prediction of the outcomes, ``measure`` of the
    measurements."""

    def __init__(self, estimator, n_outcomes):
        self.estimator = estimator
        self.n_outcomes = n_outcomes

    def fit(self, X, Y):
        n_measurements = Y.shape[1] - self.n_outcomes
        loss = ["log_loss"] * self.n_outcomes + ["squared_error"] * n_measurements
        self.estimator_ = clone(self.estimator).set_params(loss=loss).fit(X, Y)
        return self

    def proba(self, X):
        return self.estimator_.predict(X)[:, : self.n_outcomes]

    def measure(self, X):
        return self.estimator_.predict(X)[:, self.n_outcomes :]


class MeasurementsOnly(BaseEstimator):
    """A regressor fitted on the measurements alone (the targets after the
    outcomes); ``measure`` is its prediction."""

    def __init__(self, estimator, n_outcomes):
        self.estimator = estimator
        self.n_outcomes = n_outcomes

    def fit(self, X, Y):
        self.estimator_ = clone(self.estimator).fit(X, Y.iloc[:, self.n_outcomes :])
        return self

    def measure(self, X):
        return self.estimator_.predict(X)


def make_models(seed, quick, n_outcomes):
    """Model name -> (label, unfitted model taking the preprocessed ``X``)."""
    # --quick only shortens training, for a smoke run of the whole script.
    net_iter = dict(max_iter=5) if quick else {}
    boost_iter = 20 if quick else 1000
    models = {
        "skhealth-default": (
            "skhealth default",
            Multilabel(MultiTaskHealthClassifier(random_state=seed, **net_iter)),
        ),
        "logreg": (
            "LogisticRegressionCV per task",
            PerTask(LogisticRegressionCV(scoring="neg_log_loss", max_iter=1000)),
        ),
        "hgb-early-stopping": (
            "HGB per task, early stop",
            PerTask(
                HistGradientBoostingClassifier(
                    learning_rate=0.05,
                    max_iter=boost_iter,
                    early_stopping=True,
                    random_state=seed,
                )
            ),
        ),
        "skhealth-per-task": (
            "skhealth per task",
            PerTask(MultiTaskHealthClassifier(random_state=seed, **net_iter)),
        ),
        "skhealth-mixed": (
            "skhealth mixed (+ measurements)",
            Mixed(MultiTaskHealthRegressor(random_state=seed, **net_iter), n_outcomes),
        ),
        "measurements-only": (
            "skhealth measurements only",
            MeasurementsOnly(
                MultiTaskHealthRegressor(random_state=seed, **net_iter), n_outcomes
            ),
        ),
    }
    try:
        from catboost import CatBoostClassifier
    except ImportError:
        print(
            'catboost is not installed: skipping it (pip install -e ".[benchmarks]").\n'
        )
    else:
        options = dict(
            iterations=boost_iter,
            random_seed=seed,
            thread_count=1,
            verbose=0,
            allow_writing_files=False,
        )
        models["catboost"] = (
            "CatBoost per task",
            PerTask(CatBoostClassifier(**options)),
        )
        models["catboost-multilogloss"] = (
            "CatBoost MultiLogloss (complete rows)",
            CompleteRows(CatBoostClassifier(loss_function="MultiLogloss", **options)),
        )
    return models


def make_variants(seed, quick):
    """Variant name -> (label, model): the default classifier, one change each."""
    net_iter = dict(max_iter=5) if quick else {}
    return {
        f"skhealth-{name}": (
            f"skhealth {', '.join(f'{k}={v}' for k, v in params.items())}",
            Multilabel(
                MultiTaskHealthClassifier(random_state=seed, **params, **net_iter)
            ),
        )
        for name, params in VARIANTS.items()
    }


# What skhealth's default is measured against (#20's goals).
BASELINES = [
    "logreg",
    "hgb-early-stopping",
    "catboost",
    "catboost-multilogloss",
    "skhealth-per-task",
]


def expected_calibration_error(labels, proba, n_bins=N_BINS):
    """``sum_b n_b / n |mean p_b - share of positives_b|`` over uniform bins
    of ``[0, 1]`` (the bins of :func:`sklearn.calibration.calibration_curve`)."""
    bins = np.searchsorted(np.linspace(0.0, 1.0, n_bins + 1)[1:-1], proba)
    counts = np.bincount(bins, minlength=n_bins)
    gaps = np.abs(
        np.bincount(bins, weights=proba, minlength=n_bins)
        - np.bincount(bins, weights=labels, minlength=n_bins)
    )
    # sum_b n_b / n |sum_b p / n_b - sum_b y / n_b| = sum_b |sum_b (p - y)| / n
    return float(gaps[counts > 0].sum() / len(labels))


def task_ece(Y, P):
    """Each task's ECE on its observed labels."""
    Y, P = np.asarray(Y, dtype=float), np.asarray(P, dtype=float)
    values = []
    for t in range(Y.shape[1]):
        known = ~np.isnan(Y[:, t])
        values.append(expected_calibration_error(Y[known, t], P[known, t]))
    return np.array(values)


def ece_floor(Y, P, seed, draws=FLOOR_DRAWS):
    """Each task's mean ECE of ``P`` against labels drawn from ``P`` on the
    rows ``Y`` labels: what a perfectly calibrated model scores there."""
    Y, P = np.asarray(Y, dtype=float), np.asarray(P, dtype=float)
    rng = np.random.default_rng(seed)
    floors = []
    for t in range(Y.shape[1]):
        p = P[~np.isnan(Y[:, t]), t]
        floors.append(
            np.mean(
                [
                    expected_calibration_error(rng.random(p.size) < p, p)
                    for _ in range(draws)
                ]
            )
        )
    return np.array(floors)


def cross_validate(X, Y, n_outcomes, models, n_folds, seed):
    """Fit every model on every fold.

    Returns per model a dict: ``auc`` and ``log_loss`` ``(n_folds,
    n_outcomes)``, ``proba`` (out-of-fold probabilities, ``(n_samples,
    n_outcomes)``), ``r2`` ``(n_folds, n_measurements)`` for the models that
    predict the measurements, and ``seconds`` per fold. A model whose fit or
    prediction fails gets ``NaN`` for that fold, with the error printed.
    """
    outcomes, measurements = Y.iloc[:, :n_outcomes], Y.iloc[:, n_outcomes:]
    results = {
        name: {
            "auc": [],
            "log_loss": [],
            "r2": [],
            "seconds": [],
            "proba": np.full(outcomes.shape, np.nan),
        }
        for name in models
    }
    folds = KFold(n_folds, shuffle=True, random_state=seed).split(X)
    for fold, (train, test) in enumerate(folds):
        fold_start = time.perf_counter()
        for name, (label, model) in models.items():
            result = results[name]
            start = time.perf_counter()
            try:
                preprocessor = make_default_preprocessor(X).fit(X.iloc[train])
                # the models that predict the measurements train on them too
                targets = Y if hasattr(model, "measure") else outcomes
                fitted = clone(model).fit(
                    preprocessor.transform(X.iloc[train]), targets.iloc[train]
                )
                result["seconds"].append(time.perf_counter() - start)
                X_test = preprocessor.transform(X.iloc[test])
                if hasattr(fitted, "proba"):
                    P = fitted.proba(X_test)
                    result["proba"][test] = P
                    scores = classification_task_scores(outcomes.iloc[test], P)
                    result["auc"].append(scores["roc_auc"].to_numpy(dtype=float))
                    result["log_loss"].append(scores["log_loss"].to_numpy(dtype=float))
                if hasattr(fitted, "measure"):
                    predicted = fitted.measure(X_test)
                    scores = task_scores(measurements.iloc[test], predicted)
                    result["r2"].append(scores["r2"].to_numpy(dtype=float))
            except Exception:  # reported, then scored NaN
                print(f"{label} failed on fold {fold}:", file=sys.stderr)
                traceback.print_exc()
                result["seconds"].append(np.nan)
                if hasattr(model, "proba"):
                    result["auc"].append(np.full(n_outcomes, np.nan))
                    result["log_loss"].append(np.full(n_outcomes, np.nan))
                if hasattr(model, "measure"):
                    result["r2"].append(np.full(measurements.shape[1], np.nan))
        print(
            f"  fold {fold}: {time.perf_counter() - fold_start:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    for result in results.values():
        for key in ("auc", "log_loss", "r2"):
            result[key] = np.array(result[key])
    return results


def summary_table(results, models, outcomes):
    """A row per model scored on the outcomes: AUC, log-loss, ECE, fit time."""
    default = results.get("skhealth-default")
    rows = {}
    for name, result in results.items():
        if not len(result["auc"]):
            continue
        fold_auc = result["auc"].mean(axis=1)
        ece = task_ece(outcomes, result["proba"])
        row = {"mean AUC": fold_auc.mean(), "fold sd": fold_auc.std(ddof=1)}
        if default is not None:
            # paired by fold: the folds' difficulty cancels out
            gap = fold_auc - default["auc"].mean(axis=1)
            row["vs default"] = gap.mean()
            row["gap sd"] = gap.std(ddof=1)
        row["log-loss"] = result["log_loss"].mean()
        row["mean ECE"] = ece.mean()
        row["max ECE"] = ece.max()
        row["fit s"] = np.mean(result["seconds"])
        if default is not None:
            row["fit x default"] = row["fit s"] / np.mean(default["seconds"])
        rows[models[name][0]] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def task_table(results, models, task_names, metric, outcomes=None):
    """Each task's ``metric`` (mean over folds; ECE out of fold) by model."""
    rows = {}
    for name, result in results.items():
        if metric == "ece":
            if not len(result["auc"]):
                continue
            values = task_ece(outcomes, result["proba"])
        else:
            if not len(result[metric]):
                continue
            values = result[metric].mean(axis=0)
        rows[models[name][0]] = dict(zip(task_names, values, strict=True))
    table = pd.DataFrame.from_dict(rows, orient="index")
    table["mean"] = table.mean(axis=1)
    return table


def goals(results, outcomes, seed):
    """#20's goals for the default classifier, as lines of text."""
    lines = []
    default = results.get("skhealth-default")
    if default is None or not len(default["auc"]):
        return ["(the default classifier did not run: no goals to check)"]
    default_auc = default["auc"].mean(axis=1)
    baselines = {
        name: results[name]["auc"].mean(axis=1)
        for name in BASELINES
        if name in results and len(results[name]["auc"])
    }
    if baselines:
        best = max(baselines, key=lambda name: baselines[name].mean())
        gap = default_auc - baselines[best]
        verdict = "pass" if gap.mean() >= 0 else "FAIL"
        lines.append(
            f"Mean AUC: default {default_auc.mean():.4f}, best baseline {best} "
            f"{baselines[best].mean():.4f}, gap {gap.mean():+.4f} (sd over folds "
            f"{gap.std(ddof=1):.4f}): {verdict}"
        )
    ece = task_ece(outcomes, default["proba"])
    floor = ece_floor(outcomes, default["proba"], seed)
    table = pd.DataFrame(
        {
            "ECE": ece,
            "ECE floor": floor,
            f"goal <= {ECE_GOAL}": np.where(ece <= ECE_GOAL, "pass", "FAIL"),
        },
        index=outcomes.columns,
    )
    lines.append(
        "ECE of the default's out-of-fold probabilities, and the ECE floor "
        "(a perfectly calibrated model's on these rows, mean of "
        f"{FLOOR_DRAWS} draws of Bernoulli(p) labels):"
    )
    lines.append(table.to_string(float_format=lambda value: f"{value:.4f}"))
    return lines


def measurement_table(results, models, measurement_names):
    """Each measurement's R² (mean over folds): mixed against alone, with the
    paired difference and its standard deviation over folds."""
    r2 = {name: result["r2"] for name, result in results.items() if len(result["r2"])}
    table = pd.DataFrame(
        {models[name][0]: per_fold.mean(axis=0) for name, per_fold in r2.items()},
        index=measurement_names,
    )
    table.loc["mean"] = table.mean()
    if {"skhealth-mixed", "measurements-only"} <= set(r2):
        gap = r2["skhealth-mixed"] - r2["measurements-only"]
        gap = np.column_stack([gap, gap.mean(axis=1)])
        table["mixed - alone"] = gap.mean(axis=0)
        table["gap sd"] = gap.std(axis=0, ddof=1)
    return table


def print_table(table, digits=3):
    with pd.option_context(
        "display.width", 250, "display.max_columns", None, "display.max_colwidth", 40
    ):
        print(table.to_string(float_format=lambda value: f"{value:.{digits}f}"))


def records(results, models, outcome_names, measurement_names):
    """Every fold's per-task scores and fit seconds, a row each."""
    rows = []
    for name, result in results.items():
        for fold, seconds in enumerate(result["seconds"]):
            for metric, names in (
                ("auc", outcome_names),
                ("log_loss", outcome_names),
                ("r2", measurement_names),
            ):
                if not len(result[metric]):
                    continue
                for task, value in zip(names, result[metric][fold], strict=True):
                    rows.append(
                        {
                            "model": name,
                            "fold": fold,
                            "task": task,
                            "metric": metric,
                            "value": value,
                            "fit_seconds": seconds,
                        }
                    )
    return pd.DataFrame.from_records(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5, help="number of CV folds")
    parser.add_argument(
        "--models",
        nargs="+",
        metavar="NAME",
        help="models to run (default: all): skhealth-default, logreg, "
        "hgb-early-stopping, skhealth-per-task, skhealth-mixed, "
        "measurements-only, catboost, catboost-multilogloss",
    )
    parser.add_argument(
        "--variants",
        action="store_true",
        help="also the default classifier with other parameters (VARIANTS)",
    )
    parser.add_argument("--seed", type=int, default=0, help="folds and models seed")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK_ROWS} rows, 2 folds, few iterations",
    )
    parser.add_argument(
        "--output", help="CSV file for every fold's per-task scores and fit seconds"
    )
    args = parser.parse_args()
    print("$", shlex.join([os.path.basename(sys.executable), *sys.argv]))
    print(f"{datetime.datetime.now():%Y-%m-%d %H:%M}, torch threads: 1")
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    # LogisticRegressionCV's notices of scikit-learn 1.10's new defaults
    warnings.filterwarnings("ignore", category=FutureWarning, module="sklearn")

    data = load_nhanes_outcomes(measurements=True)
    X = data.data.reset_index(drop=True)
    Y = data.target.reset_index(drop=True)
    n_outcomes = len(data.outcome_names)
    n_folds = 2 if args.quick else args.folds
    if args.quick:
        rows = np.random.default_rng(args.seed).choice(len(X), QUICK_ROWS, False)
        X, Y = X.iloc[rows].reset_index(drop=True), Y.iloc[rows].reset_index(drop=True)
    outcomes = Y.iloc[:, :n_outcomes]
    measurement_names = list(Y.columns[n_outcomes:])

    models = make_models(args.seed, args.quick, n_outcomes)
    if args.models is not None:
        unknown = set(args.models) - set(models)
        if unknown:
            parser.error(
                f"unknown model(s) {sorted(unknown)}; choose from {list(models)}"
            )
        models = {name: models[name] for name in args.models}
    if args.variants:
        models.update(make_variants(args.seed, args.quick))

    print(
        f"NHANES outcomes: {len(X)} rows, {X.shape[1]} features, {n_outcomes} "
        f"outcomes ({outcomes.isna().to_numpy().mean():.1%} of labels unknown, in "
        f"{outcomes.isna().any(axis=1).mean():.0%} of rows; "
        f"{outcomes.notna().all(axis=1).sum()} complete rows), "
        f"{len(measurement_names)} measurements; {n_folds}-fold CV, seed {args.seed}"
    )
    print("Positives among the known:", outcomes.mean().round(3).to_dict(), "\n")
    started = time.perf_counter()
    results = cross_validate(X, Y, n_outcomes, models, n_folds, args.seed)

    print(
        f"== Summary: AUC and log-loss per task averaged over {n_folds} folds, "
        "then over tasks; ECE on the out-of-fold probabilities; fit seconds per "
        "fold (preprocessing included)"
    )
    print_table(summary_table(results, models, outcomes), digits=4)
    for metric, title in (
        ("auc", "ROC-AUC per task (mean over folds)"),
        ("log_loss", "Log-loss per task (mean over folds)"),
        ("ece", f"ECE per task ({N_BINS} uniform bins, out-of-fold probabilities)"),
    ):
        print(f"\n== {title}")
        print_table(
            task_table(results, models, list(outcomes.columns), metric, outcomes),
            digits=4,
        )
    print("\n== Goals of #20 for the default classifier")
    print("\n".join(goals(results, outcomes, args.seed)))
    if any(len(result["r2"]) for result in results.values()):
        print("\n== Measurements: R² per task (mean over folds), mixed against alone")
        print_table(measurement_table(results, models, measurement_names), digits=4)
    print(f"\nTotal {time.perf_counter() - started:.0f} s.")
    if args.output:
        records(results, models, list(outcomes.columns), measurement_names).to_csv(
            args.output, index=False
        )


if __name__ == "__main__":
    main()
