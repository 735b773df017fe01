"""Model files that are safe to share: :func:`save` and :func:`load`.

A model file (``.skh`` by convention) is a zip archive that holds data only:
loading it parses JSON, safetensors and skops data and never unpickles or
otherwise executes anything from the file. Its members are

``metadata.json``
    The format name and version; the skhealth, torch, scikit-learn, skorch and
    NumPy versions it was written with; the estimator's class and
    ``get_params()``; its learned attributes (including the target
    standardisation), the training batch size, the skorch history and the
    optimizer's non-tensor state; the SHA-256 of every other member. It is
    written as JSON with sorted keys and no whitespace, and its own SHA-256 is
    in the archive's comment (``skhealth-model 2 metadata-sha256=<hex>``), so
    that it is checked before the JSON is parsed.
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
safe to load is that it holds data only, and that every value is checked
against what fitting gives before it is used (the threat model is in the user
guide's page on model files).
"""

import contextlib
import copy
import hashlib
import io
import json
import math
import os
import re
import reprlib
import stat
import zipfile
import zlib
from numbers import Integral, Real

import numpy as np
import pandas as pd
import safetensors.torch
import sklearn
import skops.io
import skorch
import torch
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import FeatureUnion, Pipeline
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
from .architectures import ARCHITECTURES
from .weighting import WEIGHTINGS, Fixed

__all__ = ["ModelFileError", "load", "save"]

FORMAT_NAME = "skhealth-model"
# Loading reads every version; save writes the last.
# 1: the metadata's SHA-256 is inside it (``metadata_sha256``, over the
#    metadata without that key as canonical JSON), so checked after parsing.
# 2: the metadata is written as canonical JSON and its SHA-256 is in the
#    archive's comment, checked before parsing. Nothing else changed: a
#    version-1 file loads to the same model.
FORMAT_VERSION = 2
_COMMENT = re.compile(rb"skhealth-model (\d{1,9}) metadata-sha256=([0-9a-f]{64})")

_METADATA = "metadata.json"
_WEIGHTS = "weights.safetensors"
_PREPROCESSING = "preprocessing.skops"

# The most bytes a member may hold once decompressed, so that a small file
# cannot make loading inflate gigabytes: the metadata is mostly the training
# history (a few numbers per batch), the preprocessing a pipeline's fitted
# steps. The weights' size must be exactly what the network the metadata
# describes needs (with Adam's moments), and at most their limit. save refuses
# a model that exceeds them.
_LIMITS = {_METADATA: 64 * 2**20, _PREPROCESSING: 256 * 2**20, _WEIGHTS: 2**30}

# Parsed JSON takes up to about 70 bytes of memory per value (an empty dict in
# 3 bytes of text takes 64): the metadata may hold at most this many values
# (about 290 MB however they nest). A fit's history takes about 4 per batch.
_MAX_JSON_VALUES = 4_000_000

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

# The types a preprocessing member may need beyond skops' defaults (scikit-learn's
# public estimators, builtins, NumPy's scalar types and ufuncs): NumPy's dtype
# and its scalar classes (make_column_selector(dtype_include=np.number)), and
# the column selector. A fixed list of exact names, which deciding trust
# imports nothing for: importing a module runs its code (numpy.f2py.__main__
# runs f2py on the command line's files), and skops calls what a file names
# with the file's arguments, so functions are never trusted.
_TRUSTED_TYPES = frozenset(
    {f"{cls.__module__}.{cls.__qualname__}" for cls in (np.dtype, make_column_selector)}
    | {
        f"numpy.{name}"
        for name, value in vars(np).items()
        if isinstance(value, type) and issubclass(value, np.generic)
    }
)


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


def _dump_preprocessing(pipeline):
    head = copy.copy(pipeline)
    head.steps = [*pipeline.steps[:-1], (pipeline.steps[-1][0], "passthrough")]
    data = skops.io.dumps(head)
    untrusted = sorted(set(skops.io.get_untrusted_types(data=data)) - _TRUSTED_TYPES)
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
        Where to write the file. An existing file is replaced only once the
        new one is complete (it is written beside it, then renamed): a failed
        save, or another saving to the same path, never leaves part of a file.

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
        describe the network its weights belong to; and when the network's
        weights are not finite.
    OSError
        When the file cannot be written (a full disk, no permission); the
        error names ``path``, and a file there before is left as it was.

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
    not_finite = _not_finite(tensors)
    if not_finite:
        raise ValueError(
            f"The model's network holds values that are not finite (NaN or inf) "
            f"in {', '.join(not_finite)}: it predicts nothing useful, and loading "
            "refuses such a file. Fit it again (lower learning_rate_init, or scale "
            "the inputs)."
        )
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
    members = {_METADATA: _canonical(metadata), **members}
    for member, limit in _LIMITS.items():
        if len(members.get(member, b"")) > limit:
            raise ValueError(
                f"The model's {member} would be {len(members[member])} bytes, more "
                f"than the {limit} a model file may hold (loading refuses larger "
                "members, so that a small file cannot make it inflate gigabytes). "
                "Save this model with pickle or joblib instead."
            )
    n_values = _n_json_values(members[_METADATA])
    if n_values > _MAX_JSON_VALUES:
        raise ValueError(
            f"The model's {_METADATA} would hold about {n_values} values (most of "
            f"them its training history), more than the {_MAX_JSON_VALUES} loading "
            "parses. Save this model with pickle or joblib instead."
        )
    comment = b"%s %d metadata-sha256=%s" % (
        FORMAT_NAME.encode(),
        FORMAT_VERSION,
        _sha256(members[_METADATA]).encode(),
    )
    try:
        _write_archive(os.fspath(path), members, comment)
    except OSError as exc:
        # the path the caller gave, not the temporary file's
        raise OSError(exc.errno, exc.strerror, os.fspath(path)) from exc


def _not_finite(tensors):
    """Names of the floating-point ``tensors`` that hold NaN or inf."""
    return [
        key
        for key, tensor in tensors.items()
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]


def _n_json_values(text):
    """An upper bound on the values in the JSON ``text``: each but the first
    follows a comma, a colon or an opening bracket."""
    return 1 + sum(text.count(char) for char in (b",", b":", b"["))


def _zip(stream, members, comment):
    with zipfile.ZipFile(stream, "w") as archive:
        archive.comment = comment
        for member, data in members.items():
            # A fixed timestamp: the same model gives the same file.
            info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)


def _write_archive(path, members, comment):
    """Write the archive to ``path`` so that a failure (a full disk, a killed
    process) or another process saving to the same path at the same time never
    leaves a partial file there: a temporary file beside it, synced, then
    renamed over it."""
    target = os.path.realpath(path)  # a link's target is replaced, not the link
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        # a device or a pipe (-o /dev/null): nothing to rename over
        with open(target, "wb") as stream:
            _zip(stream, members, comment)
        return
    folder, base = os.path.split(target)
    temporary = os.path.join(folder, f".{base}.{os.urandom(6).hex()}.tmp")
    # created as open() creates files (0o666 less the umask), never over one
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            _zip(stream, members, comment)
            stream.flush()
            os.fsync(stream.fileno())
        if mode is not None:  # the replaced file's permissions
            os.chmod(temporary, stat.S_IMODE(mode))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    # the rename itself survives a power cut once the folder is synced
    with contextlib.suppress(OSError):
        folder_descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(folder_descriptor)
        finally:
            os.close(folder_descriptor)


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


@contextlib.contextmanager
def _inflating(member, name):
    """Report what zipfile finds wrong while inflating ``member``."""
    try:
        yield
    # RuntimeError: an encrypted member, which skhealth does not write.
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError) as exc:
        raise ModelFileError(
            f"{name} is damaged: {member} is corrupt ({exc})."
        ) from exc


def _read_member(archive, member, name, limit):
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise ModelFileError(f"{name} is damaged: it lacks {member}.") from None
    _check_sizes([info], limit, member, name)
    with _inflating(member, name), archive.open(info) as stream:
        data = stream.read(limit + 1)  # bounded, should the declared size lie
    if len(data) > limit:
        raise ModelFileError(
            f"{name} is damaged or not a skhealth model file: {member} holds more "
            f"than the {limit} bytes it declares or can hold."
        )
    return data


def _parse_json(data, what, name):
    """The JSON ``data``, after bounding the memory that parsing it takes."""
    n_values = _n_json_values(data)
    if n_values > _MAX_JSON_VALUES:
        raise ModelFileError(
            f"{name} is damaged or not a skhealth model file: {what} holds about "
            f"{n_values} JSON values, more than the {_MAX_JSON_VALUES} loading "
            "parses."
        )
    try:
        return json.loads(data)
    # ValueError: also a number of more digits than Python converts;
    # RecursionError: lists nested too deeply for the parser
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(
            f"{name} is damaged: {what} is not valid JSON ({exc})."
        ) from exc


def _read_metadata(archive, name, limit):
    data = _read_member(archive, _METADATA, name, limit)
    sealed = _COMMENT.fullmatch(archive.comment)
    if sealed and int(sealed[1]) > FORMAT_VERSION:
        raise _newer_format(int(sealed[1]), name)
    if sealed and _sha256(data) != sealed[2].decode():
        raise ModelFileError(
            f"{name} was modified or damaged: {_METADATA} does not match its SHA-256."
        )
    metadata = _parse_json(data, _METADATA, name)
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
        raise _newer_format(version, name)
    if version == 1:  # the checksum is inside the metadata
        intact = not sealed and metadata.pop("metadata_sha256", None) == _sha256(
            _canonical(metadata)
        )
    else:
        intact = bool(sealed) and int(sealed[1]) == version
    if not intact:
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


def _newer_format(version, name):
    return ModelFileError(
        f"{name} was written by skhealth format version {version}; this "
        f"skhealth reads up to {FORMAT_VERSION}: upgrade skhealth."
    )


def _read(path, name, limits=_LIMITS):
    """The checked metadata and members of the model file at ``path``, and the
    estimator its metadata describe (checked, without its network).

    ``limits`` bounds what each member may inflate to (``_LIMITS``)."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ModelFileError(
            f"{name} is not a skhealth model file: it is not a zip archive, or it "
            "is truncated."
        ) from exc
    with archive:
        names = archive.namelist()
        if len(set(names)) < len(names) or not {_METADATA, *names} <= set(_LIMITS):
            # zip tools and zipfile would not agree on which duplicate is read
            raise ModelFileError(
                f"{name} is damaged or not a skhealth model file: it holds the "
                f"members {reprlib.repr(names)}, not {', '.join(_LIMITS)} (the "
                "last only for a pipeline), each once."
            )
        metadata = _read_metadata(archive, name, limits[_METADATA])
        digests = metadata.get("members")
        if (
            not isinstance(digests, dict)
            or _WEIGHTS not in digests
            or not digests.keys() <= {_WEIGHTS, _PREPROCESSING}
        ):
            raise ModelFileError(
                f"{name} is damaged: {_METADATA} lists members {digests!r}."
            )
        for member in digests.keys() ^ (set(names) - {_METADATA}):
            raise ModelFileError(
                f"{name} is damaged: it lacks {member}."
                if member in digests
                else f"{name} is damaged: it holds {member}, which {_METADATA} "
                "does not list."
            )
        with _malformed(name):
            estimator = _make_estimator(metadata, name)
            _check_net_metadata(metadata["net"], estimator, name)
        members = {_WEIGHTS: _read_weights(archive, estimator, name, limits[_WEIGHTS])}
        if _PREPROCESSING in digests:
            members[_PREPROCESSING] = _read_member(
                archive, _PREPROCESSING, name, limits[_PREPROCESSING]
            )
    for member, digest in digests.items():
        if _sha256(members[member]) != digest:
            raise ModelFileError(
                f"{name} was modified or damaged: {member} does not match the "
                f"SHA-256 recorded in {_METADATA}."
            )
    return metadata, members, estimator


_DEVICE_ERRORS = (torch.OutOfMemoryError, getattr(torch, "AcceleratorError", ()))


@contextlib.contextmanager
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
    missing = MultiTaskHealthRegressor().get_params().keys() - params.keys()
    if missing:
        # today's default need not be what the model was fitted with
        raise ModelFileError(
            f"{name} is damaged: it lacks the parameters "
            f"{', '.join(sorted(missing))}, which every skhealth model file records."
        )
    estimator = MultiTaskHealthRegressor(**_decode_params(params, name))
    with _malformed(name, "a parameter"):  # the error names it
        estimator._validate_params()
        n_layers = _n_layers(estimator)
    try:  # a device fitting can use somewhere, if maybe not here
        device = estimator.device
        known = device == "auto" or torch.device(device).type in ("cpu", "cuda")
    except RuntimeError:
        known = False
    _expect(known, device, "'auto', 'cpu', 'cuda' or 'cuda:N'", "device", name)
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
    # what predict computes with: one finite float statistic per task, the
    # scale the root of the variance (or 1 for a constant task), as fitting
    # gives: a scale whose square overflows would make predictions overflow
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
        or not (per_task[1] > 0).all()
        or not np.all(
            np.isclose(per_task[1], np.sqrt(per_task[2]), rtol=1e-6, atol=0)
            | (per_task[1] == 1.0)
        )
    ):
        raise ModelFileError(
            f"{name} is damaged: its target statistics are not one finite float "
            f"per task ({n_tasks}), with positive scales that are the root of the "
            "variances."
        )
    return estimator


def _some(names, n=4):
    """The first ``n`` of ``names``, sorted, and how many more there are."""
    names = sorted(names)
    more = f" and {len(names) - n} more" if len(names) > n else ""
    return (", ".join(names[:n]) or "none") + more


def _is_epoch(record, number, n_tasks):
    """Whether ``record`` is the history of epoch ``number`` as fitting records
    it: its number, training loss, task weights and batches, and otherwise
    numbers, flags and lists of numbers under str keys."""
    return (
        isinstance(record, dict)
        and type(record.get("epoch")) is int
        and record["epoch"] == number
        and _is_real(record.get("train_loss"))
        and _is_reals(record.get("task_weights"))
        and len(record["task_weights"]) == n_tasks
        and isinstance(record.get("batches"), list)
        and all(
            isinstance(batch, dict)
            and all(isinstance(k, str) and _is_real(v) for k, v in batch.items())
            for batch in record["batches"]
        )
        and all(
            isinstance(key, str)
            and (
                key == "batches"
                or value is None
                or _is_bool(value)
                or _is_real(value)
                or _is_reals(value)
            )
            for key, value in record.items()
        )
    )


def _check_net_metadata(saved, estimator, name):
    """Refuse a batch size, history or optimizer record that fitting never gives."""
    batch_size = _decode(saved["batch_size"])
    _expect(_is_int(batch_size), batch_size, "a positive int", "batch size", name)
    history = saved["history"]
    _expect(
        isinstance(history, list)
        and len(history) == estimator.n_iter_
        and all(
            _is_epoch(record, number, estimator.n_tasks_)
            for number, record in enumerate(history, 1)
        ),
        history,
        "one record per epoch (n_iter_) of what fitting records",
        "training history",
        name,
    )
    optimizer = saved["optimizer"]
    # Adam's state is all tensors (fused, its step is one too): in the weights
    if not (
        isinstance(optimizer, dict)
        and optimizer.keys() == {"param_groups", "state"}
        and optimizer["state"] == {}
    ):
        raise ModelFileError(
            f"{name} is damaged: its optimizer record is not Adam's parameter "
            f"groups with its state in {_WEIGHTS}."
        )


# How safetensors names the dtypes a network's state holds
_SAFETENSORS_DTYPES = {
    torch.float32: "F32",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.bool: "BOOL",
}

# The most bytes a weights member's header (its tensors' names, dtypes, shapes
# and offsets) may take: a network of _MAX_LAYERS layers needs about 8 MiB.
_MAX_HEADER = 16 * 2**20


def _tensor_layout(header, estimator, name):
    """The name, dtype and shape of every tensor a model file holds for the
    network ``estimator`` describes (built on the meta device, which allocates
    nothing), checked against the weights' ``header``."""
    if not isinstance(header, dict):
        raise ModelFileError(f"{name} is damaged: {_WEIGHTS} has no valid header.")
    # A doctored n_members would build that many members, even on the meta
    # device: compare it with the file's first.
    n_members = estimator.n_members
    copies = {key.split(".")[2] for key in header if key.startswith("module.members.")}
    n_copies = max(len(copies), 1)
    if n_copies != n_members:
        raise ModelFileError(
            f"{name} is damaged: {_WEIGHTS} holds the weights of {n_copies} "
            f"network(s), not of n_members={n_members!r}."
        )
    meta = torch.device("meta")
    with _malformed(name, "the network its parameters describe"), meta:
        net = estimator._make_net(estimator.n_features_in_, 1, meta).initialize()
    layout = {}
    for prefix, part in (("module", net.module_), ("criterion", net.criterion_)):
        for key, tensor in part.state_dict().items():
            layout[f"{prefix}.{key}"] = (tensor.dtype, list(tensor.shape))
    # Adam (fused) keeps a float32 step and two moments for every parameter,
    # each of which fitting updates
    parameters = [p for group in net.optimizer_.param_groups for p in group["params"]]
    for index, parameter in enumerate(parameters):
        layout[f"optimizer.{index}.step"] = (torch.float32, [])
        for moment in ("exp_avg", "exp_avg_sq"):
            layout[f"optimizer.{index}.{moment}"] = (
                parameter.dtype,
                list(parameter.shape),
            )
    missing, unexpected = layout.keys() - header.keys(), header.keys() - layout.keys()
    mismatched = [
        key
        for key in layout.keys() & header.keys()
        if not isinstance(header[key], dict)
        or header[key].get("dtype") != _SAFETENSORS_DTYPES.get(layout[key][0])
        or header[key].get("shape") != layout[key][1]
    ]
    if missing or unexpected or mismatched:
        raise ModelFileError(
            f"{name} is damaged: the weights in {_WEIGHTS} do not fit the network "
            f"its {_METADATA} describes (missing: {_some(missing)}; unexpected: "
            f"{_some(unexpected)}; wrong shape or dtype: {_some(mismatched)})."
        )
    return layout


def _weights_bound(estimator, name):
    """An upper bound on the bytes of the weights of the network ``estimator``
    describes, found without building it: a member's values, twice again as
    Adam's moments, and a KiB for the name and step of each tensor and for the
    criterion's per task."""
    # one member, on the meta device: it allocates nothing, and its number of
    # layers is bounded
    with _malformed(name, "the network its parameters describe"), torch.device("meta"):
        params = estimator._module_params(estimator.n_features_in_)
        state = params["architecture"].build(params["spec"]).state_dict()
    n_bytes = sum(tensor.numel() * tensor.element_size() for tensor in state.values())
    per_member = 3 * (n_bytes + 1024 * len(state))
    return params["n_members"] * per_member + 1024 * estimator.n_tasks_


def _read_weights(archive, estimator, name, limit):
    """The weights member, inflated past its header only once that lists
    exactly the tensors of the network the metadata describes, and its
    declared size is exactly theirs and at most ``limit``."""
    info = archive.getinfo(_WEIGHTS)
    _check_sizes([info], min(_weights_bound(estimator, name), limit), _WEIGHTS, name)
    with _inflating(_WEIGHTS, name), archive.open(info) as stream:
        prefix = stream.read(8)
        n_header = int.from_bytes(prefix, "little")
        if len(prefix) < 8 or not 0 < n_header <= min(_MAX_HEADER, info.file_size):
            raise ModelFileError(f"{name} is damaged: {_WEIGHTS} has no valid header.")
        header = stream.read(n_header)
    layout = _tensor_layout(
        _parse_json(header, f"the header of {_WEIGHTS}", name), estimator, name
    )
    n_data = sum(math.prod(shape) * dtype.itemsize for dtype, shape in layout.values())
    if n_data > limit:
        raise ModelFileError(
            f"{name} describes a network whose weights take {n_data} bytes, more "
            f"than the {limit} a model file may hold."
        )
    if info.file_size != 8 + n_header + n_data:
        raise ModelFileError(
            f"{name} is damaged: {_WEIGHTS} declares {info.file_size} bytes, not "
            f"the {8 + n_header + n_data} of its header and the network's tensors."
        )
    with _inflating(_WEIGHTS, name), archive.open(info) as stream:
        data = stream.read(info.file_size + 1)  # bounded, should the size lie
    if len(data) != info.file_size:
        raise ModelFileError(
            f"{name} is damaged: {_WEIGHTS} holds other than the "
            f"{info.file_size} bytes it declares."
        )
    return data


def _fits_group(group, built):
    """Whether a saved parameter group is the ``built`` one: the same parameters
    and settings, but for the learning rate and weight decay, which follow
    learning_rate_init and alpha."""
    return (
        isinstance(group, dict)
        and group.keys() == built.keys()
        and group["params"] == built["params"]
        and all(
            _is_real(group[key]) and group[key] >= 0 for key in ("lr", "weight_decay")
        )
        and all(
            group[key] == value
            for key, value in built.items()
            if key not in ("params", "lr", "weight_decay")
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
    state = {}
    for key, tensor in tensors.items():
        if key.startswith("optimizer."):
            index, entry = key.removeprefix("optimizer.").split(".", 1)
            state.setdefault(int(index), {})[entry] = tensor
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def _restore_net(estimator, device, metadata, members, name):
    saved = metadata["net"]
    # names, dtypes and shapes are those of the network (_read_weights)
    tensors = safetensors.torch.load(members[_WEIGHTS])
    not_finite = _not_finite(tensors)
    if not_finite:
        raise ModelFileError(
            f"{name} is damaged: {_WEIGHTS} holds values that are not finite (NaN "
            f"or inf) in {_some(not_finite)}; fitting keeps no such network."
        )
    batch_size = _decode(saved["batch_size"])
    with _torch_seed(estimator._seed, device):
        # _make_net sizes batch_size="auto" from the number of training rows,
        # which the file does not keep; it keeps the size that was used.
        net = estimator._make_net(estimator.n_features_in_, batch_size, device)
        net.batch_size = batch_size
        net.initialize()
    for prefix, part in (("module", net.module_), ("criterion", net.criterion_)):
        part.load_state_dict(
            {
                key.removeprefix(f"{prefix}."): tensor
                for key, tensor in tensors.items()
                if key.startswith(f"{prefix}.")
            }
        )
    _load_optimizer(net.optimizer_, tensors, saved["optimizer"], name)
    net.history = History(saved["history"])
    estimator.net_ = net
    estimator._built_with = estimator._network_params()


_NPY_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _check_array(inner, info, name):
    """Refuse an array in the skops archive whose header does not describe its
    data exactly: NumPy would allocate what the header declares first."""
    with _inflating(_PREPROCESSING, name), inner.open(info) as stream:
        try:
            read_header = _NPY_HEADERS[np.lib.format.read_magic(stream)]
            shape, _, dtype = read_header(stream)
        except (KeyError, ValueError) as exc:
            raise ModelFileError(
                f"{name} is damaged: the array {info.filename!r} in "
                f"{_PREPROCESSING} has no valid header ({exc!r})."
            ) from exc
        n_bytes = info.file_size - stream.tell()
    if dtype.hasobject or math.prod(shape) * dtype.itemsize != n_bytes:
        raise ModelFileError(
            f"{name} is damaged: the array {info.filename!r} in {_PREPROCESSING} "
            f"declares {shape} values of {dtype}, not the {n_bytes} bytes it holds."
        )


def _selects_nothing(columns):
    """Whether a fitted ColumnTransformer's ``columns`` select no column."""
    if not hasattr(columns, "__len__") or isinstance(columns, str):
        return False
    columns = np.asarray(columns)
    return columns.size == 0 or (columns.dtype == bool and not columns.any())


def _unfitted(steps):
    """The first of the preprocessing ``steps``, or of their parts, that is no
    fitted transformer (``None`` if there is none)."""
    for step in steps:
        if isinstance(step, str) or step is None:
            if step not in ("drop", "passthrough", None):
                return step
            continue
        if not (hasattr(step, "fit") and hasattr(step, "transform")):
            return step
        try:
            check_is_fitted(step)
        except NotFittedError:
            return step
        if isinstance(step, Pipeline):
            parts = [part for _, part in step.steps]
        elif isinstance(step, ColumnTransformer):
            # a transformer of no column is left unfitted, as fitting leaves it
            parts = [
                part
                for _, part, columns in step.transformers_
                if not _selects_nothing(columns)
            ]
        elif isinstance(step, FeatureUnion):
            parts = [part for _, part in step.transformer_list]
        else:
            parts = []
        found = _unfitted(parts)
        if found is not None:
            return found
    return None


def _load_preprocessing(data, name):
    # skops inflates the archive that the member is: it may not hold more
    with _inflating(_PREPROCESSING, name), zipfile.ZipFile(io.BytesIO(data)) as inner:
        infos = inner.infolist()
        limit = _LIMITS[_PREPROCESSING]
        _check_sizes(infos, limit, f"the archive in {_PREPROCESSING}", name)
        for info in infos:
            if info.filename.endswith(".npy"):
                _check_array(inner, info, name)
    try:
        needed = skops.io.get_untrusted_types(data=data)  # beyond skops' defaults
        untrusted = [
            type_name for type_name in needed if type_name not in _TRUSTED_TYPES
        ]
        if not untrusted:
            pipeline = skops.io.loads(data, trusted=needed)
    except KeyboardInterrupt:
        raise
    # Whatever else reading the objects raises, SystemExit included, is the
    # file's doing: it must not end the program that loads it.
    except BaseException as exc:
        raise ModelFileError(
            f"{name} is damaged: its {_PREPROCESSING} cannot be loaded ({exc!r})."
        ) from exc
    if untrusted:
        raise ModelFileError(
            f"{name} holds preprocessing that needs types skhealth does not trust "
            f"(only scikit-learn estimators, NumPy dtypes and skops' defaults): "
            f"{', '.join(untrusted)}."
        )
    if not isinstance(pipeline, Pipeline) or pipeline.steps[-1][1] != "passthrough":
        raise ModelFileError(f"{name} is damaged: {_PREPROCESSING} holds no pipeline.")
    unfitted = _unfitted([step for _, step in pipeline.steps[:-1]])
    if unfitted is not None:
        raise ModelFileError(
            f"{name} is damaged: its preprocessing holds {reprlib.repr(unfitted)}, "
            "which is no fitted transformer."
        )
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
