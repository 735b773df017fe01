"""The ``skhealth`` command line: demo, fit, predict, evaluate and info.

Every command reads CSV or Parquet tables (chosen by the file's extension) and
model files written by :func:`skhealth.save`. Errors print one line,
``skhealth: error: ...``, on stderr and exit with status 2 for a command line
that cannot work (unknown column or parameter) or 1 for a failure while
running (missing or damaged file, data that does not match the model). Ctrl-C
prints ``skhealth: interrupted`` and exits with status 130.
"""

import argparse
import ast
import difflib
import errno
import json
import lzma
import os
import re
import sys
import warnings
import zlib
from pathlib import Path
from zipfile import BadZipFile

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from . import __version__
from ._estimator import MultiTaskHealthRegressor, _too_large, _too_large_advice
from ._persistence import ModelFileError, load, save
from ._persistence import _encode as _encode_param
from ._persistence import _read as _read_model_file
from .callbacks import ProgressBar
from .datasets import load_nhanes
from .metrics import task_scores

__all__ = ["main"]

# The held-out rows of `fit` and `demo` are fixed, so that runs which differ
# only in model parameters are compared on the same rows.
_SPLIT_SEED = 0


class _UsageError(ValueError):
    """A command-line value that cannot work (exit status 2)."""


# ------------------------------------------------------------------ tables
# pandas reads and writes compressed CSV, inferring it from the extension
_COMPRESSIONS = r"\.(gz|bz2|zip|xz|zst)"
_COMPRESSED_CSV = re.compile(rf"\.csv{_COMPRESSIONS}$")

# What the decompressors raise for a truncated or damaged file.
_DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, BadZipFile)

# Names of tables: a model file written there would replace the user's data.
_TABLE_NAME = re.compile(rf"\.(csv|tsv|txt|parquet|xlsx?|json)({_COMPRESSIONS})?$")

# The optional modules that pandas needs to read or write some files.
_MODULES = {".parquet": ("Parquet", "pyarrow"), ".zst": (".zst", "zstandard")}


def _table_format(path):
    name = Path(path).name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".csv") or _COMPRESSED_CSV.search(name):
        return "csv"
    raise _UsageError(f"{path}: unknown file type; use a .csv or .parquet file")


def _is_device(path):
    """Whether ``path`` is a device or a pipe, such as /dev/null or /dev/stdout:
    written as CSV whatever its name."""
    return Path(path).is_char_device() or Path(path).is_fifo()


def _module_error(path, exc):
    """The error for ``exc``, an ImportError reading or writing ``path``."""
    kind, module = _MODULES.get(Path(path).suffix.lower(), (None, None))
    if module is None:
        return ValueError(f"{path}: {exc}")
    return ValueError(f"{path}: {kind} files need {module}: pip install {module}")


def _read_error(path, exc):
    """The one-line error, naming ``path`` and the cause, for whatever pandas or
    a module under it (a decompressor, pyarrow) raised reading the file."""
    compressed = _COMPRESSED_CSV.search(path.lower())
    cause = str(exc).strip()
    if isinstance(exc, ImportError):
        return _module_error(path, exc)
    if isinstance(exc, OSError) and exc.strerror:  # the system's: permission, ...
        return ValueError(f"{path}: {exc.strerror}")
    if isinstance(exc, pd.errors.EmptyDataError):
        return ValueError(f"{path} is empty: it has no header line of column names")
    if isinstance(exc, UnicodeDecodeError):
        # the position pandas' decoder reports is in a block, not in the file
        byte = exc.object[exc.start]
        return ValueError(
            f"{path} is not UTF-8 text: it holds the byte {byte:#x}, which UTF-8 "
            "text cannot hold there; save it as UTF-8"
        )
    if isinstance(exc, pd.errors.ParserError):
        return ValueError(f"{path} is not a well-formed CSV file ({cause})")
    if compressed and isinstance(exc, _DECOMPRESSION_ERRORS):
        return ValueError(
            f"{path} cannot be decompressed: it is truncated or not a "
            f".{compressed[1]} file ({cause})"
        )
    return ValueError(f"{path} cannot be read ({type(exc).__name__}: {cause})")


def _reading(path, read, **options):
    """``read(path, **options)``, any error reading the file reported as one
    line: a bad input file is the user's to fix, never a traceback."""
    try:
        return read(path, **options)
    except Exception as exc:
        raise _read_error(str(path), exc) from exc


def _read_table(path, text_columns=()):
    """Read a CSV or Parquet file, with ``text_columns`` as text: a model's
    categories fitted as text ("1", "2", "x") must not come back as numbers from
    a file where that column happens to hold only digits."""
    table_format = _table_format(path)
    if not Path(path).is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    if table_format == "csv":
        # low_memory=False: pandas infers each column's type from all its rows;
        # per block, a large file's column can come back as numbers and text.
        frame = _reading(
            path,
            pd.read_csv,
            dtype=dict.fromkeys(text_columns, str),
            low_memory=False,
        )
        _check_separator(frame, path)
        _check_unique_header(path)
    else:  # pyarrow refuses a Parquet file whose columns share a name
        frame = _reading(path, pd.read_parquet)
        for column in [c for c in text_columns if c in frame.columns]:
            frame[column] = frame[column].astype(str).where(frame[column].notna())
    if frame.empty:
        raise ValueError(f"{path} has no rows of data, only column names")
    return frame


def _check_separator(frame, path):
    """Raise where the file seems separated by another character than ",":
    then it reads as one column, named by its whole header line."""
    if len(frame.columns) == 1:
        header = str(frame.columns[0])
        for separator in (";", "\t", "|"):
            if separator in header:
                raise ValueError(
                    f"{path} seems to use {separator!r}, not ',', to separate its "
                    f"columns: it reads as one column, {header!r}; save it as "
                    "comma-separated CSV"
                )


def _check_unique_header(path):
    """Raise, naming them, where columns of the CSV file at ``path`` share a
    name: pandas would read the second ``age`` as a column ``age.1``."""
    header = _reading(
        path, pd.read_csv, header=None, nrows=1, dtype=str, keep_default_na=False
    ).iloc[0]
    named = pd.Index(header[header != ""])  # pandas names blank ones apart
    repeated = list(dict.fromkeys(named[named.duplicated()]))
    if repeated:
        raise ValueError(
            f"{path} has several columns named {', '.join(map(repr, repeated))}: "
            "give each column its own name"
        )


def _read_ids(path, column):
    """``column`` of the table at ``path`` as written: "007" stays "007", and a
    blank or "NA" id stays as it is (as NaN it would make the others floats)."""
    if _table_format(path) == "csv":
        ids = _reading(
            path,
            pd.read_csv,
            usecols=[column],
            dtype=str,
            keep_default_na=False,
            low_memory=False,
        )
    else:  # integer ids with some missing stay integers
        ids = _reading(
            path, pd.read_parquet, columns=[column], dtype_backend="numpy_nullable"
        )
    return ids[column]


def _write_error(path, exc):
    """``exc``, an OSError writing ``path`` (such as a full disk's, which names
    no file), as one that names it."""
    name = "standard output" if path == "-" else str(path)
    return OSError(exc.errno, exc.strerror or str(exc).strip(), name)


def _write_table(frame, path):
    try:
        if path == "-":
            frame.to_csv(sys.stdout, index=False)
            sys.stdout.flush()  # a write error shows here, not at exit
        elif _is_device(path) or _table_format(path) == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
    except ImportError as exc:
        raise _module_error(path, exc) from exc
    except OSError as exc:  # a BrokenPipeError stays one: main handles it
        raise _write_error(path, exc) from exc


def _check_output(path, inputs):
    """Fail before the work, rather than after it, where the output ``path``
    cannot be written or would replace one of the ``inputs``."""
    output = Path(path)
    if output.is_dir():
        raise _UsageError(f"-o {path}: it is a directory; name a file to write")
    if not output.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "No such directory", str(output.parent))
    for name in inputs:
        if output.exists() and Path(name).exists() and output.samefile(name):
            raise _UsageError(
                f"-o {path}: it is the input file {name}; write to another file"
            )


def _columns(data, names, option, path):
    """Check that the columns named on the command line exist in ``data``."""
    for name in names:
        if name not in data.columns:
            columns = [str(column) for column in data.columns]
            close = difflib.get_close_matches(name, columns, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise _UsageError(f"{option}: {path} has no column {name!r}{hint}")
    return list(names)


# ------------------------------------------------------------------ models
def _final_estimator(model):
    return model[-1] if isinstance(model, Pipeline) else model


def _preprocessing(X):
    """One-hot encode non-numeric columns, impute and standardise numeric ones.

    A kind of column that ``X`` lacks gets no step: scikit-learn leaves the step
    of no column unfitted, and a model file holds fitted steps only.
    """
    numeric = list(X.select_dtypes("number").columns)
    categorical = [column for column in X.columns if column not in numeric]
    steps = [
        (
            "numeric",
            make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
            numeric,
        ),
        (
            "categorical",
            make_pipeline(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            ),
            categorical,
        ),
    ]
    return ColumnTransformer([step for step in steps if step[2]])


def _make_model(X, estimator):
    return Pipeline([("preprocess", _preprocessing(X)), ("regressor", estimator)])


def _parse_value(text):
    """A Python literal (number, tuple, bool, None, ...) or else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _make_estimator(param_args):
    estimator = MultiTaskHealthRegressor()
    # Training callbacks are the command's own (the progress bar).
    valid = sorted(set(estimator.get_params(deep=False)) - {"callbacks"})
    params = {}
    for arg in param_args:
        name, equals, text = (part.strip() for part in arg.partition("="))
        if not equals or not name:
            raise _UsageError(
                f"--param {arg!r}: expected name=value, such as --param max_iter=50"
            )
        if name not in valid:
            raise _UsageError(
                f"--param {name}: MultiTaskHealthRegressor has no such parameter; "
                f"use one of {', '.join(valid)}"
            )
        params[name] = _parse_value(text)
    estimator.set_params(**params)
    try:
        # Check the values now rather than after reading and preparing the data.
        estimator._validate_params()
    except ValueError as exc:
        raise _UsageError(f"--param: {exc}") from exc
    for name, value in params.items():
        try:  # and that the model file can hold them, rather than after fitting
            _encode_param(value, name)
        except ValueError as exc:
            raise _UsageError(
                f"--param {name}: a model file cannot store {value!r}; use None, "
                "bools, numbers and strings, or lists, tuples and dicts of them"
            ) from exc
    return estimator


def _load(args):
    """The MODEL of ``args`` on its --device. A device this machine cannot use
    is reported with the option that fixes it: load's message names its own
    ``device`` argument."""
    try:
        return load(args.model, device=args.device)
    except ModelFileError:
        raise
    except ValueError as exc:  # load's one other error: the device
        if args.device is not None:
            raise _UsageError(
                f"--device {args.device}: this machine cannot use that device "
                # load's message without its advice, which names Python's syntax
                f"({str(exc).split('; ')[0].rstrip('.')}); use --device cpu or "
                "--device auto"
            ) from exc
        metadata = _read_model_file(args.model, args.model)[0]
        saved = metadata["estimator"]["params"]["device"]
        raise ValueError(
            f"{args.model} was saved with device {saved!r}, which this machine "
            "cannot use: pass --device cpu (or --device auto)"
        ) from exc


def _fit(model, X, Y, *, progress):
    estimator = _final_estimator(model)
    if progress:
        estimator.set_params(callbacks=[ProgressBar()])
    try:
        model.fit(X, Y)
    finally:
        # The progress bar only displays training: it is not part of the model.
        estimator.set_params(callbacks=None)
    return model


def _inputs(model, data, path, exclude=()):
    """The model's feature columns of ``data``, in the order it was fitted with."""
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


def _fitted_columns(model, kind):
    """``(columns, fitted step)`` of the "numeric" or "categorical" part of a
    model this command line fitted (see _preprocessing): an imputer, then a
    scaler or an encoder. No columns for any other model."""
    last = {"numeric": StandardScaler, "categorical": OneHotEncoder}[kind]
    preprocess = model[0] if isinstance(model, Pipeline) else None
    if isinstance(preprocess, ColumnTransformer):
        for name, step, columns in preprocess.transformers_:
            if (
                name == kind
                and len(columns)
                and isinstance(step, Pipeline)
                and isinstance(step[0], SimpleImputer)
                and isinstance(step[-1], last)
            ):
                return list(columns), step
    return [], None


def _categories(model):
    """``{column: fitted categories}`` of the model's categorical columns."""
    columns, step = _fitted_columns(model, "categorical")
    if not columns:
        return {}
    # the imputer drops a column that was all missing at fit: it has no categories
    statistics = step[0].statistics_
    kept = [c for c, s in zip(columns, statistics, strict=True) if not pd.isna(s)]
    return dict(zip(kept, step[-1].categories_, strict=True))


def _text_columns(model):
    """The categorical columns whose categories were fitted as text."""
    return [
        column
        for column, known in _categories(model).items()
        if all(isinstance(value, str) for value in known)
    ]


def _check_numbers(data, columns, path):
    """Raise, naming the column and value, where ``columns`` hold no number."""
    for column in columns:
        values = data[column]
        bad = values.notna() & pd.to_numeric(values, errors="coerce").isna()
        if bad.any():
            raise ValueError(
                f"{path}: column {column!r} holds {values[bad].iloc[0]!r}, but the "
                "model was fitted on numbers there."
            )


# A text column whose values are numbers but for a few stray ones (a typo, a
# note) is a numeric column when at least this share of its values are numbers
# and they take more distinct values than the others do: one-hot encoded, each
# number would be a category of its own. A column of codes (1 and x) stays text.
_NUMERIC_SHARE = 0.9


def _shown(values):
    """The first five of ``values``, as reprs, for a message."""
    return ", ".join(map(repr, values[:5])) + (", ..." if values[5:] else "")


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
            f"that are not ({_shown(list(stray.unique()))})"
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


def _check_magnitudes(data, columns, path):
    """Raise, naming the column and value, where ``columns`` of numbers hold
    infinity or a number beyond float32's range: standardised, they would be
    NaN or infinite (the squares of 1e200 overflow)."""
    if not columns:
        return
    numbers = data[columns].apply(pd.to_numeric)
    found = _too_large(numbers.to_numpy(dtype=np.float64, na_value=np.nan))
    if found is not None:
        column, value = found
        raise ValueError(
            f"{path}: column {columns[column]!r} holds {value:g}"
            f"{_too_large_advice(value)}"
        )


def _check_values(model, X, path):
    """Check ``X`` against the preprocessing of a model this command line fitted
    (see _preprocessing): a numeric column must hold numbers of the network's
    range, and a categorical value the encoder never saw, encoded as no
    category at all, is warned of."""
    numeric = _fitted_columns(model, "numeric")[0]
    _check_numbers(X, numeric, path)
    _check_magnitudes(X, numeric, path)
    for column, known in _categories(model).items():
        unseen = sorted(set(X[column].dropna()) - set(known), key=str)
        if unseen:
            warnings.warn(
                f"{path}: column {column!r} holds values the model was not fitted "
                f"on ({_shown(unseen)}); they count as none of its categories.",
                stacklevel=2,
            )


def _predict(model, X):
    estimator = _final_estimator(model)
    Y = np.asarray(model.predict(X)).reshape(len(X), -1)
    return pd.DataFrame(Y, columns=list(estimator.target_names_), index=X.index)


def _printable(text):
    """``text`` with every character that is not printable (an escape sequence's
    ESC, a line break) escaped as in a Python repr: names read from a file must
    not control the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def _print_scores(scores):
    scores = scores.rename(index=_printable)
    print(scores.to_string(float_format=lambda value: f"{value:.3f}"))
    print(f"mean R2: {scores['r2'].mean():.3f}")


# ------------------------------------------------------------------ commands
def _demo(args):
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    X, Y = load_nhanes(return_X_y=True)
    X_train, X_test, Y_train, Y_test = train_test_split(
        X, Y, test_size=0.25, random_state=_SPLIT_SEED
    )
    estimator = MultiTaskHealthRegressor(
        max_iter=args.max_iter, random_state=args.random_state
    )
    model = _fit(_make_model(X_train, estimator), X_train, Y_train, progress=True)
    stopped = " (stopped early)" if estimator.n_iter_ < args.max_iter else ""
    print(
        f"NHANES 2017-2018: {len(X_train)} training rows, {X.shape[1]} features, "
        f"{Y.shape[1]} targets; {estimator.n_iter_} epochs{stopped}\n"
    )
    print(f"Held-out scores ({len(X_test)} rows):")
    _print_scores(task_scores(Y_test, model.predict(X_test)))
    model_path = output_dir / "nhanes.skh"
    save(model, model_path)
    print(f"\nSaved the model to {model_path} (see: skhealth info {model_path})")
    if not args.no_plot:
        _plot_learning_curves(estimator, output_dir / "nhanes-learning-curves.png")


def _plot_learning_curves(estimator, path):
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            "No learning-curve plot: matplotlib is not installed "
            "(pip install 'skhealth[plot]')."
        )
        return
    from .plot import TrainingCurveDisplay

    figure, axes = plt.subplots(1, 2, figsize=(14, 5), layout="constrained")
    for ax, metric in zip(axes, ("loss", "r2"), strict=True):
        TrainingCurveDisplay.from_estimator(estimator, metric=metric, ax=ax)
        ax.get_legend().remove()  # both panels have the same lines: one legend
    figure.legend(*axes[1].get_legend_handles_labels(), loc="outside right center")
    figure.suptitle(
        "NHANES 2017-2018 learning curves: training (solid), validation (dashed)"
    )
    try:
        figure.savefig(path, dpi=100)
    except OSError as exc:
        raise _write_error(path, exc) from exc
    finally:
        plt.close(figure)
    print(f"Saved the learning curves to {path}")


def _fit_command(args):
    estimator = _make_estimator(args.param)
    # Fail before a long fit rather than after it.
    _check_output(args.output, [args.data])
    if _TABLE_NAME.search(args.output.lower()):
        raise _UsageError(
            f"-o {args.output}: that names a table, not a model file; write the "
            "model to a .skh file"
        )
    data = _read_table(args.data)
    targets = _columns(data, args.target, "--target", args.data)
    dropped = _columns(data, args.drop, "--drop", args.data)
    if args.id_column is not None:
        dropped += _columns(data, [args.id_column], "--id-column", args.data)
        if args.id_column in targets:
            raise _UsageError(
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
            raise _UsageError(
                f"--target {target}: the column is not numeric "
                f"(dtype {data[target].dtype})"
            )
    X = data.drop(columns=targets + dropped)
    if X.shape[1] == 0:
        raise _UsageError(f"{args.data}: no feature column is left to fit on")
    _check_magnitudes(X, list(X.select_dtypes("number").columns), args.data)
    Y = data[targets]
    if args.validation_fraction > 0:
        X, X_valid, Y, Y_valid = train_test_split(
            X, Y, test_size=args.validation_fraction, random_state=_SPLIT_SEED
        )
    model = _fit(_make_model(X, estimator), X, Y, progress=not args.quiet)
    save(model, args.output)
    if args.quiet:
        return
    print(
        f"Fitted on {len(X)} rows, {X.shape[1]} features, {len(targets)} targets: "
        f"{estimator.n_iter_} epochs"
    )
    if args.validation_fraction > 0:
        print(f"\nValidation scores ({len(X_valid)} held-out rows):")
        _print_scores(task_scores(Y_valid, model.predict(X_valid)))
    print(f"\nSaved the model to {args.output}")


def _predict_command(args):
    if args.output != "-":
        _check_output(args.output, [args.model, args.data])
        if not _is_device(args.output):
            _table_format(args.output)
    model = _load(args)
    data = _read_table(args.data, _text_columns(model))
    kept = []
    if args.id_column is not None:
        kept = _columns(data, [args.id_column], "--id-column", args.data)
        if args.id_column in list(_final_estimator(model).target_names_):
            raise _UsageError(
                f"--id-column {args.id_column}: the model predicts a column of "
                "that name too; copy another column, or none"
            )
    predictions = _predict(model, _inputs(model, data, args.data, exclude=kept))
    # the ids as written, not as ``data`` has them: that column may be a feature
    ids = [_read_ids(args.data, column) for column in kept]
    _write_table(pd.concat([*ids, predictions], axis=1), args.output)


def _evaluate_command(args):
    model = _load(args)
    data = _read_table(args.data, _text_columns(model))
    targets = list(_final_estimator(model).target_names_)
    missing = [target for target in targets if target not in data.columns]
    if missing:
        raise ValueError(
            f"{args.data} lacks {len(missing)} target column(s) of the model: "
            f"{', '.join(missing)}"
        )
    _check_numbers(data, targets, args.data)
    X = _inputs(model, data, args.data, exclude=targets)
    scores = task_scores(data[targets], _predict(model, X))
    if args.format == "table":
        _print_scores(scores)
    elif args.format == "csv":
        scores.to_csv(sys.stdout)
    else:
        # JSON has no NaN (an undefined R²): write null
        table = scores.astype(object).where(scores.notna(), None)
        print(json.dumps(table.to_dict(orient="index"), indent=2))


def _info_command(args):
    metadata = _read_model_file(args.model, args.model)[0]
    model = _load(args)
    estimator = _final_estimator(model)
    if isinstance(model, Pipeline):
        steps = ", ".join(
            f"{name}: {type(step).__name__}" for name, step in model.steps
        )
        lines = [f"model: Pipeline({steps})"]
    else:
        lines = [f"model: {type(model).__name__}"]
    versions = ", ".join(f"{lib} {v}" for lib, v in metadata["versions"].items())
    lines += [f"saved with: {versions}", f"epochs trained: {estimator.n_iter_}"]
    targets = list(estimator.target_names_)
    lines.append(f"targets ({len(targets)}): {', '.join(targets)}")
    features = getattr(model, "feature_names_in_", None)
    if features is None:
        lines.append(f"features ({model.n_features_in_}): unnamed (fitted on an array)")
    else:
        lines.append(f"features ({len(features)}): {', '.join(map(str, features))}")
    lines.append(f"parameters of {type(estimator).__name__}:")
    for name, value in estimator.get_params(deep=False).items():
        lines.append(f"  {name} = {value!r}")
    for line in lines:  # everything here comes from the file
        print(_printable(line))


# ------------------------------------------------------------------ parsing
def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number in [0, 1)")
    return value


def _positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def _make_parser():
    parser = argparse.ArgumentParser(
        prog="skhealth",
        description="Multi-task learning for health data, from the command line.",
        epilog="Run 'skhealth COMMAND --help' for a command's options.",
    )
    parser.add_argument(
        "--version", action="version", version=f"skhealth {__version__}"
    )
    device = argparse.ArgumentParser(add_help=False)
    device.add_argument(
        "--device",
        help="where to load the network: cpu, cuda, cuda:N or auto "
        "(default: the device it was saved with)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="fit the NHANES 2017-2018 data set and show held-out scores",
        description=(
            "Fit MultiTaskHealthRegressor (with early stopping) on 75% of the "
            "NHANES 2017-2018 data that ships with skhealth, print per-task scores "
            "on the other 25%, save the model and plot its learning curves."
        ),
    )
    demo.add_argument(
        "--output-dir",
        default=".",
        metavar="DIR",
        help="where to write nhanes.skh and nhanes-learning-curves.png "
        "(default: the current directory)",
    )
    demo.add_argument(
        "--max-iter",
        type=_positive_int,
        default=200,
        metavar="N",
        help="maximum number of epochs (default: 200)",
    )
    demo.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="N",
        help="seed of the network's initialisation and shuffling (default: 0)",
    )
    demo.add_argument(
        "--no-plot", action="store_true", help="do not plot the learning curves"
    )
    demo.set_defaults(run=_demo)

    fit = commands.add_parser(
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
    fit.add_argument("data", metavar="DATA", help="a .csv or .parquet file")
    fit.add_argument(
        "--target",
        action="append",
        required=True,
        metavar="COL",
        help="a column to predict (repeat for several tasks)",
    )
    fit.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="COL",
        help="a column not to use as a feature (repeatable)",
    )
    fit.add_argument(
        "--id-column", metavar="COL", help="a row identifier, not used as a feature"
    )
    fit.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a MultiTaskHealthRegressor parameter as a Python literal, such as "
        "max_iter=50, hidden_layer_sizes=64,32 or early_stopping=True "
        "(repeatable)",
    )
    fit.add_argument(
        "--validation-fraction",
        type=_fraction,
        default=0.2,
        metavar="F",
        help="share of the rows held out for validation scores; 0 fits on every "
        "row (default: 0.2)",
    )
    fit.add_argument(
        "--strict",
        action="store_true",
        help="refuse a column of numbers that holds a few other values, such as "
        "'12a' (by default they are treated as missing values, with a warning)",
    )
    fit.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="print neither the progress bar nor the scores",
    )
    fit.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="MODEL",
        help="the model file to write (.skh)",
    )
    fit.set_defaults(run=_fit_command)

    predict = commands.add_parser(
        "predict",
        parents=[device],
        help="predict every target for the rows of a table",
        description="Write one column of predictions per target of MODEL.",
    )
    predict.add_argument("model", metavar="MODEL", help="a model file (.skh)")
    predict.add_argument("data", metavar="DATA", help="a .csv or .parquet file")
    predict.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="FILE",
        help="a .csv or .parquet file (default: CSV on standard output)",
    )
    predict.add_argument(
        "--id-column",
        metavar="COL",
        help="a column of DATA to copy, first, into the predictions",
    )
    predict.set_defaults(run=_predict_command)

    evaluate = commands.add_parser(
        "evaluate",
        parents=[device],
        help="score a model per task on a table that has the targets",
        description=(
            "Print R², MAE, RMSE and the number of observed labels for every "
            "target of MODEL; rows where a target is missing are left out of "
            "that target's scores."
        ),
    )
    evaluate.add_argument("model", metavar="MODEL", help="a model file (.skh)")
    evaluate.add_argument("data", metavar="DATA", help="a .csv or .parquet file")
    evaluate.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="output format (default: table)",
    )
    evaluate.set_defaults(run=_evaluate_command)

    info = commands.add_parser(
        "info",
        parents=[device],
        help="describe a model file",
        description=(
            "Print a model's class, parameters, targets, features, epochs "
            "trained and the versions it was saved with."
        ),
    )
    info.add_argument("model", metavar="MODEL", help="a model file (.skh)")
    info.set_defaults(run=_info_command)
    return parser


def _one_line(text):
    """``text`` on one line, whatever it quotes from a file printable."""
    return _printable(" ".join(str(text).split()))


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"skhealth: warning: {_one_line(message)}", file=sys.stderr)


def _error(exc):
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        message = f"{exc.filename}: {exc.strerror}"
    else:
        message = str(exc)
    print(f"skhealth: error: {_one_line(message)}", file=sys.stderr)


def main(argv=None):
    """Run the ``skhealth`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; ``None`` reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 1 when the command failed while running, 2 for a
        command line that cannot work and 130 when interrupted (Ctrl-C).
        Errors print one line on stderr.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> from skhealth.cli import main
    >>> from skhealth.datasets import make_health_data
    >>> X, Y = make_health_data(n_samples=200, n_features=3, n_tasks=2,
    ...                         random_state=0)
    >>> table = pd.DataFrame(X, columns=["age", "steps", "sleep"])
    >>> table[["sbp", "hdl"]] = Y
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     data = str(pathlib.Path(folder) / "health.csv")
    ...     model = str(pathlib.Path(folder) / "model.skh")
    ...     table.to_csv(data, index=False)
    ...     main(["fit", data, "--target", "sbp", "--target", "hdl", "--quiet",
    ...           "--param", "max_iter=20", "--param", "random_state=0",
    ...           "-o", model])
    ...     main(["evaluate", model, data, "--format", "csv"])
    ... # doctest: +ELLIPSIS
    0
    task,r2,mae,rmse,n_observed
    sbp,...,200
    hdl,...,200
    0
    """
    args = _make_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            args.run(args)
        except _UsageError as exc:
            _error(exc)
            return 2
        except BrokenPipeError:
            # The reader of stdout (say, head) has gone: stop without a word,
            # and without Python's own complaint when it flushes stdout at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        except (ValueError, OSError) as exc:
            _error(exc)
            return 1
        except KeyboardInterrupt:
            # an interrupted fit or demo saves nothing: training comes first
            print("skhealth: interrupted", file=sys.stderr)
            return 130  # 128 + SIGINT, as the shell reports it
    return 0
