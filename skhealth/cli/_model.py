"""Models on the command line: training and loading them, and reading what a
model expects of a table (its columns, its categories) to check a table
against it before predicting."""

import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.base import OneToOneFeatureMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from .._sklearn import input_indices
from .._torch_utils import DeviceError
from .._validation import final_step, too_large, too_large_advice
from ..callbacks import TrainingProgress
from ..model_files import load, read_metadata
from ..preprocessing import make_default_preprocessor
from ._console import UsageError, shown
from ._tables import read_table


# ---------------------------------------------------------------- training
def make_model(X, estimator, categorical=()):
    """The pipeline the command line fits: the default preprocessing of ``X``
    (:func:`~skhealth.preprocessing.make_default_preprocessor`), which one-hot
    encodes the ``categorical`` columns too, then ``estimator``, a step named
    "classifier" or "regressor"."""
    preprocess = make_default_preprocessor(X, categorical=categorical)
    step = "classifier" if hasattr(estimator, "class_weight") else "regressor"
    return Pipeline([("preprocess", preprocess), (step, estimator)])


def train(model, X, Y, *, progress):
    """Fit ``model``, with a progress bar over the epochs where ``progress``."""
    estimator = final_step(model)
    if progress:
        estimator.set_params(callbacks=[TrainingProgress()])
    try:
        return model.fit(X, Y)
    finally:
        # The progress bar only displays training: it is not part of the model.
        estimator.set_params(callbacks=None)


# ----------------------------------------------------------------- loading
def load_model(path, device):
    """The model at ``path``, on ``device`` (that of ``--device``). A device
    this machine cannot use is reported with the option that fixes it, rather
    than load's advice, which names its own ``device`` argument."""
    try:
        return load(path, device=device)
    except DeviceError as exc:
        if device is not None:
            raise UsageError(
                f"--device {device}: this machine cannot use that device "
                f"({exc.reason}); use --device cpu or --device auto"
            ) from exc
        saved = read_metadata(path)["estimator"]["params"]["device"]
        raise ValueError(
            f"{path} was saved with device {saved!r}, which this machine cannot "
            "use: pass --device cpu (or --device auto)"
        ) from exc


# ------------------------------------------------------------ introspection
def _selected(transformer, name, columns):
    """The ones of ``columns``, the input columns of the fitted ColumnTransformer
    ``transformer``, that its part ``name`` reads; None where that cannot be
    told. The part's selection may be names, positions, a boolean mask, a
    slice or a callable: scikit-learn's own resolution of it is read."""
    positions = input_indices(transformer, name)
    if positions is None or len(columns) != transformer.n_features_in_:
        return None
    return [columns[i] for i in positions]


def _fitted_columns(model, kind):
    """``(columns, fitted step)`` of the "numeric" or "categorical" part of a
    model this command line fitted (see make_default_preprocessor): an imputer,
    then a scaler or an encoder. No columns for any other model."""
    last = {"numeric": StandardScaler, "categorical": OneHotEncoder}[kind]
    preprocess = model[0] if isinstance(model, Pipeline) else None
    if isinstance(preprocess, ColumnTransformer):
        names = list(getattr(preprocess, "feature_names_in_", []))
        for name, step, _ in preprocess.transformers_:
            columns = _selected(preprocess, name, names)
            if (
                name == kind
                and columns
                and isinstance(step, Pipeline)
                and isinstance(step[0], SimpleImputer)
                and isinstance(step[-1], last)
            ):
                return columns, step
    return [], None


def _imputed(imputer, columns):
    """Those of ``columns`` that the fitted ``imputer`` passes on: it leaves out
    a column that was all missing at fit, which has no statistic."""
    statistics = imputer.statistics_
    return [c for c, s in zip(columns, statistics, strict=True) if not pd.isna(s)]


def _categories(model):
    """``{column: fitted categories}`` of the model's categorical columns."""
    columns, step = _fitted_columns(model, "categorical")
    if not columns:
        return {}
    kept = _imputed(step[0], columns)
    return dict(zip(kept, step[-1].categories_, strict=True))


def _are_numbers(categories):
    """Whether ``categories`` were fitted as numbers (codes such as stages)."""
    return all(
        isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
        for value in categories
    )


def text_columns(model):
    """The categorical columns whose categories were fitted as text."""
    return [
        column
        for column, known in _categories(model).items()
        if all(isinstance(value, str) for value in known)
    ]


def encodings(model):
    """``{feature: how the model's preprocessing encodes it}``, such as
    ``{"age": "numeric, median-imputed, standardised"}``: the steps of a
    pipeline before its estimator that read the features themselves, as far
    as they are known here (an imputer, a scaler, a one-hot encoder, the parts
    of a column transformer), else by their class name. A feature no step
    reads is "as given"."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = [f"x{i}" for i in range(model.n_features_in_)]
    phrases = {name: [] for name in names}
    if isinstance(model, Pipeline):
        _describe(model[:-1], list(names), phrases)
    return {name: ", ".join(said) or "as given" for name, said in phrases.items()}


_IMPUTED = {
    "mean": "mean-imputed",
    "median": "median-imputed",
    "most_frequent": "imputed with its most frequent value",
}
_SHOWN_CATEGORIES = 10


def _category(value):
    """``value``, a category or a statistic, as a table shows it: text quoted,
    numbers and booleans not (nor as NumPy writes its scalars)."""
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return str(float(value))
    return str(value)


def _describe(step, columns, phrases):
    """Add to ``phrases[column]`` what the fitted ``step`` does to each of its
    input ``columns``, and return the columns it passes on as they are (the
    same, or those an imputer keeps); None where it makes other columns of
    them (an encoder, a column transformer, an unknown step), whose further
    steps are no longer about the features."""
    if step is None or step == "passthrough" or _is_identity(step):
        return columns
    if step == "drop":
        for column in columns:
            phrases[column].append("dropped")
        return None
    if isinstance(step, Pipeline):
        for _, inner in step.steps:
            columns = _describe(inner, columns, phrases)
            if columns is None:
                return None
        return columns
    if isinstance(step, ColumnTransformer):
        parts = [
            (name, inner, _selected(step, name, columns))
            for name, inner, _ in step.transformers_
        ]
        if any(chosen is None for _, _, chosen in parts):
            _name_the_step(step, columns, phrases)
            return None
        for name, inner, chosen in parts:
            if chosen:  # a part of no column stays unfitted
                for column in chosen:
                    phrases[column].append(name)
                    if _is_identity(inner):  # what "passthrough" is once fitted
                        phrases[column].append("passed through")
                _describe(inner, chosen, phrases)
        return None
    if isinstance(step, SimpleImputer):
        kept = _imputed(step, columns)
        for column, statistic in zip(columns, step.statistics_, strict=True):
            if column not in kept:
                phrases[column].append("left out: all missing at fit")
            elif isinstance(step.strategy, str) and step.strategy in _IMPUTED:
                phrases[column].append(_IMPUTED[step.strategy])
            else:  # a constant, or a callable's statistic
                phrases[column].append(f"imputed with {_category(statistic)}")
        return None if step.add_indicator else kept
    if isinstance(step, StandardScaler):
        for column in columns:
            phrases[column].append("standardised")
        return columns
    if isinstance(step, OneHotEncoder):
        for column, known in zip(columns, step.categories_, strict=True):
            listed = [_category(value) for value in known[:_SHOWN_CATEGORIES]]
            more = (
                f", ... ({len(known)} categories)"
                if len(known) > _SHOWN_CATEGORIES
                else ""
            )
            phrases[column].append(f"one-hot encoded as {', '.join(listed)}{more}")
        return None
    _name_the_step(step, columns, phrases)
    # a scaler of scikit-learn's other than StandardScaler keeps the columns
    return columns if isinstance(step, OneToOneFeatureMixin) else None


def _is_identity(step):
    """Whether ``step`` is a FunctionTransformer that passes its columns on
    unchanged."""
    return isinstance(step, FunctionTransformer) and step.func is None


def _name_the_step(step, columns, phrases):
    """Say that the ``step`` of this class name transforms ``columns``."""
    for column in columns:
        phrases[column].append(type(step).__name__)


# ------------------------------------------------------------------ checks
def check_numbers(data, columns, path):
    """Raise, naming the column and value, where ``columns`` hold no number."""
    for column in columns:
        values = data[column]
        bad = values.notna() & pd.to_numeric(values, errors="coerce").isna()
        if bad.any():
            raise ValueError(
                f"{path}: column {column!r} holds {values[bad].iloc[0]!r}, but the "
                "model was fitted on numbers there."
            )


def check_magnitudes(data, columns, path, kind="feature"):
    """Raise, naming the column and value, where ``columns`` of numbers (of
    ``kind`` feature or target) hold infinity or a number beyond float32's
    range: standardised, they would be NaN or infinite (the squares of 1e200
    overflow)."""
    if not columns:
        return
    numbers = data[columns].apply(pd.to_numeric)
    found = too_large(numbers.to_numpy(dtype=np.float64, na_value=np.nan))
    if found is not None:
        column, value = found
        raise ValueError(
            f"{path}: column {columns[column]!r} holds {value:g}"
            f"{too_large_advice(value, kind)}"
        )


def _check_values(model, X, path):
    """Check ``X`` against the preprocessing of a model this command line fitted
    (see make_default_preprocessor): a numeric column must hold numbers of the
    network's range, a column of categories fitted as numbers must hold
    numbers, and a categorical value the encoder never saw, encoded as no
    category at all, is warned of."""
    numeric = _fitted_columns(model, "numeric")[0]
    categories = _categories(model)
    coded = [column for column, known in categories.items() if _are_numbers(known)]
    check_numbers(X, numeric + coded, path)
    check_magnitudes(X, numeric, path)
    for column, known in categories.items():
        unseen = sorted(set(X[column].dropna()) - set(known), key=str)
        if unseen:
            warnings.warn(
                f"{path}: column {column!r} holds values the model was not fitted "
                f"on ({shown(unseen)}); they count as none of its categories.",
                stacklevel=2,
            )


def inputs(model, data, path, exclude=()):
    """The model's feature columns of ``data``, in the order it was fitted with,
    checked against the model."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:  # fitted on an array: every other column, in file order
        return data.drop(columns=list(exclude))
    missing = [name for name in names if name not in data.columns]
    if missing:
        raise ValueError(
            f"{path} lacks {len(missing)} feature column(s) of the model: "
            f"{', '.join(map(str, missing))}"
        )
    X = data[list(names)]
    _check_values(model, X, path)
    return X


def labelled(model, path):
    """``(X, Y)``: the features and the targets of ``model`` in the table at
    ``path``, checked against the model; an error names the target columns
    the table lacks. A classifier's targets are as the table has them (its
    classes), a regressor's numbers."""
    data = read_table(path, text_columns(model))
    estimator = final_step(model)
    targets = list(estimator.target_names_)
    missing = [target for target in targets if target not in data.columns]
    if missing:
        raise ValueError(
            f"{path} lacks {len(missing)} target column(s) of the model: "
            f"{', '.join(missing)}"
        )
    X = inputs(model, data, path, exclude=targets)
    if hasattr(estimator, "classes_"):
        return X, data[targets]
    check_numbers(data, targets, path)
    check_magnitudes(data, targets, path, kind="target")
    return X, data[targets].apply(pd.to_numeric)
