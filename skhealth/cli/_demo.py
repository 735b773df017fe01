"""``skhealth demo``: fit the NHANES data set and show held-out scores."""

from pathlib import Path

from ._console import print_scores
from ._options import add_seed_option, positive_int, seed_of


def register(commands):
    """Add ``demo`` to the ``commands`` of the parser."""
    parser = commands.add_parser(
        "demo",
        help="fit the NHANES 2017-2018 data set and show held-out scores",
        description=(
            "Fit MultiTaskHealthRegressor (with early stopping) on 75% of the "
            "NHANES 2017-2018 data that ships with skhealth, print per-task scores "
            "on the other 25%, save the model and plot its learning curves."
        ),
    )
    parser.add_argument(
        "--output-dir",
        default=".",
        metavar="DIR",
        help="where to write nhanes.skh and nhanes-learning-curves.png "
        "(default: the current directory)",
    )
    parser.add_argument(
        "--max-iter",
        type=positive_int,
        default=200,
        metavar="N",
        help="maximum number of epochs (default: 200)",
    )
    add_seed_option(
        parser, "the held-out rows and of the network's initialisation and shuffling"
    )
    parser.add_argument(
        "--no-plot", action="store_true", help="do not plot the learning curves"
    )
    parser.set_defaults(run=run)


def run(args):
    """Fit NHANES, print held-out scores, save the model and plot its curves."""
    from sklearn.model_selection import train_test_split

    from .._estimator import MultiTaskHealthRegressor
    from ..datasets import load_nhanes
    from ..metrics import task_scores
    from ..model_files import save
    from ._model import make_model, train

    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    X, Y = load_nhanes(return_X_y=True)
    seed = seed_of(args)
    X_train, X_test, Y_train, Y_test = train_test_split(
        X, Y, test_size=0.25, random_state=seed
    )
    estimator = MultiTaskHealthRegressor(max_iter=args.max_iter, random_state=seed)
    model = train(make_model(X_train, estimator), X_train, Y_train, progress=True)
    stopped = " (stopped early)" if estimator.n_iter_ < args.max_iter else ""
    print(
        f"NHANES 2017-2018: {len(X_train)} training rows, {X.shape[1]} features, "
        f"{Y.shape[1]} targets, seed {seed}; {estimator.n_iter_} epochs{stopped}\n"
    )
    print(f"Held-out scores ({len(X_test)} rows):")
    print_scores(task_scores(Y_test, model.predict(X_test)))
    model_path = output_dir / "nhanes.skh"
    save(model, model_path, profile=X_train)  # for skhealth update's drift report
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
    from ..plot import TrainingCurveDisplay
    from ._tables import write_error

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
        raise write_error(path, exc) from exc
    finally:
        plt.close(figure)
    print(f"Saved the learning curves to {path}")
