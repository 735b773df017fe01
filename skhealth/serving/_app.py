"""The FastAPI application of the prediction service."""

import json
import logging
import math
import os
import warnings

import numpy as np

from .._inputs import input_columns
from .._validation import fitted_regressor
from ._batching import Batcher
from ._engines import (
    PythonEngine,
    builtin,
    make_engine,
    output_names,
    target_names,
)
from ._records import Records, RecordSchema, RequestError

logger = logging.getLogger("skhealth.serving")

MAX_ROWS = 10_000
MAX_BYTES = 16 * 2**20

_DESCRIPTION = """\
Predictions of a fitted skhealth model over HTTP.

`POST /predict` takes `{"records": [{column: value, ...}, ...]}` (or one record
as `"records"`), with `"interval": 0.9` for 90 % prediction intervals and
`"return_std": true` for predictive standard deviations, and answers
`{"predictions": [{target: value, ...}, ...]}`, one object per record.
`GET /model` describes the model and the columns a record holds.
Refused requests get a 4xx status and `{"detail": message}`, the message
naming the field or column at fault."""


def missing_extra():
    """The ImportError of a service without its packages."""
    return ImportError(
        "The prediction service needs FastAPI and uvicorn: "
        'pip install "skhealth[serve]"'
    )


_INTERNAL = "Internal error; the service's log has the details."


def _dumps(content):
    return json.dumps(content, allow_nan=False, separators=(",", ":")).encode()


def _json(content, status=200):
    from starlette.responses import Response

    return Response(
        _dumps(content),
        status_code=status,
        media_type="application/json",
    )


def make_app(
    model,
    *,
    engine="auto",
    max_rows=MAX_ROWS,
    max_bytes=MAX_BYTES,
    metadata=None,
):
    """Make the FastAPI application that serves a fitted model's predictions.

    Endpoints:

    ``POST /predict``
        Takes a JSON object ``{"records": [...], "interval": 0.9,
        "return_std": true}``: ``records`` is one record, an object of the
        model's input columns by name (see ``GET /model``), or a list of
        them; ``interval`` and ``return_std``
        are optional. Answers ``{"predictions": [...]}``, an object per
        record in order, with the values ``skhealth predict`` writes as
        columns: per target ``<target>``, then ``<target>_lower`` and
        ``<target>_upper`` with ``interval``, ``<target>_std`` with
        ``return_std`` (regressors); a classifier's class ``<target>`` and the
        probability of its second class ``<target>_proba``. ``null`` stands
        for a value that has none (a binary task's interval). A refused
        request gets ``{"detail": message}`` (with ``"column"`` and
        ``"record"`` where one is at fault) and 400 (malformed JSON), 413
        (more than ``max_rows`` records, more than ``max_bytes`` bytes) or
        422 (anything else: a missing or unknown column, a value of the wrong
        type, NaN or infinity, a category the encoder refuses, an option the
        model cannot give).
    ``GET /model``
        The model's class, tasks, intervals, versions and input columns: each
        column's name, type (``"number"`` or ``"string"``), categories,
        whether ``null`` is accepted, and how the model encodes it.
    ``GET /health``
        ``{"status": "ok"}``.
    ``GET /docs``, ``GET /openapi.json``
        The OpenAPI description, with the schema of a record.

    A value of a number column is a JSON number (not a string, nor a
    boolean), finite and within float32's range; a value of a text column is
    a string. ``null`` is a missing value: accepted in the columns where the
    model fills missing values in (an imputer reads them), refused in the
    others. A category the model's encoder does not know is accepted where
    the encoder ignores it (``handle_unknown="ignore"``: none of the
    categories) and refused where it would raise.

    Parameters
    ----------
    model : estimator, Pipeline or path-like
        A fitted :class:`~skhealth.MultiTaskHealthRegressor` or
        :class:`~skhealth.MultiTaskHealthClassifier`, a fitted pipeline ending
        in one, or the path of a model file (read with :func:`skhealth.load`).
    engine : {"auto", "onnx", "python"}, default="auto"
        What computes the predictions: ``"python"`` is the model itself
        (the command line's preprocessing computed in NumPy, once it gives
        exactly scikit-learn's array); ``"onnx"`` the model exported by
        :func:`skhealth.onnx.to_onnx` in onnxruntime, with PyTorch's number
        of threads, for the predictions, a classifier's probabilities and a
        regressor's std (intervals are the Python model's), once its answers
        on probe rows equal the model's to 1e-5 relative; ``"auto"`` the
        ONNX engine where ``skhealth[onnx]`` and onnxruntime are installed
        and the model exports, else the Python one (the reason is logged).
    max_rows : int, default=10000
        The most records one request may hold.
    max_bytes : int, default=16 MiB
        The largest body of a request, in bytes.
    metadata : dict, default=None
        The model file's metadata (:func:`skhealth.model_files.read_metadata`),
        whose versions ``GET /model`` shows; read from the file when ``model``
        is a path.

    Returns
    -------
    app : fastapi.FastAPI
        The application, to run with an ASGI server such as uvicorn (see
        :func:`serve`).

    Raises
    ------
    ImportError
        When FastAPI is not installed (``pip install "skhealth[serve]"``).
    skhealth.model_files.ModelFileError
        When ``model`` is the path of a file that is no model file, or is
        damaged.

    See Also
    --------
    serve : Run the application on a host and port.

    Examples
    --------
    >>> import pandas as pd
    >>> from fastapi.testclient import TestClient
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skhealth import MultiTaskHealthRegressor
    >>> from skhealth.serving import make_app
    >>> X = pd.DataFrame({"age": [30.0, 50, 70, 40] * 10,
    ...                   "steps": [9e3, 7e3, 4e3, 8e3] * 10})
    >>> Y = pd.DataFrame({"sbp": [110.0, 125, 140, 120] * 10})
    >>> model = make_pipeline(
    ...     StandardScaler(), MultiTaskHealthRegressor(max_iter=50, random_state=0)
    ... ).fit(X, Y)
    >>> client = TestClient(make_app(model, engine="python"))
    >>> answer = client.post("/predict", json={"records": {"age": 60, "steps": 5e3}})
    >>> answer.status_code, list(answer.json()["predictions"][0])
    (200, ['sbp'])
    >>> answer = client.post("/predict",
    ...                      json={"records": {"age": "sixty", "steps": 5e3}})
    >>> answer.status_code, answer.json()["detail"]
    (422, "records: column 'age' is the string 'sixty', but the model reads a
    number there.")
    """
    try:
        from fastapi import FastAPI, Request
        from fastapi.openapi.utils import get_openapi
        from starlette.responses import Response
    except ImportError as exc:  # pragma: no cover - the extra is installed in CI
        raise missing_extra() from exc
    import torch

    from .. import __version__
    from ._schemas import ErrorBody, record_model, request_model, response_model

    if engine not in ("auto", "onnx", "python"):
        raise ValueError(
            f"engine={engine!r} is not one of 'auto', 'onnx' and 'python'."
        )
    path = None
    if isinstance(model, (str, os.PathLike)):
        from ..model_files import load, read_metadata

        path = os.fspath(model)
        model = load(path)
        metadata = read_metadata(path) if metadata is None else metadata
    for name, value in (("max_rows", max_rows), ("max_bytes", max_bytes)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    estimator = fitted_regressor(model)
    columns = input_columns(model)
    python = PythonEngine(model, columns)
    nullable = _nullable(python, columns)
    predictor = make_engine(engine, python, columns, nullable, torch.get_num_threads())
    schema = RecordSchema(columns, nullable, max_rows)
    batcher = Batcher(predictor, max_rows=max(1024, min(max_rows, 4096)))
    refusal = _unavailable(estimator)
    description = _description(
        model,
        estimator,
        columns,
        nullable,
        predictor,
        metadata,
        path,
        max_rows,
        max_bytes,
    )
    encoded = {column["name"]: column["encoding"] for column in description["inputs"]}
    record = record_model(columns, nullable, encoded)
    request_schema = request_model(record, max_rows, _example(columns, nullable))
    answer_schema = response_model(estimator)
    model_json = json.dumps(description, allow_nan=False).encode()

    app = _service_class(FastAPI)(
        title="skhealth prediction service",
        version=__version__,
        description=_DESCRIPTION,
    )

    @app.exception_handler(Exception)
    async def internal_error(request, exc):  # pragma: no cover - a bug's net
        logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _json({"detail": _INTERNAL}, 500)

    refusals = {
        status: {"model": ErrorBody, "description": said}
        for status, said in (
            (400, "The body is not valid JSON."),
            (413, "More records or bytes than the service takes in one request."),
            (422, "A record or an option the model cannot take: the message names it."),
        )
    }

    async def answer(receive, length):
        """``(status, JSON bytes)`` of a request to POST /predict whose body
        ``receive`` gives (an ASGI callable) and whose Content-Length header
        is ``length`` (bytes, or None)."""
        try:
            body = await _read_json(receive, length, max_bytes)
            records, options = schema.read_body(body)
            if (options[0] is not None or options[1]) and refusal is not None:
                raise RequestError(422, refusal)
            names = output_names(estimator, *options)
            outputs = await batcher.predict(records, options)
            return 200, _dumps({"predictions": _rows(names, outputs)})
        except RequestError as exc:
            return exc.status, _dumps(exc.body())
        except ValueError as exc:  # the model's refusal of these rows
            return 422, _dumps({"detail": " ".join(str(exc).split())})
        except Exception:
            logger.exception("POST /predict failed")
            return 500, _dumps({"detail": _INTERNAL})

    @app.post(
        "/predict",
        summary="Predict every task for one record or a list of records",
        responses={200: {"model": answer_schema}, **refusals},
    )
    async def predict(request: Request):
        """Predict every target for each record of the body.

        ``records`` is one record or a list; each record is an object with
        every input column of the model (see ``GET /model``). With
        ``interval`` each target gets ``<target>_lower`` and
        ``<target>_upper``; with ``return_std``, ``<target>_std``.
        """
        status, payload = await answer(
            request.receive, request.headers.get("content-length")
        )
        return Response(payload, status_code=status, media_type="application/json")

    @app.get("/model", summary="The model and the columns a record holds")
    async def describe():
        """The model's class, tasks, intervals, versions and input columns."""
        from starlette.responses import Response

        return Response(model_json, media_type="application/json")

    @app.get("/health", summary="Whether the service answers")
    async def health():
        """``{"status": "ok"}`` while the service answers."""
        return {"status": "ok"}

    def openapi():
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            body = request_schema.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            components = document.setdefault("components", {}).setdefault("schemas", {})
            components.update(body.pop("$defs", {}))
            components["PredictRequest"] = body
            document["paths"]["/predict"]["post"]["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/PredictRequest"}
                    }
                },
            }
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi
    app.answer = answer
    app.state.engine = predictor.name
    app.state.batcher = batcher
    return app


async def _read_json(receive, length, max_bytes):
    """The body that the ASGI callable ``receive`` gives, parsed; a
    RequestError for one too large (413) or not JSON (400). ``length`` is the
    Content-Length header (bytes or str), or None."""
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise RequestError(
            413,
            f"The body has {int(length)} bytes, more than the {max_bytes} this "
            "service takes: send the records in several requests.",
        )
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RequestError(400, "The client closed the connection.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise RequestError(
                413,
                f"The body has more than the {max_bytes} bytes this service takes: "
                "send the records in several requests.",
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    try:
        return json.loads(b"".join(chunks))
    except (ValueError, RecursionError) as exc:
        reason = str(exc) or "nested too deep"
        raise RequestError(400, f"The body is not valid JSON: {reason}.") from None


_JSON_HEADERS = [(b"content-type", b"application/json")]


def _service_class(base):
    """The application's class: FastAPI, answering ``POST /predict`` before
    FastAPI's routing and middleware, which cost as much as checking and
    predicting one record; other requests, and a service mounted under a
    prefix, go through FastAPI (whose route for /predict documents it and
    answers the same)."""

    class Service(base):
        answer = None

        async def __call__(self, scope, receive, send):
            if (
                self.answer is None
                or scope["type"] != "http"
                or scope["path"] != "/predict"
                or scope["method"] != "POST"
                or scope.get("root_path")
            ):
                return await super().__call__(scope, receive, send)
            length = next(
                (value for key, value in scope["headers"] if key == b"content-length"),
                None,
            )
            status, payload = await self.answer(receive, length)
            headers = [*_JSON_HEADERS, (b"content-length", b"%d" % len(payload))]
            await send(
                {"type": "http.response.start", "status": status, "headers": headers}
            )
            await send({"type": "http.response.body", "body": payload})

    return Service


def _rows(names, outputs):
    """One dict per record of the output ``names`` and their values, NaN and
    infinities as None."""
    columns = []
    for values in outputs:
        if isinstance(values, np.ndarray):
            listed = values.tolist()
            if not np.isfinite(values).all():
                listed = [v if math.isfinite(v) else None for v in listed]
            values = listed
        columns.append(values)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _probe_row(columns, missing):
    """One record of plain values (0, or a column's first category), None in
    the columns ``missing``."""
    values = {}
    for column in columns:
        array = np.empty(1, dtype=np.float64 if column.kind == "number" else object)
        if column.name in missing:
            array[0] = np.nan
        elif column.categories:
            array[0] = column.categories[0]
        else:
            array[0] = 0.0 if column.kind == "number" else ""
        values[column.name] = array
    return Records(values, 1)


def _nullable(engine, columns):
    """The columns where the model takes a missing value: where a row of
    plain values with NaN there is predicted. Every column when even a row
    without NaN is not (then the model's own error answers a request)."""

    def predicts(missing):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                engine.predict(_probe_row(columns, missing), None, False)
        except Exception:
            return False
        return True

    names = {column.name for column in columns}
    if predicts(names) or not predicts(set()):
        return names
    return {name for name in names if predicts({name})}


def _example(columns, nullable):
    """A record for the OpenAPI page's example."""
    return {
        column.name: (
            builtin(column.categories[0])
            if column.categories
            else 0.0
            if column.kind == "number"
            else ""
        )
        for column in columns
    }


def _unavailable(estimator):
    """Why ``interval`` and ``return_std`` cannot be had of ``estimator``, or
    None where they can."""
    if hasattr(estimator, "classes_"):
        return (
            "interval and return_std: the model is a classifier, which predicts "
            "probabilities (<target>_proba) rather than intervals; leave them out."
        )
    if not (~estimator._binary_tasks).any():
        return None  # a binary task's std is its own
    try:
        estimator._fitted_calibration()
    except ValueError as exc:
        return f"interval and return_std: {' '.join(str(exc).split())}"
    return None


def _description(
    model, estimator, columns, nullable, engine, metadata, path, max_rows, max_bytes
):
    """What ``GET /model`` answers."""
    from sklearn.pipeline import Pipeline

    from .. import __version__
    from ..cli._info import _calibration, task_kinds
    from ..cli._model import encodings

    if isinstance(model, Pipeline):
        steps = ", ".join(
            f"{name}: {type(step).__name__}" for name, step in model.steps
        )
        shown = f"Pipeline({steps})"
    else:
        shown = type(model).__name__
    try:
        encoded = encodings(model)
    except (AttributeError, TypeError, ValueError):  # a search, say
        encoded = {}
    classes = getattr(estimator, "classes_", None)
    tasks = []
    for t, (target, kind) in enumerate(
        zip(target_names(estimator), task_kinds(estimator), strict=True)
    ):
        task = {
            "name": target,
            "kind": "continuous"
            if kind is None or kind.startswith("learnt")
            else "binary",
            "description": kind,
        }
        if classes is not None:
            per_task = classes if estimator._y_1d else classes[t]
            task["classes"] = [builtin(value) for value in per_task]
        tasks.append(task)
    calibration = getattr(estimator, "_calibration", None)
    return {
        "model": shown,
        "estimator": type(estimator).__name__,
        "file": None if path is None else os.path.basename(path),
        "skhealth_version": __version__,
        "saved_with": None if metadata is None else metadata.get("versions"),
        "epochs_trained": int(estimator.n_iter_),
        "tasks": tasks,
        "intervals": _calibration(estimator),
        "calibration_groups": None
        if calibration is None or calibration.groups is None
        else [str(group) for group in calibration.groups],
        "inputs": [
            {
                "name": column.name,
                "type": column.kind,
                "categories": column.to_dict()["categories"],
                "handle_unknown": column.handle_unknown,
                "nullable": column.name in nullable,
                "encoding": encoded.get(column.name, "as given"),
            }
            for column in columns
        ],
        "engine": engine.name,
        "limits": {"max_rows": max_rows, "max_bytes": max_bytes},
    }
