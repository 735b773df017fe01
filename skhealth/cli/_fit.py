"""``skhealth fit``: fit a model to a table and save it."""

import argparse
import ast
import warnings

import pandas as pd
from sklearn.model_selection import train_test_split

from .._estimator import MultiTaskHealthRegressor
from ..metrics import task_scores
from ..model_files import check_storable, save
from ._console import UsageError, print_scores, shown
from ._model import SPLIT_SEED, check_magnitudes, make_model, train
from ._tables import TABLE_NAME, check_output, named_columns, read_table


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number in [0, 1)")
    return value


def register(commands):
    """Add ``fit`` to the ``commands`` of the parser."""
    parser = commands.add_parser(
        "fit",
        help="fit a model to a table and save it",
        description=(
            "Fit MultiTaskHealthRegressor to the --target columns of DATA, using "
            "every other column as a feature (numeric ones median-imputed and "
            "standardised, the others one-hot encoded). A fixed --validation-"
            "fraction of the rows is held out and scored; the model saved is the "
            "one fitted on the other rows."
        ),
    )
    parser.add_argument("data", metavar="DATA", help="a .csv or .parquet file")
    parser.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="COL",
        help="a column to predict (repeat for several tasks)",
    )
    parser.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="COL",
        help="a column not to use as a feature (repeatable)",
    )
    parser.add_argument(
        "--id-column", metavar="COL", help="a row identifier, not used as a feature"
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a MultiTaskHealthRegressor parameter as a Python literal, such as "
        "max_iter=50, hidden_layer_sizes=64,32 or early_stopping=True "
        "(repeatable)",
    )
    parser.add_argument(
        "--validation-fraction",
        type=_fraction,
        default=0.2,
        metavar="F",
        help="share of the rows held out for validation scores; 0 fits on every "
        "row (default: 0.2)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse a column of numbers that holds a few other values, such as "
        "'12a' (by default they are treated as missing values, with a warning)",
    )
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="print neither the progress bar nor the scores",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="MODEL",
        help="the model file to write (.skh)",
    )
    parser.set_defaults(run=run)


def run(args):
    """Fit a model to ``args.data`` and save it to ``args.output``."""
    estimator = _make_estimator(args.param)
    # Fail before a long fit rather than after it.
    check_output(args.output, [args.data])
    if TABLE_NAME.search(args.output.lower()):
        raise UsageError(
            f"-o {args.output}: that names a table, not a model file; write the "
            "model to a .skh file"
        )
    data = read_table(args.data)
    targets = named_columns(data, args.target, "--target", args.data)
    dropped = named_columns(data, args.drop, "--drop", args.data)
    if args.id_column is not None:
        dropped += named_columns(data, [args.id_column], "--id-column", args.data)
        if args.id_column in targets:
            raise UsageError(
                f"--id-column {args.id_column}: the column is also a --target; an "
                "id is not a value to predict"
            )
    used = [column for column in data.columns if column not in dropped]
    _coerce_stray_values(data, used, args.data, args.strict)
    for target in targets:
        if (
            not pd.api.types.is_numeric_dtype(data[target])
            or data[target].dtype == bool
        ):
            raise UsageError(
                f"--target {target}: the column is not numeric "
                f"(dtype {data[target].dtype})"
            )
    X = data.drop(columns=targets + dropped)
    if X.shape[1] == 0:
        raise UsageError(f"{args.data}: no feature column is left to fit on")
    check_magnitudes(X, list(X.select_dtypes("number").columns), args.data)
    Y = data[targets]
    if args.validation_fraction > 0:
        X, X_valid, Y, Y_valid = train_test_split(
            X, Y, test_size=args.validation_fraction, random_state=SPLIT_SEED
        )
    model = train(make_model(X, estimator), X, Y, progress=not args.quiet)
    save(model, args.output)
    if args.quiet:
        return
    print(
        f"Fitted on {len(X)} rows, {X.shape[1]} features, {len(targets)} targets: "
        f"{estimator.n_iter_} epochs"
    )
    if args.validation_fraction > 0:
        print(f"\nValidation scores ({len(X_valid)} held-out rows):")
        print_scores(task_scores(Y_valid, model.predict(X_valid)))
    print(f"\nSaved the model to {args.output}")


def _parse_value(text):
    """A Python literal (number, tuple, bool, None, ...) or else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _make_estimator(param_args):
    """The estimator that the ``--param`` options describe, its parameters
    checked now rather than after reading and preparing the data."""
    estimator = MultiTaskHealthRegressor()
    # Training callbacks are the command's own (the progress bar).
    valid = sorted(set(estimator.get_params(deep=False)) - {"callbacks"})
    params = {}
    for arg in param_args:
        name, equals, text = (part.strip() for part in arg.partition("="))
        if not equals or not name:
            raise UsageError(
                f"--param {arg!r}: expected name=value, such as --param max_iter=50"
            )
        if name not in valid:
            raise UsageError(
                f"--param {name}: MultiTaskHealthRegressor has no such parameter; "
                f"use one of {', '.join(valid)}"
            )
        params[name] = _parse_value(text)
    estimator.set_params(**params)
    try:
        estimator._validate_params()
    except ValueError as exc:
        raise UsageError(f"--param: {exc}") from exc
    for name, value in params.items():
        try:  # and that the model file can hold them, rather than after fitting
            check_storable({name: value})
        except ValueError as exc:
            raise UsageError(
                f"--param {name}: a model file cannot store {value!r}; use None, "
                "bools, numbers and strings, or lists, tuples and dicts of them"
            ) from exc
    return estimator


# A text column whose values are numbers but for a few stray ones (a typo, a
# note) is a numeric column when at least this share of its values are numbers
# and they take more distinct values than the others do: one-hot encoded, each
# number would be a category of its own. A column of codes (1 and x) stays text.
_NUMERIC_SHARE = 0.9


def _coerce_stray_values(data, columns, path, strict):
    """Make numbers of each of ``columns`` of ``data`` that holds numbers but for
    a few stray values (see _NUMERIC_SHARE), which become missing values, with
    a warning naming them; with ``strict``, raise instead."""
    for column in columns:
        values = data[column]
        if not (values.dtype == object or isinstance(values.dtype, pd.StringDtype)):
            continue
        present = values.dropna()
        numbers = pd.to_numeric(present, errors="coerce")
        stray = present[numbers.isna()]
        if (
            stray.empty
            or numbers.count() < _NUMERIC_SHARE * len(present)
            or numbers.nunique() <= stray.nunique()
        ):
            continue
        found = (
            f"{path}: column {column!r} holds numbers and {len(stray)} value(s) "
            f"that are not ({shown(list(stray.unique()))})"
        )
        if strict:
            raise ValueError(
                f"{found}; correct them, or leave out --strict to treat them as "
                "missing values"
            )
        warnings.warn(
            f"{found}: they are treated as missing values, so that the column "
            "stays numeric; pass --strict to refuse such a table",
            stacklevel=2,
        )
        data[column] = pd.to_numeric(values, errors="coerce")
