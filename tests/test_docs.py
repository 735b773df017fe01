"""The documentation builds without a warning, lists the whole public API and
shows the figures of the gallery's plotting examples."""

import importlib
import os
import pkgutil
import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import skhealth

ROOT = Path(__file__).resolve().parents[1]


def _public_names():
    """``module.name`` for every name in a public module's ``__all__``."""
    modules = [skhealth] + [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(skhealth.__path__, "skhealth.")
        if not any(part.startswith("_") for part in info.name.split("."))
    ]
    return sorted(
        f"{module.__name__}.{name}"
        for module in modules
        for name in getattr(module, "__all__", ())
        if not name.startswith("__")
    )


def _api_reference_entries():
    """``module.name`` for every autosummary item and ``py:data`` in api.rst."""
    entries, module = set(), None
    for line in (ROOT / "docs" / "api.rst").read_text().splitlines():
        if match := re.fullmatch(r"\.\. currentmodule:: (\S+)", line):
            module = match[1]
        elif match := re.fullmatch(r"\.\. py:data:: (\w+)|   (\w+)", line):
            entries.add(f"{module}.{match[1] or match[2]}")
    return entries


def test_api_reference_lists_every_public_name():
    entries = _api_reference_entries()
    assert [name for name in _public_names() if name not in entries] == []


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    for module in ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme"):
        pytest.importorskip(module, reason='the docs need pip install -e ".[docs]"')
    # sphinx-build, with warnings as errors (-W), reporting them all, quietly
    build = ["sphinx", "-W", "--keep-going", "-q", "-b", "html", "docs"]
    env = dict(os.environ)
    if "PYTEST_XDIST_WORKER" in env:
        env["OMP_NUM_THREADS"] = "1"  # one core per worker, as in conftest.py
    result = subprocess.run(
        [sys.executable, "-m", *build, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    # the gallery runs the plot_* examples, and only them, to show their figures
    for script in sorted((ROOT / "examples").glob("*.py")):
        page = (tmp_path / "auto_examples" / f"{script.stem}.html").read_text()
        figures = re.findall(rf"sphx_glr_{script.stem}_\d+\.png", page)
        assert bool(figures) == script.name.startswith("plot_"), script.name


@pytest.mark.slow
def test_plotting_example_draws_curves_and_prediction_panels(monkeypatch, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    plt.close("all")
    try:
        script = ROOT / "examples" / "plot_training_and_prediction_errors.py"
        namespace = runpy.run_path(str(script), run_name="__main__")
        model, X_test, Y_test = (namespace[k] for k in ("model", "X_test", "Y_test"))
        curves, panels = (plt.figure(n) for n in plt.get_fignums())

        tasks = ["systolic_bp", "hdl_cholesterol", "hba1c"]
        assert [ax.get_title() for ax in curves.axes] == tasks  # a panel each
        for ax in curves.axes:
            assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "R²")
            assert [len(line.get_xdata()) for line in ax.get_lines()] == [
                model[-1].n_iter_
            ] * 2  # training and validation
        (legend,) = curves.legends
        assert [text.get_text() for text in legend.get_texts()] == [
            "training",
            "validation",
        ]

        titles = [panel.get_title() for panel in panels.axes]
        assert [title.split(" (R² = ")[0] for title in titles] == list(Y_test.columns)
        for panel, predicted, observed in zip(
            panels.axes, model.predict(X_test).T, Y_test.to_numpy().T, strict=True
        ):
            assert (panel.get_xlabel(), panel.get_ylabel()) == ("predicted", "observed")
            points = {tuple(point) for point in panel.collections[0].get_offsets()}
            labelled = ~np.isnan(observed)
            pairs = set(zip(predicted[labelled], observed[labelled], strict=True))
            assert 0 < len(points) <= 1000  # subsample=1000 by default
            assert points <= pairs  # held-out rows with a label only
    finally:
        plt.close("all")
