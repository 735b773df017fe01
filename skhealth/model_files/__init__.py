"""Model files that are safe to share: :func:`save`, :func:`load` and
:func:`read_metadata`.

A model file (``.skh`` by convention) is a zip archive that holds data only:
loading it parses JSON, safetensors and skops data and never unpickles or
otherwise executes anything from the file. Its members are

``metadata.json``
    The format name and version; the skhealth, torch, scikit-learn, skorch and
    NumPy versions it was written with; the estimator's class and
    ``get_params()``; its learned attributes (including the target
    standardisation), the training batch size, the skorch history and the
    optimizer's settings (and a classifier's classes and class weights); the
    SHA-256 of every other member. It is written as
    JSON with sorted keys and no whitespace, and its own SHA-256 is in the
    archive's comment (``skhealth-model 2 metadata-sha256=<hex>``), so that it
    is checked before the JSON is parsed.
``weights.safetensors``
    The network's state dict (``module.*``), the criterion's (``criterion.*``,
    which holds the task weighting's learned weights and statistics) and the
    optimizer's tensors (``optimizer.<param index>.<name>``), so that
    ``partial_fit`` and ``warm_start`` continue training where it stopped.
``preprocessing.skops``
    Only for a :class:`~sklearn.pipeline.Pipeline`: the pipeline with its final
    estimator replaced by ``"passthrough"``, written by :func:`skops.io.dumps`.

The metadata may also hold a ``data_profile``: per-column summaries of the
training data (:func:`skhealth.monitoring.data_profile`: percentiles and
category shares, no rows), which drift reports compare new data with.

The package is in layers, each depending only on those above it:

- ``_container``: the zip archive, its limits and checksums, the format
  version; bytes, not values;
- ``_codec``: values as tagged JSON;
- ``_schema``: what loading accepts of each value (what fitting gives);
- ``_trust``: what a pipeline's preprocessing may hold;
- ``_state``: the estimator and its net to and from those values;

and this module composes them. The threat model (what a forged file can and
cannot do) is in the user guide's page on model files.
"""

import os

import numpy as np
import sklearn
import skorch
import torch

from ._codec import encode_params
from ._container import (
    FORMAT_NAME,
    FORMAT_VERSION,
    METADATA,
    PREPROCESSING,
    WEIGHTS,
    Limits,
    ModelFileError,
    Reader,
    canonical,
    check_limits,
    sha256,
    write,
)
from ._schema import check_profile, malformed
from ._state import (
    describe,
    device_for,
    dump,
    final_estimator,
    restore,
    weights_bound,
    weights_layout,
)
from ._trust import dump_preprocessing, load_preprocessing

__all__ = [
    "FORMAT_VERSION",
    "Limits",
    "ModelFileError",
    "check_storable",
    "load",
    "read_metadata",
    "save",
]


def _library_versions():
    from .. import __version__  # the package's __init__ imports this module

    return {
        "skhealth": __version__,
        "torch": torch.__version__,
        "scikit-learn": sklearn.__version__,
        "skorch": skorch.__version__,
        "numpy": np.__version__,
    }


def check_storable(params):
    """Raise a ValueError naming the first of the estimator's ``params`` that a
    model file cannot store.

    Parameters
    ----------
    params : dict
        Parameters of :class:`~skhealth.MultiTaskHealthRegressor` or
        :class:`~skhealth.MultiTaskHealthClassifier` by name, as
        ``get_params(deep=False)`` gives them.

    Raises
    ------
    ValueError
        For a value that is no plain value nor one of skhealth's own
        architectures and task weightings (see :func:`save`).
    """
    encode_params(params)


def save(obj, path, *, limits=None, profile=None):
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
    obj : MultiTaskHealthRegressor, MultiTaskHealthClassifier or Pipeline
        A fitted estimator, or a fitted pipeline whose last step is one.
    path : str or path-like
        Where to write the file. An existing file is replaced only once the
        new one is complete (it is written beside it, then renamed): a failed
        save, or another saving to the same path, never leaves part of a file.
    limits : Limits, default=None
        What a model file may hold; ``None`` for the defaults, which
        :func:`load` accepts. A file beyond them loads only with the same
        ``limits``.
    profile : DataFrame, array-like, DataProfile, None or False, default=None
        A profile of the training data to store beside the model, for drift
        reports (:func:`skhealth.monitoring.drift_report`): the training
        inputs themselves (before any preprocessing; profiled by
        :func:`skhealth.monitoring.data_profile`, which keeps percentiles and
        category shares, no rows), or a :class:`~skhealth.monitoring.DataProfile`
        of them. ``None`` stores the model's ``data_profile_`` where it has
        one (a loaded or updated model; fitting a loaded model again does not
        change it: pass the new training data then), ``False`` none. Its
        columns must be the model's input columns.

    Raises
    ------
    TypeError
        When ``obj`` is not a MultiTaskHealthRegressor, a
        MultiTaskHealthClassifier or a pipeline ending in one.
    sklearn.exceptions.NotFittedError
        When the estimator is not fitted.
    ValueError
        When the model holds something the format cannot store, or when a
        parameter the network is built from (``hidden_layer_sizes``,
        ``architecture``, ...) was changed after fitting: the file would not
        describe the network its weights belong to; when the network's
        weights are not finite; and when ``profile`` is not of the model's
        input columns.
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
    limits = Limits() if limits is None else limits
    estimator = final_estimator(obj)
    values, weights = dump(estimator, limits)
    profile = _profile_to_store(obj, profile)
    if profile is not None:
        values["data_profile"] = profile
    members = {WEIGHTS: weights}
    if estimator is not obj:
        members[PREPROCESSING] = dump_preprocessing(obj)
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "versions": _library_versions(),
        **values,
        "members": {member: sha256(data) for member, data in members.items()},
    }
    members = {METADATA: canonical(metadata), **members}
    check_limits(members, limits)
    write(path, members)


def _profile_to_store(obj, profile):
    """The data profile ``save`` stores for ``obj`` (see its ``profile``), as
    checked JSON data; None for none."""
    from .._inputs import input_columns
    from .._validation import final_step
    from ..monitoring import DataProfile, data_profile

    if profile is None:
        profile = getattr(obj, "data_profile_", None)
        if profile is None:
            return None
    elif profile is False:
        return None
    elif profile is True:
        raise ValueError(
            "profile=True: pass the data to profile, profile=X_train (the data "
            "the model was fitted on, before any preprocessing), or a DataProfile; "
            "None stores the model's own data_profile_ where it has one, False none"
        )
    if getattr(final_step(obj), "dp", None) is not None:
        raise ValueError(
            "This model was trained with dp, and a data profile holds percentiles "
            "and category shares of its training rows, read outside the privacy "
            "accounting: a private model's file stores none. Save with "
            "profile=False, and give drift_report the reference data instead."
        )
    if not isinstance(profile, DataProfile):
        profile = data_profile(profile)
    names = [column.name for column in input_columns(obj)]
    if sorted(profile.names) == sorted(names) and profile.names != names:
        # the same columns in another order: the model's order is the file's
        profile = DataProfile(profile.n_rows, tuple(profile[name] for name in names))
    if profile.names != names:
        raise ValueError(
            f"The data profile is of the columns {profile.names[:8]}, but the "
            f"model reads {names[:8]}: pass profile=X_train, the data the model "
            "was fitted on (its columns, in order, before any preprocessing), or "
            "profile=False for none. A model's data_profile_ stays as it was "
            "when the model is fitted again."
        )
    data = profile.to_dict()
    try:  # what loading accepts, so that the file loads
        check_profile(data, names, "the model file")
    except ModelFileError as error:
        raise ValueError(
            "The data profile cannot be stored: "
            + str(error).removeprefix(
                "the model file is damaged or not a skhealth model file: "
            )
        ) from error
    return data


def read_metadata(path, *, limits=None):
    """The metadata of the model file at ``path``, checked against its seal.

    What :func:`load` reads first, without the weights or the preprocessing:
    the format and library versions it was written with, the estimator's
    class and parameters (as tagged JSON data), its learned attributes, the
    training history and the SHA-256 of its other members.

    Parameters
    ----------
    path : str or path-like
        The model file.
    limits : Limits, default=None
        What a model file may hold; ``None`` for the defaults.

    Returns
    -------
    metadata : dict
        The parsed ``metadata.json``.

    Raises
    ------
    ModelFileError
        When the file is not a skhealth model file, its metadata is damaged or
        was modified, or it was written by a newer skhealth.
    """
    with Reader(path, os.fspath(path), Limits() if limits is None else limits) as r:
        return r.metadata()


def load(path, *, device=None, limits=None):
    """Read a model file written by :func:`save`.

    Nothing in the file is executed: the metadata is JSON, the weights are
    safetensors and a pipeline's preprocessing is loaded by skops, trusting
    only the types skops trusts by default and a fixed list of NumPy and
    scikit-learn types. Every member is checked against the SHA-256 recorded
    when it was saved, and every value against what fitting gives.

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
    limits : Limits, default=None
        What a model file may hold; ``None`` for the defaults.

    Returns
    -------
    model : MultiTaskHealthRegressor, MultiTaskHealthClassifier or Pipeline
        What was saved, fitted: the class the file records, which is one of
        these two (no other class is ever built or imported). Where the file
        holds a data profile of the training data, it is the model's
        ``data_profile_`` (a :class:`~skhealth.monitoring.DataProfile`).

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
    read_metadata : Read only a model file's metadata.
    """
    name = os.fspath(path)
    limits = Limits() if limits is None else limits
    with Reader(path, name, limits) as reader:
        metadata = reader.metadata()
        digests = metadata.get("members")
        if (
            not isinstance(digests, dict)
            or WEIGHTS not in digests
            or not digests.keys() <= {WEIGHTS, PREPROCESSING}
        ):
            raise ModelFileError(
                f"{name} is damaged: {METADATA} lists members {digests!r}."
            )
        for member in digests.keys() ^ (set(reader.members) - {METADATA}):
            raise ModelFileError(
                f"{name} is damaged: it lacks {member}."
                if member in digests
                else f"{name} is damaged: it holds {member}, which {METADATA} does "
                "not list."
            )
        with malformed(name):
            described = describe(metadata, name, limits)
        members = {
            WEIGHTS: reader.safetensors(
                WEIGHTS,
                weights_layout(described, name),
                weights_bound(described, name),
            )
        }
        if PREPROCESSING in digests:
            members[PREPROCESSING] = reader.read(PREPROCESSING)
    for member, digest in digests.items():
        if sha256(members[member]) != digest:
            raise ModelFileError(
                f"{name} was modified or damaged: {member} does not match the "
                f"SHA-256 recorded in {METADATA}."
            )
    resolved = device_for(described.estimator, device, name)
    with malformed(name):
        estimator = restore(described, metadata, members[WEIGHTS], resolved, name)
        model = estimator
        if PREPROCESSING in members:
            model = load_preprocessing(
                members[PREPROCESSING], name, limits.preprocessing
            )
            model.steps[-1] = (model.steps[-1][0], estimator)
    if "data_profile" in metadata:
        model.data_profile_ = _stored_profile(model, metadata["data_profile"], name)
    return model


def _stored_profile(model, data, name):
    """The checked data profile ``data`` of ``model``, the file ``name``'s."""
    from .._inputs import input_columns
    from ..monitoring import DataProfile

    with malformed(name, "its data profile"):
        names = [column.name for column in input_columns(model)]
        check_profile(data, names, name)
        return DataProfile.from_dict(data)
