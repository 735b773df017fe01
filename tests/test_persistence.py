"""skhealth.save / skhealth.load: model files that hold data only."""

import copy
import io
import json
import pickle
import re
import zipfile

import forging
import numpy as np
import pandas as pd
import pytest
import safetensors.torch
import skops.io
import torch
from forging import members as _members
from forging import rewrite as _rewrite
from forging import write as _write
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from skorch.callbacks import Callback

import skhealth
from skhealth import ModelFileError, MultiTaskHealthRegressor
from skhealth._net import MultiTaskNet
from skhealth.architectures import HardSharing, Hierarchical, MMoE
from skhealth.model_files import Limits
from skhealth.model_files._schema import ATTRIBUTES, PRIVATE_ATTRIBUTES
from skhealth.weighting import Uncertainty

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def fast(**params):
    """A small, quick configuration: persistence does not need a good model."""
    defaults = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    return MultiTaskHealthRegressor(**{**defaults, **params})


def health_pipeline(**params):
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
    return Pipeline([("preprocess", preprocess), ("regressor", fast(**params))])


class _CustomArchitecture(HardSharing):
    pass


class _CustomTransformer(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


def _comparable(params):
    """get_params() with estimator-valued parameters as (class, their params)."""
    return {
        key: (type(value), value.get_params())
        if hasattr(value, "get_params")
        else value
        for key, value in params.items()
    }


def _round_trip(model, tmp_path, **load_params):
    path = tmp_path / "model.skh"
    skhealth.save(model, path)
    return skhealth.load(path, **load_params)


@pytest.fixture
def model_file(regression_data, tmp_path):
    X, Y = regression_data
    reg = fast().fit(X, Y)
    path = tmp_path / "model.skh"
    reg.save(path)
    return reg, path, X


# -------------------------------------------------------------- round trips
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"early_stopping": True},
        {"architecture": "mmoe"},
        {"architecture": MMoE(n_experts=2), "head_layer_sizes": (8,)},
        {"task_weighting": "uncertainty"},
        {"task_weighting": "dwa", "dropout": 0.2},
        {"task_weighting": "gradnorm"},
        {"task_weighting": "pcgrad"},
        {"architecture": "cross_stitch"},
        {"architecture": "hierarchical", "n_members": 1},
        {"hidden_layer_sizes": (16, 8), "architecture": Hierarchical({0: 1})},
        {
            "task_weighting": [1.0, 2.0, 3.0],
            "loss": ["huber", "squared_error", "huber"],
        },
    ],
    ids=[
        "default",
        "early_stopping",
        "mmoe",
        "mmoe_instance",
        "uncertainty",
        "dwa",
        "gradnorm",
        "pcgrad",
        "cross_stitch",
        "hierarchical_single_member",
        "hierarchical_depth_by_task_index",
        "fixed_weights",
    ],
)
def test_round_trip_predictions_are_bit_identical(regression_data, tmp_path, params):
    X, Y = regression_data
    reg = fast(**params).fit(X, Y)
    loaded = _round_trip(reg, tmp_path)
    assert type(loaded) is MultiTaskHealthRegressor
    assert np.array_equal(loaded.predict(X), reg.predict(X))


def test_round_trip_of_one_dimensional_y_predicts_one_dimension(
    regression_data, tmp_path
):
    X, Y = regression_data
    reg = fast().fit(X, Y[:, 0])
    prediction = _round_trip(reg, tmp_path).predict(X)
    assert prediction.shape == (240,)
    assert np.array_equal(prediction, reg.predict(X))


def test_pipeline_round_trip_predictions_are_bit_identical(health_frame, tmp_path):
    X, Y = health_frame
    model = health_pipeline().fit(X, Y)
    loaded = _round_trip(model, tmp_path)
    assert type(loaded) is Pipeline
    assert [name for name, _ in loaded.steps] == ["preprocess", "regressor"]
    assert np.array_equal(loaded.predict(X), model.predict(X))


def test_uncertainty_weights_learned_in_the_criterion_are_restored(
    regression_data, tmp_path
):
    X, Y = regression_data
    reg = fast(task_weighting="uncertainty").fit(X, Y)
    loaded = _round_trip(reg, tmp_path)
    saved = reg.net_.criterion_.state_dict()
    restored = loaded.net_.criterion_.state_dict()
    assert saved.keys() == restored.keys() == {"weighting.log_variance"}
    assert torch.equal(
        restored["weighting.log_variance"], saved["weighting.log_variance"]
    )
    assert np.array_equal(loaded.task_weights_, reg.task_weights_)


def test_model_files_check_every_learned_attribute():
    assert list(ATTRIBUTES) == list(MultiTaskHealthRegressor._FITTED_ATTRIBUTES)


def test_learned_attributes_and_history_are_restored(regression_data, tmp_path):
    X, Y = regression_data
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    Y = pd.DataFrame(Y, columns=["sbp", "chol", "sleep"])
    reg = fast(early_stopping=True, batch_size=50).fit(X, Y)
    loaded = _round_trip(reg, tmp_path)
    for name in MultiTaskHealthRegressor._FITTED_ATTRIBUTES:
        if name in PRIVATE_ATTRIBUTES:  # a private model's: test_privacy.py
            assert not hasattr(loaded, name)
            continue
        np.testing.assert_array_equal(getattr(loaded, name), getattr(reg, name))
        assert type(getattr(loaded, name)) is type(getattr(reg, name)), name
    for name in ["mean_", "scale_", "var_", "n_samples_seen_"]:
        np.testing.assert_array_equal(
            getattr(loaded._target_scaler, name), getattr(reg._target_scaler, name)
        )
    assert loaded.target_names_.tolist() == ["sbp", "chol", "sleep"]
    assert loaded.net_.batch_size == 50
    assert list(loaded.history_) == list(reg.history_)


def test_auto_batch_size_is_the_one_training_used(regression_data, tmp_path):
    X, Y = regression_data
    reg = fast().fit(X[:90], Y[:90])
    assert _round_trip(reg, tmp_path).net_.batch_size == 32  # 90 // 8, at least 32


def test_get_params_and_clone_are_identical(regression_data, tmp_path):
    X, Y = regression_data
    reg = fast(
        hidden_layer_sizes=(16, 8),
        architecture=MMoE(n_experts=3),
        task_weighting=Uncertainty(),
        loss=("huber", "absolute_error", "squared_error"),
        alpha=np.float64(1e-3),
        batch_size=np.int64(64),
    ).fit(X, Y)
    loaded = _round_trip(reg, tmp_path)
    assert _comparable(loaded.get_params()) == _comparable(reg.get_params())
    assert {k: type(v) for k, v in loaded.get_params().items()} == {
        k: type(v) for k, v in reg.get_params().items()
    }
    assert _comparable(clone(loaded).get_params()) == _comparable(
        clone(reg).get_params()
    )


def test_partial_fit_after_load_continues_exactly_as_without_saving(
    regression_data, tmp_path
):
    X, Y = regression_data
    reg = fast(task_weighting="dwa").fit(X, Y)
    loaded = _round_trip(reg, tmp_path)
    continued = copy.deepcopy(reg).partial_fit(X, Y)
    loaded.partial_fit(X, Y)
    assert loaded.n_iter_ == reg.n_iter_ + 1
    assert np.array_equal(loaded.predict(X), continued.predict(X))


def test_parameters_changed_after_fit_round_trip_and_train_on_alike(
    regression_data, tmp_path
):
    X, Y = regression_data
    reg = fast(alpha=0.0).fit(X, Y).set_params(alpha=0.1, learning_rate_init=0.01)
    loaded = _round_trip(reg, tmp_path)
    assert loaded.get_params()["alpha"] == 0.1
    continued = copy.deepcopy(reg).partial_fit(X, Y)
    loaded.partial_fit(X, Y)
    assert np.array_equal(loaded.predict(X), continued.predict(X))


def test_saving_after_changing_the_network_is_a_value_error(regression_data, tmp_path):
    X, Y = regression_data
    reg = fast().fit(X, Y).set_params(hidden_layer_sizes=(8,))
    path = tmp_path / "model.skh"
    with pytest.raises(ValueError, match=r"hidden_layer_sizes=\(8,\).*saving needs"):
        skhealth.save(reg, path)
    assert not path.exists()


def test_warm_start_fit_after_load_continues_from_the_saved_weights(
    regression_data, tmp_path
):
    X, Y = regression_data
    reg = fast(warm_start=True).fit(X, Y)
    loaded = _round_trip(reg, tmp_path)
    continued = copy.deepcopy(reg).fit(X, Y)
    loaded.fit(X, Y)
    assert loaded.n_iter_ == 10
    assert np.array_equal(loaded.predict(X), continued.predict(X))


def test_pickle_leaves_every_tensor_to_skorch(regression_data):
    # skorch pickles its net's modules and optimizers with torch.save, mapped
    # to the CPU when unpickled without CUDA; a tensor pickled beside them
    # would be unpicklable there (the GPU tests check that end to end).
    X, Y = regression_data
    reg = fast(n_members=2, early_stopping=True, task_weighting="gradnorm").fit(X, Y)

    class TensorSpy(pickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, torch.Tensor):
                raise AssertionError(f"a {tuple(obj.shape)} tensor pickled directly")
            return NotImplemented

    TensorSpy(io.BytesIO()).dump(reg)


def test_loaded_model_pickles_like_any_estimator(model_file):
    reg, path, X = model_file
    loaded = skhealth.load(path)
    assert np.array_equal(pickle.loads(pickle.dumps(loaded)).predict(X), reg.predict(X))


def test_loading_never_unpickles(health_frame, tmp_path, monkeypatch):
    X, Y = health_frame
    model = health_pipeline().fit(X, Y)
    path = tmp_path / "model.skh"
    skhealth.save(model, path)

    def forbidden(*args, **kwargs):
        raise AssertionError("load unpickled something")

    for name in ["load", "loads", "Unpickler"]:
        monkeypatch.setattr(pickle, name, forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    assert np.array_equal(skhealth.load(path).predict(X), model.predict(X))


def test_the_same_model_gives_the_same_file(model_file, tmp_path):
    reg, path, _ = model_file
    again = tmp_path / "again.skh"
    reg.save(again)
    assert again.read_bytes() == path.read_bytes()


def test_file_holds_metadata_weights_and_preprocessing_as_data(health_frame, tmp_path):
    X, Y = health_frame
    path = tmp_path / "model.skh"
    skhealth.save(health_pipeline().fit(X, Y), path)
    members = _members(path)
    assert set(members) == {
        "metadata.json",
        "weights.safetensors",
        "preprocessing.skops",
    }
    metadata = json.loads(members["metadata.json"])
    assert metadata["format"] == "skhealth-model"
    assert metadata["format_version"] == 2
    assert set(metadata["versions"]) == {
        "skhealth",
        "torch",
        "scikit-learn",
        "skorch",
        "numpy",
    }
    assert metadata["estimator"]["params"]["architecture"] == "hard"
    weights = safetensors.torch.load(members["weights.safetensors"])
    assert {key.split(".")[0] for key in weights} == {
        "module",
        "criterion",
        "optimizer",
    }
    assert skops.io.get_untrusted_types(data=members["preprocessing.skops"]) == [
        "numpy.dtype",
        "sklearn.compose._column_transformer.make_column_selector",
    ]


def test_registered_classes_are_stored_by_name(regression_data, tmp_path):
    X, Y = regression_data
    path = tmp_path / "model.skh"
    fast(architecture=MMoE(n_experts=2)).fit(X, Y).save(path)
    params = json.loads(_members(path)["metadata.json"])["estimator"]["params"]
    assert params["architecture"] == {"class": "mmoe", "params": {"n_experts": 2}}


@pytest.mark.gpu
def test_cuda_model_round_trips_and_loads_onto_the_cpu(
    regression_data, tmp_path, cuda_device
):
    X, Y = regression_data
    reg = fast(device=cuda_device).fit(X, Y)
    assert np.array_equal(_round_trip(reg, tmp_path).predict(X), reg.predict(X))
    on_cpu = skhealth.load(tmp_path / "model.skh", device="cpu")
    assert on_cpu.device == "cpu"
    assert next(on_cpu.net_.module_.parameters()).device.type == "cpu"
    np.testing.assert_allclose(on_cpu.predict(X), reg.predict(X), rtol=1e-4)


def test_cuda_model_without_cuda_asks_for_a_device(model_file):
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    reg, path, X = model_file
    _rewrite(path, lambda m: m["estimator"]["params"].update(device="cuda"))
    with pytest.raises(
        skhealth.DeviceError, match=r"saved with device='cuda'.*device='cpu'"
    ):
        skhealth.load(path)
    loaded = skhealth.load(path, device="cpu")
    assert loaded.device == "cpu"
    assert np.array_equal(loaded.predict(X), reg.predict(X))


# ------------------------------------------------------------ saving refuses
def test_unfitted_estimator_is_not_saved(tmp_path):
    with pytest.raises(NotFittedError):
        skhealth.save(fast(), tmp_path / "model.skh")
    assert not (tmp_path / "model.skh").exists()


def test_unfitted_pipeline_is_not_saved(tmp_path):
    with pytest.raises(NotFittedError):
        skhealth.save(health_pipeline(), tmp_path / "model.skh")


def test_other_objects_are_not_saved(tmp_path):
    with pytest.raises(TypeError, match=r"got StandardScaler"):
        skhealth.save(StandardScaler(), tmp_path / "model.skh")
    with pytest.raises(TypeError, match=r"got Pipeline ending in StandardScaler"):
        skhealth.save(make_pipeline(StandardScaler()), tmp_path / "model.skh")


def test_a_search_is_not_saved_but_its_best_estimator_is_named(
    regression_data, tmp_path
):
    X, Y = regression_data
    search = GridSearchCV(fast(max_iter=1), {"alpha": [1e-4]}, cv=2).fit(X, Y)
    message = (
        "got GridSearchCV: save the search's best_estimator_ where that is one, "
        "skhealth.save(search.best_estimator_, path)"
    )
    with pytest.raises(TypeError, match=re.escape(message)):
        skhealth.save(search, tmp_path / "model.skh")
    skhealth.save(search.best_estimator_, tmp_path / "model.skh")


def test_custom_architecture_class_is_refused(regression_data, tmp_path):
    X, Y = regression_data
    reg = fast(architecture=_CustomArchitecture()).fit(X, Y)
    with pytest.raises(ValueError, match=r"not one of skhealth's own classes.*pickle"):
        reg.save(tmp_path / "model.skh")
    assert not (tmp_path / "model.skh").exists()


def test_callbacks_are_refused(regression_data, tmp_path):
    X, Y = regression_data
    reg = fast(callbacks=[Callback()]).fit(X, Y)
    with pytest.raises(ValueError, match=r"callbacks=\[.*set_params.*pickle"):
        reg.save(tmp_path / "model.skh")


def test_random_state_instance_is_refused(regression_data, tmp_path):
    X, Y = regression_data
    reg = fast(random_state=np.random.RandomState(0)).fit(X, Y)
    with pytest.raises(ValueError, match=r"random_state=RandomState"):
        reg.save(tmp_path / "model.skh")


def test_custom_preprocessing_class_is_refused(regression_data, tmp_path):
    X, Y = regression_data
    model = make_pipeline(_CustomTransformer(), fast()).fit(X, Y)
    with pytest.raises(ValueError, match=r"_CustomTransformer.*pickle"):
        skhealth.save(model, tmp_path / "model.skh")


# ----------------------------------------------------------- loading refuses
def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        skhealth.load(tmp_path / "absent.skh")


def test_file_that_is_not_a_zip_archive_is_refused(tmp_path):
    path = tmp_path / "random.skh"
    path.write_bytes(np.random.RandomState(0).bytes(2000))
    with pytest.raises(
        ModelFileError, match=re.escape(f"{path} is not a skhealth model file")
    ):
        skhealth.load(path)


def test_truncated_file_is_refused(model_file):
    _, path, _ = model_file
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ModelFileError, match=r"not a zip archive, or it is truncated"):
        skhealth.load(path)


def _patch_directory_entry(path, member, offset, value, width=2):
    """Overwrite ``width`` bytes of ``member``'s entry in the zip's central
    directory (8: flags, 10: compression method, 24: size once decompressed)."""
    data = bytearray(path.read_bytes())
    start = data.find(b"PK\x01\x02")
    while data[start + 46 : start + 46 + len(member)] != member.encode():
        start = data.find(b"PK\x01\x02", start + 1)
    data[start + offset : start + offset + width] = value.to_bytes(width, "little")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("offset", "value", "problem"),
    [(8, 1, "encrypted"), (10, 9, "compression method 9"), (10, 12, "method 12")],
    ids=["encrypted", "deflate64", "bzip2"],
)
def test_member_zipfile_cannot_read_is_refused(model_file, offset, value, problem):
    _, path, _ = model_file
    _patch_directory_entry(path, "metadata.json", offset, value)
    with pytest.raises(ModelFileError, match=rf"metadata.json is corrupt .*{problem}"):
        skhealth.load(path)


def _opened_members(monkeypatch):
    """The names of the members loading opens, as it opens them."""
    opened, open_member = [], zipfile.ZipFile.open

    def spy(archive, member, *args, **kwargs):
        opened.append(getattr(member, "filename", member))
        return open_member(archive, member, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return opened


def test_weights_inflating_past_what_the_network_holds_are_refused_unread(
    model_file, monkeypatch
):
    _, path, _ = model_file
    bomb = bytes(50 * 2**20)  # 50 MiB of zeros, 50 KiB deflated
    _rewrite(
        path, replace={"weights.safetensors": bomb}, compression=zipfile.ZIP_DEFLATED
    )
    assert path.stat().st_size < 2**20
    opened = _opened_members(monkeypatch)
    with pytest.raises(
        ModelFileError,
        match=rf"damaged or not a skhealth model file: weights.safetensors would be "
        rf"{50 * 2**20} bytes once decompressed, more than the \d+ it can hold\.",
    ):
        skhealth.load(path)
    assert opened == ["metadata.json"]


def test_metadata_inflating_past_its_limit_is_refused_unread(model_file, monkeypatch):
    _, path, _ = model_file
    members = _members(path)
    # valid JSON with the same checksum: whitespace is no part of its content
    members["metadata.json"] += b" " * (65 * 2**20)
    _write(path, members, zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 2**20
    opened = _opened_members(monkeypatch)
    size = len(members["metadata.json"])
    with pytest.raises(
        ModelFileError,
        match=f"metadata.json would be {size} bytes once decompressed, more than "
        f"the {64 * 2**20} it can hold",
    ):
        skhealth.load(path)
    assert opened == []


def test_member_longer_than_its_declared_size_is_read_no_further(model_file):
    _, path, _ = model_file
    _patch_directory_entry(path, "metadata.json", 24, 100, width=4)
    with pytest.raises(ModelFileError, match=r"metadata.json is corrupt \(Bad CRC-32"):
        skhealth.load(path)


def test_preprocessing_archive_inflating_past_its_limit_is_refused(
    health_frame, tmp_path
):
    X, Y = health_frame
    path = tmp_path / "model.skh"
    skhealth.save(health_pipeline().fit(X, Y), path)
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", b" " * (2 * 2**20))
    _rewrite(path, replace={"preprocessing.skops": inner.getvalue()})
    with pytest.raises(
        ModelFileError,
        match=f"the archive in preprocessing.skops would be {2 * 2**20} bytes once "
        f"decompressed, more than the {2**20} it can hold",
    ):
        skhealth.load(path, limits=Limits(preprocessing=2**20))


def test_metadata_larger_than_loading_accepts_is_not_saved(regression_data, tmp_path):
    X, Y = regression_data
    path = tmp_path / "model.skh"
    with pytest.raises(
        ValueError, match=r"metadata.json would be \d+ bytes, more than the 1000 .*"
    ):
        skhealth.save(fast().fit(X, Y), path, limits=Limits(metadata=1000))
    assert not path.exists()


def test_invalid_parameters_are_not_saved(regression_data, tmp_path):
    X, Y = regression_data
    reg = fast().fit(X, Y).set_params(max_iter=0)
    with pytest.raises(ValueError, match=r"'max_iter' parameter .* Got 0 instead"):
        reg.save(tmp_path / "model.skh")


def test_metadata_nested_too_deeply_to_parse_is_refused(model_file):
    _, path, _ = model_file
    members = _members(path)
    members["metadata.json"] = b'{"deep": ' + b"[" * 10**5 + b"]" * 10**5 + b"}"
    _write(path, members)
    with pytest.raises(
        ModelFileError, match=r"metadata.json is not valid JSON \(maximum recursion"
    ):
        skhealth.load(path)


def _array(values, dtype):
    """An array as the metadata encodes it."""
    return {"ndarray": values, "dtype": dtype, "shape": [len(values)]}


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m.update(attributes=[]),
        lambda m: m["target_scaler"].update(scale_="abc"),
        lambda m: m["target_scaler"].update(mean_=_array([0.0], "<f8")),
        lambda m: m["attributes"].update(target_names_=_array(["a"], "|O")),
    ],
    ids=["attributes_list", "text_scale", "one_mean", "one_target_name"],
)
def test_resealed_file_with_malformed_content_is_refused(model_file, edit):
    _, path, _ = model_file
    _rewrite(path, edit)
    with pytest.raises(ModelFileError, match="is damaged"):
        skhealth.load(path)


def _first_group(edit):
    """Edit the first of the optimizer's parameter groups in the metadata."""
    return lambda m: edit(m["net"]["optimizer"]["param_groups"][0]["dict"])


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (
            lambda m: m["attributes"].update(n_features_in_=-1),
            "its n_features_in_ is -1, not a positive int.",
        ),
        (
            lambda m: m["attributes"].update(_seed="5"),
            "its _seed is '5', not an int from 0 to 2**31 - 2.",
        ),
        (
            lambda m: m["attributes"].update(target_names_=_array([1, 2, 3], "|O")),
            "its target_names_ is array([1, 2, 3], dtype=object), not one str per "
            "task.",
        ),
        (
            lambda m: m["attributes"].update(_y_1d=True),
            "its _y_1d is True, not a bool, true only for one task.",
        ),
        (
            lambda m: m["attributes"].update(task_weights_=_array([1.0], "<f8")),
            "its task_weights_ is array([1.]), not one float per task.",
        ),
        (
            lambda m: m["net"].update(batch_size=-5),
            "its batch size is -5, not a positive int.",
        ),
        (
            lambda m: m["net"].update(history={"epoch": 1}),
            "its training history is {'epoch': 1}, not one record per epoch "
            "(n_iter_) of what fitting records.",
        ),
        (
            lambda m: m["estimator"]["params"].update(
                max_iter={"scalar": 10**30, "dtype": "<i8"}
            ),
            "its parameter max_iter is malformed (OverflowError('Python int too "
            "large to convert to C long')).",
        ),
        (
            lambda m: m["estimator"]["params"].update(max_iter="many"),
            "a parameter is malformed (InvalidParameterError(\"The 'max_iter' "
            "parameter of MultiTaskHealthRegressor must be an int in the range "
            "[1, inf). Got 'many' instead.\")).",
        ),
        (
            lambda m: m["estimator"]["params"].update(
                architecture={"class": "mmoe", "params": {"n_experts": -3}}
            ),
            'its parameter architecture is malformed (InvalidParameterError("The '
            "'n_experts' parameter of MMoE must be an int in the range [1, inf). Got "
            '-3 instead.")).',
        ),
    ],
    ids=[
        "negative_n_features",
        "text_seed",
        "number_target_names",
        "one_dimensional_y_of_three_tasks",
        "one_task_weight",
        "negative_batch_size",
        "history_dict",
        "max_iter_beyond_int64",
        "text_max_iter",
        "negative_n_experts",
    ],
)
def test_resealed_values_fitting_never_gives_are_refused_by_name(
    model_file, edit, problem
):
    _, path, _ = model_file
    _rewrite(path, edit)
    message = f"{path} is damaged or not a skhealth model file: {problem}"
    with pytest.raises(ModelFileError, match=re.escape(message)):
        skhealth.load(path)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda m: m["attributes"].pop("_seed"), "it lacks _seed."),
        (
            lambda m: m["target_scaler"].update(scale_=_array([1.0, 0.0, 1.0], "<f8")),
            "its target statistics are not one finite float per task (3), with "
            "positive scales that are the root of the variances.",
        ),
        (
            _first_group(lambda group: group["params"].reverse()),
            "its optimizer settings are not those of the optimizer the estimator "
            "builds.",
        ),
        (
            _first_group(lambda group: group.update(maximize=True)),
            "its optimizer settings are not those of the optimizer the estimator "
            "builds.",
        ),
        (
            # (a step or moment would be replaced by its tensor in the weights)
            lambda m: m["net"]["optimizer"]["state"].update(
                {"0": {"max_exp_avg_sq": 5}}
            ),
            "its optimizer record is not Adam's parameter groups with its state in "
            "weights.safetensors.",
        ),
    ],
    ids=["no_seed", "zero_scale", "reordered_parameters", "maximize", "number_state"],
)
def test_resealed_state_fitting_never_gives_is_refused(model_file, edit, problem):
    _, path, _ = model_file
    _rewrite(path, edit)
    with pytest.raises(
        ModelFileError, match=re.escape(f"{path} is damaged: {problem}")
    ):
        skhealth.load(path)


def test_resealed_file_with_garbage_preprocessing_is_refused(health_frame, tmp_path):
    X, Y = health_frame
    path = tmp_path / "model.skh"
    skhealth.save(health_pipeline().fit(X, Y), path)
    _rewrite(path, replace={"preprocessing.skops": b"not a skops file"})
    with pytest.raises(ModelFileError, match="is damaged"):
        skhealth.load(path)


def test_flipped_bytes_in_the_archive_are_detected(model_file):
    _, path, _ = model_file
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("weights.safetensors")
    # the member's data follow its 30-byte local header, name and extra field
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data = bytearray(path.read_bytes())
    for offset in range(start + 20, start + 30):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"weights.safetensors is corrupt"):
        skhealth.load(path)


def test_modified_member_is_detected_by_its_checksum(model_file):
    _, path, _ = model_file
    weights = safetensors.torch.load(_members(path)["weights.safetensors"])
    name = next(key for key in weights if key.startswith("module."))
    weights[name] = weights[name] + 1
    _rewrite(
        path,
        seal=False,
        replace={"weights.safetensors": safetensors.torch.save(weights)},
    )
    with pytest.raises(
        ModelFileError, match=r"weights.safetensors does not match the SHA-256"
    ):
        skhealth.load(path)


def test_edited_metadata_is_detected_by_its_checksum(model_file):
    _, path, _ = model_file
    _rewrite(path, lambda m: m["attributes"].update(n_iter_=500), seal=False)
    with pytest.raises(
        ModelFileError, match=r"metadata.json does not match its SHA-256"
    ):
        skhealth.load(path)


def test_metadata_that_is_not_json_is_refused(model_file):
    _, path, _ = model_file
    members = _members(path)
    members["metadata.json"] = members["metadata.json"][:-10]
    _write(path, members)
    with pytest.raises(ModelFileError, match=r"metadata.json is not valid JSON"):
        skhealth.load(path)


@pytest.mark.parametrize("member", ["metadata.json", "weights.safetensors"])
def test_missing_member_is_refused(model_file, member):
    _, path, _ = model_file
    members = _members(path)
    del members[member]
    # sealed as it was: the metadata still lists the member
    _write(path, members, comment=forging.comment(path))
    with pytest.raises(ModelFileError, match=f"damaged: it lacks {member}"):
        skhealth.load(path)


def test_unknown_format_is_refused(model_file):
    _, path, _ = model_file
    _rewrite(path, lambda m: m.update(format="someone-else"))
    with pytest.raises(ModelFileError, match=r"not a skhealth model file"):
        skhealth.load(path)


def test_newer_format_version_asks_for_an_upgrade(model_file):
    _, path, _ = model_file
    _rewrite(path, lambda m: m.update(format_version=3))
    message = (
        f"{path} was written by skhealth format version 3; this skhealth reads up "
        "to 2: upgrade skhealth."
    )
    with pytest.raises(ModelFileError, match=re.escape(message)):
        skhealth.load(path)


def test_parameters_unknown_to_this_version_ask_for_an_upgrade(model_file):
    _, path, _ = model_file
    _rewrite(path, lambda m: m["estimator"]["params"].update(new_option=1))
    with pytest.raises(ModelFileError, match=r"does not know.*new_option.*upgrade"):
        skhealth.load(path)


def test_architecture_unknown_to_this_version_asks_for_an_upgrade(model_file):
    _, path, _ = model_file
    _rewrite(
        path,
        lambda m: m["estimator"]["params"].update(
            architecture={"class": "transformer", "params": {}}
        ),
    )
    with pytest.raises(ModelFileError, match=r"architecture 'transformer'.*upgrade"):
        skhealth.load(path)


def test_file_without_library_versions_is_refused(model_file):
    _, path, _ = model_file
    _rewrite(path, lambda m: m.pop("versions"))
    with pytest.raises(ModelFileError, match="records no library versions"):
        skhealth.load(path)


@pytest.mark.parametrize(
    ("sizes", "problem"),
    [
        ([10**6, 10**6], "do not fit the network"),  # 4 TB of float32 weights
        ([10**12], "do not fit the network"),
        # more values than torch can count, even on the meta device
        (
            [10**12, 10**12],
            "the network its parameters describe is malformed (RuntimeError("
            "'Storage size calculation overflowed",
        ),
    ],
    ids=["terabytes", "a_trillion", "beyond_int64"],
)
def test_layer_sizes_that_do_not_fit_the_weights_are_refused_before_building(
    model_file, sizes, problem
):
    _, path, _ = model_file
    _rewrite(
        path,
        lambda m: m["estimator"]["params"].update(hidden_layer_sizes={"tuple": sizes}),
    )
    with pytest.raises(ModelFileError, match=re.escape(problem)):
        skhealth.load(path)


def test_task_weights_given_as_a_series_round_trip(regression_data, tmp_path):
    X, Y = regression_data
    Y = pd.DataFrame(Y, columns=["sbp", "hdl", "hba1c"])
    weights = pd.Series({"hdl": 2.0, "sbp": 1.0})
    reg = fast(task_weighting=weights).fit(X, Y)
    reg.save(tmp_path / "model.skh")
    loaded = skhealth.load(tmp_path / "model.skh")
    pd.testing.assert_series_equal(loaded.task_weighting, weights)
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


def test_model_kept_after_a_failed_continued_fit_round_trips(regression_data, tmp_path):
    X, Y = regression_data
    reg = fast(max_iter=2, warm_start=True, callbacks=[_FailAtEpoch(4)]).fit(X, Y)
    with pytest.raises(RuntimeError, match="failed on purpose"):
        reg.fit(X, Y)
    reg.set_params(callbacks=None).save(tmp_path / "model.skh")
    loaded = skhealth.load(tmp_path / "model.skh")
    assert loaded.n_iter_ == 4
    np.testing.assert_array_equal(loaded.predict(X), reg.predict(X))


class _FailAtEpoch(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise RuntimeError("failed on purpose")


@pytest.mark.skipif(
    not hasattr(torch, "AcceleratorError"), reason="torch.AcceleratorError: torch 2.8"
)
def test_a_device_error_while_loading_is_no_damaged_file(model_file, monkeypatch):
    _, path, _ = model_file
    busy = torch.AcceleratorError("CUDA error: all CUDA-capable devices are busy")

    def initialize(net):
        raise busy

    monkeypatch.setattr(MultiTaskNet, "initialize", initialize)
    with pytest.raises(torch.AcceleratorError) as raised:
        skhealth.load(path)
    assert raised.value is busy


def test_more_layers_than_a_file_may_describe_are_refused_before_building(
    model_file,
):
    _, path, _ = model_file
    # 10**6 layers would take minutes to build, even on the meta device
    _rewrite(
        path,
        lambda m: m["estimator"]["params"].update(
            hidden_layer_sizes={"tuple": [4] * 10**6}
        ),
    )
    message = "its number of hidden layers is 1000000, not at most 10000."
    with pytest.raises(ModelFileError, match=re.escape(message)):
        skhealth.load(path)


def test_more_layers_than_loading_accepts_are_not_saved(regression_data, tmp_path):
    X, Y = regression_data
    path = tmp_path / "model.skh"
    reg = fast(hidden_layer_sizes=(8,), head_layer_sizes=(4, 4)).fit(X, Y)
    with pytest.raises(ValueError, match=r"has 3 hidden layers, more than the 2 a"):
        skhealth.save(reg, path, limits=Limits(layers=2))
    assert not path.exists()


def test_a_member_count_that_does_not_fit_the_weights_is_refused_at_once(
    model_file,
):
    _, path, _ = model_file
    # building 10**6 members to compare their weights would take minutes
    _rewrite(path, lambda m: m["estimator"]["params"].update(n_members=10**6))
    with pytest.raises(ModelFileError, match=r"weights of 5 network\(s\), not of n_"):
        skhealth.load(path)


def test_weights_that_do_not_fit_the_network_are_refused(model_file):
    _, path, _ = model_file
    _rewrite(
        path,
        lambda m: m["estimator"]["params"].update(hidden_layer_sizes={"tuple": [17]}),
    )
    with pytest.raises(
        ModelFileError,
        match=r"weights in weights.safetensors do not fit .*; wrong shape or dtype: "
        r"module.members.0.heads.weight, module.members.0.trunk.0.bias,",
    ):
        skhealth.load(path)


def test_weights_of_another_network_are_refused(model_file, regression_data):
    _, path, _ = model_file
    X, Y = regression_data
    other = fast(architecture="mmoe").fit(X, Y)
    tensors = {
        f"module.{key}": value for key, value in other.net_.module_.state_dict().items()
    }
    _rewrite(path, replace={"weights.safetensors": safetensors.torch.save(tensors)})
    with pytest.raises(ModelFileError, match=r"missing: .*unexpected: .*experts"):
        skhealth.load(path)


def test_preprocessing_naming_a_library_function_is_refused(health_frame, tmp_path):
    # skops would call the function with arguments from the file: a NumPy test
    # helper, say, that runs a string of Python
    X, Y = health_frame
    path = tmp_path / "model.skh"
    skhealth.save(health_pipeline().fit(X, Y), path)
    forged = make_pipeline(FunctionTransformer(np.testing.assert_equal), "passthrough")
    _rewrite(path, replace={"preprocessing.skops": skops.io.dumps(forged)})
    with pytest.raises(ModelFileError, match=r"does not trust .*: .*assert_equal"):
        skhealth.load(path)


def test_preprocessing_needing_untrusted_types_is_refused(health_frame, tmp_path):
    X, Y = health_frame
    path = tmp_path / "model.skh"
    skhealth.save(health_pipeline().fit(X, Y), path)
    forged = make_pipeline(_CustomTransformer(), "passthrough")
    _rewrite(path, replace={"preprocessing.skops": skops.io.dumps(forged)})
    with pytest.raises(
        ModelFileError, match=r"does not trust .*: .*_CustomTransformer"
    ):
        skhealth.load(path)
