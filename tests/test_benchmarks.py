"""The benchmark scripts' smoke runs (--quick) work end to end."""

import os
import re
import runpy
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skhealth.architectures import ARCHITECTURES
from skhealth.preprocessing import make_default_preprocessor
from skhealth.weighting import WEIGHTINGS

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _run(script, *args, cwd):
    # A subprocess keeps the scripts' thread settings out of the test process.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env=env,
    ).stdout


@pytest.mark.slow
def test_mtl_benchmark_tables_every_architecture_weighting_and_baseline(tmp_path):
    _run("mtl.py", "--output", "table.csv", cwd=tmp_path)
    table = pd.read_csv(tmp_path / "table.csv", index_col="model")
    expected = [f"{a} / {w}" for a in ARCHITECTURES for w in WEIGHTINGS]
    assert table.index.tolist() == [*expected, "one net per task", "RidgeCV per task"]
    assert table[["r0", "r1", "r2", "r3", "u0", "u1", "mean"]].notna().all().all()


@pytest.mark.slow
def test_speed_benchmark_prints_a_row_per_method(tmp_path):
    stdout = _run("speed.py", cwd=tmp_path)
    methods = runpy.run_path(str(BENCHMARKS / "speed.py"))["METHODS"]
    # Table rows start with the method's name padded to 24 characters.
    row_names = [line[:24].rstrip() for line in stdout.splitlines()]
    for name in methods:
        assert name in row_names


@pytest.mark.slow
def test_speed_benchmark_threads_tables_every_case_for_fit_and_predict(tmp_path):
    stdout = _run("speed.py", "--threads", cwd=tmp_path)
    cases = runpy.run_path(str(BENCHMARKS / "speed.py"))["THREAD_CASES"]
    # Table rows start with the case's name padded to 44 characters.
    row_names = [line[:44].rstrip() for line in stdout.splitlines()]
    for name in cases:
        assert row_names.count(name) == 2


@pytest.mark.slow
def test_accuracy_benchmark_prints_a_row_per_model(tmp_path):
    # diabetes ships with scikit-learn: this smoke run needs no data package.
    stdout = _run(
        "accuracy.py", "--dataset", "diabetes", "--output", "folds.csv", cwd=tmp_path
    )
    labels = runpy.run_path(str(BENCHMARKS / "accuracy.py"))["LABELS"]
    skipped = {"catboost"} if "catboost is not installed" in stdout else set()
    # a row is the label, then the scores (a negative one a single space after)
    rows = stdout.splitlines()
    for name, label in labels.items():
        printed = any(re.match(rf"{re.escape(label)} +-?\d", row) for row in rows)
        assert printed is (name not in skipped)
    folds = pd.read_csv(tmp_path / "folds.csv")
    assert set(folds["model"]) == set(labels) - skipped
    assert set(folds["dataset"]) == {"diabetes"}
    # every model, 2 folds, 6 tasks, each scored
    assert len(folds) == len(set(labels) - skipped) * 2 * 6
    assert folds["r2"].notna().all()


@pytest.mark.slow
def test_accuracy_benchmark_runs_every_data_set_or_says_it_skipped(tmp_path):
    stdout = _run("accuracy.py", "--models", "ridge", cwd=tmp_path)
    datasets = runpy.run_path(str(BENCHMARKS / "health_datasets.py"))["DATASETS"]
    for name in datasets:
        assert f"== {name}: " in stdout
    summary = stdout.split("Summary:")[1].split("Best model")[0]
    summary_rows = {line.split()[0] for line in summary.splitlines()[2:] if line}
    ran = {name for name in datasets if f"== {name}: skipped" not in stdout}
    assert summary_rows == ran | {"mean"}


@pytest.mark.slow
def test_uncertainty_benchmark_tables_every_goal_and_records_every_task(tmp_path):
    stdout = _run("uncertainty.py", "--output", "records.csv", cwd=tmp_path)
    for goal in range(1, 7):
        assert f"\n== {goal}. " in stdout
    records = pd.read_csv(tmp_path / "records.csv")
    tasks = ["systolic_bp", "diastolic_bp", "total_cholesterol", "hdl_cholesterol"]
    tasks += ["hba1c", "waist_circumference", "bmi"]
    assert set(records["task"]) == set(tasks)
    assert np.isfinite(records["value"]).all()
    models = {"default", "ensemble sd", "oof constant", "split", "split constant"}
    models |= {"Mondrian by sex", "Mondrian by age"}
    assert set(records["model"]) == models
    groups = {"all", "Female", "Male", "age < 40", "age 40-60", "age >= 60"}
    assert set(records["group"]) == groups
    coverage = records.query("metric == 'coverage'")["value"]
    assert coverage.between(0, 1).all()


# name: rows, features, targets, missing labels (share of all labels, to 0.1 %)
HEALTH_DATASETS = {
    "ais": (202, 4, 7, 0.0),
    "pbc": (418, 7, 9, 0.160),
    "diabetes": (442, 4, 6, 0.0),
    "bdims": (507, 13, 12, 0.0),
    "nhefs": (1629, 46, 4, 0.036),
    "nmes1988": (4406, 13, 6, 0.0),
    "nhanes": (5263, 21, 7, 0.050),
    "flchain": (7874, 4, 3, 0.057),
}


def test_health_datasets_are_the_pinned_ones():
    datasets = runpy.run_path(str(BENCHMARKS / "health_datasets.py"))["DATASETS"]
    assert list(datasets) == list(HEALTH_DATASETS)


@pytest.mark.parametrize("name", HEALTH_DATASETS)
def test_health_dataset_loads_offline(name, monkeypatch):
    module = runpy.run_path(str(BENCHMARKS / "health_datasets.py"))

    def no_network(*args, **kwargs):
        raise AssertionError("a data set loader tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    try:
        X, Y = module["DATASETS"][name].load()
    except module["MissingDataPackage"] as error:
        pytest.skip(str(error))
    rows, n_features, n_targets, missing = HEALTH_DATASETS[name]
    assert X.shape == (rows, n_features)
    assert Y.shape == (rows, n_targets)
    assert (Y.dtypes == "float64").all()
    assert np.isfinite(Y.to_numpy()[Y.notna().to_numpy()]).all()
    assert Y.notna().any(axis=1).all()  # no row without a label
    assert Y.isna().to_numpy().mean() == pytest.approx(missing, abs=5e-4)
    assert not set(X.columns) & set(Y.columns)
    # the shared preprocessing takes every set's features
    assert make_default_preprocessor(X).fit_transform(X).shape[0] == rows


def test_startup_benchmark_times_every_command_line(tmp_path):
    stdout = subprocess.run(
        [sys.executable, str(BENCHMARKS / "startup.py"), "--runs", "1"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    labels = runpy.run_path(str(BENCHMARKS / "startup.py"))["command_lines"]()
    # Table rows start with the command line's label padded to 40 characters.
    assert [line[:40].rstrip() for line in stdout.splitlines()[1:]] == list(labels)
