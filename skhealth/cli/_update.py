"""``skhealth update``: continue training a model on new rows, report the
drift and the scores before and after, and save the updated model."""

# What runs the command is imported in the function that runs it: declaring
# the options must not import PyTorch (see skhealth.cli).

from ._console import UsageError, printable
from ._options import add_device_option, add_seed_option, positive_int, seed_of


def register(commands):
    """Add ``update`` to the ``commands`` of the parser."""
    from ._fit import _fraction

    parser = commands.add_parser(
        "update",
        help="continue training a model on new rows, with a drift report",
        description=(
            "Continue training MODEL on the rows of NEW_DATA, from its current "
            "weights, and save the result to NEW_MODEL. A --holdout share of "
            "the new rows, drawn by --seed, is held out: the model is scored on "
            "them before and after the update. Prints how far each column of "
            "NEW_DATA moved from the model's training data (PSI and KS against "
            "the data profile in the model file), the columns that moved most "
            "first; what was kept (the preprocessing as fitted on the old data, "
            "the target scaling) or refitted; and the scores. NEW_DATA must "
            "hold exactly the model's feature and target columns (--drop and "
            "--id-column leave others out). NEW_MODEL's data profile is of "
            "NEW_DATA's rows."
        ),
    )
    add_device_option(parser)
    parser.add_argument("model", metavar="MODEL", help="a model file (.skh)")
    parser.add_argument("data", metavar="NEW_DATA", help="a .csv or .parquet file")
    parser.add_argument(
        "--target",
        action="extend",
        nargs="+",
        default=[],
        metavar="COL",
        help="the model's target columns (default: all of them, as the model "
        "names them); an error if they are not the model's",
    )
    parser.add_argument(
        "--epochs",
        type=positive_int,
        metavar="N",
        help="the most epochs to train on (default: the model's max_iter); "
        "early stopping, where the model was fitted with it, stops sooner",
    )
    parser.add_argument(
        "--refit-preprocessing",
        action="store_true",
        help="refit the preprocessing (imputation, scaling) on the new rows "
        "before training: the network's inputs then follow the new data's "
        "scaling. By default it is kept as fitted on the old data",
    )
    parser.add_argument(
        "--holdout",
        type=_fraction,
        default=0.2,
        metavar="F",
        help="share of the new rows held out to score the model before and "
        "after; 0 trains on every row and scores nothing (default: 0.2)",
    )
    add_seed_option(parser, "the held-out rows", same="holdout")
    parser.add_argument(
        "--replay",
        metavar="OLD_DATA",
        help="a table of old rows (the model's columns, as NEW_DATA) to train "
        "on beside the new ones, so that the model keeps what it learnt of "
        "them: trained on the new rows only, a network forgets much of it. They "
        "are neither held out, scored nor profiled",
    )
    parser.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="COL",
        help="a column of NEW_DATA (and of OLD_DATA) that is neither a feature "
        "nor a target of the model, to leave out (repeatable)",
    )
    parser.add_argument("--id-column", metavar="COL", help="a row identifier, left out")
    parser.add_argument(
        "--top",
        type=positive_int,
        default=10,
        metavar="N",
        help="the columns of the drift table shown, those that moved most "
        "(default: 10)",
    )
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="print neither the progress bar nor the report",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="NEW_MODEL",
        help="the model file to write (.skh)",
    )
    parser.set_defaults(run=run)


def run(args):
    """Update ``args.model`` on ``args.data`` and save it to ``args.output``."""
    from .._validation import final_step
    from ..callbacks import TrainingProgress
    from ..model_files import save
    from ..monitoring import _check_holdout, update
    from ._fit import _check_output
    from ._model import load_model

    _check_output(args.output, args.data)
    model = load_model(args.model, args.device)
    X, Y = _rows(model, args, args.data)
    if args.holdout > 0:  # named as the option, not as update's argument
        _check_holdout(len(X), args.holdout, f"--holdout {args.holdout}", "--holdout 0")
    replay = None if args.replay is None else _rows(model, args, args.replay)
    estimator = final_step(model)
    if not args.quiet:  # the progress bar, which the copy trains with
        estimator.set_params(callbacks=[TrainingProgress()])
    try:
        updated, report = update(
            model,
            X,
            Y,
            epochs=args.epochs,
            refit_preprocessing=args.refit_preprocessing,
            validation_fraction=args.holdout,
            replay=replay,
            random_state=seed_of(args),
        )
    finally:
        estimator.set_params(callbacks=None)
    final_step(updated).set_params(callbacks=None)
    save(updated, args.output)
    if not args.quiet:
        for line in report.summary(top=args.top).splitlines():
            print(printable(line))  # names from the table, printed safely
        print(
            f"\nSaved the updated model to {args.output}, with a data profile of "
            f"the {len(X)} rows of {args.data}"
        )


def _rows(model, args, path):
    """``(X, Y)``: the model's features and targets in the table at ``path``;
    an error names the columns that are neither, and the targets that are not
    the model's."""
    import pandas as pd

    from .._inputs import input_columns
    from .._validation import final_step
    from ._model import check_magnitudes, check_numbers, inputs, text_columns
    from ._tables import named_columns, read_table

    estimator = final_step(model)
    targets = [str(name) for name in estimator.target_names_]
    if args.target:
        given = list(dict.fromkeys(args.target))
        other = [t for t in given if t not in targets]
        lacking = [t for t in targets if t not in given]
        if other or lacking:
            said = []
            if other:
                said.append(
                    f"{', '.join(other)} {'is' if len(other) == 1 else 'are'} "
                    "no task of the model"
                )
            if lacking:
                said.append(
                    f"the model's task(s) {', '.join(lacking)} "
                    f"{'is' if len(lacking) == 1 else 'are'} missing"
                )
            raise UsageError(
                f"--target: {'; '.join(said)}. The model was fitted on the "
                f"targets {', '.join(targets)}: give all of them, or no --target"
            )
    data = read_table(path, text_columns(model))
    missing = [t for t in targets if t not in data.columns]
    if missing:
        raise ValueError(
            f"{path} lacks {len(missing)} target column(s) of the model: "
            f"{', '.join(missing)}"
        )
    left_out = named_columns(data, args.drop, "--drop", path)
    if args.id_column is not None:
        left_out += named_columns(data, [args.id_column], "--id-column", path)
    named = getattr(model, "feature_names_in_", None) is not None
    features = [c.name for c in input_columns(model)] if named else None
    other = [
        str(column)
        for column in data.columns
        if column not in targets
        and column not in left_out
        and (features is not None and column not in features)
    ]
    if other:
        raise ValueError(
            f"{path} has {len(other)} column(s) that are neither features nor "
            f"targets of the model: {', '.join(other)}; leave them out with "
            "--drop (or --id-column), or fit a new model to use them"
        )
    X = inputs(model, data, path, exclude=[*targets, *left_out])
    if not named:  # fitted on an array: its columns in file order
        if X.shape[1] != model.n_features_in_:
            raise ValueError(
                f"{path} has {X.shape[1]} feature column(s) besides the targets, "
                f"but the model reads {model.n_features_in_}"
            )
        X = X.to_numpy()
    if hasattr(estimator, "classes_"):
        return X, data[targets]
    check_numbers(data, targets, path)
    check_magnitudes(data, targets, path, kind="target")
    return X, data[targets].apply(pd.to_numeric)
