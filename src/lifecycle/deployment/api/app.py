"""The model's HTTP API: a FastAPI app answering POST /predict, GET /health and GET /metadata.

The request model is generated from the data contract (request.py), so a body that breaks it is
refused with 422 naming each field; every size a client controls is capped (limits.py).
Predictions come from the same functions as batch scoring, so both agree row for row; with the
ONNX runtime, the file the export stage wrote answers instead of the skops pipeline, fed the
validated rows as arrays (predictions.py).

A model whose gate verdict (reports/gate.json) is not VALIDATED is still served: /health answers
{"status": "ok", "gate": <verdict>} (status stays ok, so a load balancer keeps routing; a
deployment that must not serve a REJECTED model checks `gate`), and /metadata names the verdict
too.
"""

import os
import sys
from collections.abc import Collection
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from lifecycle import config
from lifecycle.config import contract
from lifecycle.core import paths
from lifecycle.core.errors import LifecycleError
from lifecycle.deployment import loading, scoring
from lifecycle.deployment.api import responses
from lifecycle.deployment.api.endpoint import PredictEndpoint
from lifecycle.deployment.api.limits import Limits
from lifecycle.deployment.api.metadata import describe_model
from lifecycle.deployment.prediction_log import LogSettings, PredictionLog

RUNTIME_VARIABLE = "LIFECYCLE_SERVE_RUNTIME"  # how `lifecycle serve` tells workers the runtime
LOG_VARIABLE = "LIFECYCLE_SERVE_LOG"  # and the prediction log's settings, if any


def build_app(model: object, rules: contract.Contract, threshold: float | None, metadata: dict,
              limits: Limits | None = None, *, described: Collection[str] = (),
              log: PredictionLog | None = None) -> FastAPI:
    """The API of one model, within `limits` (default: `Limits()`). `described` are the data
    contract's columns: fields the model ignores, never taken for misspellings. With a `log`,
    every answer is appended to it."""
    limits = limits or Limits()
    # The routes are plain functions reading this state: one app per model, no closures.
    app = FastAPI(title="lifecycle model API", version="1")
    app.state.metadata = metadata
    app.state.limits = limits
    app.state.endpoint = PredictEndpoint(model, rules, threshold, limits, described, log)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, internal_error)
    app.add_api_route("/health", health, methods=["GET"])
    app.add_api_route("/metadata", describe, methods=["GET"])
    # The endpoint reads its body itself, to cap it before parsing; /docs still shows the model.
    app.add_api_route("/predict", predict_endpoint, methods=["POST"],
                      openapi_extra=documented_body(app, app.state.endpoint.request_model),
                      responses={200: {"model": responses.Predictions,
                                       "description": "the predictions"},
                                 **responses.REFUSALS})
    return app


async def health(request: Request) -> dict:
    return {"status": "ok", "gate": request.app.state.metadata.get("gate")}


async def describe(request: Request) -> dict:
    return request.app.state.metadata


async def predict_endpoint(request: Request) -> Response:
    return await request.app.state.endpoint.answer(request)


async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
    errors = error.errors()
    return responses.invalid(errors, len(errors), request.app.state.limits.max_errors_shown)


async def internal_error(request: Request, error: Exception) -> JSONResponse:
    # Never a stack trace to the client; the server log keeps the details.
    return JSONResponse({"detail": "internal error"}, status_code=500)


def documented_body(app: FastAPI, model: type[BaseModel]) -> dict:
    """The OpenAPI entry for a JSON body of `model` that the endpoint reads itself; the model's
    schemas are added to the document's components, where FastAPI would have put them."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = {**schema.pop("$defs", {}), model.__name__: schema}
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        document = default_openapi()
        document.setdefault("components", {}).setdefault("schemas", {}).update(schemas)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


def create_app(runtime: str | None = None, log: LogSettings | None = None) -> FastAPI:
    """The app for the model and contract of the project in the working directory, logging its
    answers with `log` (`lifecycle serve` checked and marked the log's folder)."""
    runtime = runtime or os.environ.get(RUNTIME_VARIABLE, "skops")
    if log is None and os.environ.get(LOG_VARIABLE):
        log = LogSettings.from_json(os.environ[LOG_VARIABLE])
    params = config.load()
    model, model_path = loading.load_deployed(runtime, threads=1,
                                              packages=params.extensions.model_packages())
    full = contract.load(paths.CONTRACT)
    rules = scoring.input_contract(full, list(model.feature_names_in_))
    served = describe_model(runtime, Path(model_path), params.problem, rules)
    return build_app(model, rules, params.evaluate.decision_threshold, served,
                     described=full.columns,
                     log=None if log is None else PredictionLog(
                         log, {"runtime": runtime, **served["model"]}))


def worker_app() -> FastAPI:
    """The app of one of `lifecycle serve`'s worker processes. The command checked the files
    before starting any; should one break since, the worker exits with uvicorn's start-up
    failure code, which stops the server instead of restarting the worker without end."""
    from uvicorn.config import STARTUP_FAILURE

    try:
        return create_app()
    except LifecycleError as error:
        print(f"lifecycle serve: error: {error}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)
