"""``skhealth predict``: predict every target for the rows of a table."""

import argparse

from ._console import UsageError
from ._options import add_device_option, add_table_arguments


def _confidence(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number strictly between 0 and 1 (0.9 for 90 % "
            "intervals)"
        )
    return value


def register(commands):
    """Add ``predict`` to the ``commands`` of the parser."""
    parser = commands.add_parser(
        "predict",
        help="predict every target for the rows of a table",
        description=(
            "Write one column of predictions per target of MODEL: a regressor's "
            "predicted value (for a binary target, the probability of 1); for a "
            "MultiTaskHealthClassifier, the predicted class in TARGET and the "
            "probability of the target's second class (its positive one, "
            "sorted: 1 of 0 and 1, yes of no and yes) in TARGET_proba."
        ),
    )
    add_device_option(parser)
    add_table_arguments(parser)
    parser.add_argument(
        "--id-column",
        metavar="COL",
        help="a column of DATA to copy, first, into the predictions",
    )
    parser.add_argument(
        "--interval",
        type=_confidence,
        metavar="C",
        help="add each target's prediction interval that covers a share C of "
        "labels (e.g. 0.9), as the columns TARGET_lower and TARGET_upper",
    )
    parser.add_argument(
        "--group-column",
        metavar="COL",
        help="with --interval, for a model calibrated per group: the column of "
        "DATA that holds each row's group",
    )
    parser.set_defaults(run=run)


def run(args):
    """Write the predictions of ``args.model`` for the rows of ``args.data``."""
    import pandas as pd

    from .._frames import interval_columns, predict_frame, proba_columns
    from .._validation import final_step
    from ._model import inputs, load_model, text_columns
    from ._tables import (
        check_table_output,
        named_columns,
        read_ids,
        read_table,
        write_table,
    )

    if args.group_column is not None and args.interval is None:
        raise UsageError(
            "--group-column picks each row's interval calibration: give it with "
            "--interval"
        )
    check_table_output(args)
    model = load_model(args.model, args.device)
    data = read_table(args.data, text_columns(model))
    estimator = final_step(model)
    targets = [str(name) for name in estimator.target_names_]
    if hasattr(estimator, "classes_"):
        if args.interval is not None:
            raise UsageError(
                "--interval: the model is a classifier, which predicts "
                "probabilities (TARGET_proba) rather than intervals; leave it out"
            )
        written = targets + proba_columns(targets)
    else:
        written = targets + (interval_columns(targets) if args.interval else [])
    kept = []
    if args.id_column is not None:
        kept = named_columns(data, [args.id_column], "--id-column", args.data)
        if args.id_column in written:
            raise UsageError(
                f"--id-column {args.id_column}: the predictions have a column of "
                "that name too; copy another column, or none"
            )
    groups = _groups(model, data, args)
    predictions = predict_frame(
        model,
        inputs(model, data, args.data, exclude=kept),
        interval=args.interval,
        groups=groups,
    )
    # the ids as written, not as ``data`` has them: that column may be a feature
    ids = [read_ids(args.data, column) for column in kept]
    write_table(pd.concat([*ids, predictions], axis=1), args.output)


def _groups(model, data, args):
    """Each row's group for the intervals of ``model``: the ``--group-column``
    of ``data``, which a model calibrated per group needs (and no other)."""
    from .._validation import final_step
    from ._tables import named_columns

    estimator = final_step(model)
    calibration = getattr(estimator, "_calibration", None)
    if args.interval is not None and not hasattr(estimator, "_calibration"):
        raise ValueError(
            f"--interval: {args.model} was saved by an earlier skhealth, which "
            "kept no calibration of its uncertainty: fit it again"
        )
    if args.interval is not None and calibration is None:
        raise ValueError(
            f"--interval: {args.model} has no calibration of its uncertainty: it "
            "was fitted without held-out rows (under 50 rows, or with "
            "--param early_stopping=false). Fit it on more rows, or with --param "
            "early_stopping=true, which holds out validation rows to calibrate on"
        )
    per_group = calibration is not None and calibration.groups is not None
    if args.interval is None or (args.group_column is None and not per_group):
        return None
    if args.group_column is None:
        labels = ", ".join(map(str, calibration.groups))
        raise UsageError(
            f"--interval: the model was calibrated per group ({labels}); give the "
            "column of each row's group with --group-column COL"
        )
    if not per_group:
        raise UsageError(
            f"--group-column {args.group_column}: the model was calibrated "
            "without groups; leave it out"
        )
    (column,) = named_columns(data, [args.group_column], "--group-column", args.data)
    return data[column].to_numpy()
