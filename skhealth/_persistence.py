"""Model files that are safe to share: :func:`save` and :func:`load`.

A model file (``.skh`` by convention) is a zip archive that holds data only:
loading it parses JSON, safetensors and skops data and never unpickles or
otherwise executes anything from the file. Its members are

``metadata.json``
    The format name and version; the skhealth, torch, scikit-learn, skorch and
    NumPy versions it was written with; the estimator's class and
    ``get_params()``; its learned attributes (including the target
    standardisation), the training batch size, the skorch history and the
    optimizer's non-tensor state; the SHA-256 of every other member, and of
    its own content (``metadata_sha256``: the SHA-256 of the metadata without
    that key, written as JSON with sorted keys and no whitespace).
``weights.safetensors``
    The network's state dict (``module.*``), the criterion's (``criterion.*``,
    which holds the task weighting's learned weights and statistics) and the
    optimizer's tensors (``optimizer.<param index>.<name>``), so that
    ``partial_fit`` and ``warm_start`` continue training where it stopped.
``preprocessing.skops``
    Only for a :class:`~sklearn.pipeline.Pipeline`: the pipeline with its final
    estimator replaced by ``"passthrough"``, written by :func:`skops.io.dumps`.
    Loading trusts the types skops trusts by default, scikit-learn's estimators
    and column selector, and NumPy's dtypes and scalar types, and refuses a
    file that needs any other type (a function above all: skops would call it
    with the file's arguments).

What a model file can hold: a fitted :class:`~skhealth.MultiTaskHealthRegressor`
(or a fitted pipeline ending in one) whose parameters are plain values
(``None``, bools, numbers, strings, and lists, tuples, dicts and NumPy arrays of
them) or instances of skhealth's own architectures and task weightings. What
it cannot hold, and :func:`save` refuses: custom classes (a user-defined
architecture, task weighting, transformer or estimator subclass), skorch
``callbacks``, a ``RandomState`` instance as ``random_state``. Save such models
with pickle or joblib instead (and load those only from people you trust).

The checksums detect damage and accidental edits; they are no signature, since
whoever can write a file can recompute them. What makes a file from a stranger
safe to load is that it holds data only.
"""

import copy
import hashlib
import importlib
import io
import json
import os
import reprlib
import zipfile
import zlib
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import pandas as pd
import safetensors.torch
import sklearn
import skops.io
import skorch
import torch
from sklearn.base import BaseEstimator
from sklearn.compose import make_column_selector
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import validate_parameter_constraints
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from ._estimator import (
    MultiTaskHealthRegressor,
    _layer_sizes,
    _resolve_device,
    _torch_seed,
)
from .architectures import ARCHITECTURES, build_ensemble
from .weighting import WEIGHTINGS, Fixed

__all__ = ["ModelFileError", "load", "save"]

FORMAT_NAME = "skhealth-model"
FORMAT_VERSION = 1

_METADATA = "metadata.json"
_WEIGHTS = "weights.safetensors"
_PREPROCESSING = "preprocessing.skops"

# The most bytes a member may hold once decompressed, so that a small file
# cannot make loading inflate gigabytes: the metadata is mostly the training
# history (a few numbers per batch), the preprocessing a pipeline's fitted
# steps. The weights' limit follows from the network the metadata describes
# (_weights_limit). save refuses a model that exceeds them.
_LIMITS = {_METADATA: 64 * 2**20, _PREPROCESSING: 256 * 2**20}

# Building the network a file describes costs time and memory per layer even
# on the meta device (about 1.7 s and 100 MB for 10,000 layers): without a
# bound, a small forged file listing millions of layers would stall loading.
# fit trains no useful network this deep; save refuses one too.
_MAX_LAYERS = 10_000


def _n_layers(estimator):
    """Hidden layers of the trunk and of a head: those the network builds."""
    return sum(
        len(_layer_sizes(getattr(estimator, param), param))
        for param in ("hidden_layer_sizes", "head_layer_sizes")
    )


def _is_int(value, low=1, high=None):
    return (
        isinstance(value, Integral)
        and not isinstance(value, bool)
        and low <= value
        and (high is None or value <= high)
    )


def _is_real(value):
    return isinstance(value, Real) and not isinstance(value, bool)


def _is_reals(value):
    return isinstance(value, list) and all(map(_is_real, value))


def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


def _is_array(value, n, kind):
    """Whether ``value`` is a 1-D array of ``n`` floats (kind "f") or str ("O")."""
    return (
        isinstance(value, np.ndarray)
        and value.shape == (n,)
        and value.dtype.kind == kind
        and (kind != "O" or all(isinstance(item, str) for item in value))
    )


# Learned attributes of the estimator, saved when present (all but
# feature_names_in_ always are), with what loading accepts for each: what
# fitting sets, given the attributes above it. The network is built from them.
_ATTRIBUTES = {
    "n_features_in_": ("a positive int", lambda v, e: _is_int(v)),
    "feature_names_in_": (
        "one str per feature",
        lambda v, e: _is_array(v, e.n_features_in_, "O"),
    ),
    "n_tasks_": ("a positive int", lambda v, e: _is_int(v)),
    "target_names_": ("one str per task", lambda v, e: _is_array(v, e.n_tasks_, "O")),
    "_y_1d": (
        "a bool, true only for one task",
        lambda v, e: _is_bool(v) and (not v or e.n_tasks_ == 1),
    ),
    # the seeds training draws from: randint(2**31 - 1) plus the epoch
    "_seed": ("an int from 0 to 2**31 - 2", lambda v, e: _is_int(v, 0, 2**31 - 2)),
    "do_early_stopping_": ("a bool", lambda v, e: _is_bool(v)),
    "n_iter_": ("a positive int", lambda v, e: _is_int(v)),
    "loss_curve_": ("a list of numbers", lambda v, e: _is_reals(v)),
    "best_loss_": ("a number or None", lambda v, e: v is None or _is_real(v)),
    "validation_scores_": (
        "a list of numbers or None",
        lambda v, e: v is None or _is_reals(v),
    ),
    "best_validation_score_": (
        "a number or None",
        lambda v, e: v is None or _is_real(v),
    ),
    "task_weights_": ("one float per task", lambda v, e: _is_array(v, e.n_tasks_, "f")),
}
_SCALER_ATTRIBUTES = ("mean_", "scale_", "var_", "n_samples_seen_", "n_features_in_")

# The parameters that may hold an instance of one of skhealth's own classes,
# stored by name. Fixed is what task_weighting=[...] builds, so it is saved too.
_REGISTRIES = {
    "architecture": ARCHITECTURES,
    "task_weighting": {**WEIGHTINGS, "fixed": Fixed},
}

# Classes a preprocessing member may need beyond skops' defaults: making one
# from a file's arguments has no effect beyond the object. Only classes: skops
# calls what a file names with the file's arguments, and scikit-learn and NumPy
# also hold functions (and classes such as numpy.memmap) that act on the system.
_TRUSTED_CLASSES = (BaseEstimator, make_column_selector, np.dtype, np.generic)


class ModelFileError(ValueError):
    """A model file that cannot be loaded.

    It is not a skhealth model file, it is damaged or was modified, or it was
    written by a newer skhealth. The message names the file and the problem.
    """


# ---------------------------------------------------------------- encoding
def _encode(value, name):
    """``value`` as JSON data, tagged so that it decodes to the same types."""

    def encode(item):
        if isinstance(item, np.generic) and item.dtype.kind in "biuf":
            return {"scalar": item.item(), "dtype": item.dtype.str}
        if item is None or isinstance(item, (bool, int, float, str)):
            return item
        if isinstance(item, list):
            return [encode(element) for element in item]
        if isinstance(item, tuple):
            return {"tuple": [encode(element) for element in item]}
        if isinstance(item, dict) and all(isinstance(key, str) for key in item):
            return {"dict": {key: encode(element) for key, element in item.items()}}
        if isinstance(item, dict):  # keys JSON objects cannot hold, e.g. task indices
            return {"items": [[encode(key), encode(item[key])] for key in item]}
        if isinstance(item, pd.Series):  # task_weighting keyed by target name
            return {"series": [[encode(key), encode(w)] for key, w in item.items()]}
        if isinstance(item, np.ndarray) and (
            item.dtype.kind in "biuf"
            or (
                item.dtype.kind == "O"
                and all(isinstance(element, str) for element in item.flat)
            )
        ):
            return {
                "ndarray": item.tolist(),
                "dtype": item.dtype.str,
                "shape": list(item.shape),
            }
        raise ValueError(
            f"{name}={value!r} cannot be stored in a model file, which holds "
            "parameters as data (None, bools, numbers, strings, and lists, tuples, "
            "dicts and arrays of them). Set a plain value with set_params before "
            "saving, or save the model with pickle or joblib."
        )

    return encode(value)


def _dtype(text):
    dtype = np.dtype(text)
    if dtype.kind not in "biufO":
        raise ValueError(f"unsupported dtype {text!r}")
    return dtype


def _decode(data):
    if isinstance(data, list):
        return [_decode(item) for item in data]
    if not isinstance(data, dict):
        return data
    if data.keys() == {"tuple"}:
        return tuple(_decode(item) for item in data["tuple"])
    if data.keys() == {"dict"}:
        return {key: _decode(item) for key, item in data["dict"].items()}
    if data.keys() == {"items"}:
        return {_decode(key): _decode(item) for key, item in data["items"]}
    if data.keys() == {"series"}:
        pairs = [(_decode(key), _decode(value)) for key, value in data["series"]]
        return pd.Series(dict(pairs))
    if data.keys() == {"scalar", "dtype"}:
        return _dtype(data["dtype"]).type(data["scalar"])
    if data.keys() == {"ndarray", "dtype", "shape"}:
        array = np.asarray(data["ndarray"], dtype=_dtype(data["dtype"]))
        return array.reshape(data["shape"])
    raise ValueError(f"unknown value {data!r}")


def _encode_params(estimator):
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        registry = _REGISTRIES.get(name)
        if registry is not None and hasattr(value, "get_params"):
            params[name] = _encode_instance(value, name, registry)
        else:
            params[name] = _encode(value, name)
    return params


def _encode_instance(value, name, registry):
    names = [key for key, cls in registry.items() if type(value) is cls]
    if not names:
        raise ValueError(
            f"{name}={value!r} is not one of skhealth's own classes "
            f"({', '.join(sorted(registry))}): a model file stores parameters as "
            "data and cannot rebuild a custom class. Save this model with pickle "
            "or joblib instead."
        )
    return {
        "class": names[0],
        "params": {
            key: _encode(item, f"{name}__{key}")
            for key, item in value.get_params(deep=False).items()
        },
    }


def _decode_params(params, name):
    decoded = {}
    for param, data in params.items():
        with _malformed(name, f"its parameter {param}"):
            if isinstance(data, dict) and data.keys() == {"class", "params"}:
                registry = _REGISTRIES[param]
                if data["class"] not in registry:
                    raise ModelFileError(
                        f"{name} needs the {param} {data['class']!r}, which this "
                        f"skhealth does not have ({', '.join(sorted(registry))}): "
                        "upgrade skhealth."
                    )
                cls = registry[data["class"]]
                params = {key: _decode(item) for key, item in data["params"].items()}
                decoded[param] = cls(**params)
                validate_parameter_constraints(
                    getattr(cls, "_parameter_constraints", {}),
                    decoded[param].get_params(deep=False),
                    caller_name=cls.__name__,
                )
            else:
                decoded[param] = _decode(data)
    return decoded


def _plain(value):
    """JSON fallback for history values: NumPy scalars and arrays."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise ValueError(
        f"the training history holds a {type(value).__name__} ({value!r}), which "
        "a model file cannot store; save this model with pickle or joblib."
    )


def _canonical(data):
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------- saving
def _final_estimator(obj):
    estimator = obj.steps[-1][1] if isinstance(obj, Pipeline) else obj
    if type(estimator) is not MultiTaskHealthRegressor:
        raise TypeError(
            "skhealth.save writes a MultiTaskHealthRegressor or a Pipeline whose "
            f"last step is one; got {type(obj).__name__}"
            + (f" ending in {type(estimator).__name__}" if estimator is not obj else "")
            + ". Save other objects (and subclasses) with pickle or joblib."
        )
    return estimator


def _is_trusted(type_name):
    """Whether ``type_name`` is a scikit-learn or NumPy class of _TRUSTED_CLASSES."""
    module_name, _, attribute = type_name.rpartition(".")
    if module_name.split(".")[0] not in ("sklearn", "numpy"):
        return False
    try:
        # importing a module of these libraries runs only their own code
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError):
        return False
    return isinstance(found, type) and issubclass(found, _TRUSTED_CLASSES)


def _untrusted(data):
    """Types the skops ``data`` needs beyond what loading trusts."""
    return [
        type_name
        for type_name in skops.io.get_untrusted_types(data=data)
        if not _is_trusted(type_name)
    ]


def _dump_preprocessing(pipeline):
    head = copy.copy(pipeline)
    head.steps = [*pipeline.steps[:-1], (pipeline.steps[-1][0], "passthrough")]
    data = skops.io.dumps(head)
    untrusted = _untrusted(data)
    if untrusted:
        raise ValueError(
            "The pipeline's preprocessing needs types that loading does not trust "
            "(only scikit-learn estimators, NumPy dtypes and skops' defaults): "
            f"{', '.join(untrusted)}. Save this model with pickle or joblib instead."
        )
    return data


def _cpu_copy(tensor):
    # a copy, since safetensors refuses tensors that share memory
    return tensor.detach().to("cpu", copy=True)


def _net_state(net):
    """The net's tensors (for safetensors) and the optimizer's other state."""
    tensors = {}
    for prefix, part in (("module", net.module_), ("criterion", net.criterion_)):
        for key, tensor in part.state_dict().items():
            tensors[f"{prefix}.{key}"] = _cpu_copy(tensor)
    optimizer = net.optimizer_.state_dict()
    state = {}
    for index, entries in optimizer["state"].items():
        for key, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{key}"] = _cpu_copy(value)
            else:
                state.setdefault(str(index), {})[key] = _encode(value, "optimizer")
    groups = _encode(optimizer["param_groups"], "optimizer")
    return tensors, {"param_groups": groups, "state": state}


def save(obj, path):
    """Write a fitted model to a file that is safe to share.

    The file (``.skh`` by convention) is a zip archive of data only -- JSON
    metadata, safetensors weights and, for a pipeline, the preprocessing steps
    in skops' format -- so :func:`load` never unpickles anything. It holds the
    parameters, learned attributes, training history and optimizer state:
    predictions after loading are identical, and ``partial_fit`` or
    ``warm_start`` continue training.

    Models with custom classes (a user-defined architecture, task weighting or
    transformer), skorch ``callbacks`` or a ``RandomState`` as ``random_state``
    cannot be stored as data: ``save`` refuses them (set plain values with
    ``set_params``, or use pickle or joblib).

    Parameters
    ----------
    obj : MultiTaskHealthRegressor or sklearn.pipeline.Pipeline
        A fitted estimator, or a fitted pipeline whose last step is one.
    path : str or path-like
        Where to write the file; an existing file is replaced.

    Raises
    ------
    TypeError
        When ``obj`` is not a MultiTaskHealthRegressor or a pipeline ending in
        one.
    sklearn.exceptions.NotFittedError
        When the estimator is not fitted.
    ValueError
        When the model holds something the format cannot store, or when a
        parameter the network is built from (``hidden_layer_sizes``,
        ``architecture``, ...) was changed after fitting: the file would not
        describe the network its weights belong to.

    See Also
    --------
    load : Read a model file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> import skhealth
    >>> from sklearn.datasets import make_regression
    >>> X, Y = make_regression(n_samples=100, n_features=4, n_targets=2,
    ...                        random_state=0)
    >>> reg = skhealth.MultiTaskHealthRegressor(max_iter=100, random_state=0)
    >>> reg = reg.fit(X, Y)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = pathlib.Path(folder) / "model.skh"
    ...     skhealth.save(reg, path)
    ...     loaded = skhealth.load(path)
    >>> np.array_equal(loaded.predict(X), reg.predict(X))
    True
    """
    estimator = _final_estimator(obj)
    check_is_fitted(estimator)
    # loading refuses invalid parameters, and rebuilds from them the network
    # its weights must fit
    estimator._validate_params()
    estimator._check_network_params("saving")
    if _n_layers(estimator) > _MAX_LAYERS:
        raise ValueError(
            f"The model has {_n_layers(estimator)} hidden layers, more than the "
            f"{_MAX_LAYERS} a model file may describe (loading refuses more, so "
            "that a small file cannot stall it). Save it with pickle or joblib."
        )
    params = _encode_params(estimator)
    tensors, optimizer = _net_state(estimator.net_)
    members = {_WEIGHTS: safetensors.torch.save(tensors)}
    if isinstance(obj, Pipeline):
        members[_PREPROCESSING] = _dump_preprocessing(obj)
    scaler = estimator._target_scaler
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "versions": _library_versions(),
        "estimator": {"class": "MultiTaskHealthRegressor", "params": params},
        "attributes": {
            name: _encode(getattr(estimator, name), name)
            for name in _ATTRIBUTES
            if hasattr(estimator, name)
        },
        "target_scaler": {
            name: _encode(getattr(scaler, name), name) for name in _SCALER_ATTRIBUTES
        },
        "net": {
            "batch_size": _encode(estimator.net_.batch_size, "batch_size"),
            "history": json.loads(json.dumps(estimator.net_.history, default=_plain)),
            "optimizer": optimizer,
        },
        "members": {member: _sha256(data) for member, data in members.items()},
    }
    metadata["metadata_sha256"] = _sha256(_canonical(metadata))
    # compact: the history (a few numbers per batch) is most of it, and its
    # size is limited
    members = {
        _METADATA: json.dumps(metadata, separators=(",", ":")).encode(),
        **members,
    }
    for member, limit in _LIMITS.items():
        if len(members.get(member, b"")) > limit:
            raise ValueError(
                f"The model's {member} would be {len(members[member])} bytes, more "
                f"than the {limit} a model file may hold (loading refuses larger "
                "members, so that a small file cannot make it inflate gigabytes). "
                "Save this model with pickle or joblib instead."
            )
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in members.items():
            # A fixed timestamp: the same model gives the same file.
            info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)


def _library_versions():
    from . import __version__  # the package's __init__ imports this module

    return {
        "skhealth": __version__,
        "torch": torch.__version__,
        "scikit-learn": sklearn.__version__,
        "skorch": skorch.__version__,
        "numpy": np.__version__,
    }


# ------------------------------------------------------------------ loading
def _check_sizes(infos, limit, what, name):
    """Refuse zip entries ``infos`` that would inflate to more than ``limit``
    bytes in all, or that are compressed otherwise than by deflate: zipfile
    inflates deflate in bounded steps, but bzip2 and LZMA at one go."""
    for info in infos:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelFileError(
                f"{name} is damaged: {what} is corrupt (it uses compression method "
                f"{info.compress_type}; skhealth writes deflate)."
            )
    size = sum(info.file_size for info in infos)
    if size > limit:
        raise ModelFileError(
            f"{name} is damaged or not a skhealth model file: {what} would be "
            f"{size} bytes once decompressed, more than the {limit} it can hold."
        )


def _read_member(archive, member, name, limit):
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise ModelFileError(f"{name} is damaged: it lacks {member}.") from None
    _check_sizes([info], limit, member, name)
    try:
        with archive.open(info) as stream:
            # bounded, should the declared size lie
            data = stream.read(limit + 1)
    # RuntimeError: an encrypted member, which skhealth does not write.
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError) as exc:
        raise ModelFileError(
            f"{name} is damaged: {member} is corrupt ({exc})."
        ) from exc
    if len(data) > limit:
        raise ModelFileError(
            f"{name} is damaged or not a skhealth model file: {member} holds more "
            f"than the {limit} bytes it declares or can hold."
        )
    return data


def _read_metadata(archive, name):
    try:
        metadata = json.loads(
            _read_member(archive, _METADATA, name, _LIMITS[_METADATA])
        )
    # RecursionError: lists nested too deeply for the parser
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(
            f"{name} is damaged: {_METADATA} is not valid JSON ({exc})."
        ) from exc
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"{name} is not a skhealth model file: its {_METADATA} does not name "
            f"the {FORMAT_NAME!r} format."
        )
    version = metadata.get("format_version")
    if type(version) is not int or version < 1:
        raise ModelFileError(
            f"{name} is damaged: its format version {version!r} is not a positive "
            "integer."
        )
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{name} was written by skhealth format version {version}; this "
            f"skhealth reads up to {FORMAT_VERSION}: upgrade skhealth."
        )
    if metadata.pop("metadata_sha256", None) != _sha256(_canonical(metadata)):
        raise ModelFileError(
            f"{name} was modified or damaged: {_METADATA} does not match its SHA-256."
        )
    versions = metadata.get("versions")
    if not isinstance(versions, dict) or not all(
        isinstance(v, str) for v in versions.values()
    ):
        raise ModelFileError(
            f"{name} is damaged: {_METADATA} records no library versions."
        )
    return metadata


def _read(path, name):
    """The checked metadata and members of the model file at ``path``, and the
    estimator its metadata describe (checked, without its network)."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ModelFileError(
            f"{name} is not a skhealth model file: it is not a zip archive, or it "
            "is truncated."
        ) from exc
    with archive:
        metadata = _read_metadata(archive, name)
        digests = metadata.get("members")
        if (
            not isinstance(digests, dict)
            or _WEIGHTS not in digests
            or not digests.keys() <= {_WEIGHTS, _PREPROCESSING}
        ):
            raise ModelFileError(
                f"{name} is damaged: {_METADATA} lists members {digests!r}."
            )
        with _malformed(name):
            estimator = _make_estimator(metadata, name)
        limits = {**_LIMITS, _WEIGHTS: _weights_limit(estimator, name)}
        members = {
            member: _read_member(archive, member, name, limits[member])
            for member in digests
        }
    for member, digest in digests.items():
        if _sha256(members[member]) != digest:
            raise ModelFileError(
                f"{name} was modified or damaged: {member} does not match the "
                f"SHA-256 recorded in {_METADATA}."
            )
    return metadata, members, estimator


_DEVICE_ERRORS = (torch.OutOfMemoryError, getattr(torch, "AcceleratorError", ()))


@contextmanager
def _malformed(name, what="its content"):
    """Report content that a checked file should not have as a ModelFileError
    that says where it is."""
    try:
        yield
    # A device's errors (out of memory, busy) are RuntimeErrors, but no damage
    # to the file. torch.AcceleratorError came with torch 2.8.
    except (ModelFileError, *_DEVICE_ERRORS):
        raise
    except (
        AttributeError,
        IndexError,
        KeyError,
        OverflowError,
        RuntimeError,
        TypeError,
        ValueError,
        safetensors.SafetensorError,
        zipfile.BadZipFile,
    ) as exc:
        raise ModelFileError(
            f"{name} is damaged or not a skhealth model file: {what} is malformed "
            f"({exc!r})."
        ) from exc


def _expect(ok, value, expected, field, name):
    """Refuse the file unless ``ok``: its ``field`` is ``value``, not ``expected``."""
    if not ok:
        raise ModelFileError(
            f"{name} is damaged or not a skhealth model file: its {field} is "
            f"{reprlib.repr(value)}, not {expected}."
        )


def _make_estimator(metadata, name):
    """The estimator from the metadata, its parameters and learned attributes
    checked; no network yet."""
    if metadata["estimator"]["class"] != "MultiTaskHealthRegressor":
        raise ModelFileError(
            f"{name} holds a {metadata['estimator']['class']}, which this skhealth "
            "cannot build: upgrade skhealth."
        )
    params = metadata["estimator"]["params"]
    unknown = params.keys() - MultiTaskHealthRegressor().get_params().keys()
    if unknown:
        raise ModelFileError(
            f"{name} was saved by skhealth {metadata['versions']['skhealth']} with "
            f"parameters this skhealth does not know ({', '.join(sorted(unknown))}): "
            "upgrade skhealth."
        )
    estimator = MultiTaskHealthRegressor(**_decode_params(params, name))
    with _malformed(name, "a parameter"):  # the error names it
        estimator._validate_params()
        n_layers = _n_layers(estimator)
    _expect(
        n_layers <= _MAX_LAYERS,
        n_layers,
        f"at most {_MAX_LAYERS}",
        "number of hidden layers",
        name,
    )
    saved = metadata["attributes"]
    for attribute, (expected, accepted) in _ATTRIBUTES.items():
        if attribute in saved:
            with _malformed(name, f"its {attribute}"):
                value = _decode(saved[attribute])
            _expect(accepted(value, estimator), value, expected, attribute, name)
            setattr(estimator, attribute, value)
        elif attribute != "feature_names_in_":  # set only for named columns
            raise ModelFileError(f"{name} is damaged: it lacks {attribute}.")
    scaler = StandardScaler()
    for attribute in _SCALER_ATTRIBUTES:
        setattr(scaler, attribute, _decode(metadata["target_scaler"][attribute]))
    estimator._target_scaler = scaler
    # what predict computes with: one finite float statistic per task
    n_tasks = estimator.n_tasks_
    per_task = [np.asarray(getattr(scaler, a)) for a in ("mean_", "scale_", "var_")]
    if (
        scaler.n_features_in_ != n_tasks
        or any(
            value.shape != (n_tasks,)
            or value.dtype.kind != "f"
            or not np.isfinite(value).all()
            for value in per_task
        )
        or not (per_task[1] > 0).all()  # scale_
    ):
        raise ModelFileError(
            f"{name} is damaged: its target statistics are not one finite float "
            f"per task ({n_tasks}) with positive scales."
        )
    return estimator


def _weights_limit(estimator, name):
    """The most bytes the weights of the network ``estimator`` describes take:
    the members' values, twice again as Adam's moments, and a KiB for the name
    and the optimizer's step of each tensor and for the criterion's per task."""
    # one member, on the meta device: it allocates nothing
    with _malformed(name, "the network its parameters describe"), torch.device("meta"):
        params = estimator._module_params(estimator.n_features_in_)
        state = params["architecture"].build(params["spec"]).state_dict()
    n_bytes = sum(tensor.numel() * tensor.element_size() for tensor in state.values())
    per_member = 3 * (n_bytes + 1024 * len(state))
    return params["n_members"] * per_member + 1024 * estimator.n_tasks_


def _load_state(part, tensors, prefix, name):
    """Load ``part``'s state dict from ``tensors`` after checking names and shapes."""
    part.load_state_dict(_fitting_state(part, tensors, prefix, name))


def _fitting_state(part, tensors, prefix, name):
    """``part``'s state dict from ``tensors``, which must fit it exactly."""
    expected = part.state_dict()
    got = {
        key.removeprefix(f"{prefix}."): tensor
        for key, tensor in tensors.items()
        if key.startswith(f"{prefix}.")
    }
    missing, unexpected = expected.keys() - got.keys(), got.keys() - expected.keys()
    mismatched = [
        key
        for key in expected.keys() & got.keys()
        if got[key].shape != expected[key].shape
        or got[key].dtype != expected[key].dtype
    ]
    if missing or unexpected or mismatched:
        raise ModelFileError(
            f"{name} is damaged: the {prefix} weights in {_WEIGHTS} do not fit the "
            f"network its {_METADATA} describes (missing: {sorted(missing)}, "
            f"unexpected: {sorted(unexpected)}, wrong shape or dtype: "
            f"{sorted(mismatched)})."
        )
    return got


def _fits_group(group, built):
    """Whether a saved parameter group is the ``built`` one: the same parameters
    and settings, but for the learning rate and weight decay, which follow
    learning_rate_init and alpha."""
    return (
        isinstance(group, dict)
        and group.get("params") == built["params"]
        and all(
            _is_real(group.get(key)) and group[key] >= 0
            for key in ("lr", "weight_decay")
        )
        and all(
            group[key] == value
            for key, value in built.items()
            if key in group and key not in ("params", "lr", "weight_decay")
        )
    )


def _load_optimizer(optimizer, tensors, saved, name):
    # torch takes the saved groups as they are, and matches the state to the
    # parameters by the indices they list
    groups, built = _decode(saved["param_groups"]), optimizer.state_dict()
    if not (
        isinstance(groups, list)
        and len(groups) == len(built["param_groups"])
        and all(map(_fits_group, groups, built["param_groups"]))
    ):
        raise ModelFileError(
            f"{name} is damaged: its optimizer settings are not those of the "
            "optimizer the estimator builds."
        )
    params = [param for group in optimizer.param_groups for param in group["params"]]
    state = {
        int(index): {key: _decode(value) for key, value in entries.items()}
        for index, entries in saved["state"].items()
    }
    for key, tensor in tensors.items():
        if key.startswith("optimizer."):
            index, entry = key.removeprefix("optimizer.").split(".", 1)
            state.setdefault(int(index), {})[entry] = tensor
    wrong = [
        index
        for index, entries in state.items()
        if not 0 <= index < len(params)
        # Adam's state is tensors: a step, and moments shaped as the parameter
        or any(
            not torch.is_tensor(value)
            or (value.dim() and value.shape != params[index].shape)
            for value in entries.values()
        )
    ]
    if wrong:
        raise ModelFileError(
            f"{name} is damaged: the optimizer state in {_WEIGHTS} does not fit the "
            f"network (parameters {sorted(wrong)})."
        )
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def _restore_net(estimator, device, metadata, members, name):
    saved = metadata["net"]
    batch_size = _decode(saved["batch_size"])
    _expect(_is_int(batch_size), batch_size, "a positive int", "batch size", name)
    history = saved["history"]
    _expect(
        isinstance(history, list)
        and len(history) == estimator.n_iter_
        and all(isinstance(epoch, dict) for epoch in history),
        history,
        "one dict per epoch (n_iter_)",
        "training history",
        name,
    )
    tensors = safetensors.torch.load(members[_WEIGHTS])
    # The weights must fit the network the parameters describe before it is
    # built for real: a doctored layer size would otherwise allocate it first,
    # and a doctored n_members build that many members, even on the meta device.
    params = estimator._module_params(estimator.n_features_in_)
    copies = {key.split(".")[2] for key in tensors if key.startswith("module.members.")}
    n_copies = max(len(copies), 1)
    if n_copies != params["n_members"]:
        raise ModelFileError(
            f"{name} is damaged: {_WEIGHTS} holds the weights of {n_copies} "
            f"network(s), not of n_members={params['n_members']!r}."
        )
    with torch.device("meta"):
        module = build_ensemble(**params)
    module_state = _fitting_state(module, tensors, "module", name)
    with _torch_seed(estimator._seed, device):
        # _make_net sizes batch_size="auto" from the number of training rows,
        # which the file does not keep; it keeps the size that was used.
        net = estimator._make_net(estimator.n_features_in_, batch_size, device)
        net.batch_size = batch_size
        net.initialize()
    unexpected = [
        key
        for key in tensors
        if key.split(".")[0] not in ("module", "criterion", "optimizer")
    ]
    if unexpected:
        raise ModelFileError(
            f"{name} is damaged: {_WEIGHTS} holds unexpected tensors {unexpected}."
        )
    # the real module is built from the same parameters: checked above
    net.module_.load_state_dict(module_state)
    _load_state(net.criterion_, tensors, "criterion", name)
    _load_optimizer(net.optimizer_, tensors, saved["optimizer"], name)
    net.history = History(history)
    estimator.net_ = net
    estimator._built_with = estimator._network_params()


def _load_preprocessing(data, name):
    # skops inflates the archive that the member is: it may not hold more
    with zipfile.ZipFile(io.BytesIO(data)) as inner:
        limit = _LIMITS[_PREPROCESSING]
        _check_sizes(inner.infolist(), limit, f"the archive in {_PREPROCESSING}", name)
    untrusted = _untrusted(data)
    if untrusted:
        raise ModelFileError(
            f"{name} holds preprocessing that needs types skhealth does not trust "
            f"(only scikit-learn estimators, NumPy dtypes and skops' defaults): "
            f"{', '.join(untrusted)}."
        )
    pipeline = skops.io.loads(data, trusted=skops.io.get_untrusted_types(data=data))
    if not isinstance(pipeline, Pipeline) or pipeline.steps[-1][1] != "passthrough":
        raise ModelFileError(f"{name} is damaged: {_PREPROCESSING} holds no pipeline.")
    return pipeline


def load(path, *, device=None):
    """Read a model file written by :func:`save`.

    Nothing in the file is executed: the metadata is JSON, the weights are
    safetensors and a pipeline's preprocessing is loaded by skops, trusting
    only the types skops trusts by default and those of scikit-learn and NumPy.
    Every member is checked against the SHA-256 recorded when it was saved.

    Parameters
    ----------
    path : str or path-like
        The model file.
    device : str, default=None
        Where to place the network, which also becomes the estimator's
        ``device`` parameter; ``None`` keeps the device it was saved with. A
        model saved with ``device="cuda"`` needs ``device="cpu"`` (or
        ``"auto"``) on a machine without CUDA. Predictions are bit-identical to
        the saved model's on the same kind of device.

    Returns
    -------
    model : MultiTaskHealthRegressor or sklearn.pipeline.Pipeline
        What was saved, fitted.

    Raises
    ------
    FileNotFoundError
        When there is no file at ``path``.
    ModelFileError
        When the file is not a skhealth model file, is damaged or was
        modified, or was written by a newer skhealth.
    ValueError
        When the saved device is not available here (see ``device``).

    See Also
    --------
    save : Write a model file.
    """
    name = os.fspath(path)
    metadata, members, estimator = _read(path, name)
    if device is not None:
        estimator.set_params(device=device)
    try:
        resolved = _resolve_device(estimator.device)
    except ValueError as exc:
        if device is not None:
            raise
        raise ValueError(
            f"{name} was saved with device={estimator.device!r}, which this machine "
            "cannot use: pass device='cpu' (or 'auto') to skhealth.load."
        ) from exc
    with _malformed(name):
        _restore_net(estimator, resolved, metadata, members, name)
        if _PREPROCESSING not in members:
            return estimator
        pipeline = _load_preprocessing(members[_PREPROCESSING], name)
    pipeline.steps[-1] = (pipeline.steps[-1][0], estimator)
    return pipeline
