"""scikit-learn's private helpers that skhealth uses, in one place: when
scikit-learn moves one, this file changes and nothing else."""

from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)
from sklearn.utils._plotting import _validate_style_kwargs as validate_style_kwargs
from sklearn.utils.validation import _check_sample_weight as check_sample_weight

__all__ = [
    "BaseSearchCV",
    "HasMethods",
    "Interval",
    "StrOptions",
    "check_sample_weight",
    "input_indices",
    "validate_parameter_constraints",
    "validate_params",
    "validate_style_kwargs",
]


def input_indices(column_transformer, name):
    """The input column positions that the part ``name`` of a fitted
    ColumnTransformer reads, as scikit-learn resolved its selection; None
    where scikit-learn does not say (the attribute is private)."""
    return getattr(column_transformer, "_transformer_to_input_indices", {}).get(name)
