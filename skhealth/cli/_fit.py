"""``skhealth fit``: fit a model to a table and save it."""

# What runs the command is imported in the functions that run it: declaring
# the options must not import PyTorch (see skhealth.cli).

import argparse
import ast
import difflib
import warnings

from ._console import UsageError, print_scores, shown
from ._options import DEFAULT_SEED, add_seed_option

# How --param reads a value, for --help and the errors.
PARAM_RULE = (
    "VALUE is read as a Python literal (a number, a string, a tuple such as "
    "64,32, a list, a dict) in which true, false and none, in any case, are "
    "True, False and None, and any other bare word is a string; a VALUE that "
    "is no such literal is the string as written"
)


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
            "standardised; --categorical ones and those of text one-hot "
            "encoded). Binary targets (--binary, or detected: two values, 0 and 1 "
            "or two strings) are predicted as probabilities: when every target is "
            "binary, the model is a MultiTaskHealthClassifier; beside continuous "
            "targets, a MultiTaskHealthRegressor with loss='log_loss' for the "
            "binary ones (whose labels must then be 0 and 1). A "
            "--validation-fraction of the rows, drawn by --seed, is "
            "held out and scored; then the model is refitted on every row and "
            "saved, unless --no-refit saves the fit that was scored."
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
        "--log-target",
        action="append",
        default=[],
        metavar="COL",
        help="a --target to learn on the log scale, such as a skewed lab value; "
        "its labels must be positive, and its predictions and scores stay in its "
        "units (repeatable; target_transform='log' for that target)",
    )
    parser.add_argument(
        "--binary",
        action="append",
        default=[],
        metavar="COL",
        help="a --target that is a binary outcome: two classes, 0 and 1 or two "
        "strings such as no and yes, missing where unknown (repeatable). Without "
        "it, a target whose values are exactly 0 and 1, or two strings, is "
        "detected as binary, and fit says so",
    )
    parser.add_argument(
        "--no-detect-binary",
        dest="detect_binary",
        action="store_false",
        help="fit the targets not named by --binary as numbers, even those of "
        "values 0 and 1",
    )
    parser.add_argument(
        "--categorical",
        action="append",
        default=[],
        metavar="COL",
        help="a feature column to one-hot encode although it holds numbers, "
        "such as codes 1 to 4 of a stage (repeatable)",
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
        help="a parameter of the model (MultiTaskHealthRegressor, or "
        "MultiTaskHealthClassifier when every target is binary), such as "
        "max_iter=50, class_weight=balanced, "
        "early_stopping=true, task_weighting=uncertainty or "
        f"hidden_layer_sizes=64,32 (repeatable). {PARAM_RULE}. "
        "random_state=N is --seed N: give one or the other",
    )
    add_seed_option(
        parser, "the held-out rows and of the network's initialisation and shuffling"
    )
    parser.add_argument(
        "--validation-fraction",
        type=_fraction,
        default=0.2,
        metavar="F",
        help="share of the rows held out for validation scores; 0 fits on every "
        "row, once (default: 0.2)",
    )
    parser.add_argument(
        "--no-refit",
        dest="refit",
        action="store_false",
        help="save the model fitted on the rows not held out, whose scores are "
        "printed, rather than refit it on every row (so not with "
        "--validation-fraction 0)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse a column of numbers that holds a few other values, such as "
        "'12a' (by default they are treated as missing values, with a warning)",
    )
    parser.add_argument(
        "--no-profile",
        dest="profile",
        action="store_false",
        help="store no data profile in the model file. By default it holds one "
        "of the features of the rows the saved model was fitted on: each number "
        "column's percentiles 1 to 99, mean, std and missing share, each text "
        "column's category shares (categories of 5 rows or more); no rows. "
        "skhealth update compares new data with it",
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
    from sklearn.base import clone
    from sklearn.model_selection import train_test_split

    from ..metrics import score_tasks
    from ..model_files import save
    from ._model import make_model, train
    from ._tables import read_table

    if not args.refit and args.validation_fraction == 0:
        raise UsageError(
            "--no-refit and --validation-fraction 0: --no-refit saves the fit "
            "scored on held-out rows, and 0 holds out none; give one of them"
        )
    _check_output(args.output, args.data)  # before a long fit rather than after
    data = read_table(args.data)
    X, Y, categorical, binary, detected = _features_and_targets(data, args)
    estimator = _make_estimator(args.param, args.seed, Y, binary)
    _set_log_targets(estimator, Y, args.log_target, args.data, binary)
    seed = estimator.random_state
    report = (lambda *lines: None) if args.quiet else print
    if detected:
        report(
            f"Binary targets detected (two values each): {', '.join(detected)}; "
            "predicted as probabilities (--no-detect-binary fits them as numbers)"
        )

    def fit(X, Y, estimator):
        model = make_model(X, estimator, categorical=categorical)
        return train(model, X, Y, progress=not args.quiet)

    saved = ""  # says which fit the model file holds, where that needs saying
    fitted_on = X  # the features the saved model was fitted on, profiled
    if args.validation_fraction == 0:
        model = fit(X, Y, estimator)
        report(_fitted(X, Y, seed, estimator.n_iter_))
    else:
        X_fit, X_valid, Y_fit, Y_valid = train_test_split(
            X, Y, test_size=args.validation_fraction, random_state=seed
        )
        model = fit(X_fit, Y_fit, estimator)
        report(_fitted(X_fit, Y_fit, seed, estimator.n_iter_, of=len(X)))
        if not args.quiet:
            print(f"\nValidation scores ({len(X_valid)} held-out rows):")
            print_scores(score_tasks(model, X_valid, Y_valid))
        if args.refit:
            model = fit(X, Y, clone(estimator))
            report(
                f"\nRefitted on all {len(X)} rows for the saved model: "
                f"{model[-1].n_iter_} epochs (the scores above are those of the "
                f"fit on {len(X_fit)} rows)"
            )
        else:
            saved = f": the fit on {len(X_fit)} rows scored above (--no-refit)"
            fitted_on = X_fit
    save(model, args.output, profile=fitted_on if args.profile else False)
    report(f"\nSaved the model to {args.output}{saved}")


def _fitted(X, Y, seed, n_iter, of=None):
    """The line that reports a fit to ``X`` and ``Y``, of ``of`` rows in all."""
    rows = f"{len(X)} rows" if of is None else f"{len(X)} of {of} rows"
    seeded = "no seed" if seed is None else f"seed {seed}"
    return (
        f"Fitted on {rows}, {_count(X.shape[1], 'feature')}, "
        f"{_count(Y.shape[1], 'target')}, "
        f"{seeded}: {n_iter} epochs"
    )


def _count(n, noun):
    return f"{n} {noun}{'s' * (n != 1)}"


def _check_output(output, data):
    """Raise where the model file ``output`` cannot be written, or names a
    table (``data`` among them) that it would replace."""
    from ._tables import TABLE_NAME, check_output

    check_output(output, [data])
    if TABLE_NAME.search(output.lower()):
        raise UsageError(
            f"-o {output}: that names a table, not a model file; write the "
            "model to a .skh file"
        )


def _features_and_targets(data, args):
    """``(X, Y, categorical)``: the features and targets of ``data`` by the
    column options of ``args``, and the features to one-hot encode."""
    import pandas as pd

    from ._model import check_magnitudes
    from ._tables import named_columns

    for option, names in (("--target", args.target), ("--log-target", args.log_target)):
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise UsageError(f"{option} {repeated[0]}: given twice; give it once")
    targets = named_columns(data, args.target, "--target", args.data)
    binary, detected = _binary_targets(data, targets, args)
    # each column that is no feature, and the option that makes it none
    not_features = dict.fromkeys(targets, "--target")
    for column in named_columns(data, args.drop, "--drop", args.data):
        not_features.setdefault(column, "--drop")
    if args.id_column is not None:
        named_columns(data, [args.id_column], "--id-column", args.data)
        if args.id_column in targets:
            raise UsageError(
                f"--id-column {args.id_column}: the column is also a --target; an "
                "id is not a value to predict"
            )
        not_features.setdefault(args.id_column, "--id-column")
    categorical = named_columns(data, args.categorical, "--categorical", args.data)
    for column in categorical:
        if column in not_features:
            raise UsageError(
                f"--categorical {column}: {not_features[column]} names that column "
                "too, so it is no feature to encode"
            )
    features = [column for column in data.columns if column not in not_features]
    if not features:
        raise UsageError(f"{args.data}: no feature column is left to fit on")
    # codes named --categorical stay as they are written
    measured = [
        column
        for column in data.columns
        if column not in categorical
        and (column in targets or column not in not_features)
    ]
    _coerce_stray_values(data, measured, args.data, args.strict)
    for target in targets:
        if target in binary:
            continue
        if (
            not pd.api.types.is_numeric_dtype(data[target])
            or data[target].dtype == bool
        ):
            raise UsageError(
                f"--target {target}: the column is not numeric "
                f"(dtype {data[target].dtype}); a binary outcome, of two values, "
                "is fitted with --binary"
            )
    X = data[features]
    _warn_of_identifiers(X, args.data)
    numeric = X.drop(columns=categorical).select_dtypes("number")
    check_magnitudes(X, list(numeric.columns), args.data)
    numbers = [target for target in targets if target not in binary]
    check_magnitudes(data, numbers, args.data, kind="target")
    return X, data[targets], categorical, binary, detected


def _two_values(values):
    """The sorted observed values of a column if they are a binary outcome's:
    exactly two strings, or 0 and 1 (bools too); else None."""
    import pandas as pd

    present = values.dropna().unique()
    if len(present) != 2:
        return None
    if all(isinstance(value, str) for value in present):
        return sorted(present)
    if pd.api.types.is_bool_dtype(values) or (
        pd.api.types.is_numeric_dtype(values) and set(present) == {0, 1}
    ):
        return sorted(present)
    return None


def _binary_targets(data, targets, args):
    """``(binary, detected)``: the targets that are binary outcomes, those
    named by ``--binary`` (checked) and, where ``args.detect_binary``, those
    detected by their values; and the detected ones."""
    from ._tables import named_columns

    declared = named_columns(data, args.binary, "--binary", args.data)
    for column in declared:
        if column not in targets:
            raise UsageError(
                f"--binary {column}: it is no --target; the targets are "
                f"{', '.join(map(str, targets))}"
            )
        if _two_values(data[column]) is None:
            values = data[column].dropna().unique()
            raise ValueError(
                f"--binary {column}: {args.data} has {len(values)} distinct "
                f"value(s) in that column ({shown(sorted(values, key=str))}); a "
                "binary target holds two, 0 and 1 or two strings such as no and "
                "yes, and is missing where unknown"
            )
    detected = []
    if args.detect_binary:
        detected = [
            column
            for column in targets
            if column not in declared and _two_values(data[column]) is not None
        ]
    return [c for c in targets if c in declared or c in detected], detected


def _warn_of_identifiers(X, path):
    """Warn of the features that look like row identifiers: text, or the
    integers 1 to n (from any start), different in every row. As features they
    are noise, or leak how the rows were gathered."""
    import warnings

    import pandas as pd

    for column in X.columns:
        values = X[column]
        if len(values) < 20 or values.isna().any() or values.nunique() < len(values):
            continue
        consecutive = pd.api.types.is_integer_dtype(
            values
        ) and values.max() - values.min() + 1 == len(values)
        if consecutive or not pd.api.types.is_numeric_dtype(values):
            warnings.warn(
                f"{path}: the feature {column!r} holds a different value in every "
                "row, as an identifier does; pass --id-column "
                f"{column} (or --drop {column}) unless it is a measurement",
                UserWarning,
                stacklevel=2,
            )


def _set_log_targets(estimator, Y, log_targets, path, binary):
    """Make the targets ``Y`` named by ``--log-target`` log-transformed."""
    import numpy as np

    if not log_targets:
        return
    for column in log_targets:
        if column in binary:
            raise UsageError(
                f"--log-target {column}: that target is binary, predicted as a "
                "probability; leave it out of --log-target"
            )
    if estimator.target_transform is not None:
        raise UsageError(
            "--log-target and --param target_transform both set the target "
            "transforms; give one of them"
        )
    for column in log_targets:
        if column not in Y.columns:
            raise UsageError(
                f"--log-target {column}: it is no --target; the targets are "
                f"{', '.join(map(str, Y.columns))}"
            )
        labels = Y[column].to_numpy()
        not_positive = np.flatnonzero(labels <= 0)
        if not_positive.size:
            row = int(not_positive[0])
            raise UsageError(
                f"--log-target {column}: {path} has {not_positive.size} "
                f"label{'s' * (not_positive.size > 1)} of 0 or less in that "
                f"column (the first, {labels[row]:g}, in row {row + 1} of the table, "
                "counting from 1), "
                "whose log is undefined: leave the target out of --log-target"
            )
    estimator.set_params(target_transform=dict.fromkeys(log_targets, "log"))


class _BareWords(ast.NodeTransformer):
    """Make the bare words of a --param value constants (see PARAM_RULE)."""

    _CONSTANTS = {"true": True, "false": False, "none": None}

    def visit_Name(self, node):
        return ast.Constant(self._CONSTANTS.get(node.id.lower(), node.id))


def _parse_value(text):
    """The value of ``--param NAME=TEXT``, read by PARAM_RULE."""
    try:
        tree = _BareWords().visit(ast.parse(text, mode="eval"))
        return ast.literal_eval(tree)
    except (SyntaxError, ValueError):  # no literal, such as cuda:0 or a-b
        return text


def _make_estimator(param_args, seed, Y, binary):
    """The estimator that the ``--param`` options and ``--seed`` describe for
    the targets ``Y``, of which ``binary`` are binary outcomes: a classifier
    when all are, else a regressor with loss='log_loss' for those."""
    from .._classifier import MultiTaskHealthClassifier
    from .._estimator import MultiTaskHealthRegressor
    from ..model_files import check_storable

    all_binary = len(binary) == Y.shape[1]
    estimator = (
        MultiTaskHealthClassifier if all_binary else MultiTaskHealthRegressor
    )()
    if binary and not all_binary:
        for column in binary:
            if not set(Y[column].dropna().unique()) <= {0, 1}:
                raise ValueError(
                    f"--binary {column}: beside continuous targets, a binary "
                    "target's labels must be 0 and 1 (the probability of 1 is "
                    f"predicted); recode {column} as 0 and 1, or fit it with the "
                    "other binary targets only"
                )
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
            close = difflib.get_close_matches(name, valid, n=1)
            hint = f"did you mean {close[0]!r}? Or use" if close else "use"
            raise UsageError(
                f"--param {name}: {type(estimator).__name__} has no such "
                f"parameter; {hint} one of {', '.join(valid)}"
            )
        params[name] = _parse_value(text)
    if "random_state" in params and seed is not None:
        raise UsageError(
            f"--seed {seed} and --param random_state={params['random_state']!r} "
            "both set the seed; give one of them"
        )
    params.setdefault("random_state", DEFAULT_SEED if seed is None else seed)
    if binary and not all_binary:
        loss = params.get("loss", "squared_error")
        if isinstance(loss, str):  # log_loss for the binary targets
            params["loss"] = [
                "log_loss" if column in binary else loss for column in Y.columns
            ]
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
    import pandas as pd

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
