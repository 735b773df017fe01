"""The trust policy: what a pipeline's preprocessing may hold, in skops' format.

skops makes objects of the types a file names, calling what it names with the
file's arguments: loading trusts only the types skops trusts by default
(scikit-learn's public estimators, builtins, NumPy's scalar types and ufuncs)
and the fixed list below, and never imports a module to decide.
"""

import copy
import io
import math
import reprlib
import zipfile

import numpy as np
import skops.io
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils.validation import check_is_fitted

from ._container import PREPROCESSING, ModelFileError, check_sizes, inflating

# Beyond skops' defaults: NumPy's dtype and its scalar classes
# (make_column_selector(dtype_include=np.number)), and the column selector.
# Exact names, which deciding trust imports nothing for: importing a module
# runs its code (numpy.f2py.__main__ runs f2py on the command line's files),
# and functions are never trusted.
TRUSTED_TYPES = frozenset(
    {f"{cls.__module__}.{cls.__qualname__}" for cls in (np.dtype, make_column_selector)}
    | {
        f"numpy.{name}"
        for name, value in vars(np).items()
        if isinstance(value, type) and issubclass(value, np.generic)
    }
)
_UNTRUSTED = (
    "needs types skhealth does not trust (only scikit-learn estimators, NumPy "
    "dtypes and skops' defaults)"
)


def dump_preprocessing(pipeline):
    """The ``pipeline``'s steps before its estimator, in skops' format."""
    head = copy.copy(pipeline)
    head.steps = [*pipeline.steps[:-1], (pipeline.steps[-1][0], "passthrough")]
    # the data profile is metadata of its own (see save), not preprocessing
    head.__dict__.pop("data_profile_", None)
    data = skops.io.dumps(head)
    untrusted = sorted(set(skops.io.get_untrusted_types(data=data)) - TRUSTED_TYPES)
    if untrusted:
        raise ValueError(
            f"The pipeline's preprocessing {_UNTRUSTED}: {', '.join(untrusted)}. "
            "Save this model with pickle or joblib instead."
        )
    return data


_NPY_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def _check_array(inner, info, name):
    """Refuse an array in the skops archive whose header does not describe its
    data exactly: NumPy would allocate what the header declares first."""
    with inflating(PREPROCESSING, name), inner.open(info) as stream:
        try:
            read_header = _NPY_HEADERS[np.lib.format.read_magic(stream)]
            shape, _, dtype = read_header(stream)
        except (KeyError, ValueError) as exc:
            raise ModelFileError(
                f"{name} is damaged: the array {info.filename!r} in "
                f"{PREPROCESSING} has no valid header ({exc!r})."
            ) from exc
        n_bytes = info.file_size - stream.tell()
    if dtype.hasobject or math.prod(shape) * dtype.itemsize != n_bytes:
        raise ModelFileError(
            f"{name} is damaged: the array {info.filename!r} in {PREPROCESSING} "
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


def load_preprocessing(data, name, limit):
    """The pipeline of fitted transformers (its last step ``"passthrough"``)
    that the skops ``data`` holds, loaded with only the types trusted."""
    # skops inflates the archive that the member is: it may not hold more
    with inflating(PREPROCESSING, name), zipfile.ZipFile(io.BytesIO(data)) as inner:
        infos = inner.infolist()
        check_sizes(infos, limit, f"the archive in {PREPROCESSING}", name)
        for info in infos:
            if info.filename.endswith(".npy"):
                _check_array(inner, info, name)
    try:
        needed = skops.io.get_untrusted_types(data=data)  # beyond skops' defaults
        untrusted = [
            type_name for type_name in needed if type_name not in TRUSTED_TYPES
        ]
        if not untrusted:
            pipeline = skops.io.loads(data, trusted=needed)
    except KeyboardInterrupt:
        raise
    # Whatever else reading the objects raises, SystemExit included, is the
    # file's doing: it must not end the program that loads it.
    except BaseException as exc:
        raise ModelFileError(
            f"{name} is damaged: its {PREPROCESSING} cannot be loaded ({exc!r})."
        ) from exc
    if untrusted:
        raise ModelFileError(
            f"{name} holds preprocessing that {_UNTRUSTED}: {', '.join(untrusted)}."
        )
    if not isinstance(pipeline, Pipeline) or pipeline.steps[-1][1] != "passthrough":
        raise ModelFileError(f"{name} is damaged: {PREPROCESSING} holds no pipeline.")
    unfitted = _unfitted([step for _, step in pipeline.steps[:-1]])
    if unfitted is not None:
        raise ModelFileError(
            f"{name} is damaged: its preprocessing holds {reprlib.repr(unfitted)}, "
            "which is no fitted transformer."
        )
    return pipeline
