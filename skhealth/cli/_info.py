"""``skhealth info``: describe a model file."""

from ._console import printable
from ._options import add_device_option


def register(commands):
    """Add ``info`` to the ``commands`` of the parser."""
    parser = commands.add_parser(
        "info",
        help="describe a model file",
        description=(
            "Print a model's class, the versions it was saved with, epochs "
            "trained, targets and the kind of each (continuous, or binary with "
            "its classes), features and how each feature is encoded (imputed, "
            "standardised, one-hot encoded with its categories), whether it "
            "holds a profile of its training data (for skhealth update's drift "
            "report), and its parameters."
        ),
    )
    add_device_option(parser)
    parser.add_argument("model", metavar="MODEL", help="a model file (.skh)")
    parser.set_defaults(run=run)


def run(args):
    """Print what the model file ``args.model`` holds."""
    from sklearn.pipeline import Pipeline

    from .._validation import final_step
    from ..model_files import read_metadata
    from ._model import encodings, load_model

    metadata = read_metadata(args.model)
    model = load_model(args.model, args.device)
    estimator = final_step(model)
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
    named = [
        target if kind is None else f"{target} ({kind})"
        for target, kind in zip(targets, task_kinds(estimator), strict=True)
    ]
    lines.append(f"targets ({len(targets)}): {', '.join(named)}")
    lines.append(f"prediction intervals: {_calibration(estimator)}")
    lines.append(f"privacy: {_privacy(estimator)}")
    lines.append(f"data profile: {_profile(model)}")
    features = getattr(model, "feature_names_in_", None)
    if features is None:
        lines.append(f"features ({model.n_features_in_}): unnamed (fitted on an array)")
    else:
        lines.append(f"features ({len(features)}): {', '.join(map(str, features))}")
    lines.append("encoding of each feature:")
    lines += [f"  {name}: {how}" for name, how in encodings(model).items()]
    lines.append(f"parameters of {type(estimator).__name__}:")
    for name, value in estimator.get_params(deep=False).items():
        lines.append(f"  {name} = {value!r}")
    for line in lines:  # everything here comes from the file
        print(printable(line))


def task_kinds(estimator):
    """Each task's kind, in words: ``None`` for a continuous task learnt as
    it is, the transform it is learnt as, or "binary" with its classes and
    the one whose probability is predicted."""
    from .._targets import task_transforms
    from ..losses import BINARY_LOSSES
    from ._model import _category

    n_tasks = estimator.n_tasks_
    classes = getattr(estimator, "classes_", None)
    if classes is not None:  # a classifier: every task binary, of its classes
        per_task = [classes] if estimator._y_1d else classes
        return [
            f"binary: classes {_category(c[0])} and {_category(c[1])}, predicts "
            f"P({_category(c[1])})"
            for c in per_task
        ]
    transforms = task_transforms(
        getattr(estimator, "target_transform", None), estimator.target_names_
    )
    return [
        "binary: labels 0 and 1 (log_loss), predicts P(1)"
        if loss in BINARY_LOSSES
        else None
        if transform is None
        else f"learnt as its {transform}"
        for loss, transform in zip(
            estimator._task_losses(n_tasks), transforms, strict=True
        )
    ]


def _privacy(estimator):
    if estimator.dp is None:
        return "none (trained without differential privacy)"
    return (
        f"differentially private, epsilon = {estimator.epsilon_:.3g} spent at "
        f"delta = {estimator.delta_:g} (target epsilon "
        f"{estimator.dp.target_epsilon:g}; DP-SGD, noise multiplier "
        f"{estimator.noise_multiplier_:.3g}, gradients clipped to "
        f"{estimator.dp.max_grad_norm:g}, {estimator.dp.accountant} accountant)"
    )


def _profile(model):
    """What the data profile of ``model`` holds, in words."""
    profile = getattr(model, "data_profile_", None)
    if profile is None:
        return "none (skhealth update can report no drift)"
    return (
        f"{len(profile.columns)} columns of {profile.n_rows} training rows "
        "(percentiles, category shares and missing shares; no rows)"
    )


# The rows a calibration comes from (skhealth._calibration.SOURCES), in words
_SOURCES = {
    "out_of_fold": "the training rows, out of fold",
    "validation": "the validation rows",
    "calibrate": "held-out rows (calibrate)",
}


def _calibration(estimator):
    """What the intervals of ``estimator`` are calibrated on, in words."""
    if hasattr(estimator, "classes_"):
        return "none (a classifier predicts probabilities)"
    calibration = getattr(estimator, "_calibration", None)
    if calibration is None:
        return (
            "not calibrated (predict --interval needs a model fitted with early "
            "stopping, or calibrated in Python)"
        )
    counts = calibration.label_counts()
    where = _SOURCES[calibration.source]
    if calibration.groups is None:
        return f"calibrated on {where}: {', '.join(map(str, counts[0]))} labels"
    groups = "; ".join(
        f"{group}: {', '.join(map(str, n))}"
        for group, n in zip(calibration.groups, counts, strict=True)
    )
    return f"calibrated per group on {where}: {groups} labels"
