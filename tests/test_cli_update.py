"""``skhealth update`` end to end on small tables, and the data profile that
``skhealth fit`` stores and ``skhealth info`` shows."""

import numpy as np
import pandas as pd
import pytest

import skhealth
from skhealth.cli import main
from skhealth.monitoring import data_profile

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FEATURES = ["age", "sex", "steps"]
TARGETS = ["sbp", "hdl"]


def _table(rng, n, age_shift=0.0):
    age = rng.normal(50, 10, n) + age_shift
    sex = rng.choice(["F", "M"], n)
    steps = rng.normal(8000, 2000, n)
    return pd.DataFrame(
        {
            "age": age,
            "sex": sex,
            "steps": steps,
            "sbp": 100 + 0.5 * age + rng.normal(0, 5, n) + age_shift,
            "hdl": 50 + 5 * (sex == "F") + rng.normal(0, 5, n),
        }
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """An old table and the model ``skhealth fit`` saved of it, and a new
    table whose people are 15 years older and whose sbp is 15 mmHg higher at
    the same age."""
    folder = tmp_path_factory.mktemp("update")
    rng = np.random.default_rng(0)
    old, new = _table(rng, 150), _table(rng, 150, age_shift=15.0)
    paths = {name: folder / f"{name}.csv" for name in ("old", "new")}
    old.to_csv(paths["old"], index=False)
    new.to_csv(paths["new"], index=False)
    paths["model"] = folder / "old.skh"
    targets = [arg for target in TARGETS for arg in ("--target", target)]
    fit = ["fit", str(paths["old"]), *targets, "--param", "max_iter=5", "-q"]
    assert main([*fit, "--validation-fraction", "0", "-o", str(paths["model"])]) == 0
    return paths, old, new


@pytest.fixture(scope="module")
def updated(files, tmp_path_factory):
    """``(status, stdout, path)`` of an update of the model on the new table."""
    import contextlib
    import io

    paths, _, _ = files
    output = tmp_path_factory.mktemp("updated") / "new.skh"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(
            [
                "update",
                str(paths["model"]),
                str(paths["new"]),
                "--target",
                *TARGETS,
                "--epochs",
                "5",
                "-o",
                str(output),
            ]
        )
    return status, out.getvalue(), output


def _error(capsys, *args):
    status = main([str(arg) for arg in args])
    return status, capsys.readouterr().err.strip()


def test_fit_stores_a_profile_of_its_training_features(files):
    paths, old, _ = files
    model = skhealth.load(paths["model"])
    assert model.data_profile_ == data_profile(old[FEATURES])


def test_fit_no_profile_stores_none(files, tmp_path):
    paths, _, _ = files
    path = tmp_path / "m.skh"
    args = ["fit", paths["old"], "--target", "sbp", "--target", "hdl", "-q"]
    args += ["--param", "max_iter=1", "--validation-fraction", "0", "--no-profile"]
    assert main([str(a) for a in [*args, "-o", path]]) == 0
    assert not hasattr(skhealth.load(path), "data_profile_")


def test_info_says_the_model_holds_a_profile(files, capsys):
    paths, _, _ = files
    assert main(["info", str(paths["model"])]) == 0
    assert (
        "data profile: 3 columns of 150 training rows (percentiles, category "
        "shares and missing shares; no rows)"
    ) in capsys.readouterr().out.splitlines()


def test_update_prints_the_shifted_column_first_in_the_drift_table(updated):
    status, out, _ = updated
    lines = out.splitlines()
    assert status == 0
    assert lines[0].startswith("Drift of the new data from the training data")
    assert lines[3].split()[:4] == ["age", "number", lines[3].split()[2], "major"]


def test_update_prints_what_it_kept_and_the_scores_before_and_after(files, updated):
    paths, _, _ = files
    _, out, path = updated
    lines = out.splitlines()
    assert "Trained on 120 new rows (30 new rows held out for scores): " in out
    assert "preprocessing: kept as fitted on the old data" in lines
    assert "target scaling: kept (each task's standardisation as first fitted)" in lines
    assert any(
        line.startswith("calibration: refitted out of fold on the 120 new training")
        for line in lines
    )
    mean = lines[-3].removeprefix("mean R2: ").removesuffix(" after")
    before, after = (float(v) for v in mean.split(" before, "))
    assert after > before
    assert lines[-1] == (
        f"Saved the updated model to {path}, with a data profile of the 150 rows "
        f"of {paths['new']}"
    )


def test_update_writes_a_model_trained_on_and_profiled_on_the_new_rows(files, updated):
    paths, _, new = files
    _, _, path = updated
    old, model = skhealth.load(paths["model"]), skhealth.load(path)
    assert model[-1].n_iter_ > old[-1].n_iter_
    assert model.data_profile_ == data_profile(new[FEATURES])


def test_update_of_a_table_with_another_column_names_it(files, tmp_path, capsys):
    paths, _, new = files
    data = tmp_path / "site.csv"
    new.assign(site=1).to_csv(data, index=False)
    args = ["update", paths["model"], data, "-q", "--epochs", "1"]
    status, message = _error(capsys, *args, "-o", tmp_path / "m.skh")
    assert (status, message) == (
        1,
        f"skhealth: error: {data} has 1 column(s) that are neither features nor "
        "targets of the model: site; leave them out with --drop (or --id-column), "
        "or fit a new model to use them",
    )
    assert (
        main([str(a) for a in [*args, "--drop", "site", "-o", tmp_path / "m.skh"]]) == 0
    )


def test_update_with_another_target_is_a_usage_error(files, tmp_path, capsys):
    paths, _, _ = files
    args = ["update", paths["model"], paths["new"], "--target", "sbp", "ldl"]
    status, message = _error(capsys, *args, "-o", tmp_path / "m.skh")
    assert (status, message) == (
        2,
        "skhealth: error: --target: ldl is no task of the model; the model's "
        "task(s) hdl is missing. The model was fitted on the targets sbp, hdl: "
        "give all of them, or no --target",
    )


def test_update_of_a_model_without_a_profile_says_there_is_no_drift(
    files, tmp_path, capsys
):
    paths, _, _ = files
    bare = tmp_path / "bare.skh"
    skhealth.save(skhealth.load(paths["model"]), bare, profile=False)
    args = ["update", bare, paths["new"], "--epochs", "1", "-o", tmp_path / "m.skh"]
    assert main([str(a) for a in args]) == 0
    assert capsys.readouterr().out.startswith(
        "Drift: the model holds no data profile of its training data"
    )


def test_update_with_replay_trains_on_the_old_rows_too(files, tmp_path, capsys):
    paths, _, _ = files
    args = ["update", paths["model"], paths["new"], "--replay", paths["old"]]
    args += ["--epochs", "1", "-o", tmp_path / "m.skh"]
    assert main([str(a) for a in args]) == 0
    assert "Trained on 120 new rows and 150 old rows (30 new rows held out" in (
        capsys.readouterr().out
    )


def test_update_of_too_few_rows_to_hold_out_names_the_holdout_option(
    files, tmp_path, capsys
):
    paths, _, new = files
    data = tmp_path / "five.csv"
    new[:5].to_csv(data, index=False)
    args = ["update", paths["model"], data, "-q", "-o", tmp_path / "m.skh"]
    status, message = _error(capsys, *args)
    assert (status, message) == (
        1,
        "skhealth: error: --holdout 0.2 holds out 1 of the 5 new rows, fewer than "
        "the 2 to score on: raise it, or --holdout 0 to hold out none (and score "
        "nothing).",
    )


def test_update_of_a_model_fitted_on_an_array_reads_the_columns_in_order(
    tmp_path, capsys
):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 2))
    y = X @ [1.0, 2.0]
    model = skhealth.MultiTaskHealthRegressor(
        hidden_layer_sizes=(4,), n_members=1, max_iter=2, random_state=0
    ).fit(X, y)
    skhealth.save(model, tmp_path / "array.skh", profile=X)
    data = tmp_path / "new.csv"
    pd.DataFrame({"a": X[:, 0] + 3, "b": X[:, 1], "task_0": y}).to_csv(
        data, index=False
    )
    output = tmp_path / "new.skh"
    args = ["update", tmp_path / "array.skh", data, "--epochs", "1", "-o", output]
    assert main([str(a) for a in args]) == 0
    assert capsys.readouterr().out.splitlines()[3].split()[:4] == [
        "x0",
        "number",
        "6.897",
        "major",
    ]
    assert skhealth.load(output).data_profile_.names == ["x0", "x1"]
