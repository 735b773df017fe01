"""The ``skhealth`` command line: what each command writes, and how it fails."""

import bz2
import errno
import gzip
import importlib.util
import io
import json
import lzma
import os
import signal
import subprocess
import sys
import time

import forging
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skorch.callbacks import Callback

import skhealth
from skhealth import MultiTaskHealthRegressor
from skhealth.cli import main
from skhealth.cli._fit import _parse_value
from skhealth.cli._model import encodings
from skhealth.metrics import task_scores
from skhealth.preprocessing import make_default_preprocessor

TARGETS = ["systolic_bp", "hdl", "hba1c"]
COMMANDS = [
    "demo",
    "fit",
    "predict",
    "evaluate",
    "explain",
    "info",
    "export",
    "update",
    "serve",
]
FEATURES = ["age", "sex", "smoker", "sleep_hours", "steps"]


@pytest.fixture
def data_path(health_frame, tmp_path):
    """A CSV with an id column, five features and three targets."""
    X, Y = health_frame
    Y.loc[:9, "hdl"] = np.nan  # ten labels not measured
    ids = pd.DataFrame({"patient_id": [f"p{i:03d}" for i in range(len(X))]})
    path = tmp_path / "health.csv"
    pd.concat([ids, X, Y], axis=1).to_csv(path, index=False)
    return path


def fit_args(data_path, model_path, *extra):
    targets = [arg for target in TARGETS for arg in ("--target", target)]
    return [
        "fit",
        str(data_path),
        *targets,
        "--id-column",
        "patient_id",
        "--param",
        "max_iter=5",
        *extra,
        "-o",
        str(model_path),
    ]


@pytest.fixture
def model_path(data_path, tmp_path, capsys):
    """The model that ``fit`` saves, fitted once: on every row, as the refit
    (see test_fit_refits_on_every_row_the_model_it_saves)."""
    path = tmp_path / "model.skh"
    assert main(fit_args(data_path, path, "--quiet", "--validation-fraction", "0")) == 0
    capsys.readouterr()
    return path


def run(capsys, *args):
    """``(exit status, stdout, stderr)`` of ``skhealth ARGS``."""
    status = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def no_fit(monkeypatch):
    """Fail the test if the command fits a model."""

    def fit(*args, **kwargs):
        pytest.fail("the command fitted a model")

    monkeypatch.setattr("skhealth.cli._model.train", fit)


def error_of(capsys, *args):
    """``(exit status, message)`` of ``skhealth ARGS``, which must print one
    ``skhealth: error: message`` line on stderr and nothing on stdout."""
    status, out, err = run(capsys, *args)
    assert out == ""
    assert err.startswith("skhealth: error: ")
    assert err.count("\n") == 1
    return status, err.removeprefix("skhealth: error: ").rstrip("\n")


# ------------------------------------------------------------------- help
def test_python_m_skhealth_prints_help():
    result = subprocess.run(
        [sys.executable, "-m", "skhealth", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout.startswith("usage: skhealth ")
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: skhealth {command} ")


# What a fresh interpreter has imported once the command line has answered
# --version and each --help: none of the modules that take seconds to import.
_STARTUP = """
import sys
from skhealth.cli import main
for args in (["--version"], ["--help"], *([c, "--help"] for c in {commands})):
    try:
        main(args)
    except SystemExit:
        pass
heavy = ("torch", "sklearn", "pandas", "skorch", "skhealth._estimator")
print(sorted(name for name in heavy if name in sys.modules), file=sys.stderr)
"""


def test_version_and_help_import_neither_torch_nor_sklearn_nor_pandas():
    code = _STARTUP.format(commands=COMMANDS)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stderr == "[]\n"


def test_version_answers_in_well_under_the_seconds_torch_takes():
    # about 0.1 s; importing torch took 7 to 26 s (see benchmarks/startup.py)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "skhealth", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert time.perf_counter() - start < 5
    assert result.stdout == f"skhealth {skhealth.__version__}\n"


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "the following arguments are required: COMMAND" in capsys.readouterr().err


# -------------------------------------------------------------------- fit
def test_fit_saves_a_pipeline_on_the_feature_columns(model_path):
    model = skhealth.load(model_path)
    assert list(model.feature_names_in_) == FEATURES
    assert list(model[-1].target_names_) == TARGETS
    assert model[-1].max_iter == 5


def test_fit_preprocesses_the_features_as_make_default_preprocessor(
    data_path, model_path
):
    X = pd.read_csv(data_path)[FEATURES]
    expected = make_default_preprocessor(X).fit(X)
    np.testing.assert_array_equal(
        skhealth.load(model_path)[0].transform(X), expected.transform(X)
    )


def _held_out(data_path, seed=0):
    """The rows ``fit`` holds out by default with ``--seed seed``: 20 %, those
    of train_test_split(random_state=seed)."""
    data = pd.read_csv(data_path)
    return train_test_split(data, test_size=0.2, random_state=seed)[1]


def test_fit_no_refit_saves_the_model_whose_held_out_scores_it_prints(
    data_path, tmp_path, capsys
):
    path = tmp_path / "m.skh"
    status, out, _ = run(capsys, *fit_args(data_path, path, "--no-refit"))
    held_out = _held_out(data_path)
    prediction = skhealth.load(path).predict(held_out[FEATURES])
    scores = task_scores(held_out[TARGETS], prediction)
    assert status == 0
    assert out.startswith(
        "Fitted on 240 of 300 rows, 5 features, 3 targets, seed 0: 5 epochs\n\n"
        "Validation scores (60 held-out rows):\n"
    )
    assert out.endswith(
        f"mean R2: {scores['r2'].mean():.3f}\n\nSaved the model to {path}: the "
        "fit on 240 rows scored above (--no-refit)\n"
    )


def test_fit_no_refit_without_validation_is_a_usage_error(
    data_path, tmp_path, no_fit, capsys
):
    args = fit_args(data_path, tmp_path / "m.skh", "--no-refit")
    status, message = error_of(capsys, *args, "--validation-fraction", "0")
    assert status == 2
    assert message == (
        "--no-refit and --validation-fraction 0: --no-refit saves the fit scored "
        "on held-out rows, and 0 holds out none; give one of them"
    )


def test_fit_prints_the_held_out_scores_then_refits_on_every_row(
    data_path, tmp_path, capsys
):
    path = tmp_path / "m.skh"
    _, scored, _ = run(capsys, *fit_args(data_path, tmp_path / "s.skh", "--no-refit"))
    status, out, _ = run(capsys, *fit_args(data_path, path))
    scores, _, _ = scored.partition("\n\nSaved")
    assert status == 0
    assert out == (
        f"{scores}\n\nRefitted on all 300 rows for the saved model: 5 epochs (the "
        f"scores above are those of the fit on 240 rows)\n\nSaved the model to "
        f"{path}\n"
    )


def test_fit_refits_on_every_row_the_model_it_saves(data_path, tmp_path):
    refit, once = tmp_path / "refit.skh", tmp_path / "once.skh"
    assert main(fit_args(data_path, refit, "-q")) == 0
    assert main(fit_args(data_path, once, "-q", "--validation-fraction", "0")) == 0
    X = pd.read_csv(data_path)[FEATURES]
    np.testing.assert_array_equal(
        skhealth.load(refit).predict(X), skhealth.load(once).predict(X)
    )


def test_fit_quiet_prints_nothing(data_path, tmp_path, capsys):
    status, out, _ = run(capsys, *fit_args(data_path, tmp_path / "m.skh", "-q"))
    assert (status, out) == (0, "")


def test_fit_without_validation_fits_once_on_every_row(data_path, tmp_path, capsys):
    path = tmp_path / "m.skh"
    args = fit_args(data_path, path, "--validation-fraction", "0")
    status, out, _ = run(capsys, *args)
    assert status == 0
    assert out == (
        "Fitted on 300 rows, 5 features, 3 targets, seed 0: 5 epochs\n\n"
        f"Saved the model to {path}\n"
    )


def test_two_fits_with_the_default_seed_make_the_same_predictions(data_path, tmp_path):
    first, second = tmp_path / "first.skh", tmp_path / "second.skh"
    for path in (first, second):
        assert main(fit_args(data_path, path, "-q", "--validation-fraction", "0")) == 0
    X = pd.read_csv(data_path)[FEATURES]
    assert skhealth.load(first)[-1].random_state == 0
    np.testing.assert_array_equal(
        skhealth.load(first).predict(X), skhealth.load(second).predict(X)
    )


def test_fit_seed_draws_the_held_out_rows_and_seeds_the_network(
    data_path, tmp_path, capsys
):
    path = tmp_path / "m.skh"
    args = fit_args(data_path, path, "--seed", "3", "--no-refit")
    status, out, _ = run(capsys, *args)
    held_out = _held_out(data_path, seed=3)
    prediction = skhealth.load(path).predict(held_out[FEATURES])
    mean_r2 = task_scores(held_out[TARGETS], prediction)["r2"].mean()
    assert status == 0
    assert out.startswith("Fitted on 240 of 300 rows, 5 features, 3 targets, seed 3")
    assert f"mean R2: {mean_r2:.3f}\n" in out
    assert skhealth.load(path)[-1].random_state == 3


def test_fit_param_random_state_is_the_seed(data_path, tmp_path, capsys):
    by_param, by_seed = tmp_path / "param.skh", tmp_path / "seed.skh"
    status, out, _ = run(
        capsys, *fit_args(data_path, by_param, "--param", "random_state=3")
    )
    assert main(fit_args(data_path, by_seed, "-q", "--seed", "3")) == 0
    X = pd.read_csv(data_path)[FEATURES]
    assert status == 0
    assert ", seed 3: " in out.splitlines()[0]
    np.testing.assert_array_equal(
        skhealth.load(by_param).predict(X), skhealth.load(by_seed).predict(X)
    )


def test_fit_param_random_state_none_fits_without_a_seed(data_path, tmp_path, capsys):
    path = tmp_path / "m.skh"
    args = fit_args(data_path, path, "--param", "random_state=none")
    status, out, _ = run(capsys, *args, "--validation-fraction", "0")
    assert status == 0
    assert out.startswith("Fitted on 300 rows, 5 features, 3 targets, no seed: ")
    assert skhealth.load(path)[-1].random_state is None


def test_fit_seed_and_param_random_state_together_are_a_usage_error(
    data_path, tmp_path, no_fit, capsys
):
    args = fit_args(data_path, tmp_path / "m.skh", "--seed", "1")
    status, message = error_of(capsys, *args, "--param", "random_state=2")
    assert status == 2
    assert message == (
        "--seed 1 and --param random_state=2 both set the seed; give one of them"
    )


@pytest.mark.parametrize("seed", ["-1", "x", "4294967296"])
def test_fit_seed_that_numpy_cannot_take_is_a_usage_error(
    seed, data_path, tmp_path, capsys
):
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in fit_args(data_path, tmp_path / "m.skh", "--seed", seed)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.endswith(
        f"argument --seed: {seed!r} is not an integer in [0, 4294967295]\n"
    )


def test_fit_target_given_twice_is_a_usage_error(data_path, tmp_path, no_fit, capsys):
    args = fit_args(data_path, tmp_path / "m.skh", "--target", "hdl")
    status, message = error_of(capsys, *args)
    assert (status, message) == (2, "--target hdl: given twice; give it once")


def test_fit_misspelt_param_suggests_the_closest(data_path, tmp_path, no_fit, capsys):
    args = fit_args(data_path, tmp_path / "m.skh", "--param", "max_iters=3")
    status, message = error_of(capsys, *args)
    assert status == 2
    assert message.startswith(
        "--param max_iters: MultiTaskHealthRegressor has no such parameter; did you "
        "mean 'max_iter'? Or use one of activation, alpha,"
    )


def test_fit_summary_counts_one_target_in_the_singular(data_path, tmp_path, capsys):
    args = [
        "fit", data_path, "--target", "hdl", "--id-column", "patient_id",
        "--param", "max_iter=2", "--validation-fraction", "0", "-o", tmp_path / "m.skh",
    ]  # fmt: skip
    status, out, _ = run(capsys, *args)
    assert status == 0
    assert out.startswith("Fitted on 300 rows, 7 features, 1 target, seed 0: ")


@pytest.mark.parametrize(
    ("column", "values"),
    [("record", range(101, 401)), ("code", [f"p{i:03d}" for i in range(300)])],
    ids=["consecutive integers", "text"],
)
def test_fit_warns_of_a_feature_that_looks_like_an_identifier(
    column, values, data_path, tmp_path, capsys
):
    data = pd.read_csv(data_path).assign(**{column: list(values)})
    data.to_csv(tmp_path / "ids.csv", index=False)
    args = fit_args(tmp_path / "ids.csv", tmp_path / "m.skh", "-q")
    status, _, err = run(capsys, *args, "--validation-fraction", "0")
    assert status == 0
    assert (
        f"skhealth: warning: {tmp_path / 'ids.csv'}: the feature {column!r} holds a "
        "different value in every row, as an identifier does; pass --id-column "
        f"{column} (or --drop {column}) unless it is a measurement\n"
    ) in err


def test_fit_does_not_take_measurements_different_in_every_row_for_ids(
    data_path, tmp_path, capsys
):
    # age (floats) and steps (integers with gaps) differ in nearly every row
    data = pd.read_csv(data_path).assign(days=np.arange(300) * 3 + 10)
    data.to_csv(tmp_path / "days.csv", index=False)
    args = fit_args(tmp_path / "days.csv", tmp_path / "m.skh", "-q")
    status, _, err = run(capsys, *args, "--validation-fraction", "0")
    assert status == 0
    assert "identifier" not in err


def test_fit_log_target_learns_that_target_as_its_log(data_path, tmp_path, capsys):
    path = tmp_path / "m.skh"
    extra = ("--log-target", "hba1c", "--validation-fraction", "0", "-q")
    assert main([str(a) for a in fit_args(data_path, path, *extra)]) == 0
    assert skhealth.load(path)[-1].target_transform == {"hba1c": "log"}
    _, out, _ = run(capsys, "info", path)
    assert "targets (3): systolic_bp, hdl, hba1c (learnt as its log)" in out


def test_fit_log_target_that_is_no_target_is_a_usage_error(
    data_path, tmp_path, no_fit, capsys
):
    args = fit_args(data_path, tmp_path / "m.skh", "--log-target", "age")
    status, message = error_of(capsys, *args)
    assert status == 2
    assert message == (
        "--log-target age: it is no --target; the targets are systolic_bp, hdl, hba1c"
    )


def test_fit_log_target_with_a_label_of_zero_is_a_usage_error(
    data_path, tmp_path, no_fit, capsys
):
    zero = _with_value(data_path, tmp_path / "zero.csv", "hdl", 0, rows=(30, 40))
    status, message = error_of(
        capsys, *fit_args(zero, tmp_path / "m.skh", "--log-target", "hdl")
    )
    assert status == 2
    assert message == (
        f"--log-target hdl: {zero} has 2 labels of 0 or less in that column (the "
        "first, 0, in row 31 of the table, counting from 1), whose log is "
        "undefined: leave the target out of --log-target"
    )


def test_fit_log_target_and_param_target_transform_are_a_usage_error(
    data_path, tmp_path, no_fit, capsys
):
    args = fit_args(data_path, tmp_path / "m.skh", "--log-target", "hdl")
    status, message = error_of(capsys, *args, "--param", "target_transform=log1p")
    assert status == 2
    assert message == (
        "--log-target and --param target_transform both set the target "
        "transforms; give one of them"
    )


def test_fit_drop_removes_feature_columns(data_path, tmp_path, capsys):
    path = tmp_path / "m.skh"
    args = fit_args(data_path, path, "-q", "--drop", "steps", "--drop", "sex")
    assert main(args) == 0
    assert list(skhealth.load(path).feature_names_in_) == [
        "age",
        "smoker",
        "sleep_hours",
    ]


def test_fit_params_are_python_literals_or_strings(data_path, tmp_path):
    path = tmp_path / "m.skh"
    params = [
        "hidden_layer_sizes=8,4",
        "early_stopping=true",
        "task_weighting=uncertainty",
        "loss='huber'",
        "learning_rate_init=1e-2",
        "random_state=7",
    ]
    args = fit_args(data_path, path, "-q", *(f"--param={p}" for p in params))
    assert main(args) == 0
    estimator = skhealth.load(path)[-1]
    assert estimator.hidden_layer_sizes == (8, 4)
    assert estimator.early_stopping is True
    assert estimator.task_weighting == "uncertainty"
    assert estimator.loss == "huber"
    assert estimator.learning_rate_init == 0.01
    assert estimator.random_state == 7


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True),
        ("FALSE", False),
        ("True", True),
        ("none", None),
        ("None", None),
        ("50", 50),
        ("-3", -3),
        ("1e-2", 0.01),
        ("uncertainty", "uncertainty"),
        ("'uncertainty'", "uncertainty"),
        ('"true"', "true"),
        ("64,32", (64, 32)),
        ("(64,)", (64,)),
        ("[huber, squared_error]", ["huber", "squared_error"]),
        ("{hdl: 2, sbp: none}", {"hdl": 2, "sbp": None}),
        ("cuda:0", "cuda:0"),
        ("a-b", "a-b"),
        ("f(x)", "f(x)"),
        ("", ""),
    ],
)
def test_param_values_are_literals_with_bare_words_as_strings(text, value):
    assert _parse_value(text) == value
    assert type(_parse_value(text)) is type(value)


def test_param_value_the_estimator_refuses_is_a_usage_error(
    data_path, tmp_path, no_fit, capsys
):
    args = fit_args(data_path, tmp_path / "m.skh", "--param", "early_stopping=yes")
    status, message = error_of(capsys, *args)
    assert status == 2
    assert message.startswith(
        "--param: The 'early_stopping' parameter of MultiTaskHealthRegressor must be "
    )
    assert message.endswith(" Got 'yes' instead.")


def test_fit_reports_convergence_as_one_line_once_for_the_fit_and_refit(
    data_path, tmp_path, capsys
):
    _, _, err = run(capsys, *fit_args(data_path, tmp_path / "m.skh"))
    assert err == (
        "skhealth: warning: Maximum iterations (5) reached and the optimization "
        "hasn't converged yet.\n"
    )


def test_fit_reads_a_large_column_of_digits_and_text_as_text(tmp_path, capsys):
    # pandas' default (low_memory) infers types per block of rows: the digits
    # of the first block came back as numbers, the rest as text, and fitting
    # the encoder failed with a TypeError
    n = 270_000
    data = tmp_path / "large.csv"
    code = np.where(np.arange(n) < 263_000, "1", "x")
    pd.DataFrame({"code": code, "y": np.arange(n) % 3}).to_csv(data, index=False)
    path = tmp_path / "m.skh"
    args = ["fit", data, "--target", "y", "--param", "max_iter=1", "-q"]
    status, _, _ = run(capsys, *args, "--validation-fraction", "0.99", "-o", path)
    assert status == 0
    encoder = skhealth.load(path)[0].named_transformers_["categorical"][-1]
    assert [list(categories) for categories in encoder.categories_] == [["1", "x"]]


def _with_value(data_path, path, column, value, rows=(20,)):
    """The table at ``data_path`` with ``value`` in ``column`` at ``rows``,
    written to ``path``."""
    data = pd.read_csv(data_path)
    data[column] = data[column].astype(object)
    data.loc[list(rows), column] = value
    data.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("column", ["age", "hdl"], ids=["feature", "target"])
def test_fit_treats_stray_text_in_a_numeric_column_as_missing_and_warns(
    column, data_path, tmp_path, capsys
):
    stray = _with_value(data_path, tmp_path / "stray.csv", column, "12a")
    missing = _with_value(data_path, tmp_path / "missing.csv", column, np.nan)
    options = ("-q", "--param", "random_state=0")
    status, _, err = run(capsys, *fit_args(stray, tmp_path / "stray.skh", *options))
    assert status == 0
    assert (
        f"skhealth: warning: {stray}: column {column!r} holds numbers and 1 "
        "value(s) that are not ('12a'): they are treated as missing values, so "
        "that the column stays numeric; pass --strict to refuse such a table\n"
    ) in err
    assert main(fit_args(missing, tmp_path / "missing.skh", *options)) == 0
    X = pd.read_csv(missing)[FEATURES]
    np.testing.assert_array_equal(
        skhealth.load(tmp_path / "stray.skh").predict(X),
        skhealth.load(tmp_path / "missing.skh").predict(X),
    )


def test_fit_strict_refuses_stray_text_in_a_numeric_column(
    data_path, tmp_path, no_fit, capsys
):
    stray = _with_value(data_path, tmp_path / "stray.csv", "age", "12a")
    path = tmp_path / "m.skh"
    status, message = error_of(capsys, *fit_args(stray, path, "--strict"))
    assert status == 1
    assert message == (
        f"{stray}: column 'age' holds numbers and 1 value(s) that are not "
        "('12a'); correct them, or leave out --strict to treat them as missing "
        "values"
    )
    assert not path.exists()


def test_fit_one_hot_encodes_a_column_of_numbers_and_much_text(
    data_path, tmp_path, capsys
):
    # a fifth of the rows hold text: not a few stray values
    mixed = _with_value(data_path, tmp_path / "mixed.csv", "steps", "?", range(60))
    path = tmp_path / "m.skh"
    status, _, err = run(capsys, *fit_args(mixed, path, "-q"))
    assert status == 0
    assert "steps" not in err
    columns = {name: list(c) for name, _, c in skhealth.load(path)[0].transformers_}
    assert "steps" in columns["categorical"]


@pytest.fixture
def coded_path(data_path, tmp_path):
    """The table of data_path with a column of numeric codes, stage 1 to 3."""
    data = pd.read_csv(data_path)
    data["stage"] = np.arange(len(data)) % 3 + 1
    path = tmp_path / "coded.csv"
    data.to_csv(path, index=False)
    return path


def coded_args(path, model, *extra):
    """The arguments that fit ``model`` to the table of coded_path at ``path``,
    on every row, with stage as a categorical column."""
    categorical = ("--categorical", "stage", "--validation-fraction", "0")
    return [str(arg) for arg in fit_args(path, model, *categorical, *extra)]


def test_fit_categorical_one_hot_encodes_a_column_of_numeric_codes(
    coded_path, tmp_path
):
    path = tmp_path / "m.skh"
    assert main(coded_args(coded_path, path, "-q")) == 0
    preprocess = skhealth.load(path)[0]
    columns = {name: list(c) for name, _, c in preprocess.transformers_}
    assert columns == {
        "numeric": ["age", "sleep_hours", "steps"],
        "categorical": ["sex", "smoker", "stage"],
    }
    X = pd.read_csv(coded_path)[[*FEATURES, "stage"]]
    expected = make_default_preprocessor(X, categorical=["stage"]).fit(X)
    np.testing.assert_array_equal(preprocess.transform(X), expected.transform(X))


def test_fit_categorical_codes_with_stray_text_stay_as_written(
    coded_path, tmp_path, capsys
):
    # without --categorical, "x" would be a stray value among numbers
    coded = _with_value(coded_path, tmp_path / "x.csv", "stage", "x")
    path = tmp_path / "m.skh"
    status, _, err = run(capsys, *coded_args(coded, path, "-q"))
    encoder = skhealth.load(path)[0].named_transformers_["categorical"][-1]
    assert status == 0
    assert "stage" not in err
    assert list(encoder.categories_[2]) == ["1", "2", "3", "x"]


def test_fit_unknown_categorical_column_is_a_usage_error_naming_the_closest(
    coded_path, tmp_path, no_fit, capsys
):
    args = fit_args(coded_path, tmp_path / "m.skh", "--categorical", "stag")
    status, message = error_of(capsys, *args)
    assert status == 2
    assert message == (
        f"--categorical: {coded_path} has no column 'stag'; did you mean 'stage'?"
    )


@pytest.mark.parametrize(
    ("column", "option"),
    [("hdl", "--target"), ("patient_id", "--id-column"), ("steps", "--drop")],
)
def test_fit_categorical_column_that_is_no_feature_is_a_usage_error(
    column, option, data_path, tmp_path, no_fit, capsys
):
    args = fit_args(data_path, tmp_path / "m.skh", "--drop", "steps")
    status, message = error_of(capsys, *args, "--categorical", column)
    assert status == 2
    assert message == (
        f"--categorical {column}: {option} names that column too, so it is no "
        "feature to encode"
    )


_BEYOND_FLOAT32 = (
    ", beyond the range of float32 (±3.4e+38), in which the network computes: "
    "rescale that feature, e.g. divide it by a power of 10."
)
_too_large_values = pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("inf", "inf: every feature value must be finite."),
        (-1e308, "-1e+308" + _BEYOND_FLOAT32),  # whose square overflows
    ],
)


@_too_large_values
def test_fit_refuses_an_infinite_or_too_large_feature_value_naming_it(
    value, problem, data_path, tmp_path, no_fit, capsys
):
    bad = _with_value(data_path, tmp_path / "bad.csv", "age", value)
    status, message = error_of(capsys, *fit_args(bad, tmp_path / "m.skh"))
    assert (status, message) == (1, f"{bad}: column 'age' holds {problem}")


@_too_large_values
@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_infinite_or_too_large_feature_value_is_an_error_naming_it(
    command, value, problem, data_path, model_path, tmp_path, capsys
):
    bad = _with_value(data_path, tmp_path / "bad.csv", "age", value)
    status, message = error_of(capsys, command, model_path, bad)
    assert (status, message) == (1, f"{bad}: column 'age' holds {problem}")


def test_fit_refuses_an_infinite_target_value_naming_it(
    data_path, tmp_path, no_fit, capsys
):
    bad = _with_value(data_path, tmp_path / "bad.csv", "hdl", "inf")
    status, message = error_of(capsys, *fit_args(bad, tmp_path / "m.skh"))
    assert (status, message) == (
        1,
        f"{bad}: column 'hdl' holds inf: every target value must be finite "
        "(leave a label empty where unknown).",
    )


def test_evaluate_refuses_a_target_beyond_float32_naming_it(
    data_path, model_path, tmp_path, capsys
):
    bad = _with_value(data_path, tmp_path / "bad.csv", "hdl", 1e39)
    status, message = error_of(capsys, "evaluate", model_path, bad)
    assert (status, message) == (
        1,
        f"{bad}: column 'hdl' holds 1e+39, beyond the range of float32 (±3.4e+38), "
        "in which the network computes: rescale that target, e.g. divide it by a "
        "power of 10.",
    )


@pytest.mark.parametrize("command", ["fit", "predict", "evaluate"])
def test_a_csv_file_whose_columns_share_names_is_an_error_naming_them(
    command, data_path, model_path, tmp_path, capsys
):
    lines = data_path.read_text().splitlines()
    # pandas would read the second "age" as "age.1", and "hdl" as "hdl.1"
    lines[0] = lines[0].replace("sex", "age").replace("sleep_hours", "hdl")
    shared = tmp_path / "shared.csv"
    shared.write_text("\n".join(lines) + "\n")
    args = {
        "fit": fit_args(shared, tmp_path / "m.skh"),
        "predict": ["predict", model_path, shared],
        "evaluate": ["evaluate", model_path, shared],
    }[command]
    status, message = error_of(capsys, *args)
    assert (status, message) == (
        1,
        f"{shared} has several columns named 'age', 'hdl': give each column its "
        "own name",
    )


def test_fit_into_a_directory_fails_before_fitting(data_path, tmp_path, no_fit, capsys):
    status, message = error_of(capsys, *fit_args(data_path, tmp_path))
    assert status == 2
    assert message == f"-o {tmp_path}: it is a directory; name a file to write"


def test_fit_param_a_model_file_cannot_store_fails_before_fitting(
    data_path, tmp_path, no_fit, capsys
):
    param = "task_weighting={'hdl': {1, 2}}"  # a set
    args = fit_args(data_path, tmp_path / "m.skh", "--param", param)
    status, message = error_of(capsys, *args)
    assert status == 2
    assert message == (
        "--param task_weighting: a model file cannot store {'hdl': {1, 2}}; use "
        "None, bools, numbers and strings, or lists, tuples and dicts of them"
    )


def test_fit_over_its_data_file_fails_before_fitting(data_path, no_fit, capsys):
    before = data_path.read_bytes()
    status, message = error_of(capsys, *fit_args(data_path, data_path))
    assert status == 2
    assert message == (
        f"-o {data_path}: it is the input file {data_path}; write to another file"
    )
    assert data_path.read_bytes() == before


@pytest.mark.parametrize("name", ["out.csv", "out.csv.gz", "out.parquet", "out.tsv"])
def test_fit_to_a_table_file_name_fails_before_fitting(
    name, data_path, tmp_path, no_fit, capsys
):
    output = tmp_path / name
    status, message = error_of(capsys, *fit_args(data_path, output))
    assert status == 2
    assert message == (
        f"-o {output}: that names a table, not a model file; write the model to a "
        ".skh file"
    )
    assert not output.exists()


def test_fit_id_column_that_is_a_target_is_a_usage_error(
    data_path, tmp_path, no_fit, capsys
):
    args = ["fit", data_path, "--target", "hdl", "--id-column", "hdl"]
    status, message = error_of(capsys, *args, "-o", tmp_path / "m.skh")
    assert status == 2
    assert message == (
        "--id-column hdl: the column is also a --target; an id is not a value to "
        "predict"
    )


# ---------------------------------------------------------------- predict
def test_predict_writes_the_loaded_models_predictions(
    data_path, model_path, tmp_path, capsys
):
    output = tmp_path / "pred.csv"
    status, out, err = run(
        capsys,
        "predict",
        model_path,
        data_path,
        "--id-column",
        "patient_id",
        "-o",
        output,
    )
    assert (status, out, err) == (0, "", "")
    data = pd.read_csv(data_path)
    # pandas' default float parser can miss the written value by an ulp
    pred = pd.read_csv(output, float_precision="round_trip")
    assert list(pred.columns) == ["patient_id", *TARGETS]
    assert pred["patient_id"].tolist() == data["patient_id"].tolist()
    expected = skhealth.load(model_path).predict(data[FEATURES])
    np.testing.assert_array_equal(pred[TARGETS].to_numpy(), expected)


@pytest.mark.parametrize(
    "ids",
    [["1000", "", "1002", "007"], ["p1", "NA", "", "n/a", "0042", "1e3"]],
    ids=["digits", "text"],
)
def test_predict_copies_the_ids_exactly_as_written(
    ids, model_path, data_path, tmp_path
):
    # patient_id is the first column of data_path: give its rows these ids
    header, *rows = data_path.read_text().splitlines()[: 1 + len(ids)]
    rows = [
        f"{id_},{row.partition(',')[2]}" for id_, row in zip(ids, rows, strict=True)
    ]
    edited, output = tmp_path / "edited.csv", tmp_path / "pred.csv"
    edited.write_text("\n".join([header, *rows]) + "\n")
    args = ["predict", model_path, edited, "--id-column", "patient_id", "-o", output]
    assert main([str(arg) for arg in args]) == 0
    lines = output.read_text().splitlines()
    assert lines[0] == ",".join(["patient_id", *TARGETS])
    assert [line.split(",")[0] for line in lines[1:]] == ids


def test_predict_keeps_integer_parquet_ids_with_some_missing_integers(
    model_path, data_path, tmp_path
):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    data = pd.read_csv(data_path).head(3)
    data["patient_id"] = pd.array([7, None, 42], dtype="Int64")
    edited, output = tmp_path / "edited.parquet", tmp_path / "pred.csv"
    # written without pandas' metadata, as other tools write it: pandas reads
    # an integer column with missing values as floats by default
    table = pa.Table.from_pandas(data, preserve_index=False)
    pq.write_table(table.replace_schema_metadata(None), edited)
    args = ["predict", model_path, edited, "--id-column", "patient_id", "-o", output]
    assert main([str(arg) for arg in args]) == 0
    lines = output.read_text().splitlines()
    assert [line.split(",")[0] for line in lines] == ["patient_id", "7", "", "42"]


def test_predict_id_column_that_is_a_target_is_a_usage_error(
    data_path, model_path, capsys
):
    args = ["predict", model_path, data_path, "--id-column", "hdl"]
    status, message = error_of(capsys, *args)
    assert status == 2
    assert message == (
        "--id-column hdl: the predictions have a column of that name too; copy "
        "another column, or none"
    )


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null")
def test_predict_writes_to_dev_null(data_path, model_path, capsys):
    status, out, err = run(capsys, "predict", model_path, data_path, "-o", "/dev/null")
    assert (status, out, err) == (0, "", "")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_predict_write_error_names_the_file(data_path, model_path, capsys):
    # writing to /dev/full fails as a full disk does, with ENOSPC
    status, message = error_of(
        capsys, "predict", model_path, data_path, "-o", "/dev/full"
    )
    assert (status, message) == (1, "/dev/full: No space left on device")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_predict_write_error_on_standard_output_says_so(
    data_path, model_path, monkeypatch, capsys
):
    with open("/dev/full", "w") as full:
        monkeypatch.setattr(sys, "stdout", full)
        status, message = error_of(capsys, "predict", model_path, data_path)
    assert (status, message) == (1, "standard output: No space left on device")


def test_predict_stops_quietly_when_the_reader_of_its_output_has_gone(
    data_path, model_path, monkeypatch, capsys
):
    read, write = os.pipe()
    os.close(read)  # as head does, once it has its lines
    with open(write, "w") as pipe:
        monkeypatch.setattr(sys, "stdout", pipe)
        status, _, err = run(capsys, "predict", model_path, data_path)
    assert (status, err) == (1, "")


def test_fit_save_error_is_one_line_naming_the_file(
    data_path, tmp_path, monkeypatch, capsys
):
    def save(model, path, **kwargs):  # as skhealth.save reports a full disk
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr("skhealth.model_files.save", save)
    path = tmp_path / "m.skh"
    status, out, err = run(capsys, *fit_args(data_path, path, "-q"))
    assert (status, out) == (1, "")
    assert err.splitlines()[-1] == f"skhealth: error: {path}: No space left on device"


def test_predict_over_its_data_file_is_a_usage_error(data_path, model_path, capsys):
    before = data_path.read_bytes()
    args = ["predict", model_path, data_path, "-o", data_path]
    status, message = error_of(capsys, *args)
    assert status == 2
    assert message == (
        f"-o {data_path}: it is the input file {data_path}; write to another file"
    )
    assert data_path.read_bytes() == before


def test_predict_writes_csv_to_stdout_by_default(data_path, model_path, capsys):
    status, out, _ = run(capsys, "predict", model_path, data_path)
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == ",".join(TARGETS)
    assert len(lines) == 1 + 300


def test_predict_interval_adds_each_targets_bounds_after_it(
    data_path, model_path, capsys
):
    status, out, _ = run(capsys, "predict", model_path, data_path, "--interval", "0.8")
    assert status == 0
    pred = pd.read_csv(io.StringIO(out), float_precision="round_trip")
    assert list(pred.columns) == [
        f"{target}{end}" for target in TARGETS for end in ("", "_lower", "_upper")
    ]
    data = pd.read_csv(data_path)
    model = skhealth.load(model_path)
    bounds = model[-1].predict_interval(model[:-1].transform(data[FEATURES]), 0.8)
    for t, target in enumerate(TARGETS):
        np.testing.assert_array_equal(pred[f"{target}_lower"], bounds[:, t, 0])
        np.testing.assert_array_equal(pred[f"{target}_upper"], bounds[:, t, 1])


@pytest.fixture
def grouped_model_path(model_path, data_path, tmp_path):
    """The fitted model, calibrated per sex on its data and saved."""
    model = skhealth.load(model_path)
    data = pd.read_csv(data_path)
    X = model[:-1].transform(data[FEATURES])
    model[-1].calibrate(X, data[TARGETS], groups=data["sex"])
    path = tmp_path / "grouped.skh"
    skhealth.save(model, path)
    return path


def test_predict_group_column_gives_each_row_its_groups_interval(
    data_path, grouped_model_path, capsys
):
    status, out, _ = run(
        capsys,
        "predict",
        grouped_model_path,
        data_path,
        "--interval",
        "0.8",
        "--group-column",
        "sex",
    )
    assert status == 0
    pred = pd.read_csv(io.StringIO(out), float_precision="round_trip")
    data = pd.read_csv(data_path)
    model = skhealth.load(grouped_model_path)
    X = model[:-1].transform(data[FEATURES])
    bounds = model[-1].predict_interval(X, 0.8, groups=data["sex"])
    np.testing.assert_array_equal(pred["hdl_lower"], bounds[:, 1, 0])
    np.testing.assert_array_equal(pred["hdl_upper"], bounds[:, 1, 1])


def test_predict_interval_of_a_model_calibrated_per_group_needs_the_group_column(
    data_path, grouped_model_path, capsys
):
    status, message = error_of(
        capsys, "predict", grouped_model_path, data_path, "--interval", "0.8"
    )
    assert (status, message) == (
        2,
        "--interval: the model was calibrated per group (female, male); give the "
        "column of each row's group with --group-column COL",
    )


def test_predict_interval_of_a_model_without_calibration_says_how_to_fit_one(
    data_path, tmp_path, capsys
):
    path = tmp_path / "m.skh"
    args = fit_args(data_path, path, "--quiet", "--validation-fraction", "0")
    assert main([*args, "--param", "early_stopping=false"]) == 0
    capsys.readouterr()
    status, message = error_of(capsys, "predict", path, data_path, "--interval", "0.9")
    assert (status, message) == (
        1,
        f"--interval: {path} has no calibration of its uncertainty: it was fitted "
        "without held-out rows (under 50 rows, or with --param "
        "early_stopping=false). Fit it on more rows, or with --param "
        "early_stopping=true, which holds out validation rows to calibrate on",
    )


def test_predict_group_column_without_interval_is_a_usage_error(
    data_path, model_path, capsys
):
    status, message = error_of(
        capsys, "predict", model_path, data_path, "--group-column", "sex"
    )
    assert (status, message) == (
        2,
        "--group-column picks each row's interval calibration: give it with --interval",
    )


def test_predict_id_column_named_like_an_interval_bound_is_a_usage_error(
    data_path, model_path, tmp_path, capsys
):
    data = pd.read_csv(data_path).rename(columns={"patient_id": "hdl_lower"})
    renamed = tmp_path / "renamed.csv"
    data.to_csv(renamed, index=False)
    args = ["predict", model_path, renamed, "--interval", "0.8"]
    status, message = error_of(capsys, *args, "--id-column", "hdl_lower")
    assert (status, message) == (
        2,
        "--id-column hdl_lower: the predictions have a column of that name too; "
        "copy another column, or none",
    )


@pytest.mark.parametrize("value", ["1", "0", "90", "ninety"])
def test_predict_interval_outside_zero_one_is_a_usage_error(
    data_path, model_path, capsys, value
):
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(model_path), str(data_path), "--interval", value])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.endswith(
        f"argument --interval: {value!r} is not a number strictly between 0 and 1 "
        "(0.9 for 90 % intervals)\n"
    )


def test_predict_names_the_missing_feature_columns(
    data_path, model_path, tmp_path, capsys
):
    partial = tmp_path / "partial.csv"
    pd.read_csv(data_path).drop(columns=["sex", "steps"]).to_csv(partial, index=False)
    status, message = error_of(capsys, "predict", model_path, partial)
    assert status == 1
    assert message == f"{partial} lacks 2 feature column(s) of the model: sex, steps"


@pytest.mark.parametrize(
    ("command", "column"),
    [("predict", "age"), ("evaluate", "age"), ("evaluate", "hdl")],
    ids=["predict_feature", "evaluate_feature", "evaluate_target"],
)
def test_text_in_a_numeric_column_is_an_error(
    command, column, data_path, model_path, tmp_path, capsys
):
    edited = tmp_path / "edited.csv"
    data = pd.read_csv(data_path)
    data[column] = data[column].astype(object)
    data.loc[20, column] = "high"
    data.to_csv(edited, index=False)
    status, message = error_of(capsys, command, model_path, edited)
    assert status == 1
    assert message == (
        f"{edited}: column {column!r} holds 'high', but the model was fitted on "
        "numbers there."
    )


def test_predict_takes_a_model_whose_text_column_was_empty_at_fit(
    data_path, tmp_path, capsys
):
    data = pd.read_csv(data_path)
    _, held_out = train_test_split(data, test_size=0.2, random_state=0)
    data["note"] = pd.Series(np.nan, index=data.index, dtype=object)
    data.loc[held_out.index[0], "note"] = "fasting"  # a text column, empty in fit
    edited, model = tmp_path / "edited.csv", tmp_path / "m.skh"
    data.to_csv(edited, index=False)
    # the model saved is the one fitted on the rows not held out
    assert main(fit_args(edited, model, "--quiet", "--no-refit")) == 0
    capsys.readouterr()
    status, out, _ = run(capsys, "predict", model, edited)  # scikit-learn warns
    assert status == 0
    assert len(out.splitlines()) == 1 + len(data)


@pytest.mark.filterwarnings("ignore:Input X has .* far from standardised")
def test_predict_takes_a_pipeline_made_outside_the_command_line(
    health_frame, tmp_path, capsys
):
    X, Y = health_frame
    # named as the command line names its parts, but built otherwise
    preprocess = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(sparse_output=False), ["sex", "smoker"]),
            ("numeric", SimpleImputer(), ["age", "sleep_hours", "steps"]),
        ]
    )
    model = make_pipeline(preprocess, MultiTaskHealthRegressor(max_iter=2)).fit(X, Y)
    path, data = tmp_path / "m.skh", tmp_path / "x.csv"
    skhealth.save(model, path)
    X.to_csv(data, index=False)
    status, out, _ = run(capsys, "predict", path, data)
    assert status == 0
    assert len(out.splitlines()) == 1 + len(X)


def test_predict_reads_categories_fitted_as_text_as_text(
    health_frame, tmp_path, capsys
):
    X, Y = health_frame
    grade = np.array(["1", "2", "x"])[np.arange(len(X)) % 3]
    data = X.assign(grade=grade).join(Y)
    train, digits, model, output = (
        tmp_path / name for name in ("train.csv", "digits.csv", "m.skh", "p.csv")
    )
    data.to_csv(train, index=False)
    data[grade != "x"].to_csv(digits, index=False)
    assert pd.read_csv(digits)["grade"].dtype == "int64"  # as pandas infers it
    targets = [arg for target in TARGETS for arg in ("--target", target)]
    fit = ["fit", train, *targets, "--param", "max_iter=5", "--quiet", "-o", model]
    assert main([str(arg) for arg in fit]) == 0
    capsys.readouterr()
    status, out, err = run(capsys, "predict", model, digits, "-o", output)
    assert (status, out, err) == (0, "", "")
    expected = skhealth.load(model).predict(data[grade != "x"][[*FEATURES, "grade"]])
    pred = pd.read_csv(output, float_precision="round_trip")
    np.testing.assert_array_equal(pred.to_numpy(), expected)


def test_predict_warns_of_categories_the_model_was_not_fitted_on(
    data_path, model_path, tmp_path, capsys
):
    edited = tmp_path / "edited.csv"
    data = pd.read_csv(data_path)
    data.loc[[3, 4], "sex"] = ["x", "unknown"]
    data.to_csv(edited, index=False)
    status, out, err = run(capsys, "predict", model_path, edited)
    assert status == 0
    assert len(out.splitlines()) == len(data) + 1
    assert err == (
        f"skhealth: warning: {edited}: column 'sex' holds values the model was not "
        "fitted on ('unknown', 'x'); they count as none of its categories.\n"
    )


@pytest.fixture
def coded_model(coded_path, tmp_path, capsys):
    """A model fitted with stage, a column of numeric codes, as categorical."""
    path = tmp_path / "coded.skh"
    assert main(coded_args(coded_path, path, "-q")) == 0
    capsys.readouterr()
    return path


def test_predict_reads_numeric_codes_with_missing_values(
    coded_path, coded_model, tmp_path, capsys
):
    # with a missing value, pandas reads the codes fitted as integers as floats
    edited = _with_value(coded_path, tmp_path / "edited.csv", "stage", np.nan)
    status, out, err = run(capsys, "predict", coded_model, edited)
    X = pd.read_csv(edited)[[*FEATURES, "stage"]]
    pred = pd.read_csv(io.StringIO(out), float_precision="round_trip")
    assert (status, err) == (0, "")
    assert X["stage"].dtype == "float64"
    np.testing.assert_array_equal(pred, skhealth.load(coded_model).predict(X))


def test_text_in_a_column_of_numeric_codes_is_an_error(
    coded_path, coded_model, tmp_path, capsys
):
    edited = _with_value(coded_path, tmp_path / "edited.csv", "stage", "x")
    status, message = error_of(capsys, "predict", coded_model, edited)
    assert status == 1
    assert message == (
        f"{edited}: column 'stage' holds 'x', but the model was fitted on numbers "
        "there."
    )


def test_predict_unknown_id_column_is_a_usage_error(data_path, model_path, capsys):
    args = ["predict", model_path, data_path, "--id-column", "patient"]
    status, message = error_of(capsys, *args)
    assert status == 2
    assert message == (
        f"--id-column: {data_path} has no column 'patient'; did you mean 'patient_id'?"
    )


# --------------------------------------------------------------- evaluate
def _expected_scores(model_path, data_path):
    data = pd.read_csv(data_path)
    model = skhealth.load(model_path)
    return task_scores(data[TARGETS], model.predict(data[FEATURES]))


def test_evaluate_csv_gives_the_per_task_scores(data_path, model_path, capsys):
    status, out, _ = run(capsys, "evaluate", model_path, data_path, "--format", "csv")
    assert status == 0
    scores = pd.read_csv(
        io.StringIO(out), index_col="task", float_precision="round_trip"
    )
    expected = _expected_scores(model_path, data_path)
    pd.testing.assert_frame_equal(scores, expected, check_exact=True)
    assert scores.loc["hdl", "n_observed"] == 290


def test_evaluate_json_maps_tasks_to_scores(data_path, model_path, capsys):
    status, out, _ = run(capsys, "evaluate", model_path, data_path, "--format", "json")
    assert status == 0
    scores = json.loads(out)
    expected = _expected_scores(model_path, data_path)
    assert list(scores) == TARGETS
    assert scores["hdl"] == expected.loc["hdl"].to_dict()


def test_evaluate_table_ends_with_the_mean_r2(data_path, model_path, capsys):
    status, out, _ = run(capsys, "evaluate", model_path, data_path)
    assert status == 0
    mean_r2 = _expected_scores(model_path, data_path)["r2"].mean()
    assert out.splitlines()[0].split() == ["r2", "mae", "rmse", "n_observed"]
    assert out.splitlines()[-1] == f"mean R2: {mean_r2:.3f}"


def test_evaluate_names_the_missing_target_columns(
    data_path, model_path, tmp_path, capsys
):
    unlabelled = tmp_path / "unlabelled.csv"
    data = pd.read_csv(data_path).drop(columns=["hdl", "hba1c"])
    data.to_csv(unlabelled, index=False)
    status, message = error_of(capsys, "evaluate", model_path, unlabelled)
    assert status == 1
    assert message == (
        f"{unlabelled} lacks 2 target column(s) of the model: hdl, hba1c"
    )


# ------------------------------------------------------------------- info
def test_info_describes_the_model(model_path, capsys):
    status, out, _ = run(capsys, "info", model_path)
    lines = out.splitlines()
    assert status == 0
    assert lines[0] == (
        "model: Pipeline(preprocess: ColumnTransformer, "
        "regressor: MultiTaskHealthRegressor)"
    )
    assert lines[1].startswith("saved with: ")
    versions = dict(
        v.split(" ") for v in lines[1].removeprefix("saved with: ").split(", ")
    )
    assert versions["skhealth"] == skhealth.__version__
    assert versions["torch"] == torch.__version__
    imputed = "categorical, imputed with its most frequent value, one-hot encoded as"
    assert lines[2:15] == [
        "epochs trained: 5",
        "targets (3): systolic_bp, hdl, hba1c",
        "prediction intervals: calibrated on the training rows, out of fold: "
        "300, 290, 300 labels",
        "privacy: none (trained without differential privacy)",
        "data profile: 5 columns of 300 training rows (percentiles, category "
        "shares and missing shares; no rows)",
        "features (5): age, sex, smoker, sleep_hours, steps",
        "encoding of each feature:",
        "  age: numeric, median-imputed, standardised",
        f"  sex: {imputed} 'female', 'male'",
        f"  smoker: {imputed} 'current', 'former', 'never'",
        "  sleep_hours: numeric, median-imputed, standardised",
        "  steps: numeric, median-imputed, standardised",
        "parameters of MultiTaskHealthRegressor:",
    ]
    assert "  max_iter = 5" in lines[15:]
    assert len(lines[15:]) == len(MultiTaskHealthRegressor().get_params())


def test_info_says_what_a_model_calibrated_per_group_was_calibrated_on(
    model_path, data_path, tmp_path, capsys
):
    model = skhealth.load(model_path)
    data = pd.read_csv(data_path)
    model[-1].calibrate(
        model[:-1].transform(data[FEATURES]), data[TARGETS], groups=data["sex"]
    )
    skhealth.save(model, tmp_path / "grouped.skh")
    status, out, _ = run(capsys, "info", tmp_path / "grouped.skh")
    female, male = (data["sex"] == "female"), (data["sex"] == "male")
    counts = [data.loc[rows, TARGETS].notna().sum().tolist() for rows in (female, male)]
    assert status == 0
    assert (
        "prediction intervals: calibrated per group on held-out rows (calibrate): "
        f"female: {', '.join(map(str, counts[0]))}; "
        f"male: {', '.join(map(str, counts[1]))} labels"
    ) in out.splitlines()


def test_info_says_a_model_without_held_out_rows_is_not_calibrated(
    data_path, tmp_path, capsys
):
    path = tmp_path / "m.skh"
    args = fit_args(data_path, path, "--quiet", "--validation-fraction", "0")
    assert main([*args, "--param", "early_stopping=false"]) == 0
    status, out, _ = run(capsys, "info", path)
    assert status == 0
    assert (
        "prediction intervals: not calibrated (predict --interval needs a model "
        "fitted with early stopping, or calibrated in Python)"
    ) in out.splitlines()


def encoding_lines(capsys, model_file):
    """The lines of ``skhealth info MODEL_FILE`` that say how each feature is
    encoded."""
    status, out, _ = run(capsys, "info", model_file)
    assert status == 0
    lines = out.splitlines()
    start = lines.index("encoding of each feature:") + 1
    end = next(i for i, line in enumerate(lines) if line.startswith("parameters "))
    return lines[start:end]


def test_info_shows_numeric_codes_as_categories_unquoted(coded_model, capsys):
    assert encoding_lines(capsys, coded_model)[-1] == (
        "  stage: categorical, imputed with its most frequent value, one-hot "
        "encoded as 1, 2, 3"
    )


@pytest.mark.filterwarnings("ignore:Input X has .* far from standardised")
def test_info_describes_the_encoding_of_a_pipeline_made_outside_the_command_line(
    health_frame, tmp_path, capsys
):
    X, Y = health_frame
    preprocess = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(sparse_output=False), ["sex", "smoker"]),
            ("numeric", SimpleImputer(), ["age", "sleep_hours"]),
        ]
    )  # steps is left out: the remainder is dropped
    model = make_pipeline(preprocess, MultiTaskHealthRegressor(max_iter=1)).fit(X, Y)
    skhealth.save(model, tmp_path / "m.skh")
    assert encoding_lines(capsys, tmp_path / "m.skh") == [
        "  age: numeric, mean-imputed",
        "  sex: categorical, one-hot encoded as 'female', 'male'",
        "  smoker: categorical, one-hot encoded as 'current', 'former', 'never'",
        "  sleep_hours: numeric, mean-imputed",
        "  steps: remainder, dropped",
    ]


def saved_encodings(capsys, tmp_path, preprocess, X, Y):
    """The encoding lines of ``skhealth info`` for the saved pipeline of
    ``preprocess`` and a MultiTaskHealthRegressor, fitted to ``X`` and ``Y``."""
    model = make_pipeline(*preprocess, MultiTaskHealthRegressor(max_iter=1))
    skhealth.save(model.fit(X, Y), tmp_path / "m.skh")
    return encoding_lines(capsys, tmp_path / "m.skh")


@pytest.mark.parametrize(
    ("numeric", "categorical"),
    [
        (["age", "steps"], ["sex"]),
        ([0, 1], [2]),
        ([True, True, False], [False, False, True]),
        (slice(0, 2), slice("sex", "sex")),
        (make_column_selector(dtype_include="number"), make_column_selector("sex")),
    ],
    ids=["names", "positions", "boolean_masks", "slices", "callables"],
)
def test_info_finds_the_columns_a_column_transformer_selects_however_selected(
    numeric, categorical, health_frame, tmp_path, capsys
):
    X, Y = health_frame
    preprocess = ColumnTransformer(
        [
            ("num", StandardScaler(), numeric),
            ("cat", OneHotEncoder(sparse_output=False), categorical),
        ]
    )
    lines = saved_encodings(
        capsys, tmp_path, [preprocess], X[["age", "steps", "sex"]], Y
    )
    assert lines == [
        "  age: num, standardised",
        "  steps: num, standardised",
        "  sex: cat, one-hot encoded as 'female', 'male'",
    ]


def test_info_describes_the_first_of_two_column_transformers_only(
    health_frame, tmp_path, capsys
):
    X, Y = health_frame
    first = ColumnTransformer(
        [
            ("num", StandardScaler(), ["age", "steps"]),
            ("cat", OneHotEncoder(sparse_output=False), ["sex"]),
        ]
    )
    # the second reads the first's columns, whose positions 2 and 3 are the
    # one-hot columns of sex, not features of X
    second = ColumnTransformer(
        [("again", StandardScaler(), [2, 3])], remainder="passthrough"
    )
    X = X[["age", "steps", "sex"]]
    assert saved_encodings(capsys, tmp_path, [first, second], X, Y) == [
        "  age: num, standardised",
        "  steps: num, standardised",
        "  sex: cat, one-hot encoded as 'female', 'male'",
    ]


def test_info_stops_describing_at_a_step_that_makes_other_columns(
    health_frame, tmp_path, capsys
):
    X, Y = health_frame
    steps = [SimpleImputer(), PCA(n_components=2), StandardScaler()]
    X = X[["age", "sleep_hours", "steps"]]
    assert saved_encodings(capsys, tmp_path, steps, X, Y) == [
        "  age: mean-imputed, PCA",
        "  sleep_hours: mean-imputed, PCA",
        "  steps: mean-imputed, PCA",
    ]


@pytest.mark.filterwarnings("ignore:Input X has .* far from standardised")
def test_info_says_a_column_transformer_passes_the_remainder_through(
    health_frame, tmp_path, capsys
):
    X, Y = health_frame
    preprocess = ColumnTransformer(
        [("num", StandardScaler(), ["age"])], remainder="passthrough"
    )
    X = X[["age", "steps"]]
    assert saved_encodings(capsys, tmp_path, [preprocess], X, Y) == [
        "  age: num, standardised",
        "  steps: remainder, passed through",
    ]


def test_encodings_name_a_column_transformer_whose_selections_are_unknown(
    health_frame,
):
    X, Y = health_frame
    X = X[["age", "steps"]]
    preprocess = ColumnTransformer([("num", StandardScaler(), [True, False])])
    model = make_pipeline(preprocess, MultiTaskHealthRegressor(max_iter=1)).fit(X, Y)
    # as in a scikit-learn without this private attribute
    del model[0]._transformer_to_input_indices
    assert encodings(model) == {
        "age": "ColumnTransformer",
        "steps": "ColumnTransformer",
    }


def test_info_of_a_model_without_preprocessing_says_features_are_as_given(
    regression_data, tmp_path, capsys
):
    X, Y = regression_data
    model = MultiTaskHealthRegressor(max_iter=1).fit(X[:, :2], Y)
    skhealth.save(model, tmp_path / "m.skh")
    assert encoding_lines(capsys, tmp_path / "m.skh") == [
        "  x0: as given",
        "  x1: as given",
    ]


@pytest.fixture
def escape_model(tmp_path):
    """A model whose target and feature names hold terminal escape sequences,
    and its data."""
    rng = np.random.RandomState(0)
    data = pd.DataFrame(
        {
            "age\x1b[2J": rng.normal(size=50),
            "sex": rng.choice(["female", "male"], 50),
            "sbp\x1b[31m": rng.normal(size=50),
        }
    )
    data_path, path = tmp_path / "escape.csv", tmp_path / "escape.skh"
    data.to_csv(data_path, index=False)
    args = ["fit", data_path, "--target", "sbp\x1b[31m", "--param", "max_iter=2"]
    assert main([str(arg) for arg in [*args, "-q", "-o", path]]) == 0
    return path, data_path


def test_info_escapes_control_characters_read_from_the_model_file(escape_model, capsys):
    status, out, _ = run(capsys, "info", escape_model[0])
    assert status == 0
    assert "\x1b" not in out
    lines = out.splitlines()
    assert "targets (1): sbp\\x1b[31m" in lines
    assert "features (2): age\\x1b[2J, sex" in lines


def test_evaluate_escapes_control_characters_in_target_names(escape_model, capsys):
    status, out, _ = run(capsys, "evaluate", *escape_model)
    assert status == 0
    assert "\x1b" not in out
    assert out.splitlines()[2].startswith("sbp\\x1b[31m ")


def test_errors_escape_control_characters_in_names(escape_model, tmp_path, capsys):
    other = tmp_path / "other.csv"
    pd.DataFrame({"sex": ["male"]}).to_csv(other, index=False)
    status, message = error_of(capsys, "predict", escape_model[0], other)
    assert status == 1
    assert message == f"{other} lacks 1 feature column(s) of the model: age\\x1b[2J"


# ------------------------------------------------------------------ errors
def test_missing_data_file_is_a_runtime_error(tmp_path, capsys):
    missing = tmp_path / "missing.csv"
    status, message = error_of(capsys, *fit_args(missing, tmp_path / "m.skh"))
    assert status == 1
    assert message == f"{missing}: No such file"


def test_missing_model_file_is_a_runtime_error(data_path, tmp_path, capsys):
    missing = tmp_path / "missing.skh"
    status, message = error_of(capsys, "predict", missing, data_path)
    assert status == 1
    assert message == f"{missing}: No such file or directory"


def test_fit_into_a_missing_directory_fails_before_fitting(data_path, tmp_path, capsys):
    missing = tmp_path / "missing"
    status, message = error_of(capsys, *fit_args(data_path, missing / "m.skh"))
    assert status == 1
    assert message == f"{missing}: No such directory"


def test_unknown_output_file_type_is_a_usage_error(
    data_path, model_path, tmp_path, capsys
):
    output = tmp_path / "pred.txt"
    args = ["predict", model_path, data_path, "-o", output]
    status, message = error_of(capsys, *args)
    assert status == 2
    assert message == f"{output}: unknown file type; use a .csv or .parquet file"


def test_unknown_target_column_is_a_usage_error(data_path, tmp_path, capsys):
    args = ["fit", data_path, "--target", "ldl", "-o", tmp_path / "m.skh"]
    status, message = error_of(capsys, *args)
    assert status == 2
    assert message == f"--target: {data_path} has no column 'ldl'; did you mean 'hdl'?"


def test_non_numeric_target_is_a_usage_error(data_path, tmp_path, capsys):
    # (two strings, as sex's, would be a binary target)
    args = ["fit", data_path, "--target", "smoker", "-o", tmp_path / "m.skh"]
    status, message = error_of(capsys, *args)
    dtype = pd.read_csv(data_path)["smoker"].dtype
    assert status == 2
    assert message == (
        f"--target smoker: the column is not numeric (dtype {dtype}); a binary "
        "outcome, of two values, is fitted with --binary"
    )


def test_unknown_param_lists_the_valid_ones(data_path, tmp_path, capsys):
    args = fit_args(data_path, tmp_path / "m.skh", "--param", "epochs=5")
    status, message = error_of(capsys, *args)
    valid = sorted(set(MultiTaskHealthRegressor().get_params()) - {"callbacks"})
    assert status == 2
    assert message == (
        "--param epochs: MultiTaskHealthRegressor has no such parameter; use one of "
        + ", ".join(valid)
    )


def test_param_without_a_value_is_a_usage_error(data_path, tmp_path, capsys):
    args = fit_args(data_path, tmp_path / "m.skh", "--param", "max_iter")
    status, message = error_of(capsys, *args)
    assert status == 2
    assert message == (
        "--param 'max_iter': expected name=value, such as --param max_iter=50"
    )


def test_invalid_param_value_is_a_usage_error(data_path, tmp_path, capsys):
    args = fit_args(data_path, tmp_path / "m.skh", "--param", "max_iter=0")
    status, message = error_of(capsys, *args)
    assert status == 2
    assert message == (
        "--param: The 'max_iter' parameter of MultiTaskHealthRegressor must be an "
        "int in the range [1, inf). Got 0 instead."
    )


def test_unknown_file_type_is_a_usage_error(tmp_path, capsys):
    data = tmp_path / "health.xlsx"
    data.write_bytes(b"")
    args = ["fit", data, "--target", "hdl", "-o", tmp_path / "m.skh"]
    status, message = error_of(capsys, *args)
    assert status == 2
    assert message == f"{data}: unknown file type; use a .csv or .parquet file"


TEXT = b"age,sex,hdl\n" + b"50,female,1.5\n" * 100


@pytest.mark.parametrize(
    ("name", "content", "cause"),
    [
        ("empty.csv", b"", "is empty: it has no header line of column names"),
        ("header.csv", b"age,sex,hdl\n", "has no rows of data, only column names"),
        (
            "semicolons.csv",
            TEXT.replace(b",", b";"),
            "seems to use ';', not ',', to separate its columns: it reads as one "
            "column, 'age;sex;hdl'; save it as comma-separated CSV",
        ),
        (
            "tabs.csv",
            TEXT.replace(b",", b"\t"),
            "seems to use '\\t', not ',', to separate its columns: it reads as one "
            "column, 'age\\tsex\\thdl'; save it as comma-separated CSV",
        ),
        (
            "latin1.csv",
            "age,sex,hdl\n50,f\xe9minin,1.5\n".encode("latin-1"),
            "is not UTF-8 text: it holds the byte 0xe9, which UTF-8 text cannot "
            "hold there; save it as UTF-8",
        ),
        (
            "ragged.csv",
            b"age,sex,hdl\n50,female,1.5\n50,female,1.5,7\n",
            "is not a well-formed CSV file (Error tokenizing data. C error: "
            "Expected 3 fields in line 3, saw 4)",
        ),
    ],
    ids=["empty", "header_only", "semicolons", "tabs", "latin1", "ragged"],
)
@pytest.mark.parametrize("command", ["fit", "predict"])
def test_a_bad_csv_file_names_the_file_and_the_cause(
    command, name, content, cause, tmp_path, request, capsys
):
    data = tmp_path / name
    data.write_bytes(content)
    if command == "fit":
        args = ["fit", data, "--target", "hdl", "-o", tmp_path / "m.skh"]
    else:
        args = ["predict", request.getfixturevalue("model_path"), data]
    status, message = error_of(capsys, *args)
    assert status == 1
    assert message == f"{data} {cause}"


TRUNCATED = "Compressed file ended before the end-of-stream marker was reached"


@pytest.mark.parametrize(
    ("name", "content", "cause"),
    [
        ("data.csv.gz", gzip.compress(TEXT)[:-10], TRUNCATED),
        ("data.csv.bz2", bz2.compress(TEXT)[:-10], TRUNCATED),
        ("data.csv.xz", lzma.compress(TEXT)[:-10], TRUNCATED),
        ("data.csv.gz", TEXT, f"Not a gzipped file ({TEXT[:2]!r})"),
        ("data.csv.bz2", TEXT, "Invalid data stream"),
        ("data.csv.xz", TEXT, "Input format not supported by decoder"),
        ("data.csv.zip", TEXT, "File is not a zip file"),
    ],
    ids=[
        "truncated_gz",
        "truncated_bz2",
        "truncated_xz",
        "not_gz",
        "not_bz2",
        "not_xz",
        "not_zip",
    ],
)
def test_a_damaged_compressed_file_names_the_file_and_the_cause(
    name, content, cause, tmp_path, capsys
):
    data = tmp_path / name
    data.write_bytes(content)
    args = ["fit", data, "--target", "hdl", "-o", tmp_path / "m.skh"]
    status, message = error_of(capsys, *args)
    extension = name.rpartition(".")[2]
    assert status == 1
    assert message == (
        f"{data} cannot be decompressed: it is truncated or not a .{extension} "
        f"file ({cause})"
    )


@pytest.mark.skipif(
    importlib.util.find_spec("zstandard") is not None, reason="zstandard is installed"
)
def test_zst_without_zstandard_says_what_to_install(tmp_path, capsys):
    data = tmp_path / "health.csv.zst"
    data.write_bytes(b"\x28\xb5\x2f\xfd")
    args = ["fit", data, "--target", "hdl", "-o", tmp_path / "m.skh"]
    status, message = error_of(capsys, *args)
    assert status == 1
    assert message == f"{data}: .zst files need zstandard: pip install zstandard"


def test_any_error_reading_a_file_is_one_line(tmp_path, monkeypatch, capsys):
    def read_csv(*args, **kwargs):
        raise RuntimeError("unexpected\nfailure")

    monkeypatch.setattr(pd, "read_csv", read_csv)
    data = tmp_path / "health.csv"
    data.write_bytes(TEXT)
    args = ["fit", data, "--target", "hdl", "-o", tmp_path / "m.skh"]
    status, message = error_of(capsys, *args)
    assert status == 1
    assert message == f"{data} cannot be read (RuntimeError: unexpected failure)"


@pytest.mark.skipif(
    importlib.util.find_spec("pyarrow") is not None, reason="pyarrow is installed"
)
def test_parquet_without_pyarrow_says_what_to_install(tmp_path, capsys):
    data = tmp_path / "health.parquet"
    data.write_bytes(b"PAR1")
    args = ["fit", data, "--target", "hdl", "-o", tmp_path / "m.skh"]
    status, message = error_of(capsys, *args)
    assert status == 1
    assert message == f"{data}: Parquet files need pyarrow: pip install pyarrow"


def test_a_file_that_is_no_model_is_a_runtime_error(data_path, tmp_path, capsys):
    not_a_model = tmp_path / "not-a-model.skh"
    not_a_model.write_bytes(b"not a model")
    status, message = error_of(capsys, "predict", not_a_model, data_path)
    assert status == 1
    assert message.startswith(f"{not_a_model} is not a skhealth model file")


def test_a_tampered_model_file_is_a_runtime_error(model_path, data_path, capsys):
    def more_epochs(metadata):
        metadata["attributes"]["n_iter_"] = 500

    forging.rewrite(model_path, more_epochs, seal=False)
    status, message = error_of(capsys, "info", model_path)
    assert status == 1
    assert message.startswith(f"{model_path} was modified or damaged")


def test_a_model_file_from_a_newer_skhealth_is_a_runtime_error(
    model_path, data_path, capsys
):
    def newer_format(metadata):
        metadata["format_version"] += 1

    forging.rewrite(model_path, newer_format)
    status, message = error_of(capsys, "evaluate", model_path, data_path)
    assert status == 1
    assert message.startswith(f"{model_path} was written by skhealth format version")
    assert message.endswith("upgrade skhealth.")


def saved_on_cuda(model_path, monkeypatch):
    """``model_path`` as saved with device="cuda", on a machine without CUDA."""

    def on_cuda(metadata):
        metadata["estimator"]["params"]["device"] = "cuda"

    forging.rewrite(model_path, on_cuda)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    return model_path


@pytest.mark.parametrize("command", ["predict", "evaluate", "info"])
def test_a_cuda_model_without_cuda_names_the_device_option(
    command, model_path, data_path, monkeypatch, capsys
):
    model = saved_on_cuda(model_path, monkeypatch)
    args = [command, model] + ([] if command == "info" else [data_path])
    status, message = error_of(capsys, *args)
    assert status == 1
    assert message == (
        f"{model} was saved with device 'cuda', which this machine cannot use: "
        "pass --device cpu (or --device auto)"
    )
    status, out, _ = run(capsys, *args, "--device", "cpu")
    assert status == 0
    assert out


def test_device_this_machine_cannot_use_is_a_usage_error(
    model_path, data_path, monkeypatch, capsys
):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    args = ["predict", model_path, data_path, "--device", "cuda"]
    status, message = error_of(capsys, *args)
    assert status == 2
    assert message == (
        "--device cuda: this machine cannot use that device (device='cuda' but CUDA "
        "is not available on this machine); use --device cpu or --device auto"
    )


def test_device_that_is_no_torch_device_is_a_usage_error_naming_why(
    model_path, data_path, capsys
):
    args = ["predict", model_path, data_path, "--device", "cuda:x"]
    status, message = error_of(capsys, *args)
    assert status == 2
    assert message == (
        "--device cuda:x: this machine cannot use that device (device='cuda:x' is "
        "not a valid torch device); use --device cpu or --device auto"
    )


# -------------------------------------------------------------- interrupts
class _CtrlCInTraining(Callback):
    """In place of the progress bar: Ctrl-C (SIGINT) after the first batch."""

    def on_batch_end(self, net, **kwargs):
        signal.raise_signal(signal.SIGINT)


@pytest.fixture
def ctrl_c_in_training(monkeypatch):
    monkeypatch.setattr("skhealth.cli._model.TrainingProgress", _CtrlCInTraining)


def test_fit_interrupted_exits_130_saying_so_and_saves_nothing(
    data_path, tmp_path, ctrl_c_in_training, capsys
):
    path = tmp_path / "m.skh"
    status, out, err = run(capsys, *fit_args(data_path, path))
    assert (status, out, err) == (130, "", "skhealth: interrupted\n")
    assert not path.exists()


def test_demo_interrupted_exits_130_saying_so_and_writes_nothing(
    tmp_path, ctrl_c_in_training, capsys
):
    status, out, err = run(capsys, "demo", "--output-dir", tmp_path)
    assert (status, out, err) == (130, "", "skhealth: interrupted\n")
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------- demo
@pytest.mark.slow
def test_demo_prints_held_out_scores_and_writes_model_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    status, out, _ = run(capsys, "demo", "--max-iter", "3", "--output-dir", tmp_path)
    assert status == 0
    assert "7 targets, seed 0; 3 epochs" in out
    assert "Held-out scores (1316 rows):" in out
    for target in ("systolic_bp", "hba1c", "bmi"):
        assert target in out
    assert (tmp_path / "nhanes-learning-curves.png").stat().st_size > 0
    model = skhealth.load(tmp_path / "nhanes.skh")
    assert model[-1].n_iter_ == 3


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_demo_plot_write_error_names_the_file(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "nhanes-learning-curves.png"
    plot.symlink_to("/dev/full")  # written to, it fails as a full disk does
    status, _, err = run(capsys, "demo", "--max-iter", "1", "--output-dir", tmp_path)
    assert status == 1
    assert err.endswith(f"skhealth: error: {plot}: No space left on device\n")


@pytest.mark.slow
def test_demo_without_matplotlib_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    status, out, _ = run(capsys, "demo", "--max-iter", "1", "--output-dir", tmp_path)
    assert status == 0
    assert (
        "No learning-curve plot: matplotlib is not installed "
        "(pip install 'skhealth[plot]')." in out
    )
    assert not (tmp_path / "nhanes-learning-curves.png").exists()
