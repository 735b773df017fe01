"""A prediction service: a fitted model's predictions over HTTP.

:func:`make_app` builds a FastAPI application from a fitted model or a model
file, and :func:`serve` runs it with uvicorn (``skhealth serve MODEL`` on the
command line). Its endpoints are ``POST /predict`` (one record or a list,
with optional intervals and standard deviations), ``GET /model`` (the model
and the columns a record holds), ``GET /health`` and the OpenAPI pages
``/docs`` and ``/openapi.json``. Requests are checked against the model's
input columns, and a refused one gets a 4xx status and a message that names
the field at fault. See the user guide's page on the prediction service.

FastAPI and uvicorn are optional: ``pip install "skhealth[serve]"``.
"""

from ._app import make_app
from ._server import serve

__all__ = ["make_app", "serve"]
