"""The project's front door stays true: README commands, CI and examples."""

import re
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_readme_opens_with_the_main_job_and_the_test_commands():
    main_job, tests = _readme_commands()[:2]
    assert "pip install torch==2.13.0" in main_job
    assert "pip install torch==2.13.0" in tests
    assert 'pip install -e ".[test]"' in tests


def test_ci_runs_the_test_command_that_readme_gives():
    test_command = _readme_commands()[1].split(" && ")[-1]
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines


@pytest.mark.slow
@pytest.mark.parametrize(
    "script", sorted((ROOT / "examples").glob("*.py")), ids=lambda path: path.name
)
def test_example_runs(script, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(script), run_name="__main__")
