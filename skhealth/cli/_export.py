"""``skhealth export``: write a model file as an ONNX graph."""

from ._predict import _confidence


def register(commands):
    """Add ``export`` to the ``commands`` of the parser."""
    parser = commands.add_parser(
        "export",
        help="write a model as an ONNX graph, preprocessing included",
        description=(
            "Write MODEL as one ONNX graph that onnxruntime runs without Python: "
            "it reads the raw columns (one input per column: double, NaN where "
            "missing, or string, '' where missing) and outputs each target's "
            "prediction in its units (a classifier: 'label' and "
            "'probabilities'), with --std their std and with --interval their "
            "prediction intervals. Needs onnx, onnxscript and skl2onnx: pip "
            'install "skhealth[onnx]".'
        ),
    )
    parser.add_argument("model", metavar="MODEL", help="a model file (.skh)")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="FILE",
        help="the ONNX file to write (.onnx)",
    )
    parser.add_argument(
        "--std",
        action="store_true",
        help="add the output 'std': each prediction's predictive standard "
        "deviation (a calibrated regressor's)",
    )
    parser.add_argument(
        "--interval",
        type=_confidence,
        metavar="C",
        help="add the outputs 'lower' and 'upper': prediction intervals that "
        "cover a share C of labels (e.g. 0.9)",
    )
    parser.add_argument(
        "--group",
        metavar="G",
        help="with --interval, for a model calibrated per group: the group "
        "whose intervals the graph gives (export one file per group)",
    )
    parser.add_argument(
        "--opset",
        type=int,
        metavar="N",
        help="the ONNX opset, from 18 (default: 20)",
    )
    parser.set_defaults(run=run)


def run(args):
    """Export ``args.model`` to ``args.output``; print its inputs and outputs."""
    from .._validation import final_step
    from ._console import UsageError, printable
    from ._model import load_model

    if args.group is not None and args.interval is None:
        raise UsageError("--group chooses the intervals' group: give --interval too")
    try:
        from ..onnx import _require_onnx, to_onnx

        _require_onnx()
    except ImportError as error:
        raise ValueError(str(error)) from error
    model = load_model(args.model, "cpu")
    estimator = final_step(model)
    group = _group(args.group, estimator)
    graph = to_onnx(
        model,
        return_std=args.std,
        interval=args.interval,
        group=group,
        target_opset=args.opset,
        path=args.output,
    )
    kinds = {1: "float", 7: "int64", 8: "string", 9: "bool", 11: "double"}
    inputs = [
        f"{value.name} ({kinds.get(value.type.tensor_type.elem_type, '?')})"
        for value in graph.graph.input
    ]
    outputs = [
        f"{value.name} ({kinds.get(value.type.tensor_type.elem_type, '?')})"
        for value in graph.graph.output
    ]
    opset = next(o.version for o in graph.opset_import if o.domain == "")
    lines = [
        f"wrote {args.output}: {type(model).__name__}, ONNX opset {opset}",
        f"inputs ({len(inputs)}): {', '.join(inputs)}",
        f"outputs, one column per target: {', '.join(outputs)}",
        f"targets ({estimator.n_tasks_}): "
        f"{', '.join(map(str, estimator.target_names_))}",
    ]
    if args.interval is not None:
        lines.append(f"intervals cover {100 * args.interval:g} % of labels")
    for line in lines:  # names come from the file
        print(printable(line))


def _group(text, estimator):
    """``--group`` as the calibration's group label it names (labels may be
    int or bool, the command line's are text)."""
    if text is None:
        return None
    calibration = getattr(estimator, "_calibration", None)
    for label in getattr(calibration, "groups", None) or ():
        if str(label) == text:
            return label
    return text  # to_onnx says which groups there are
