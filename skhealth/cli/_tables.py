"""Reading and writing tables: CSV (compressed too, by extension) and Parquet.

Whatever goes wrong reading or writing a file is one error naming the file and
the cause (see :func:`_read_error`): a bad input file is the user's to fix,
never a traceback.
"""

import difflib
import errno
import lzma
import re
import sys
import zlib
from pathlib import Path
from zipfile import BadZipFile

import pandas as pd

from ._console import UsageError

# pandas reads and writes compressed CSV, inferring it from the extension
_COMPRESSIONS = r"\.(gz|bz2|zip|xz|zst)"
_COMPRESSED_CSV = re.compile(rf"\.csv{_COMPRESSIONS}$")

# What the decompressors raise for a truncated or damaged file.
_DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, BadZipFile)

# Names of tables: a model file written there would replace the user's data.
TABLE_NAME = re.compile(rf"\.(csv|tsv|txt|parquet|xlsx?|json)({_COMPRESSIONS})?$")

# The optional modules that pandas needs to read or write some files.
_MODULES = {".parquet": ("Parquet", "pyarrow"), ".zst": (".zst", "zstandard")}


def table_format(path):
    """``"csv"`` or ``"parquet"``, by the extension of ``path``."""
    name = Path(path).name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".csv") or _COMPRESSED_CSV.search(name):
        return "csv"
    raise UsageError(f"{path}: unknown file type; use a .csv or .parquet file")


def is_device(path):
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
    line (see :func:`_read_error`)."""
    try:
        return read(path, **options)
    except Exception as exc:
        raise _read_error(str(path), exc) from exc


def read_table(path, text_columns=()):
    """Read a CSV or Parquet file, with ``text_columns`` as text: a model's
    categories fitted as text ("1", "2", "x") must not come back as numbers from
    a file where that column happens to hold only digits."""
    file_format = table_format(path)
    if not Path(path).is_file():
        raise FileNotFoundError(2, "No such file", str(path))
    if file_format == "csv":
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


def read_ids(path, column):
    """``column`` of the table at ``path`` as written: "007" stays "007", and a
    blank or "NA" id stays as it is (as NaN it would make the others floats)."""
    if table_format(path) == "csv":
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


def write_error(path, exc):
    """``exc``, an OSError writing ``path`` (such as a full disk's, which names
    no file), as one that names it."""
    name = "standard output" if path == "-" else str(path)
    return OSError(exc.errno, exc.strerror or str(exc).strip(), name)


def write_table(frame, path):
    """Write ``frame`` to ``path``, a table file, a device, or ``"-"`` for CSV
    on standard output."""
    try:
        if path == "-":
            frame.to_csv(sys.stdout, index=False)
            sys.stdout.flush()  # a write error shows here, not at exit
        elif is_device(path) or table_format(path) == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
    except ImportError as exc:
        raise _module_error(path, exc) from exc
    except OSError as exc:  # a BrokenPipeError stays one: main handles it
        raise write_error(path, exc) from exc


def check_output(path, inputs):
    """Fail before the work, rather than after it, where the output ``path``
    cannot be written or would replace one of the ``inputs``."""
    output = Path(path)
    if output.is_dir():
        raise UsageError(f"-o {path}: it is a directory; name a file to write")
    if not output.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "No such directory", str(output.parent))
    for name in inputs:
        if output.exists() and Path(name).exists() and output.samefile(name):
            raise UsageError(
                f"-o {path}: it is the input file {name}; write to another file"
            )


def named_columns(data, names, option, path):
    """``names``, the columns of ``data`` (read from ``path``) that ``option``
    names on the command line; a name that is none of them is a UsageError."""
    for name in names:
        if name not in data.columns:
            present = [str(column) for column in data.columns]
            close = difflib.get_close_matches(name, present, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(f"{option}: {path} has no column {name!r}{hint}")
    return list(names)


def check_table_output(args):
    """Refuse, before any work, the ``-o`` of a command that writes a table
    (see :func:`~._options.add_table_arguments`): a file over its inputs, or
    of a format it cannot write; ``-`` is standard output."""
    if args.output != "-":
        check_output(args.output, [args.model, args.data])
        if not is_device(args.output):
            table_format(args.output)
