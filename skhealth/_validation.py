"""Input validation shared by the estimator, its training, its metrics, plots
and the CLI: features, targets and the parameters they are checked against.
"""

import warnings
from numbers import Integral

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from ._sklearn import BaseSearchCV, check_sample_weight
from .losses import LOSSES


def final_step(model):
    """The estimator at the end of ``model``, a pipeline or an estimator."""
    return model[-1] if isinstance(model, Pipeline) else model


def fitted_regressor(model, *, name="model"):
    """The fitted skhealth estimator (regressor or classifier) at the end of
    ``model``.

    ``model`` is the estimator, a Pipeline whose last step is one, or a search
    (GridSearchCV, ...) fitted with ``refit=True`` whose ``best_estimator_`` is
    one, recursively. A TypeError for any other model
    (``name`` is the argument it came as), a NotFittedError for an unfitted
    one, a ValueError for a search that kept no model (``refit=False``).
    """
    # imported here: the estimator's module imports this one
    from ._base import MultiTaskBase

    estimator = final_step(model)
    while isinstance(estimator, BaseSearchCV):
        check_is_fitted(estimator)
        if not hasattr(estimator, "best_estimator_"):
            raise ValueError(
                f"This {type(estimator).__name__} was fitted with refit=False, so "
                "it holds no model to predict or score with: fit it with "
                "refit=True, or fit its estimator with the search's best_params_."
            )
        estimator = final_step(estimator.best_estimator_)
    if not isinstance(estimator, MultiTaskBase):
        got = type(model).__name__
        if estimator is not model:
            got += f" ending in {type(estimator).__name__}"
        raise TypeError(
            f"{name} must be a MultiTaskHealthRegressor or "
            "MultiTaskHealthClassifier, or a Pipeline whose last step is one, or "
            "a search (GridSearchCV, ...) fitted with refit=True "
            f"whose best_estimator_ is either; got {got}."
        )
    check_is_fitted(estimator)
    return estimator


def labels_and_weights(Y, sample_weight):
    """``Y`` (``NaN`` where a label is missing) as finite labels, 0 where
    missing, and each label's weight, its row's ``sample_weight`` (or its own,
    for weights of the shape of ``Y``) or 0 where missing: both float64, of
    the shape of ``Y``."""
    observed = ~np.isnan(Y)
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    weight = observed * (
        sample_weight if sample_weight.ndim == 2 else sample_weight[:, None]
    )
    return np.where(observed, Y, 0.0), weight


def preprocessing_steps(model):
    """The fitted transformers before the MultiTaskHealthRegressor at the end
    of ``model`` (see :func:`fitted_regressor`), in order, through pipelines
    and the best estimators of searches."""
    steps = []
    while True:
        if isinstance(model, BaseSearchCV):
            model = model.best_estimator_
        elif isinstance(model, Pipeline):
            steps += [step for _, step in model.steps[:-1]]
            model = model.steps[-1][1]
        else:
            return [step for step in steps if step not in (None, "passthrough")]


def regressor_input(model, X):
    """``X`` as it reaches the MultiTaskHealthRegressor at the end of the
    fitted ``model``: through its :func:`preprocessing_steps`."""
    for step in preprocessing_steps(model):
        X = step.transform(X)
    return X


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


def too_large_advice(value, kind="feature"):
    """What is wrong with ``value``, a ``kind`` (feature or target) value that
    :func:`too_large` found, and what to do, to follow the value in a message."""
    if np.isinf(value):
        missing = "" if kind == "feature" else " (leave a label empty where unknown)"
        return f": every {kind} value must be finite{missing}."
    return (
        f", beyond the range of float32 (±{_FLOAT32_MAX:.2g}), in which the network "
        f"computes: rescale that {kind}, e.g. divide it by a power of 10."
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
        check_numbers(X, "X")
        raise


def _column(names, j, data="X"):
    """How a message names column ``j`` of ``data`` ("X" or a name of ``y``):
    by its name where ``names`` (the columns, or None) gives it a string one,
    else by its index."""
    name = None if names is None else names[j]
    label = repr(name) if isinstance(name, str) else j
    if data != "X":
        return f"{data}'s column {label}"
    return f"feature {label}" if isinstance(name, str) else f"column {j}"


def _first_few(items, shown=3):
    """``items`` (strings) listed for a message: the first ``shown``, and how
    many more there are."""
    items = list(items)
    more = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {more} more" if more > 0 else "")


def check_too_large(X):
    """Raise, naming the feature and the value, where numeric ``X`` holds
    infinity or a number beyond float32's range."""
    try:
        values = check_array(X, dtype=np.float64, ensure_all_finite=False)
    except (ValueError, TypeError):
        return  # not numbers: check_numbers, or scikit-learn's error, says so
    found = too_large(values)
    if found is None:
        return
    column, value = found
    where = _column(getattr(X, "columns", None), column)
    raise ValueError(f"Input X contains {value:g} in {where}{too_large_advice(value)}")


def _is_number(text):
    try:
        float(text)  # as numpy converts a string
    except ValueError:
        return False
    return True


def _first_string(column):
    """The first string in ``column`` that is not a number, or None."""
    if column.dtype.kind in "biufcmM":
        return None
    return next((v for v in column if isinstance(v, str) and not _is_number(v)), None)


def check_numbers(data, name):
    """Raise, naming the column and the value, where ``data`` (the features
    ``X``, or targets called ``name``) holds a string that is not a number:
    scikit-learn's error (``could not convert string to float: 'f'``) names
    neither, nor what to do."""
    if isinstance(data, pd.DataFrame):
        names, columns = data.columns, [data.iloc[:, j] for j in range(data.shape[1])]
    else:
        try:
            values = np.asarray(data, dtype=object)
        except ValueError:
            return  # ragged: scikit-learn's error says so
        if values.ndim not in (1, 2) or values.size == 0:
            return  # scikit-learn's error names the shape
        names, columns = None, values.reshape(len(values), -1).T
    strings = [_first_string(c) for c in columns]
    found = [j for j, value in enumerate(strings) if value is not None]
    if not found:
        return
    column, others = found[0], found[1:]
    value = strings[column]
    if name == "X":
        where = f" in {_column(names, column)}"
        advice = (
            "the network reads numbers only. Encode categorical features as "
            "numbers in a Pipeline before the estimator: "
            "skhealth.preprocessing.make_default_preprocessor(X) one-hot encodes "
            "them (and scales the numeric ones), or use a ColumnTransformer with "
            "a OneHotEncoder."
        )
    else:
        two_d = np.ndim(data) == 2
        where = f" in {_column(names, column, name)}" if two_d else ""
        advice = (
            "targets must be numbers, and this regressor does not predict "
            f"categories. {'Drop that column, or convert' if two_d else 'Convert'} "
            "its values to numbers (NaN for a missing label)."
        )
    also = (
        f" ({_first_few(_column(names, j, name) for j in others)} "
        f"{'hold' if len(others) > 1 else 'holds'} strings too)"
        if others
        else ""
    )
    raise ValueError(
        f"Input {name} contains the string {value!r}{where}, which is not a "
        f"number{also}: {advice}"
    )


# A column whose mean or standard deviation is beyond this is far from
# standardised. Measured on NHANES (make_default_preprocessor, then one column
# changed; n_members=1, mean test R² 0.148 over 3 seeds): the standardised age
# moved to mean 10 cost 0.04 of R² (to mean 3: 0.01); scaled to a standard
# deviation of 1000 it took R² to 0.01 (100 cost little alone); the numeric
# columns left raw (9 of them beyond 10) took it to 0.00. One-hot and 0/1
# flags, Likert scores, small counts, hours of sleep and standardised columns
# stay below 10; ages in years, lab values in mg/dL, kcal, minutes and days do
# not.
_FAR_FROM_STANDARDISED = 10.0


def warn_if_unscaled(X, feature_names, rows):
    """Warn, naming them, where columns of the 2-D float array ``X`` are far
    from standardised on the ``rows`` (a boolean mask) the network trains on,
    those of positive weight: it learns poorly from such columns, silently."""
    # max |x| bounds both |mean| and the standard deviation: only columns
    # beyond the threshold need their moments (on a float64 copy of them)
    bound = np.maximum(X.max(axis=0), -X.min(axis=0))
    columns = np.flatnonzero(bound > _FAR_FROM_STANDARDISED)
    values = X[:, columns] if rows.all() else X[rows][:, columns]
    warn_far_from_standardised(
        columns,
        values.mean(axis=0, dtype=np.float64),
        values.std(axis=0, dtype=np.float64),
        feature_names,
        stacklevel=6,
    )


def warn_far_from_standardised(columns, mean, std, feature_names, stacklevel):
    """Warn, naming them, of the ``columns`` whose ``mean`` or ``std`` is
    beyond the threshold (see :func:`warn_if_unscaled`)."""
    far = np.maximum(np.abs(mean), std) > _FAR_FROM_STANDARDISED
    if not far.any():
        return
    listed = _first_few(
        f"{_column(feature_names, j)} (mean {m:.4g}, std {s:.4g})"
        for j, m, s in zip(columns[far], mean[far], std[far], strict=True)
    )
    n = int(far.sum())
    warnings.warn(
        f"Input X has {n} column{'s' * (n > 1)} far from standardised (mean or "
        f"standard deviation beyond ±{_FAR_FROM_STANDARDISED:g}): {listed}. The "
        "network learns poorly from unscaled inputs: scale them in a Pipeline "
        "before the estimator, with a StandardScaler, or with "
        "skhealth.preprocessing.make_default_preprocessor(X), which also "
        "encodes categorical features.",
        UserWarning,
        stacklevel=stacklevel,  # the estimator's fit or partial_fit
    )


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


def n_rows(data):
    """How many rows (samples) scikit-learn reads in ``data``; None where it
    has none (a scalar, None)."""
    shape = getattr(data, "shape", None)
    if shape is not None:
        return shape[0] if len(shape) else None
    try:
        return len(data)
    except TypeError:
        return None


def _one_dimensional_items(y):
    """Whether ``y`` is a list or tuple of pandas Series or 1-D arrays: the
    rows of a table, or its columns (one per task), which scikit-learn would
    read as rows."""
    return (
        isinstance(y, list | tuple)
        and len(y) > 0
        and all(
            isinstance(item, pd.Series)
            or (isinstance(item, np.ndarray) and item.ndim == 1)
            for item in y
        )
    )


def label_rows(y):
    """How many samples ``y`` holds, where that does not depend on reading
    it as rows or as columns (see :func:`_per_task_columns`); else None."""
    return None if _one_dimensional_items(y) else n_rows(y)


def _per_task_columns(y, n_samples):
    """Whether ``y`` is a list or tuple of 1-D items, one per task, each of
    ``n_samples`` (the samples of the data it comes with) as the list is not:
    scikit-learn would read them as rows. With ``n_samples`` unknown, nothing
    tells them from rows (even Series: a DataFrame's rows are Series too), so
    scikit-learn's reading stands."""
    return (
        n_samples is not None
        and _one_dimensional_items(y)
        and len(y) != n_samples
        and all(len(item) == n_samples for item in y)
    )


def as_labels(y, name="y", n_samples=None):
    """``y`` ready for check_array: dense, and with pandas' ``pd.NA`` in object
    columns as ``NaN``, which check_array reads as a missing label (it cannot
    convert ``pd.NA`` to float). ``n_samples``, the samples of the data ``y``
    comes with where known, tells a list of per-task columns from one of
    rows."""
    if sp.issparse(y):
        raise ValueError(
            f"Sparse {name} is not supported: densify it with {name}.toarray() "
            "(a missing label is NaN, not an absent entry)."
        )
    if _per_task_columns(y, n_samples):
        series = all(isinstance(item, pd.Series) for item in y)
        lengths = sorted({len(item) for item in y})
        size = (
            f"length {lengths[0]}"
            if len(lengths) == 1
            else f"lengths {lengths[0]} to {lengths[-1]}"
        )
        raise ValueError(
            f"{name} is a {type(y).__name__} of {len(y)} "
            f"{'pandas Series' if series else 'arrays'} of {size}, one per "
            f"task, which scikit-learn reads as {len(y)} rows (samples). Pass one "
            "table of shape (n_samples, n_tasks): "
            + (
                f"pd.concat({name}, axis=1) makes the Series its columns."
                if series
                else f"np.column_stack({name}) makes the arrays its columns."
            )
        )
    if not isinstance(y, pd.DataFrame | pd.Series) or not any(
        map(pd.api.types.is_object_dtype, pd.DataFrame(y).dtypes)
    ):
        return y
    return y.where(y.notna(), np.nan)


def as_2d(y, name, n_samples=None):
    try:
        y = check_array(
            as_labels(y, name, n_samples),
            ensure_2d=False,
            dtype=np.float64,
            ensure_all_finite="allow-nan",
            input_name=name,
        )
    except ValueError:
        check_numbers(y, name)
        raise
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
    if columns == names:
        return
    missing = [name for name in names if name not in columns]
    if not missing:
        raise ValueError(
            f"y has the columns {columns}, but the model's tasks are {names}: "
            f"pass y[{names}], so that each column meets its own task."
        )
    extra = [column for column in columns if column not in names]
    raise ValueError(
        f"y lacks the column{'s' * (len(missing) > 1)} {missing} of the model's "
        f"tasks {names}"
        + (
            f", and has the column{'s' * (len(extra) > 1)} {extra} of no task"
            if extra
            else ""
        )
        + ": give y one column per task, named as the task (rename a column "
        "that holds a task under another name)."
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


def check_binary_labels(Y, binary, rows, names, both_classes):
    """Raise a ValueError if a binary task (``binary``, a mask of the tasks)
    of the labels ``Y`` (2-D, ``NaN`` where missing) has, on the ``rows`` of
    positive weight, a label other than 0 and 1, or (``both_classes``) not
    both of them."""
    for t in np.flatnonzero(binary):
        labels = Y[rows, t]
        labels = labels[~np.isnan(labels)]
        other = labels[(labels != 0) & (labels != 1)]
        task = f"task {t} ({names[t]!r}, column {t} of y)"
        if other.size:
            raise ValueError(
                f"{task} is binary (loss='log_loss') but has the label "
                f"{other[0]:g}: its labels must be 0 or 1, NaN where unknown. "
                "Recode it, e.g. (y == positive_value) as 0/1 with NaN kept."
            )
        if both_classes and np.unique(labels).size < 2:
            raise ValueError(
                f"{task} is binary but its {labels.size} observed labels of "
                "positive weight are all of one class: it needs labels of both "
                "classes to learn from (partial_fit in its first call too). Drop "
                "the task or add labels of the other class."
            )


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
    labels = as_labels(y, n_samples=n_rows(X))  # its errors need no diagnosis
    try:
        X, Y = validate_X(
            estimator,
            X,
            y=labels,
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
    except ValueError:
        check_numbers(y, "y")  # validate_X named any string in X
        raise
    check_consistent_length(X, Y)
    infinite = np.flatnonzero(np.isinf(Y.reshape(len(Y), -1)).any(axis=0))
    if infinite.size:
        t = int(infinite[0])
        raise ValueError(
            f"Input y contains infinity in task {t} "
            f"({target_names(y, Y.size // max(len(Y), 1))[t]!r}); use NaN for a "
            "missing label and finite values otherwise."
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
    if reset:
        names = getattr(estimator, "feature_names_in_", None)
        warn_if_unscaled(X, names, sample_weight > 0)
    return X, Y, sample_weight
