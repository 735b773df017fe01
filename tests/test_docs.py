"""The documentation builds without a warning and lists the whole public API."""

import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

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
    result = subprocess.run(
        [sys.executable, "-m", *build, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
