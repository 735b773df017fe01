"""Options that several commands share, declared without importing what runs
them: ``skhealth --help`` must not wait for PyTorch."""

import argparse

# The seed of a run that names none: two runs of the same command line fit the
# same model.
DEFAULT_SEED = 0

# The seeds NumPy's generators take.
_MAX_SEED = 2**32 - 1


def _seed(text):
    if not text.isdigit() or int(text) > _MAX_SEED:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an integer in [0, {_MAX_SEED}]"
        )
    return int(text)


def positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def add_seed_option(parser, seeded, same="model"):
    """Add ``--seed``, ``seeded`` saying what it draws, so that two runs give
    the same ``same``. Its default, None, is DEFAULT_SEED (see
    :func:`seed_of`): a command can tell a seed given from none."""
    parser.add_argument(
        "--seed",
        type=_seed,
        metavar="N",
        help=f"seed of {seeded}, so that two runs give the same {same} "
        f"(default: {DEFAULT_SEED})",
    )


def seed_of(args):
    """The seed of ``args``: ``--seed``, or DEFAULT_SEED."""
    return DEFAULT_SEED if args.seed is None else args.seed


def add_table_arguments(parser):
    """Add ``MODEL``, ``DATA`` and ``-o/--output``, a table written to a file
    or standard output (see :func:`~._tables.check_table_output`)."""
    parser.add_argument("model", metavar="MODEL", help="a model file (.skh)")
    parser.add_argument("data", metavar="DATA", help="a .csv or .parquet file")
    parser.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="FILE",
        help="a .csv or .parquet file (default: CSV on standard output)",
    )


def add_device_option(parser):
    """Add ``--device``, the device :func:`~._model.load_model` loads the
    network on."""
    parser.add_argument(
        "--device",
        help="where to load the network: cpu, cuda, cuda:N or auto "
        "(default: the device it was saved with)",
    )
