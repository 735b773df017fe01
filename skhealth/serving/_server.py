"""Running the prediction service: the model loaded and the port bound before
uvicorn starts, so that either failure is an error of its own, raised
before anything answers."""

import socket
import sys

from ._app import MAX_BYTES, MAX_ROWS, make_app, missing_extra


def serve(
    model,
    host="127.0.0.1",
    port=8000,
    *,
    engine="auto",
    threads=1,
    max_rows=MAX_ROWS,
    max_bytes=MAX_BYTES,
    access_log=False,
    metadata=None,
    name=None,
):
    """Serve a fitted model's predictions over HTTP until interrupted.

    Builds the application of :func:`make_app`, binds ``host:port``, says on
    standard error where it serves (``skhealth: serving MODEL at
    http://HOST:PORT (docs at /docs)``) and runs uvicorn until Ctrl-C or
    SIGTERM, which finish the requests under way.

    Parameters
    ----------
    model : estimator, Pipeline or path-like
        A fitted model, or the path of a model file (see :func:`make_app`).
        The file is read before the port is bound: a missing or damaged file
        raises and nothing listens.
    host : str, default="127.0.0.1"
        The address to listen on: ``"127.0.0.1"`` for this machine only,
        ``"0.0.0.0"`` for every interface (put the service behind a proxy
        that authenticates and encrypts: it does neither).
    port : int, default=8000
        The port; 0 for any free one (the line on standard error names it).
    engine : {"auto", "onnx", "python"}, default="auto"
        What computes the predictions (see :func:`make_app`).
    threads : int, default=1
        PyTorch's (and onnxruntime's) intra-op threads for the predictions.
    max_rows, max_bytes : int
        The most records and bytes one request may hold (see
        :func:`make_app`).
    access_log : bool, default=False
        Log every request on standard error.
    metadata : dict, default=None
        The model file's metadata, when ``model`` is a loaded one.
    name : str, default=None
        What the line on standard error calls the model: by default the
        file's name, or the model's class.

    Raises
    ------
    OSError
        When ``host:port`` cannot be bound (in use, or not this machine's).
    skhealth.model_files.ModelFileError
        When the model file is no model file, or is damaged.

    See Also
    --------
    make_app : The application alone, for another ASGI server.
    """
    import os

    import torch

    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - the extra is installed in CI
        raise missing_extra() from exc
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ValueError(f"threads must be a positive integer; got {threads!r}.")
    if name is None:
        name = (
            os.fspath(model)
            if isinstance(model, (str, os.PathLike))
            else type(model).__name__
        )
    torch.set_num_threads(threads)
    app = make_app(
        model,
        engine=engine,
        max_rows=max_rows,
        max_bytes=max_bytes,
        metadata=metadata,
    )
    listening = _bind(host, port)
    bound_host, bound_port = listening.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    print(
        f"skhealth: serving {name} at http://{shown}:{bound_port} (docs at /docs, "
        f"engine {app.state.engine})",
        file=sys.stderr,
        flush=True,
    )
    config = uvicorn.Config(
        app,
        log_level="info" if access_log else "warning",
        access_log=access_log,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[listening])


def _bind(host, port):
    """A socket listening on ``host:port``; an OSError naming them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # answers go out at once, not held for the client's ACK (Nagle):
        # the accepted sockets inherit this
        listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        listening.bind((host, port))
        listening.listen(2048)
    except OSError as exc:
        listening.close()
        raise OSError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
    listening.set_inheritable(True)
    return listening
