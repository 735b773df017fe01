"""The command line's binary targets: fit detects or is told them, predict
writes probabilities, evaluate scores a classifier."""

import numpy as np
import pandas as pd
import pytest

import skhealth
from skhealth import MultiTaskHealthClassifier, MultiTaskHealthRegressor
from skhealth.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FAST = ["--param", "max_iter=3", "--param", "n_members=1", "--validation-fraction", "0"]


@pytest.fixture
def table(tmp_path):
    """A CSV of two features, a measurement, a 0/1 outcome and a yes/no one."""
    rng = np.random.RandomState(0)
    age = rng.uniform(20, 80, 80)
    data = pd.DataFrame(
        {
            "age": age,
            "bmi": rng.normal(27, 4, 80),
            "sbp": 100 + 0.5 * age + rng.normal(0, 5, 80),
            "diabetes": (age > 50).astype(float),
            "smoker": np.where(rng.rand(80) > 0.5, "yes", "no"),
        }
    )
    data.loc[::6, "diabetes"] = np.nan  # unknown
    path = tmp_path / "table.csv"
    data.to_csv(path, index=False)
    return path


def run(capsys, *args):
    status = main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return status, out, err


def fit(capsys, table, model, *targets, extra=()):
    args = [a for t in targets for a in ("--target", t)]
    return run(
        capsys, "fit", table, *args, "--drop", "smoker", *FAST, *extra, "-o", model
    )


def test_fit_of_binary_targets_only_saves_a_classifier_and_says_which_it_detected(
    table, tmp_path, capsys
):
    model = tmp_path / "m.skh"
    args = ["fit", table, "--target", "diabetes", "--target", "smoker", *FAST]
    status, out, _ = run(capsys, *args, "-o", model)
    assert status == 0
    assert out.splitlines()[0] == (
        "Binary targets detected (two values each): diabetes, smoker; predicted as "
        "probabilities (--no-detect-binary fits them as numbers)"
    )
    classifier = skhealth.load(model)[-1]
    assert type(classifier) is MultiTaskHealthClassifier
    assert [c.tolist() for c in classifier.classes_] == [[0.0, 1.0], ["no", "yes"]]


def test_fit_of_mixed_targets_saves_a_regressor_with_log_loss_for_the_binary(
    table, tmp_path, capsys
):
    model = tmp_path / "m.skh"
    status, _, _ = fit(capsys, table, model, "sbp", "diabetes")
    assert status == 0
    regressor = skhealth.load(model)[-1]
    assert type(regressor) is MultiTaskHealthRegressor
    assert regressor.loss == ["squared_error", "log_loss"]


def test_no_detect_binary_fits_a_0_1_target_as_a_number(table, tmp_path, capsys):
    model = tmp_path / "m.skh"
    status, out, _ = fit(
        capsys, table, model, "sbp", "diabetes", extra=["--no-detect-binary"]
    )
    assert status == 0
    assert "detected" not in out
    assert skhealth.load(model)[-1].loss == "squared_error"


def test_declared_binary_target_of_three_values_is_an_error_naming_it(
    table, tmp_path, capsys
):
    status, out, err = run(
        capsys,
        "fit",
        table,
        "--target",
        "sbp",
        "--binary",
        "sbp",
        *FAST,
        "-o",
        tmp_path / "m.skh",
    )
    assert status != 0
    assert out == ""
    assert err.startswith(
        f"skhealth: error: --binary sbp: {table} has 80 distinct value(s) in that "
        "column ("
    )
    assert "a binary target holds two, 0 and 1 or two strings" in err


def test_predict_writes_each_class_and_its_probability_for_a_classifier(
    table, tmp_path, capsys
):
    model, output = tmp_path / "m.skh", tmp_path / "p.csv"
    run(capsys, "fit", table, "--target", "smoker", "--target", "diabetes", *FAST,
        "-o", model)  # fmt: skip
    status, _, _ = run(capsys, "predict", model, table, "-o", output)
    assert status == 0
    predictions = pd.read_csv(output)
    assert predictions.columns.tolist() == [
        "smoker",
        "smoker_proba",
        "diabetes",
        "diabetes_proba",
    ]
    data = pd.read_csv(table)
    expected = skhealth.predict_frame(skhealth.load(model), data[["age", "bmi", "sbp"]])
    np.testing.assert_allclose(predictions["smoker_proba"], expected["smoker_proba"])
    assert set(predictions["smoker"]) <= {"no", "yes"}
    assert (predictions["smoker"] == "yes").equals(predictions["smoker_proba"] > 0.5)


def test_predict_writes_a_probability_for_a_regressors_binary_target(
    table, tmp_path, capsys
):
    model, output = tmp_path / "m.skh", tmp_path / "p.csv"
    fit(capsys, table, model, "sbp", "diabetes")
    assert run(capsys, "predict", model, table, "-o", output)[0] == 0
    predictions = pd.read_csv(output)
    assert predictions.columns.tolist() == ["sbp", "diabetes"]
    assert predictions["diabetes"].between(0, 1).all()


def test_evaluate_prints_a_classifiers_scores_per_task(table, tmp_path, capsys):
    model = tmp_path / "m.skh"
    run(capsys, "fit", table, "--target", "smoker", "--target", "diabetes", *FAST,
        "-o", model)  # fmt: skip
    status, out, _ = run(capsys, "evaluate", model, table, "--format", "csv")
    assert status == 0
    scores = pd.read_csv(pd.io.common.StringIO(out), index_col=0)
    assert scores.columns.tolist() == [
        "roc_auc",
        "log_loss",
        "brier",
        "balanced_accuracy",
        "n_observed",
    ]
    assert scores["n_observed"].tolist() == [80, 66]
