"""``skhealth explain``: each target's permutation importance of each feature
of a table with the targets, as a table and a heatmap."""

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from test_cli import error_of, run

import skhealth
from skhealth.cli import main
from skhealth.inspection import task_permutation_importance

TARGETS = ["systolic_bp", "hdl"]
FEATURES = ["age", "sex", "steps"]


@pytest.fixture(scope="module")
def data_path(tmp_path_factory):
    """A CSV of three features (one of text) and two targets: systolic_bp
    driven by age and sex, hdl by steps, with a few hdl labels missing."""
    rng = np.random.default_rng(0)
    n = 200
    table = pd.DataFrame(
        {
            "age": rng.uniform(20, 80, n),
            "sex": rng.choice(["female", "male"], n),
            "steps": rng.poisson(7000, n),
        }
    )
    table["systolic_bp"] = (
        100 + 0.5 * table["age"] + 8 * (table["sex"] == "male") + rng.normal(0, 2, n)
    )
    table["hdl"] = 40 + 0.003 * table["steps"] + rng.normal(0, 2, n)
    table.loc[:9, "hdl"] = np.nan
    path = tmp_path_factory.mktemp("explain") / "health.csv"
    table.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def model_path(data_path):
    path = data_path.parent / "model.skh"
    targets = [arg for target in TARGETS for arg in ("--target", target)]
    args = ["fit", str(data_path), *targets, "--quiet", "--validation-fraction", "0"]
    assert main([*args, "--param", "max_iter=30", "-o", str(path)]) == 0
    return path


def expected_importances(model_path, data_path, **params):
    data = pd.read_csv(data_path)
    return task_permutation_importance(
        skhealth.load(model_path),
        data[FEATURES],
        data[TARGETS],
        **{"n_repeats": 5, "random_state": 0, **params},
    )


@pytest.fixture(scope="module")
def written(data_path, model_path):
    """The table that ``explain -o importances.csv`` writes."""
    path = data_path.parent / "importances.csv"
    assert main(["explain", str(model_path), str(data_path), "-o", str(path)]) == 0
    return pd.read_csv(path)


def test_explain_writes_each_targets_importance_of_each_feature(
    data_path, model_path, written
):
    pd.testing.assert_frame_equal(written, expected_importances(model_path, data_path))


def test_explain_finds_what_each_target_relies_on(written):
    means = written.pivot(index="feature", columns="task", values="importance_mean")
    assert means["systolic_bp"].idxmax() == "age"
    assert means["hdl"].idxmax() == "steps"


def test_explain_writes_csv_on_standard_output_by_default(
    data_path, model_path, capsys
):
    status, out, err = run(capsys, "explain", model_path, data_path, "--n-repeats", 1)
    assert (status, err) == (0, "")
    pd.testing.assert_frame_equal(
        pd.read_csv(io.StringIO(out)),
        expected_importances(model_path, data_path, n_repeats=1),
    )


def test_explain_n_repeats_seed_and_scoring_are_the_functions(
    data_path, model_path, capsys
):
    args = ["--n-repeats", "2", "--seed", "7", "--scoring", "mae"]
    _, out, _ = run(capsys, "explain", model_path, data_path, *args)
    table = pd.read_csv(io.StringIO(out))
    expected = expected_importances(
        model_path,
        data_path,
        n_repeats=2,
        random_state=7,
        scoring="neg_mean_absolute_error",
    )
    pd.testing.assert_frame_equal(table, expected)


def test_explain_writes_parquet_by_the_extension(
    data_path, model_path, tmp_path, capsys
):
    pytest.importorskip("pyarrow")
    output = tmp_path / "importances.parquet"
    status, out, _ = run(capsys, "explain", model_path, data_path, "-o", output)
    assert (status, out) == (0, "")
    pd.testing.assert_frame_equal(
        pd.read_parquet(output), expected_importances(model_path, data_path)
    )


def test_explain_plot_draws_the_heatmap(data_path, model_path, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    image = tmp_path / "importances.png"
    args = ["--plot", image, "--n-repeats", 1, "-o", "/dev/null"]
    status, out, err = run(capsys, "explain", model_path, data_path, *args)
    assert (status, out, err) == (0, "", "")
    assert image.read_bytes().startswith(b"\x89PNG")


def test_explain_plot_of_an_unknown_image_type_is_a_usage_error(
    data_path, model_path, tmp_path, capsys
):
    pytest.importorskip("matplotlib")
    image = tmp_path / "importances.txt"
    status, message = error_of(
        capsys, "explain", model_path, data_path, "--plot", image
    )
    assert status == 2
    assert message == (
        f"--plot {image}: unknown image type; use a .png, .pdf or .svg file"
    )
    assert not image.exists()


def test_explain_needs_the_target_columns(data_path, model_path, tmp_path, capsys):
    unlabelled = tmp_path / "unlabelled.csv"
    pd.read_csv(data_path).drop(columns="hdl").to_csv(unlabelled, index=False)
    status, message = error_of(capsys, "explain", model_path, unlabelled)
    assert status == 1
    assert message == f"{unlabelled} lacks 1 target column(s) of the model: hdl"


def test_explain_needs_numbers_in_the_target_columns(
    data_path, model_path, tmp_path, capsys
):
    edited = tmp_path / "edited.csv"
    table = pd.read_csv(data_path).astype({"hdl": object})
    table.loc[20, "hdl"] = "high"
    table.to_csv(edited, index=False)
    status, message = error_of(capsys, "explain", model_path, edited)
    assert status == 1
    assert message == (
        f"{edited}: column 'hdl' holds 'high', but the model was fitted on numbers "
        "there."
    )


@pytest.mark.parametrize("value", ["0", "two"])
def test_explain_n_repeats_must_be_a_positive_integer(
    data_path, model_path, capsys, value
):
    with pytest.raises(SystemExit) as exit_info:
        main(["explain", str(model_path), str(data_path), "--n-repeats", value])
    assert exit_info.value.code == 2
    assert f"{value!r} is not a positive integer" in capsys.readouterr().err


def test_explain_output_of_unknown_type_is_a_usage_error(data_path, model_path, capsys):
    status, message = error_of(
        capsys, "explain", model_path, data_path, "-o", "importances.xlsx"
    )
    assert status == 2
    assert message == "importances.xlsx: unknown file type; use a .csv or .parquet file"


def test_explain_has_help_that_answers_without_torch():
    code = (
        "import sys\n"
        "from skhealth.cli import main\n"
        "try:\n"
        "    main(['explain', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('torch' in sys.modules, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("usage: skhealth explain ")
    assert result.stderr == "False\n"
