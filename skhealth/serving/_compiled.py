"""The preprocessing of a fitted pipeline as a few NumPy operations per column.

scikit-learn's ``transform`` of a ColumnTransformer checks and converts its
input at every step: about 8 ms for one row of NHANES, ten times the
network's forward pass. For the steps that the command line's pipelines are
made of (:func:`~skhealth.preprocessing.make_default_preprocessor`: a
ColumnTransformer of SimpleImputer, StandardScaler and OneHotEncoder, within
Pipelines), :func:`compile_preprocessing` returns a function that computes
the same array with the same floating-point operations, on the service's
arrays of columns. It is used only once it has given exactly the array that
scikit-learn gives on rows made to exercise every step (every category, a
missing value in every column, an unknown category): any other step, or any
difference, leaves the pipeline's own ``transform`` in charge."""

import math

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from .._sklearn import input_indices
from .._validation import preprocessing_steps


class _Unsupported(Exception):
    """A step this module does not compute."""


def compile_preprocessing(model, columns):
    """A function from the service's columns (``{name: 1-D array}``) to the
    array the preprocessing of ``model`` gives its estimator, or None where
    a step is not one computed here or the result differs from
    scikit-learn's on probe rows."""
    steps = preprocessing_steps(model)
    if not steps or getattr(model, "feature_names_in_", None) is None:
        return None
    names = [column.name for column in columns]
    try:
        functions = [_compile(step) for step in steps]
    except _Unsupported:
        return None

    def transform(values):
        data = [values[name] for name in names]
        for function in functions:
            data = function(data)
        return np.column_stack(data) if data else np.empty((len(values[names[0]]), 0))

    if not _agrees(model, transform, columns):
        return None
    return transform


def _agrees(model, transform, columns):
    """Whether ``transform`` gives exactly what the pipeline gives on probe
    rows, dtype included."""
    import pandas as pd

    values = probe_columns(columns)
    table = pd.DataFrame(values, columns=[column.name for column in columns])
    try:
        expected = table
        for step in preprocessing_steps(model):
            expected = step.transform(expected)
        got = transform(values)
    except Exception:
        return False
    expected = np.asarray(expected)
    return (
        got.dtype == expected.dtype
        and got.shape == expected.shape
        and np.array_equal(got, expected, equal_nan=True)
    )


def probe_columns(columns, nullable=None):
    """Rows that exercise each step: every category of each column, values of
    several magnitudes, a missing value in every column (of ``nullable``, where
    given) and an unknown category where the encoder ignores it."""
    longest = max([len(c.categories or ()) for c in columns] + [4])
    n = longest + 2
    rng = np.random.default_rng(0)
    values = {}
    for column in columns:
        known = [
            v
            for v in (column.categories or ())
            if not (isinstance(v, float) and math.isnan(v))
        ]
        if column.kind == "number":
            array = rng.normal(scale=100, size=n)
            if known and column.handle_unknown == "error":
                array = np.array([known[i % len(known)] for i in range(n)], float)
            elif known:
                array[: len(known)] = known
        else:
            array = np.empty(n, dtype=object)
            pool = known or ["a", "b"]
            array[:] = [pool[i % len(pool)] for i in range(n)]
            if column.handle_unknown != "error":
                array[-2] = "\x00 a category no one fitted"
        if nullable is None or column.name in nullable:
            array[-1] = np.nan
        values[column.name] = array
    return values


def _compile(step):
    """The function of one fitted step on a list of columns."""
    if step is None or step == "passthrough":
        return lambda data: data
    if isinstance(step, Pipeline):
        inner = [_compile(s) for _, s in step.steps if s not in (None, "passthrough")]

        def pipeline(data):
            for function in inner:
                data = function(data)
            return data

        return pipeline
    if isinstance(step, ColumnTransformer):
        return _column_transformer(step)
    if isinstance(step, SimpleImputer):
        return _imputer(step)
    if isinstance(step, StandardScaler):
        return _scaler(step)
    if isinstance(step, OneHotEncoder):
        return _one_hot(step)
    if isinstance(step, FunctionTransformer) and step.func is None:
        return lambda data: data
    raise _Unsupported(type(step).__name__)


def _column_transformer(step):
    if step.sparse_threshold > 0 and step.sparse_output_:
        raise _Unsupported("sparse output")
    parts = []
    for name, transformer, _ in step.transformers_:
        if transformer == "drop":
            continue
        read = input_indices(step, name)
        if read is None:
            raise _Unsupported("unknown selection")
        if len(read) == 0:
            continue
        parts.append((list(read), _compile(transformer)))

    def transform(data):
        out = []
        for read, function in parts:
            out += function([data[i] for i in read])
        return out

    return transform


def _imputer(step):
    missing = step.missing_values
    if step.add_indicator or not (isinstance(missing, float) and math.isnan(missing)):
        raise _Unsupported("an imputer of other missing values, or with indicators")
    statistics = step.statistics_
    kept = [
        i
        for i, s in enumerate(statistics)
        if step.keep_empty_features or not _is_nan(s)
    ]

    def transform(data):
        out = []
        for i in kept:
            column = data[i]
            mask = _isnan(column)
            if mask.any():
                column = column.copy()
                column[mask] = statistics[i]
            if column.dtype != object:
                column = column.astype(statistics.dtype, copy=False)
            out.append(column)
        return out

    return transform


def _scaler(step):
    mean = step.mean_ if step.with_mean else None
    scale = step.scale_ if step.with_std else None

    def transform(data):
        out = []
        for i, column in enumerate(data):
            column = np.array(column, dtype=np.float64)
            if mean is not None:
                column -= mean[i]
            if scale is not None:
                column /= scale[i]
            out.append(column)
        return out

    return transform


def _one_hot(step):
    if (
        step.drop_idx_ is not None
        or getattr(step, "_infrequent_enabled", False)
        or step.sparse_output
    ):
        raise _Unsupported("an encoder that drops, groups or is sparse")
    lookups = [
        {value: j for j, value in enumerate(categories)}
        for categories in step.categories_
    ]
    dtype = step.dtype

    def transform(data):
        out = []
        for lookup, column in zip(lookups, data, strict=True):
            codes = [lookup.get(value, -1) for value in column]
            block = np.zeros((len(column), len(lookup)), dtype=dtype)
            rows = [r for r, code in enumerate(codes) if code >= 0]
            block[rows, [codes[r] for r in rows]] = 1
            out += list(block.T)
        return out

    return transform


def _is_nan(value):
    return isinstance(value, float) and math.isnan(value)


def _isnan(column):
    if column.dtype == object:
        return np.array([_is_nan(v) for v in column], dtype=bool)
    return np.isnan(column)
