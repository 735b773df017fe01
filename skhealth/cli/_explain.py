"""``skhealth explain``: which features each target relies on, as each one's
permutation importance."""

from ._console import UsageError
from ._options import (
    add_device_option,
    add_seed_option,
    add_table_arguments,
    positive_int,
    seed_of,
)

# --scoring's names, as ``evaluate`` prints the metrics, and the scorers'.
_SCORINGS = {
    "r2": "r2",
    "mae": "neg_mean_absolute_error",
    "rmse": "neg_root_mean_squared_error",
}


def register(commands):
    """Add ``explain`` to the ``commands`` of the parser."""
    parser = commands.add_parser(
        "explain",
        help="which features each target relies on, on a table with the targets",
        description=(
            "Shuffle each feature column of DATA in turn and write how much each "
            "target's score drops (its permutation importance): one row per "
            "target and feature, with the mean and standard deviation over the "
            "shuffles. Rows where a target is missing are left out of that "
            "target's scores. DATA must have the target columns."
        ),
    )
    add_device_option(parser)
    add_table_arguments(parser)
    parser.add_argument(
        "--plot",
        metavar="FILE",
        help="also draw the importances as a heatmap of features by targets, to "
        "an image file (.png, .pdf or .svg); needs matplotlib",
    )
    parser.add_argument(
        "--scoring",
        choices=list(_SCORINGS),
        default="r2",
        help="the score whose drop is measured: R², or the rise of an error, in "
        "the target's units (default: r2)",
    )
    parser.add_argument(
        "--n-repeats",
        type=positive_int,
        default=5,
        metavar="N",
        help="times each feature is shuffled (default: 5)",
    )
    add_seed_option(parser, "the shuffles", same="table")
    parser.set_defaults(run=run)


def run(args):
    """Write the per-target permutation importances of ``args.model`` on the
    rows of ``args.data``, and their heatmap with ``--plot``."""
    from ..inspection import task_permutation_importance
    from ._model import labelled, load_model
    from ._tables import check_output, check_table_output, write_table

    check_table_output(args)
    if args.plot is not None:
        check_output(args.plot, [args.model, args.data])
        _check_image(args.plot)
    model = load_model(args.model, args.device)
    X, Y = labelled(model, args.data)
    importances = task_permutation_importance(
        model,
        X,
        Y,
        scoring=_SCORINGS[args.scoring],
        n_repeats=args.n_repeats,
        random_state=seed_of(args),
    )
    write_table(importances, args.output)
    if args.plot is not None:
        _plot(importances, _SCORINGS[args.scoring], args.plot)


def _pyplot():
    """matplotlib's pyplot; a UsageError without it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise UsageError(
            "--plot needs matplotlib: pip install 'skhealth[plot]'"
        ) from exc
    return plt


def _check_image(path):
    """Fail before the work where matplotlib is missing or cannot write an
    image of the extension of ``path``."""
    from pathlib import Path

    _pyplot()
    from matplotlib.backend_bases import FigureCanvasBase

    kind = Path(path).suffix.lower().removeprefix(".")
    if kind not in FigureCanvasBase.get_supported_filetypes():
        raise UsageError(
            f"--plot {path}: unknown image type; use a .png, .pdf or .svg file"
        )


def _plot(importances, scoring, path):
    """Draw ``importances`` as TaskImportanceDisplay's heatmap, to ``path``."""
    from ..plot import _IMPORTANCE_LABELS, TaskImportanceDisplay
    from ._tables import write_error

    plt = _pyplot()
    display = TaskImportanceDisplay.from_importances(
        importances, label=_IMPORTANCE_LABELS[scoring]
    )
    try:
        display.figure_.savefig(path, dpi=100)
    except OSError as exc:
        raise write_error(path, exc) from exc
    finally:
        plt.close(display.figure_)
