"""What a fitted model reads: its raw input columns, each a number or a
string, with the categories its encoder knows. ONNX export types its inputs
from this, the prediction service checks requests against it and describes it
at ``GET /model``, and drift reports compare columns of these kinds."""

import numbers
from dataclasses import dataclass

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import FeatureUnion, Pipeline

from ._sklearn import input_indices
from ._validation import fitted_regressor

__all__ = ["InputColumn", "input_columns"]


@dataclass(frozen=True)
class InputColumn:
    """One raw input column of a fitted model.

    Attributes
    ----------
    name : str
        The column's name: the fitted feature name, or ``"x<i>"`` for a
        model fitted on an array.
    kind : {"number", "string"}
        ``"string"`` where an encoder fitted on text categories reads the
        column, else ``"number"`` (floats; NaN where the model imputes).
    categories : tuple or None
        The categories the encoder reading the column knows (text, or numbers
        such as stages), in the encoder's order; None for a column no
        encoder reads.
    handle_unknown : str or None
        That encoder's ``handle_unknown`` (``"error"``, ``"ignore"``,
        ``"infrequent_if_exist"``, ``"use_encoded_value"``): what it does with
        a category it does not know. None for a column no encoder reads.
    """

    name: str
    kind: str
    categories: tuple | None = None
    handle_unknown: str | None = None

    def to_dict(self):
        """The column as JSON-ready builtins (categories as Python scalars)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "categories": None
            if self.categories is None
            else [_builtin(value) for value in self.categories],
            "handle_unknown": self.handle_unknown,
        }


def input_columns(model):
    """The raw input columns of a fitted ``model``, in the order it read them.

    Parameters
    ----------
    model : estimator, Pipeline or search
        A fitted skhealth estimator, a Pipeline ending in one (its first steps
        fitted preprocessing, such as a ColumnTransformer), or a search that
        refitted one.

    Returns
    -------
    columns : list of InputColumn
        One per feature the model was fitted on. A column read by a fitted
        encoder that has ``categories_`` (OneHotEncoder, OrdinalEncoder, ...),
        directly or after other steps (an imputer), gets that encoder's
        categories, and is a ``"string"`` column when they are text.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.compose import make_column_transformer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import OneHotEncoder, StandardScaler
    >>> from skhealth import MultiTaskHealthRegressor
    >>> from skhealth._inputs import input_columns
    >>> X = pd.DataFrame({"age": [30.0, 50, 70, 40] * 10,
    ...                   "sex": ["F", "M", "F", "M"] * 10})
    >>> Y = pd.DataFrame({"sbp": [110.0, 125, 140, 120] * 10,
    ...                   "bmi": [22.0, 27, 29, 25] * 10})
    >>> model = make_pipeline(
    ...     make_column_transformer((StandardScaler(), ["age"]),
    ...                             (OneHotEncoder(handle_unknown="ignore"), ["sex"])),
    ...     MultiTaskHealthRegressor(max_iter=2, random_state=0),
    ... ).fit(X, Y)
    >>> [(c.name, c.kind, c.categories) for c in input_columns(model)]
    [('age', 'number', None), ('sex', 'string', ('F', 'M'))]
    """
    model = _unwrapped(model)
    fitted_regressor(model)  # a TypeError or NotFittedError for anything else
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = [f"x{i}" for i in range(model.n_features_in_)]
    names = [str(name) for name in names]
    encoders = {}
    if isinstance(model, Pipeline) and len(model) > 1:
        _find_encoders(model[0], list(range(len(names))), encoders)
    columns = []
    for i, name in enumerate(names):
        encoder = encoders.get(i)
        if encoder is None:
            columns.append(InputColumn(name, "number"))
            continue
        categories = tuple(encoder[0])
        text = any(isinstance(value, str) for value in categories)
        columns.append(
            InputColumn(
                name,
                "string" if text else "number",
                categories,
                encoder[1],
            )
        )
    return columns


def _unwrapped(model):
    """A search's refitted best estimator, recursively; else ``model``."""
    while hasattr(model, "best_estimator_"):
        model = model.best_estimator_
    return model


def _find_encoders(step, positions, encoders):
    """Record in ``encoders`` ``{input position: (categories, handle_unknown)}``
    for each column of ``positions`` (the input positions that ``step``
    reads, in order) that a fitted encoder within ``step`` reads."""
    if isinstance(step, Pipeline):
        # what the first step passes on column by column; past a step that
        # mixes columns, nothing more is known
        for inner in step.steps:
            _find_encoders(inner[1], positions, encoders)
            if not _keeps_columns(inner[1]):
                return
        return
    if isinstance(step, ColumnTransformer):
        for name, part, _ in step.transformers_:
            read = input_indices(step, name)
            if read is None or isinstance(part, str):
                continue
            _find_encoders(part, [positions[i] for i in read], encoders)
        return
    if isinstance(step, FeatureUnion):
        for _, part in step.transformer_list:
            _find_encoders(part, positions, encoders)
        return
    categories = getattr(step, "categories_", None)
    if categories is None or len(categories) != len(positions):
        return
    unknown = getattr(step, "handle_unknown", None)
    for position, known in zip(positions, categories, strict=True):
        encoders.setdefault(position, (known, unknown))


def _keeps_columns(step):
    """Whether ``step`` passes on one column per input column, in order (an
    imputer without indicators, a scaler): then a later encoder reads the
    same columns."""
    if getattr(step, "add_indicator", False):
        return False
    n_in = getattr(step, "n_features_in_", None)
    try:
        n_out = len(step.get_feature_names_out())
    except (AttributeError, ValueError, TypeError):
        return False
    return n_in == n_out and not hasattr(step, "categories_")


def _builtin(value):
    """``value`` as a JSON-ready Python scalar."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return None if np.isnan(value) else float(value)
    return str(value)
