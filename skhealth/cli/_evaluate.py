"""``skhealth evaluate``: score a model per task on a table with its targets."""

import json
import sys

from ._console import print_scores
from ._options import add_device_option


def register(commands):
    """Add ``evaluate`` to the ``commands`` of the parser."""
    parser = commands.add_parser(
        "evaluate",
        help="score a model per task on a table that has the targets",
        description=(
            "Print R², MAE, RMSE and the number of observed labels for every "
            "target of MODEL (for a MultiTaskHealthClassifier: ROC-AUC, "
            "log-loss, Brier score, balanced accuracy and the number of observed "
            "labels; a regressor's binary target is scored on its predicted "
            "probabilities, its R² being the Brier skill score); rows where a "
            "target is missing are left out of that target's scores."
        ),
    )
    add_device_option(parser)
    parser.add_argument("model", metavar="MODEL", help="a model file (.skh)")
    parser.add_argument("data", metavar="DATA", help="a .csv or .parquet file")
    parser.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="output format (default: table)",
    )
    parser.set_defaults(run=run)


def run(args):
    """Print the per-task scores of ``args.model`` on ``args.data``."""
    from ..metrics import score_tasks
    from ._model import labelled, load_model

    model = load_model(args.model, args.device)
    X, Y = labelled(model, args.data)
    scores = score_tasks(model, X, Y)
    if args.format == "table":
        print_scores(scores)
    elif args.format == "csv":
        scores.to_csv(sys.stdout)
    else:
        # JSON has no NaN (an undefined R²): write null
        table = scores.astype(object).where(scores.notna(), None)
        print(json.dumps(table.to_dict(orient="index"), indent=2))
