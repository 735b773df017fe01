"""Input validation shared by the estimator, its training, its metrics, plots
and the CLI: features, targets and the parameters they are checked against.
"""

from numbers import Integral

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    validate_data,
)

from ._sklearn import check_sample_weight
from .losses import LOSSES


def final_step(model):
    """The estimator at the end of ``model``, a pipeline or an estimator."""
    return model[-1] if isinstance(model, Pipeline) else model


def layer_sizes(value, name):
    sizes = [value] if isinstance(value, Integral) else list(value)
    if any(not isinstance(s, Integral) or s < 1 for s in sizes):
        raise ValueError(f"{name} must be positive integers; got {value!r}.")
    return tuple(int(s) for s in sizes)


# The largest float32: the network computes in float32.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def too_large(values):
    """``(column, value)``: the first column of the 2-D float array ``values``
    that holds infinity or a number beyond float32's range, and its first such
    value; ``None`` where none does."""
    with np.errstate(invalid="ignore"):
        large = np.abs(values) > _FLOAT32_MAX  # NaN is not
    columns = np.flatnonzero(large.any(axis=0))
    if not columns.size:
        return None
    column = int(columns[0])
    return column, float(values[large[:, column], column][0])


def too_large_advice(value):
    """What is wrong with ``value``, a feature's value that :func:`too_large`
    found, and what to do, to follow the value in a message."""
    if np.isinf(value):
        return ": every feature value must be finite."
    return (
        f", beyond the range of float32 (±{_FLOAT32_MAX:.2g}), in which the network "
        "computes: rescale that feature, e.g. divide it by a power of 10."
    )


def validate_X(estimator, X, **kwargs):
    if sp.issparse(X):
        raise ValueError(
            "Sparse input is not supported: densify it with X.toarray(), or use "
            "OneHotEncoder(sparse_output=False) in a pipeline."
        )
    try:
        return validate_data(estimator, X, **kwargs)
    except ValueError:
        # scikit-learn names neither the feature nor the value
        check_too_large(X)
        raise


def check_too_large(X):
    """Raise, naming the feature and the value, where numeric ``X`` holds
    infinity or a number beyond float32's range."""
    try:
        values = check_array(X, dtype=np.float64, ensure_all_finite=False)
    except (ValueError, TypeError):
        return  # not numbers: scikit-learn's error says so
    found = too_large(values)
    if found is None:
        return
    column, value = found
    name = X.columns[column] if hasattr(X, "columns") else None
    where = f"feature {name!r}" if isinstance(name, str) else f"column {column}"
    raise ValueError(f"Input X contains {value:g} in {where}{too_large_advice(value)}")


def check_target_names(y):
    """Raise, naming them, where columns of ``y`` share a name: target names are
    strings, so the columns 1 and "1" do too."""
    names = [str(name) for name in getattr(y, "columns", ())]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(
            f"y has several targets named {repeated} (target names are "
            "strings, so 1 and '1' are the same name): give each target "
            "column its own name."
        )


def as_labels(y, name="y"):
    """``y`` ready for check_array: dense, and with pandas' ``pd.NA`` in object
    columns as ``NaN``, which check_array reads as a missing label (it cannot
    convert ``pd.NA`` to float)."""
    if sp.issparse(y):
        raise ValueError(
            f"Sparse {name} is not supported: densify it with {name}.toarray() "
            "(a missing label is NaN, not an absent entry)."
        )
    if not isinstance(y, pd.DataFrame | pd.Series) or not any(
        map(pd.api.types.is_object_dtype, pd.DataFrame(y).dtypes)
    ):
        return y
    return y.where(y.notna(), np.nan)


def as_2d(y, name):
    y = check_array(
        as_labels(y, name),
        ensure_2d=False,
        dtype=np.float64,
        ensure_all_finite="allow-nan",
        input_name=name,
    )
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D; got an array of shape {y.shape}.")
    return y


def default_task_names(n_tasks):
    """The names of tasks that came without any: ``task_0``, ``task_1``, ..."""
    return [f"task_{t}" for t in range(n_tasks)]


def check_target_columns(y, target_names):
    """Raise when ``y`` is a DataFrame whose columns are not ``target_names``
    in order (a model fitted without column names has nothing to check)."""
    names = [str(name) for name in target_names]
    if not hasattr(y, "columns") or names == default_task_names(len(names)):
        return
    columns = [str(column) for column in y.columns]
    if columns != names:
        raise ValueError(
            f"y has the columns {columns}, but the model's tasks are {names}: "
            f"pass y[{names}], so that each column meets its own task."
        )


def loss_kinds(loss, n_tasks):
    """The ``loss`` parameter as one loss name per task."""
    kinds = [loss] * n_tasks if isinstance(loss, str) else list(loss)
    if len(kinds) != n_tasks or any(
        not isinstance(k, str) or k not in LOSSES for k in kinds
    ):
        raise ValueError(
            f"loss must be one of {sorted(LOSSES)} or a list of them, one per task "
            f"({n_tasks}); got {loss!r}."
        )
    return kinds


def target_names(y, n_tasks):
    """The names of the ``n_tasks`` targets of ``y``: its columns' or its name,
    as str, else ``task_0``, ``task_1``, ..."""
    if hasattr(y, "columns"):
        names = list(y.columns)
    elif getattr(y, "name", None) is not None and n_tasks == 1:
        names = [y.name]
    else:
        names = default_task_names(n_tasks)
    names = [str(name) for name in names]  # unique: see check_target_names
    if "best" in names:
        raise ValueError(
            "y has a target named 'best': its history keys would clash with "
            "skorch's train_loss_best and valid_loss_best. Rename it."
        )
    return np.asarray(names, dtype=object)


def validate_training_data(estimator, X, y, sample_weight, reset):
    """``X`` (float32), ``y`` (float64, NaN for a missing label) and the
    sample weights of a fit, checked; ``reset`` as in ``validate_data``."""
    check_target_names(y)
    X, Y = validate_X(
        estimator,
        X,
        y=as_labels(y),
        reset=reset,
        validate_separately=(
            {"dtype": np.float32, "order": "C"},
            {
                "ensure_2d": False,
                "dtype": np.float64,
                "order": "C",
                "ensure_all_finite": "allow-nan",
            },
        ),
    )
    check_consistent_length(X, Y)
    if np.isinf(Y).any():
        raise ValueError(
            "Input y contains infinity; use NaN for a missing label and finite "
            "values otherwise."
        )
    sample_weight = check_sample_weight(
        sample_weight, X, dtype=np.float32, ensure_non_negative=True
    )
    observed = (~np.isnan(Y.reshape(len(Y), -1)) & (sample_weight[:, None] > 0)).sum(0)
    unlabelled = np.flatnonzero(observed == 0)
    # Building the network needs labels for every task (to standardise it);
    # continuing, a batch may lack some tasks (their loss is 0), not all.
    if unlabelled.size and (reset or unlabelled.size == observed.size):
        t = int(unlabelled[0])
        name = target_names(y, observed.size)[t]
        raise ValueError(
            f"Input y contains NaN only for task {t} ({name!r}, column {t} of "
            "y): every label is missing or has zero weight. Drop that column or "
            "provide labels."
        )
    return X, Y, sample_weight
