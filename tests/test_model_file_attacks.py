"""Forged model files: what a file from a stranger can and cannot do to the
program that loads it (the threat model in docs/user_guide/model_files.rst).

A forged file may carry valid checksums (whoever writes a file can recompute
them), so each forgery here is sealed, and must still be refused."""

import io
import json
import os
import re
import resource
import subprocess
import sys
import threading
import zipfile

import numpy as np
import pytest
import safetensors.torch
import skops.io
import torch
from forging import comment, members, rewrite, sealing_comment, write
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import skhealth
from skhealth import ModelFileError, MultiTaskHealthRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

DATA = os.path.join(os.path.dirname(__file__), "data")


def fast(**params):
    defaults = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    return MultiTaskHealthRegressor(**{**defaults, **params})


@pytest.fixture
def model_file(regression_data, tmp_path):
    X, Y = regression_data
    reg = fast().fit(X, Y)
    path = tmp_path / "model.skh"
    skhealth.save(reg, path)
    return reg, path, X


@pytest.fixture
def pipeline_file(health_frame, tmp_path):
    X, Y = health_frame
    preprocess = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(sparse_output=False), ["sex", "smoker"]),
            (
                "numeric",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                make_column_selector(dtype_include="number"),
            ),
        ]
    )
    pipe = Pipeline([("preprocess", preprocess), ("regressor", fast())]).fit(X, Y)
    path = tmp_path / "pipeline.skh"
    skhealth.save(pipe, path)
    return pipe, path, X


# --------------------------------------------------- files of format 1
def test_file_of_format_1_loads_to_the_predictions_it_was_saved_with(health_frame):
    # tests/data/format_v1.skh: written by skhealth at 459667b (format 1, the
    # metadata's checksum inside it), with its predictions for the first rows
    X, _ = health_frame
    model = skhealth.load(os.path.join(DATA, "format_v1.skh"))
    expected = np.loadtxt(
        os.path.join(DATA, "format_v1_predictions.csv"), delimiter=","
    )
    np.testing.assert_allclose(model.predict(X.iloc[:20]), expected, rtol=1e-6)
    assert model[-1].get_params()["activation"] == "tanh"


def test_file_of_format_1_with_a_comment_seal_is_refused(tmp_path):
    path = tmp_path / "v1.skh"
    forged = members(os.path.join(DATA, "format_v1.skh"))
    write(path, forged, comment=sealing_comment(forged["metadata.json"], 1))
    with pytest.raises(ModelFileError, match=r"metadata\.json does not match its SHA"):
        skhealth.load(path)


def test_metadata_is_checked_against_its_seal_before_it_is_parsed(
    model_file, monkeypatch
):
    _, path, _ = model_file
    forged = members(path)
    forged["metadata.json"] = b"[" * 100 + b"]" * 100  # valid JSON, other content
    write(path, forged, comment=comment(path))
    monkeypatch.setattr(json, "loads", pytest.fail)
    with pytest.raises(ModelFileError, match=r"metadata\.json does not match its SHA"):
        skhealth.load(path)


# ------------------------------------------- preprocessing: trust, no imports
class _Marker(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


def _skops_naming(module, cls):
    """A skops dump of a pipeline whose first step is an object of ``cls`` in
    ``module``, as a forger writes it."""
    data = skops.io.dumps(make_pipeline(_Marker(), "passthrough"))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    schema = files["schema.json"].decode()
    schema = schema.replace(f'"{_Marker.__module__}"', json.dumps(module))
    files["schema.json"] = schema.replace('"_Marker"', json.dumps(cls)).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "module",
    [
        # runs f2py on the command line's files, the model file among them
        "numpy.f2py.__main__",
        # runs setuptools' setup(), which ends the program (SystemExit)
        "numpy._core.tests.examples.cython.setup",
        "sklearn.utils.tests.test_unknown_module",
    ],
)
def test_preprocessing_naming_a_module_is_refused_without_importing_it(
    pipeline_file, module
):
    _, path, _ = pipeline_file
    assert module not in sys.modules
    rewrite(path, replace={"preprocessing.skops": _skops_naming(module, "Step")})
    with pytest.raises(
        ModelFileError, match=rf"does not trust .*: {re.escape(module)}\.Step\.$"
    ):
        skhealth.load(path)
    assert module not in sys.modules


def test_scikit_learn_class_outside_the_allow_list_is_refused(pipeline_file):
    # a class of scikit-learn that is no estimator skops trusts by default
    _, path, _ = pipeline_file
    forged = _skops_naming("sklearn.utils._bunch", "Bunch")
    rewrite(path, replace={"preprocessing.skops": forged})
    with pytest.raises(ModelFileError, match=r"does not trust .*sklearn.utils._bunch"):
        skhealth.load(path)


def test_system_exit_while_making_the_preprocessing_is_a_model_file_error(
    pipeline_file, monkeypatch
):
    _, path, _ = pipeline_file

    def exit_program(*args, **kwargs):
        raise SystemExit(0)

    monkeypatch.setattr(skops.io, "loads", exit_program)
    with pytest.raises(
        ModelFileError, match=r"preprocessing.skops cannot be loaded \(SystemExit"
    ):
        skhealth.load(path)


def _npy_header(shape, descr="<f8"):
    header = repr({"descr": descr, "fortran_order": False, "shape": shape})
    header += " " * (-(len(header) + 11) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode()


def _with_array_header(data, shape):
    """The skops ``data`` with its first array's header declaring ``shape``."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    name = next(name for name in files if name.endswith(".npy"))
    array = np.load(io.BytesIO(files[name]))
    files[name] = _npy_header(shape, array.dtype.str) + array.tobytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, content in files.items():
            archive.writestr(member, content)
    return buffer.getvalue()


def test_array_header_declaring_more_values_than_it_holds_is_refused(pipeline_file):
    _, path, _ = pipeline_file
    forged = _with_array_header(members(path)["preprocessing.skops"], (10**11,))
    rewrite(path, replace={"preprocessing.skops": forged})
    with pytest.raises(
        ModelFileError, match=r"declares \(100000000000,\) values of float64, not"
    ):
        skhealth.load(path)


@pytest.mark.parametrize(
    ("steps", "problem"),
    [
        ([StandardScaler()], "StandardScaler()"),
        ([LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])], "LinearRegression()"),
        (
            [make_pipeline(SimpleImputer(), StandardScaler().fit([[0.0]]))],
            "SimpleImputer()",
        ),
    ],
    ids=["unfitted_transformer", "regressor", "unfitted_inside_a_pipeline"],
)
def test_preprocessing_of_other_than_fitted_transformers_is_refused(
    pipeline_file, steps, problem
):
    _, path, _ = pipeline_file
    forged = skops.io.dumps(make_pipeline(*steps, "passthrough"))
    rewrite(path, replace={"preprocessing.skops": forged})
    with pytest.raises(
        ModelFileError,
        match=re.escape(f"holds {problem}, which is no fitted transformer."),
    ):
        skhealth.load(path)


# -------------------------------- forged, self-consistent, silently wrong
def _weights_with(path, edit):
    tensors = safetensors.torch.load(members(path)["weights.safetensors"])
    edit(tensors)
    return {"weights.safetensors": safetensors.torch.save(tensors)}


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (
            lambda t: (
                t["module.members.0.trunk.0.weight"]
                .view(-1)
                .__setitem__(0, float("nan"))
            ),
            "module.members.0.trunk.0.weight",
        ),
        (
            lambda t: t["module.members.2.heads.bias"].fill_(float("inf")),
            "module.members.2.heads.bias",
        ),
        (lambda t: t["optimizer.3.exp_avg_sq"].fill_(float("-inf")), "optimizer.3"),
    ],
    ids=["nan_weight", "inf_bias", "inf_adam_moment"],
)
def test_weights_that_are_not_finite_are_refused(model_file, edit, where):
    _, path, _ = model_file
    rewrite(path, replace=_weights_with(path, edit))
    with pytest.raises(ModelFileError, match=rf"not finite \(NaN or inf\) in {where}"):
        skhealth.load(path)


def test_target_scale_that_is_not_the_root_of_the_variance_is_refused(model_file):
    _, path, _ = model_file

    def huge_scale(metadata):
        metadata["target_scaler"]["scale_"]["ndarray"][0] = 1e308

    rewrite(path, huge_scale)
    with pytest.raises(ModelFileError, match="the root of the variances"):
        skhealth.load(path)


def test_parameter_missing_from_the_metadata_is_refused(model_file):
    # it would take today's default: a tanh network loaded as relu
    _, path, _ = model_file
    rewrite(path, lambda m: m["estimator"]["params"].pop("activation"))
    with pytest.raises(
        ModelFileError, match=r"damaged: it lacks the parameters activation, which"
    ):
        skhealth.load(path)


def test_duplicate_member_names_are_refused(model_file):
    _, path, _ = model_file
    original = members(path)
    with zipfile.ZipFile(path, "a") as archive, pytest.warns(UserWarning, match="Dup"):
        archive.writestr("weights.safetensors", original["weights.safetensors"])
    with pytest.raises(ModelFileError, match=r"each once"):
        skhealth.load(path)


def test_member_the_metadata_does_not_list_is_refused(model_file):
    _, path, _ = model_file
    forged = members(path)
    forged["preprocessing.skops"] = b""
    write(path, forged, comment=comment(path))
    with pytest.raises(
        ModelFileError, match=r"holds preprocessing.skops, which metadata.json does"
    ):
        skhealth.load(path)


def test_integer_of_more_digits_than_python_converts_is_a_model_file_error(
    model_file,
):
    _, path, _ = model_file
    forged = members(path)
    metadata = forged["metadata.json"].replace(
        b'"max_iter":5', b'"max_iter":' + b"9" * 5000
    )
    forged["metadata.json"] = metadata
    write(path, forged, comment=sealing_comment(metadata))
    with pytest.raises(ModelFileError, match=r"metadata.json is not valid JSON"):
        skhealth.load(path)


def test_optimizer_settings_without_adams_betas_are_refused(model_file):
    _, path, _ = model_file
    rewrite(
        path, lambda m: m["net"]["optimizer"]["param_groups"][0]["dict"].pop("betas")
    )
    with pytest.raises(ModelFileError, match="optimizer settings are not those"):
        skhealth.load(path)


@pytest.mark.parametrize(
    ("edit"),
    [
        lambda h: h[0].update(train_loss="low"),
        lambda h: h[1]["batches"][0].update(train_loss=None),
        lambda h: h[2].update(note={"a": 1}),
        lambda h: h[3].update(epoch=True),
        lambda h: h[0].pop("task_weights"),
    ],
    ids=["text_loss", "none_batch_loss", "dict_value", "bool_epoch", "no_weights"],
)
def test_history_that_fitting_never_records_is_refused(model_file, edit):
    _, path, _ = model_file
    rewrite(path, lambda m: edit(m["net"]["history"]))
    with pytest.raises(ModelFileError, match="its training history is"):
        skhealth.load(path)


def test_saving_a_network_that_is_not_finite_is_a_value_error(model_file, tmp_path):
    reg, _, _ = model_file
    with torch.no_grad():
        next(reg.net_.module_.parameters()).view(-1)[0] = float("nan")
    with pytest.raises(ValueError, match=r"not finite \(NaN or inf\) in module"):
        skhealth.save(reg, tmp_path / "nan.skh")
    assert not (tmp_path / "nan.skh").exists()


# ------------------------------------------------------------------ saving
def test_failed_save_leaves_the_previous_file_intact(model_file, regression_data):
    _, path, _ = model_file
    X, Y = regression_data
    before = path.read_bytes()
    larger = fast(hidden_layer_sizes=(64, 64)).fit(X, Y)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    # a disk that fills up half-way through writing (prlimit --fsize)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) // 2, hard))
    try:
        with pytest.raises(OSError, match=rf"File too large: '{re.escape(str(path))}'"):
            skhealth.save(larger, path)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]  # no temporary file left


def test_write_error_names_the_path():
    reg = fast(max_iter=1).fit(np.eye(4), np.eye(4))
    with pytest.raises(OSError, match=r"No space left on device: '/dev/full'"):
        skhealth.save(reg, "/dev/full")


def test_saving_to_a_device_writes_through_it(model_file):
    reg, _, _ = model_file
    skhealth.save(reg, os.devnull)
    assert os.path.exists(os.devnull)
    assert not os.path.isfile(os.devnull)


def test_save_keeps_the_permissions_of_the_file_it_replaces(model_file):
    reg, path, _ = model_file
    path.chmod(0o640)
    skhealth.save(reg, path)
    assert path.stat().st_mode & 0o777 == 0o640


def test_save_through_a_link_replaces_its_target(model_file, tmp_path):
    reg, path, X = model_file
    link = tmp_path / "link.skh"
    link.symlink_to(path)
    path.write_bytes(b"old")
    skhealth.save(reg, link)
    assert link.is_symlink()
    np.testing.assert_array_equal(skhealth.load(path).predict(X), reg.predict(X))


def test_concurrent_saves_to_one_path_leave_one_whole_model(regression_data, tmp_path):
    X, Y = regression_data
    models = [fast(random_state=seed).fit(X, Y) for seed in (0, 1)]
    expected = [model.predict(X) for model in models]
    path = tmp_path / "same.skh"

    def save(model, start):
        start.wait()
        skhealth.save(model, path)

    for _ in range(10):
        start = threading.Barrier(2)
        threads = [threading.Thread(target=save, args=(m, start)) for m in models]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        predicted = skhealth.load(path).predict(X)
        assert any(np.array_equal(predicted, e) for e in expected)
    assert os.listdir(tmp_path) == ["same.skh"]


# ------------------------------------------------------ memory, under a limit
def _forge_json_bomb(path):
    """A file of about 60 kB whose metadata is 63 MiB of empty objects."""
    forged = members(path)
    metadata = b"[" + b"{}," * (21 * 2**20) + b"{}]"
    forged["metadata.json"] = metadata
    write(path, forged, zipfile.ZIP_DEFLATED, sealing_comment(metadata))


def _forge_huge_network(path, header_size):
    """A file whose metadata describes a (20000, 20000) network, with 256 MiB
    of zeros as weights but for a header declaring ``header_size`` bytes."""
    weights = header_size.to_bytes(8, "little") + bytes(2**28)

    def huge(metadata):
        metadata["estimator"]["params"]["hidden_layer_sizes"] = {
            "tuple": [20000, 20000]
        }

    rewrite(
        path,
        huge,
        replace={"weights.safetensors": weights},
        compression=zipfile.ZIP_DEFLATED,
    )


_LOAD_UNDER_A_LIMIT = """
import resource, sys
import skhealth
from skhealth import ModelFileError
with open("/proc/self/statm") as statm:
    in_use = int(statm.read().split()[0]) * resource.getpagesize()
limit = in_use + 768 * 2**20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
for path in sys.argv[1:]:
    try:
        skhealth.load(path)
    except ModelFileError as exc:
        print("ModelFileError", str(exc)[len(path):][:80])
    except BaseException as exc:
        print(type(exc).__name__, exc)
"""


@pytest.mark.slow
def test_forged_files_load_in_bounded_memory(model_file, pipeline_file, tmp_path):
    _, path, _ = model_file
    files = {}
    for kind in ("json_bomb", "huge_network", "huge_network_header"):
        files[kind] = tmp_path / f"{kind}.skh"
        files[kind].write_bytes(path.read_bytes())
    _forge_json_bomb(files["json_bomb"])
    _forge_huge_network(files["huge_network"], 0)
    _forge_huge_network(files["huge_network_header"], 16 * 2**20)
    files["huge_array"] = tmp_path / "huge_array.skh"
    files["huge_array"].write_bytes(pipeline_file[1].read_bytes())
    preprocessing = members(files["huge_array"])["preprocessing.skops"]
    forged = _with_array_header(preprocessing, (10**11,))
    rewrite(files["huge_array"], replace={"preprocessing.skops": forged})
    assert all(f.stat().st_size < 2**20 for f in files.values())
    result = subprocess.run(
        [sys.executable, "-c", _LOAD_UNDER_A_LIMIT, *map(str, files.values())],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["ModelFileError"] * 4, lines


# ------------------------------------------------------------------- fuzzing
# Values that stand in for any JSON value of a forged metadata: of each type,
# and at the edges of what fitting gives.
_ODD_VALUES = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2**31,
    2**63,
    10**30,
    1e308,
    -1e-308,
    0.5,
    float("nan"),
    "",
    "x",
    "cuda",
    [],
    [1],
    [[]],
    {},
    {"tuple": []},
    {"dict": {}},
    {"ndarray": [1.0], "dtype": "<f8", "shape": [1]},
    {"ndarray": [], "dtype": "|O", "shape": [0]},
    {"scalar": 1, "dtype": "<i8"},
    {"class": "mmoe", "params": {}},
]


def _places(data, path=()):
    """Every value in the JSON ``data``, with the keys and indices to it."""
    yield path, data
    if isinstance(data, (dict, list)):
        items = data.items() if isinstance(data, dict) else enumerate(data)
        for key, value in items:
            yield from _places(value, (*path, key))


def _mutate(metadata, rng):
    """Replace, delete or add one value of the ``metadata``, in place."""
    places = list(_places(metadata))
    # as many edits at each depth: the history's batches would take most
    depths = sorted({len(path) for path, _ in places if path})
    depth = depths[rng.integers(len(depths))]
    places = [(path, value) for path, value in places if len(path) == depth]
    path, value = places[rng.integers(len(places))]
    parent = metadata
    for key in path[:-1]:
        parent = parent[key]
    odd = _ODD_VALUES[rng.integers(len(_ODD_VALUES))]
    kind = rng.integers(3)
    if kind == 0 and isinstance(parent, dict):
        del parent[path[-1]]
    elif kind == 1 and isinstance(value, list):
        value.append(odd)
    else:
        parent[path[-1]] = odd


def _training_refusal(pipeline, X, Y):
    """The ValueError's message if one more epoch of training raises one."""
    try:
        pipeline[-1].partial_fit(pipeline[:-1].transform(X), Y)
    except ValueError as exc:
        return str(exc)
    return None


def _flip_bytes(data, rng):
    data = bytearray(data)
    for position in rng.integers(len(data), size=rng.integers(1, 4)):
        data[position] ^= 1 << int(rng.integers(8))
    return bytes(data)


@pytest.mark.parametrize("seed", range(6))
def test_mutated_files_load_to_a_working_model_or_raise_model_file_error(
    pipeline_file, health_frame, seed
):
    """Mutations of a valid file, sealed again: every one is refused as a
    ModelFileError or loads to a model that trains on, predicting as before
    (other weights, finite ones, predict otherwise): nothing else escapes."""
    pipeline, path, _ = pipeline_file
    X, Y = health_frame
    expected = pipeline.predict(X)
    original = path.read_bytes()
    rng = np.random.default_rng(seed)
    outcomes = {"refused": 0, "loaded": 0}
    for _ in range(25):
        path.write_bytes(original)
        target = rng.choice(["metadata"] * 4 + ["weights", "preprocessing"])
        if target == "metadata":
            rewrite(path, lambda metadata: _mutate(metadata, rng))
        else:
            member = f"{target}.{'safetensors' if target == 'weights' else 'skops'}"
            replace = {member: _flip_bytes(members(path)[member], rng)}
            rewrite(path, replace=replace)
        try:
            model = skhealth.load(path)
        except ModelFileError:
            outcomes["refused"] += 1
            continue
        outcomes["loaded"] += 1
        predicted = model.predict(X)
        if target == "weights":  # other weights, a model all the same
            assert predicted.shape == Y.shape
            assert np.isfinite(predicted).all()
        else:
            np.testing.assert_array_equal(predicted, expected)
        if hasattr(model[-1], "partial_fit"):
            refusal = _training_refusal(model, X, Y)
            # parameters that training refuses, by name
            assert refusal is None or re.search("diverged|parameter", refusal)
    assert outcomes["refused"] > 0


def test_pipeline_with_a_transformer_of_no_column_round_trips(health_frame, tmp_path):
    # scikit-learn leaves a transformer that selects no column unfitted
    X, Y = health_frame
    preprocess = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(), make_column_selector(dtype_include=bool)),
            ("numeric", StandardScaler(), ["age", "steps"]),
        ]
    )
    pipe = Pipeline([("preprocess", preprocess), ("regressor", fast())]).fit(X, Y)
    path = tmp_path / "pipeline.skh"
    skhealth.save(pipe, path)
    np.testing.assert_array_equal(skhealth.load(path).predict(X), pipe.predict(X))
