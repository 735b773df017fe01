"""The ``skhealth`` command line: demo, fit, predict, evaluate, explain and info.

Every command reads CSV or Parquet tables (chosen by the file's extension) and
model files written by :func:`skhealth.save`. Errors print one line,
``skhealth: error: ...``, on stderr and exit with status 2 for a command line
that cannot work (unknown column or parameter) or 1 for a failure while
running (missing or damaged file, data that does not match the model). Ctrl-C
prints ``skhealth: interrupted`` and exits with status 130.
"""

# Each command is a module that declares its arguments beside the function
# that runs it (_demo, _fit, _predict, _evaluate, _explain, _info); _options
# declares the options several share, _tables reads and writes tables, _model
# trains, loads and inspects models. This module builds the parser from the commands and
# turns what they raise into an exit status. Only what runs a command imports
# pandas, scikit-learn and PyTorch, in the function that runs it: --version
# and --help answer at once.

import argparse
import os
import sys
import warnings

from .. import __version__
from . import (
    _demo,
    _evaluate,
    _explain,
    _export,
    _fit,
    _info,
    _predict,
    _serve,
    _update,
)
from ._console import UsageError, one_line

__all__ = ["main"]

_COMMANDS = (
    _demo,
    _fit,
    _predict,
    _evaluate,
    _explain,
    _info,
    _export,
    _serve,
    _update,
)


def _make_parser():
    parser = argparse.ArgumentParser(
        prog="skhealth",
        description="Multi-task learning for health data, from the command line.",
        epilog="Run 'skhealth COMMAND --help' for a command's options.",
    )
    parser.add_argument(
        "--version", action="version", version=f"skhealth {__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in _COMMANDS:
        command.register(commands)
    return parser


def _error(exc):
    """The error line of ``exc``: its message, or an OSError's file and cause."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        message = f"{exc.filename}: {exc.strerror}"
    else:
        message = str(exc)
    return f"skhealth: error: {one_line(message)}"


def _closed_output(exc):
    """Nothing: the reader of stdout (say, head) has gone. Python's own
    complaint when it flushes stdout at exit is silenced too."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _interrupted(exc):
    """Ctrl-C's line. An interrupted fit or demo has saved nothing: training
    comes first."""
    return "skhealth: interrupted"


# What an exception makes of a command: the exit status, and the line that
# the function prints on stderr (none where it returns None). The first row
# of the exception's type decides; any other exception is a bug, whose
# traceback Python prints.
_EXITS = (
    (UsageError, 2, _error),  # a ValueError whose message names the option
    (BrokenPipeError, 1, _closed_output),  # an OSError
    (ValueError, 1, _error),  # ModelFileError among them
    (OSError, 1, _error),
    (KeyboardInterrupt, 130, _interrupted),  # 128 + SIGINT, as the shell says
)
_HANDLED = tuple(error for error, _, _ in _EXITS)


def _exit_status(exc):
    """The exit status of ``exc`` by _EXITS, once its line is printed."""
    status, message = next(
        (status, message) for error, status, message in _EXITS if isinstance(exc, error)
    )
    line = message(exc)
    if line is not None:
        print(line, file=sys.stderr)
    return status


class _WarningLines:
    """``warnings.showwarning`` for a command: each warning as one line on
    stderr, once (a fit and its refit warn alike)."""

    def __init__(self):
        self.shown = set()

    def __call__(self, message, category, filename, lineno, file=None, line=None):
        text = f"skhealth: warning: {one_line(message)}"
        if text not in self.shown:
            self.shown.add(text)
            print(text, file=sys.stderr)


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
    ...           "--param", "max_iter=20", "-o", model])
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
        warnings.showwarning = _WarningLines()
        try:
            args.run(args)
        except _HANDLED as exc:
            return _exit_status(exc)
    return 0
