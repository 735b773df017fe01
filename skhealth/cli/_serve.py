"""``skhealth serve``: a model's predictions over HTTP."""

from ._options import add_device_option, positive_int


def _port(text):
    if not text.isdigit() or int(text) > 65535:
        import argparse

        raise argparse.ArgumentTypeError(
            f"{text!r} is not a port number in [0, 65535] (0 for any free port)"
        )
    return int(text)


def register(commands):
    """Add ``serve`` to the ``commands`` of the parser."""
    parser = commands.add_parser(
        "serve",
        help="serve a model's predictions over HTTP",
        description=(
            "Serve MODEL's predictions as an HTTP JSON service (FastAPI on "
            'uvicorn; pip install "skhealth[serve]"): POST /predict takes '
            '{"records": [{COLUMN: VALUE, ...}, ...]} (or one record), with '
            '"interval": 0.9 for prediction intervals and "return_std": true, '
            "and answers one object of predictions per record; GET /model "
            "describes the model and the columns a record holds; GET /health; "
            "the OpenAPI page is at /docs. Runs until Ctrl-C."
        ),
    )
    add_device_option(parser)
    parser.add_argument("model", metavar="MODEL", help="a model file (.skh)")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default: 127.0.0.1, this machine only; "
        "0.0.0.0 for every interface, behind a proxy that authenticates)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=8000,
        metavar="N",
        help="the port to listen on (default: 8000; 0 for any free one)",
    )
    parser.add_argument(
        "--engine",
        choices=("auto", "onnx", "python"),
        default="auto",
        help="what computes the predictions: the model in Python, or exported "
        'to ONNX in onnxruntime (pip install "skhealth[onnx]" onnxruntime); '
        "auto: ONNX where it is installed and the model exports (default: auto)",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        default=1,
        metavar="N",
        help="PyTorch's (and onnxruntime's) threads per prediction (default: 1)",
    )
    parser.add_argument(
        "--max-rows",
        type=positive_int,
        default=10_000,
        metavar="N",
        help="the most records one request may hold (default: 10000)",
    )
    parser.add_argument(
        "--max-bytes",
        type=positive_int,
        default=16 * 2**20,
        metavar="N",
        help="the largest request body, in bytes (default: 16 MiB)",
    )
    parser.add_argument(
        "--access-log",
        action="store_true",
        help="log every request on standard error",
    )
    parser.set_defaults(run=run)


def run(args):
    """Serve the model file ``args.model`` until interrupted."""
    from ..model_files import read_metadata
    from ..serving import serve
    from ._model import load_model

    model = load_model(args.model, args.device)
    serve(
        model,
        args.host,
        args.port,
        engine=args.engine,
        threads=args.threads,
        max_rows=args.max_rows,
        max_bytes=args.max_bytes,
        access_log=args.access_log,
        metadata=read_metadata(args.model),
        name=args.model,
    )
