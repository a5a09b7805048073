"""Real-time API: `lifecycle serve` runs a FastAPI app under uvicorn, on loopback by default.

The request model is generated from the data contract, so a wrong type, a missing required field,
a value out of a hard range or an unknown category is refused with 422 naming the field. It holds
every rule of the contract's input columns, so a row it accepts goes to the model without the
pandas checks batch scoring runs. A value outside a range the contract marks `bounds: soft` is
scored, and the answer's `warnings` names it (field, message and type, as a 422's errors do).
Predictions come from the same `predict_frame` as batch scoring, so both agree row for row. With
`--runtime onnx` the ONNX file the export stage wrote answers instead of the skops pipeline, fed
the validated rows as arrays: no DataFrame per request.

Fields the model does not use are ignored, as batch scoring ignores such columns, so a client
may send whole records. A field that is not a column of the data contract and whose name is
close to a model input (`carier`) is refused with 422 naming it and the input it resembles:
ignoring it would score the row as if that input were missing.

A model whose gate verdict (reports/gate.json) is not VALIDATED is still served, with a warning
on stderr at start-up; /health answers {"status": "ok", "gate": <verdict>} (status stays ok, so
a load balancer keeps routing; a deployment that must not serve a REJECTED model checks `gate`),
and /metadata names the verdict too.

Every size a client controls is capped before work in proportion to it starts. The limits are
parameters of `build_app`, each worker process has its own, and the defaults are:

- max_body_bytes (1,000,000): a longer body gets 413. Reading stops at the cap, whether or not
  the length was declared.
- max_instances (1,000): more instances get 413. They are counted in the parsed JSON before any
  is validated, so a list of many small rows costs one `len`.
- body_seconds (30): a body still arriving after this long gets 408, so a stalled sender cannot
  keep its place in the queue.
- compute_slots (1): requests parsed, validated and predicted at once, in worker threads. The
  work holds the interpreter lock (two at once used one core between them, for no more
  throughput), and another slot would only slow the event loop; each uses one OpenMP thread.
  More throughput comes from more worker processes (`--workers`).
- max_waiting (32): requests beyond those computing that may be sending their body or waiting for
  a slot (a few seconds of single-row work); any more get 503 at once, with Retry-After. A
  waiting request whose client disconnects is dropped without being computed.
- max_errors_shown (100): a 422 lists at most this many errors, and `errors_not_shown` counts
  the rest; an answer lists at most this many warnings, and `warnings_not_shown` counts the rest.
- max_unknown_fields (1,000): distinct field names that are neither model inputs nor contract
  columns; more get 413. Each is compared with the inputs' names (about 50 µs), so a body of
  many made-up names cannot cost seconds.

/health and /metadata answer on the event loop, never queued behind /predict's work.
"""

import datetime
import hashlib
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import PydanticCustomError
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.types import Receive
from threadpoolctl import ThreadpoolController

from lifecycle import contract, files, onnx_scoring, paths, scoring
from lifecycle.errors import LifecycleError

MAX_INSTANCES = 1000
MAX_BODY_BYTES = 1_000_000
BODY_SECONDS = 30.0
COMPUTE_SLOTS = 1
MAX_WAITING = 32
MAX_ERRORS_SHOWN = 100
MAX_UNKNOWN_FIELDS = 1000
RETRY_AFTER_SECONDS = 1
PYTHON_TYPES = {"numeric": float, "datetime": datetime.datetime, "text": str, "categorical": str}
# Validated values as model input columns, typed as batch scoring parses them (missing values as
# NaN, NaT and None).
FRAME_TYPES = {"numeric": "float64", "datetime": "datetime64[us]", "text": object,
               "categorical": object}
# What /docs lists for /predict besides 200: the refusals a client can get.
REFUSALS: dict[int | str, dict[str, Any]] = {
    408: {"description": "the body took longer than the limit to arrive"},
    413: {"description": "the body or the number of instances is over the limit"},
    415: {"description": "the body is not sent as JSON"},
    422: {"description": "not JSON, or fields that break the data contract, each named"},
    503: {"description": "busy: retry after the seconds in the Retry-After header"},
}


def instance_model(rules: contract.Contract) -> type[BaseModel]:
    """A pydantic model of one input row: a field per contract column, with its rules."""
    fields: dict[str, Any] = {}
    for name, column in rules.columns.items():
        kind: Any = PYTHON_TYPES[column.type]
        constraints: dict[str, Any] = {}
        if column.type == "numeric":
            constraints = numeric_constraints(column)
        if column.type == "datetime":
            kind = Annotated[kind, AfterValidator(wall_clock)]
        if column.categories and column.type in ("categorical", "text"):
            kind = Literal[tuple(str(category) for category in column.categories)]
        elif kind is str:
            kind = Annotated[kind, AfterValidator(unicode_text)]
        elif column.categories:
            kind = Annotated[kind, AfterValidator(one_of(column.categories))]
        if column.nullable:
            fields[name] = (kind | None, Field(None, **constraints))
        else:
            fields[name] = (kind, Field(..., **constraints))
    # Other fields are ignored here; `answer` refuses those that look like misspelt inputs.
    return create_model("Instance", __config__=ConfigDict(extra="ignore"), **fields)


def numeric_constraints(column: contract.Column) -> dict[str, Any]:
    """A number's field constraints: a hard range refuses a value outside it; a soft one is
    only described in the schema (the answer warns, see `range_warnings`)."""
    if column.soft:
        return {"allow_inf_nan": False,
                "description": f"expected within {column.range_text()}; a value outside is "
                               f"scored, with a warning"}
    return {"ge": column.min, "le": column.max, "allow_inf_nan": False}


def range_warnings(records: list[dict], rules: contract.Contract) -> list[dict]:
    """A warning entry per value outside a soft range, located as a 422's errors are."""
    soft = {name: column for name, column in rules.columns.items() if column.soft}
    return [{"loc": ["body", "instances", position, name],
             "msg": f"{record[name]!r} is outside the expected range {column.range_text()}; "
                    f"scored, but the model saw few or no such values",
             "type": "out_of_range"}
            for position, record in enumerate(records)
            for name, column in soft.items() if column.outside(record.get(name))]


class RangeWarning(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class Predictions(BaseModel):
    """The 200 answer of /predict, as documented in the OpenAPI (the endpoint builds it)."""

    predictions: list[Any] = Field(description="one per instance, in order")
    probabilities: list[dict[str, float]] | None = Field(
        None, description="classifiers: per instance, each class's probability")
    warnings: list[RangeWarning] = Field(
        description="values outside a soft range of the data contract: scored, but the model "
                    "saw few or no such values (at most max_errors_shown are listed)")
    warnings_not_shown: int | None = Field(None, description="warnings beyond those listed")


def one_of(categories: list) -> Callable[[Any], Any]:
    """A check that a number (or date) is one of the contract's categories, compared as text
    as the contract lists them: 2.0 is the category 2."""
    allowed = {scoring.category_text(category) for category in categories}

    def check(value: Any) -> Any:
        if scoring.category_text(value) not in allowed:
            raise PydanticCustomError("unknown_category", "Input should be one of {allowed}",
                                      {"allowed": ", ".join(sorted(allowed))})
        return value

    return check


def unicode_text(value: str) -> str:
    """Refuse text holding a lone surrogate (JSON can escape one, "\\ud800"): it is not Unicode,
    no encoder of the model can take it, and a field of categories already refuses it so."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise PydanticCustomError("string_unicode", "Input should be a valid string, "
                                      "unable to parse raw data as a unicode string") from None
    return value


def wall_clock(value: datetime.datetime) -> datetime.datetime:
    """The local time a datetime names: an offset is dropped, as batch scoring does, so
    instances with and without one can share a request."""
    return value.replace(tzinfo=None)


def describe_inputs(rules: contract.Contract) -> list[dict]:
    return [{"name": name, "type": column.type, "required": not column.nullable,
             **({"min": column.min} if column.min is not None else {}),
             **({"max": column.max} if column.max is not None else {}),
             **({"bounds": "soft" if column.soft else "hard"}
                if column.min is not None or column.max is not None else {}),
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


def build_app(model: object, rules: contract.Contract, threshold: float | None, metadata: dict,
              max_instances: int = MAX_INSTANCES, max_body_bytes: int = MAX_BODY_BYTES, *,
              body_seconds: float = BODY_SECONDS, compute_slots: int = COMPUTE_SLOTS,
              max_waiting: int = MAX_WAITING, max_errors_shown: int = MAX_ERRORS_SHOWN,
              max_unknown_fields: int = MAX_UNKNOWN_FIELDS,
              described: Collection[str] = ()) -> FastAPI:
    """The API of one model; the limits are described in the module docstring. `described`
    are the data contract's columns: fields the model ignores, never taken for misspellings."""
    Instance = instance_model(rules)
    predict_rows = row_predictor(model, rules, threshold)
    known = {*rules.columns, *described}
    PredictRequest = create_model(
        "PredictRequest", __config__=ConfigDict(extra="forbid"),
        instances=(list[Instance], Field(..., min_length=1, max_length=max_instances)),
    )
    app = FastAPI(title="lifecycle model API", version="1")
    admission = Admission(compute_slots, max_waiting)
    threads = ThreadpoolController()

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = error.errors()
        return invalid(errors, len(errors), max_errors_shown)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        # Never a stack trace to the client; the server log keeps the details.
        return JSONResponse({"detail": "internal error"}, status_code=500)

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "gate": metadata.get("gate")}

    @app.get("/metadata")
    async def describe() -> dict:
        return metadata

    def answer(body: bytes) -> Response:
        """Parse, count, validate and predict: a request's work, run in a worker thread."""
        document, not_json = parse_json(body)
        if not_json:
            return invalid([not_json], 1, max_errors_shown)
        count = instance_count(document)
        if count > max_instances:
            return _too_large(f"{count} instances; at most {max_instances} per request")
        unknown = field_names(document) - known
        if len(unknown) > max_unknown_fields:
            return _too_large(f"{len(unknown)} distinct fields that are not columns of the data "
                              f"contract; at most {max_unknown_fields} per request")
        misspelt = misspelt_errors(document, scoring.misspelt_inputs(unknown, rules.columns, ()))
        try:
            validated = PredictRequest.model_validate(document, from_attributes=True)
        except ValidationError as error:
            return invalid(itertools.chain(misspelt, body_errors(error)),
                           len(misspelt) + error.error_count(), max_errors_shown)
        if misspelt:
            return invalid(misspelt, len(misspelt), max_errors_shown)
        # One OpenMP thread per request: spinning up threads for a few rows made single-row
        # latency 10-20 times worse.
        records = [row.__dict__ for row in validated.instances]
        with threads.limit(limits=1, user_api="openmp"):
            body = predict_rows(records)
        return JSONResponse({**body, **listed_warnings(range_warnings(records, rules),
                                                       max_errors_shown)})

    async def answer_in_turn(request: Request) -> Response:
        try:
            with anyio.fail_after(body_seconds):
                body = await read_body(request, max_body_bytes)
        except TimeoutError:
            return JSONResponse({"detail": f"the request body took over {body_seconds:g} s to "
                                           f"arrive; send it in one go"}, status_code=408)
        except ClientDisconnect:
            return client_gone()
        if body is None:
            return body_too_large(max_body_bytes)
        borrower = object()
        if not await take_slot(admission.slots, borrower, request.receive):
            return client_gone()
        try:
            return await anyio.to_thread.run_sync(answer, body)
        finally:
            admission.slots.release_on_behalf_of(borrower)

    # The endpoint reads its body itself, to cap it before parsing; /docs still shows the model.
    @app.post("/predict", openapi_extra=documented_body(app, PredictRequest),
              responses={200: {"model": Predictions, "description": "the predictions"},
                         **REFUSALS})
    async def predict_endpoint(request: Request) -> Response:
        refusal = refuse_by_headers(request.headers, max_body_bytes)
        if refusal is not None:
            return refusal
        if not admission.enter():
            return busy(admission.capacity)
        try:
            return await answer_in_turn(request)
        finally:
            admission.leave()

    return app


class Admission:
    """Who is inside /predict: `slots` requests compute at once, and up to `waiting` more may be
    sending their body or waiting for a slot. Used from the event loop only, so no lock."""

    def __init__(self, slots: int, waiting: int) -> None:
        if slots < 1 or waiting < 0:
            raise LifecycleError(f"compute_slots {slots}, max_waiting {waiting}: give 1 or more "
                                 f"slots and 0 or more waiting places")
        self.slots = anyio.CapacityLimiter(slots)
        self.capacity = slots + waiting
        self.inside = 0

    def enter(self) -> bool:
        if self.inside >= self.capacity:
            return False
        self.inside += 1
        return True

    def leave(self) -> None:
        self.inside -= 1


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it passes `limit` bytes: the rest is never read."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def take_slot(slots: anyio.CapacityLimiter, borrower: object, receive: Receive) -> bool:
    """Hold one of `slots` for `borrower`, in turn; False, holding none, if the client
    disconnects while waiting, so an abandoned request is never computed."""
    try:
        slots.acquire_on_behalf_of_nowait(borrower)
        return True
    except anyio.WouldBlock:
        pass
    held = False
    async with anyio.create_task_group() as group:
        group.start_soon(cancel_on_disconnect, receive, group.cancel_scope)
        await slots.acquire_on_behalf_of(borrower)  # gives up the place in line if cancelled
        held = True
        group.cancel_scope.cancel()  # stop watching: the request is computed now
    return held


async def cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    # The body has been read, so the next message is the disconnect, whenever it comes.
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


def refuse_by_headers(headers: Headers, max_body_bytes: int) -> Response | None:
    """413 for a declared length over the cap, 415 for a body not sent as JSON, else None."""
    declared = headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and (
            len(declared.lstrip("0")) > len(str(max_body_bytes))
            or int(declared) > max_body_bytes):
        return body_too_large(max_body_bytes)
    if not _is_json(headers.get("content-type")):
        return JSONResponse({"detail": "the body must be JSON: send it with content-type: "
                                       "application/json"}, status_code=415)
    return None


def parse_json(body: bytes) -> tuple[Any, dict | None]:
    """The parsed body, or the 422 error entry saying why it is not one JSON document."""
    if not body:  # as FastAPI answers a missing body
        return None, {"loc": ["body"], "msg": "Field required", "type": "missing"}
    try:
        return json.loads(body), None
    except json.JSONDecodeError as error:
        return None, {"loc": ["body", error.pos], "msg": "JSON decode error",
                      "type": "json_invalid"}
    except UnicodeDecodeError:
        return None, _decode_error("the body is not UTF-8 text")
    except RecursionError:
        return None, _decode_error("arrays or objects nested too deeply")
    except ValueError:  # an integer of more digits than Python converts
        return None, _decode_error("a number with too many digits")


def _decode_error(reason: str) -> dict:
    return {"loc": ["body"], "msg": f"JSON decode error: {reason}", "type": "json_invalid"}


def instance_count(document: Any) -> int:
    """How many instances a parsed body holds; 0 when it holds no list of them, a shape the
    request model refuses at once without looking at any instance."""
    if isinstance(document, dict) and isinstance(document.get("instances"), list):
        return len(document["instances"])
    return 0


def field_names(document: Any) -> set[str]:
    """The field names of every instance in a parsed body."""
    if not isinstance(document, dict) or not isinstance(document.get("instances"), list):
        return set()
    return {name for row in document["instances"] if isinstance(row, dict) for name in row}


def misspelt_errors(document: Any, misspelt: dict[str, str]) -> list[dict]:
    """A 422 error entry for each field of each instance that looks like a misspelt input."""
    if not misspelt:
        return []
    return [{"loc": ["body", "instances", position, name],
             "msg": f"Not a model input but close to one{misspelt[name]}; correct the name "
                    f"(fields the model does not use are ignored)", "type": "misspelt_field"}
            for position, row in enumerate(document["instances"]) if isinstance(row, dict)
            for name in row if name in misspelt]


def row_predictor(model: object, rules: contract.Contract,
                  threshold: float | None) -> Callable[[list[dict]], dict]:
    """What /predict computes for validated rows (dicts of field values): the ONNX runtime
    takes them as arrays, the skops pipeline as one DataFrame typed as batch scoring parses."""
    if isinstance(model, onnx_scoring.OnnxModel):
        return lambda records: array_predictions(model, records, threshold)
    return lambda records: prediction_body(
        scoring.predict_frame(model, instance_frame(records, rules), threshold))


def instance_frame(records: list[dict], rules: contract.Contract) -> pd.DataFrame:
    """Validated instances as the model's input columns, typed as batch scoring parses them."""
    return pd.DataFrame({name: pd.Series([record[name] for record in records],
                                         dtype=FRAME_TYPES[column.type])
                         for name, column in rules.columns.items()})


def array_predictions(model: onnx_scoring.OnnxModel, records: list[dict],
                      threshold: float | None) -> dict[str, Any]:
    """The body `prediction_body` gives, from the ONNX runtime's arrays (no DataFrame)."""
    inputs = model.inputs_from_records(records)
    if not hasattr(model, "predict_proba"):
        return {"predictions": model.predict(inputs).tolist()}
    probability = model.predict_proba(inputs)
    classes = model.classes_
    names = [str(c) for c in classes]
    return {"predictions": scoring.class_labels(probability, classes, threshold).tolist(),
            "probabilities": [dict(zip(names, map(float, row), strict=True))
                              for row in probability]}


def body_errors(error: ValidationError) -> list[dict]:
    # Field, message and type only: echoing the input back could hold NaN, which JSON cannot
    # encode, or a very long string.
    return [{"loc": ["body", *item["loc"]], "msg": item["msg"], "type": item["type"]}
            for item in error.errors(include_url=False, include_context=False,
                                     include_input=False)]


def invalid(errors: Iterable[dict], total: int, shown: int) -> JSONResponse:
    """422 listing the first `shown` of `total` errors (loc, msg, type) and counting the rest,
    so a request of many bad rows cannot make a huge answer."""
    listed = [{"loc": [encodable(part) for part in item["loc"]], "msg": item["msg"],
               "type": item["type"]} for item in itertools.islice(errors, shown)]
    body: dict[str, Any] = {"detail": listed}
    if total > len(listed):
        body["errors_not_shown"] = total - len(listed)
    return JSONResponse(body, status_code=422)


def encodable(part: str | int) -> str | int:
    """A field name as JSON can send it in UTF-8: a lone surrogate as its escape."""
    if isinstance(part, str) and not part.isascii():
        return part.encode("utf-8", "backslashreplace").decode("utf-8")
    return part


def listed_warnings(warnings: list[dict], shown: int) -> dict[str, Any]:
    """The answer's `warnings`, the first `shown` of them, and how many more there were."""
    body: dict[str, Any] = {"warnings": warnings[:shown]}
    if len(warnings) > shown:
        body["warnings_not_shown"] = len(warnings) - shown
    return body


def prediction_body(result: pd.DataFrame) -> dict[str, Any]:
    body: dict[str, Any] = {"predictions": result["prediction"].tolist()}
    probability_columns = [c for c in result if c.startswith("probability_")]
    if probability_columns:
        body["probabilities"] = [
            {column.removeprefix("probability_"): float(value) for column, value in row.items()}
            for row in result[probability_columns].to_dict(orient="records")
        ]
    return body


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


def busy(capacity: int) -> JSONResponse:
    return JSONResponse(
        {"detail": f"the server is busy: {capacity} requests are already being answered or "
                   f"waiting; retry after {RETRY_AFTER_SECONDS} s, or serve with more --workers"},
        status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def client_gone() -> Response:
    # Nobody reads this: the client closed the connection. 499 is how nginx logs that case.
    return Response(status_code=499)


def body_too_large(limit: int) -> JSONResponse:
    return _too_large(f"request body over {limit} bytes")


def _too_large(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=413)


def _is_json(content_type: str | None) -> bool:
    """No content type (read as JSON), application/json or a +json type."""
    if content_type is None:
        return True
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/")
                                           and media.endswith("+json"))


RUNTIME_VARIABLE = "LIFECYCLE_SERVE_RUNTIME"  # how `run` tells worker processes the runtime


def create_app(runtime: str | None = None) -> FastAPI:
    """The app for the model and contract of the project in the working directory."""
    from lifecycle import config, paths, scoring

    runtime = runtime or os.environ.get(RUNTIME_VARIABLE, "skops")
    params = config.load()
    model, model_path = scoring.load_deployed(runtime, threads=1)
    full = contract.load(paths.CONTRACT)
    rules = scoring.input_contract(full, list(model.feature_names_in_))
    metadata = {
        "runtime": runtime,
        "model": model_identity(Path(model_path)),
        "problem": {"name": params.problem.name, "task": params.problem.task,
                    "target": params.problem.target},
        "inputs": describe_inputs(rules),
        "gate": gate_verdict(),
    }
    return build_app(model, rules, params.evaluate.decision_threshold, metadata,
                     described=full.columns)


def gate_verdict() -> str | None:
    """The verdict in reports/gate.json, or None when the model has not been through the gate."""
    gate = Path(paths.GATE)
    return files.read_json(gate).get("verdict") if gate.exists() else None


def warn_unless_validated(verdict: str | None) -> None:
    """A warning line on stderr when the model to serve did not pass its gate."""
    if verdict == "VALIDATED":
        return
    why = (f"its gate verdict is {verdict}" if verdict
           else f"no gate verdict ({paths.GATE} not found)")
    print(f"lifecycle serve: warning: serving a model that is not VALIDATED: {why}; "
          f"`lifecycle gate` lists the criteria; /health and /metadata report the verdict",
          file=sys.stderr)


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


def worker_app() -> FastAPI:
    """The app of one of `run`'s worker processes. `run` checked the files before starting any;
    should one break since, the worker exits with uvicorn's start-up failure code, which stops
    the server instead of restarting the worker without end."""
    from uvicorn.config import STARTUP_FAILURE

    try:
        return create_app()
    except LifecycleError as error:
        print(f"lifecycle serve: error: {error}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)


def run(host: str, port: int, workers: int = 1, runtime: str = "skops") -> None:
    import uvicorn

    if workers < 1:
        raise LifecycleError(f"--workers {workers}: give 1 or more processes")
    if runtime not in scoring.RUNTIMES:
        raise LifecycleError(f"--runtime {runtime}: choose one of {', '.join(scoring.RUNTIMES)}")
    check_address(host, port)
    # Params, contract and model are loaded and checked here, once, whatever --workers: a file
    # that is missing or damaged is one error before any worker starts.
    app = create_app(runtime)
    warn_unless_validated(gate_verdict())
    print(f"serving the model on http://{host}:{port} (POST /predict, GET /health, /metadata)"
          f" with {workers} worker process{'es' if workers > 1 else ''}, {runtime} runtime")
    os.environ[RUNTIME_VARIABLE] = runtime
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="warning")
        return
    del app  # each worker process builds its own app (and loads the model) from the project
    uvicorn.run("lifecycle.commands.serve:worker_app", factory=True, workers=workers, host=host,
                port=port, log_level="warning")
