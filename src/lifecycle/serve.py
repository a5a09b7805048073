"""Real-time API: `lifecycle serve` runs a FastAPI app under uvicorn, on loopback by default.

The request model is generated from the data contract, so a wrong type, a missing required field,
a value out of range or an unknown category is refused with 422 naming the field. Predictions
come from the same `predict_frame` as batch scoring, so both agree row for row.
"""

import datetime
import hashlib
import subprocess
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model
from threadpoolctl import ThreadpoolController

from lifecycle import contract, predict
from lifecycle.errors import LifecycleError

MAX_INSTANCES = 1000
MAX_BODY_BYTES = 1_000_000
PYTHON_TYPES = {"numeric": float, "datetime": datetime.datetime, "text": str, "categorical": str}


def instance_model(rules: contract.Contract) -> type[BaseModel]:
    """A pydantic model of one input row: a field per contract column, with its rules."""
    fields: dict[str, Any] = {}
    for name, column in rules.columns.items():
        kind: Any = PYTHON_TYPES[column.type]
        constraints: dict[str, Any] = {}
        if column.type == "numeric":
            constraints = {"ge": column.min, "le": column.max, "allow_inf_nan": False}
        if column.type == "categorical" and column.categories:
            kind = Literal[tuple(str(category) for category in column.categories)]
        if column.nullable:
            fields[name] = (kind | None, Field(None, **constraints))
        else:
            fields[name] = (kind, Field(..., **constraints))
    # Unknown fields are refused: a misspelt optional field would otherwise pass as missing.
    return create_model("Instance", __config__=ConfigDict(extra="forbid"), **fields)


def describe_inputs(rules: contract.Contract) -> list[dict]:
    return [{"name": name, "type": column.type, "required": not column.nullable,
             **({"min": column.min} if column.min is not None else {}),
             **({"max": column.max} if column.max is not None else {}),
             **({"categories": [str(c) for c in column.categories]} if column.categories else {})}
            for name, column in rules.columns.items()]


def model_identity(model_path: Path) -> dict:
    """The model file's MD5 (the hash DVC records for it) and the git revision checked out."""
    md5 = hashlib.md5(model_path.read_bytes()).hexdigest()
    try:
        revision = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                  check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        revision = None
    return {"path": model_path.as_posix(), "md5": md5, "git_revision": revision}


def build_app(model: object, rules: contract.Contract, threshold: float, metadata: dict,
              max_instances: int = MAX_INSTANCES,
              max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    Instance = instance_model(rules)
    PredictRequest = create_model(
        "PredictRequest", __config__=ConfigDict(extra="forbid"),
        instances=(list[Instance], Field(..., min_length=1)),
    )
    app = FastAPI(title="lifecycle model API", version="1")
    threads = ThreadpoolController()

    @app.middleware("http")
    async def limit_body_size(request: Request, call_next: Any) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            return _too_large(f"request body over {max_body_bytes} bytes")
        if request.method == "POST" and not _is_json(request.headers.get("content-type")):
            return JSONResponse({"detail": "the body must be JSON: send it with content-type: "
                                           "application/json"}, status_code=415)
        body = await request.body()  # also bounds bodies sent without a length
        if len(body) > max_body_bytes:
            return _too_large(f"request body over {max_body_bytes} bytes")
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        # Field, message and type only: echoing the input back could hold NaN, which JSON
        # cannot encode, or a very long string.
        detail = [{"loc": list(item["loc"]), "msg": item["msg"], "type": item["type"]}
                  for item in error.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        # Never a stack trace to the client; the server log keeps the details.
        return JSONResponse({"detail": "internal error"}, status_code=500)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/metadata")
    def describe() -> dict:
        return metadata

    @app.post("/predict")
    def predict_endpoint(request: PredictRequest) -> Any:  # type: ignore[valid-type]
        if len(request.instances) > max_instances:
            return _too_large(f"{len(request.instances)} instances; at most {max_instances} "
                              f"per request")
        frame = pd.DataFrame([wall_clock(row.model_dump()) for row in request.instances],
                             columns=list(rules.columns))
        parsed, broken = predict.rule_failures(frame, rules, "request")
        # What the request model cannot see (e.g. a date pandas cannot hold) is still refused,
        # as batch scoring would reject the row.
        detail = [{"loc": ["body", "instances", int(row), column],
                   "msg": f"{rule.replace('_', ' ')} per the data contract", "type": rule}
                  for column, rule, rows in broken for row in rows.index[rows.to_numpy(bool)]]
        if detail:
            return JSONResponse({"detail": detail}, status_code=422)
        # One OpenMP thread per request: concurrent requests already run in parallel, and
        # spinning up threads for a few rows made single-row latency 10-20 times worse.
        with threads.limit(limits=1, user_api="openmp"):
            result = predict.predict_frame(model, parsed, threshold)
        body: dict[str, Any] = {"predictions": result["prediction"].tolist()}
        probability_columns = [c for c in result if c.startswith("probability_")]
        if probability_columns:
            body["probabilities"] = [
                {column.removeprefix("probability_"): float(value)
                 for column, value in row.items()}
                for row in result[probability_columns].to_dict(orient="records")
            ]
        return body

    return app


def wall_clock(values: dict) -> dict:
    """Datetimes as the local times they name: an offset is dropped, as batch scoring does, so
    instances with and without one can share a request."""
    return {name: value.replace(tzinfo=None) if isinstance(value, datetime.datetime) else value
            for name, value in values.items()}


def _too_large(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=413)


def _is_json(content_type: str | None) -> bool:
    """No content type (read as JSON, as FastAPI does), application/json or a +json type."""
    if content_type is None:
        return True
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/")
                                           and media.endswith("+json"))


def create_app() -> FastAPI:
    """The app for the model and contract of the project in the working directory."""
    from lifecycle import config, io, paths

    params = config.load()
    model = io.load_model(paths.MODEL)
    rules = predict.input_contract(contract.load(paths.CONTRACT), list(model.feature_names_in_))
    gate = Path(paths.GATE)
    metadata = {
        "model": model_identity(Path(paths.MODEL)),
        "problem": {"name": params.problem.name, "task": params.problem.task,
                    "target": params.problem.target},
        "inputs": describe_inputs(rules),
        "gate": io.read_json(gate).get("verdict") if gate.exists() else None,
    }
    return build_app(model, rules, params.evaluate.decision_threshold, metadata)


def check_address(host: str, port: int) -> None:
    """Refuse an address the server could not listen on, before the model is loaded."""
    import socket

    if not 0 < port < 65536:
        raise LifecycleError(f"--port {port}: not a port number; use 1 to 65535")
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as error:
        raise LifecycleError(f"--host {host} --port {port}: cannot listen there: "
                             f"{error.strerror or error}; choose another port or host") from None


def run(host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    if workers < 1:
        raise LifecycleError(f"--workers {workers}: give 1 or more processes")
    check_address(host, port)
    print(f"serving the model on http://{host}:{port} (POST /predict, GET /health, /metadata)"
          f" with {workers} worker process{'es' if workers > 1 else ''}")
    if workers == 1:
        uvicorn.run(create_app(), host=host, port=port, log_level="warning")
    else:
        # Each worker process builds its own app (and loads the model) from the project here.
        uvicorn.run("lifecycle.serve:create_app", factory=True, workers=workers, host=host,
                    port=port, log_level="warning")
