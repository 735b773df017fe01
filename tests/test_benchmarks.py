"""The benchmark scripts' smoke runs (--quick) work end to end."""

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from skhealth.architectures import ARCHITECTURES
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
def test_accuracy_benchmark_prints_a_row_per_model(tmp_path):
    stdout = _run("accuracy.py", cwd=tmp_path)
    labels = runpy.run_path(str(BENCHMARKS / "accuracy.py"))["LABELS"]
    skipped = {"catboost"} if "catboost is not installed" in stdout else set()
    row_names = {line.split("  ")[0] for line in stdout.splitlines()}
    for name, label in labels.items():
        assert (label in row_names) is (name not in skipped)
