"""What /predict answers besides its work: the documented 200 body, the warnings of values
outside soft ranges, and every refusal (408, 413, 415, 422, 499, 503), each bounded in size."""

import itertools
import sys
from collections.abc import Iterable
from typing import Any

from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import Headers

from lifecycle.config import contract

RETRY_AFTER_SECONDS = 1
# What /docs lists for /predict besides 200: the refusals a client can get.
REFUSALS: dict[int | str, dict[str, Any]] = {
    408: {"description": "the body took longer than the limit to arrive"},
    413: {"description": "the body or the number of instances is over the limit"},
    415: {"description": "the body is not sent as JSON"},
    422: {"description": "not JSON, or fields that break the data contract, each named"},
    503: {"description": "busy: retry after the seconds in the Retry-After header; or the "
                          "prediction log could not be written, and no prediction is given"},
}


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


def range_warnings(records: list[dict], rules: contract.Contract) -> list[dict]:
    """A warning entry per value outside a soft range, located as a 422's errors are."""
    soft = {name: column for name, column in rules.columns.items() if column.soft}
    return [{"loc": ["body", "instances", position, name],
             "msg": f"{record[name]!r} is outside the expected range {column.range_text()}; "
                    f"scored, but the model saw few or no such values",
             "type": "out_of_range"}
            for position, record in enumerate(records)
            for name, column in soft.items() if column.outside(record.get(name))]


def listed_warnings(warnings: list[dict], shown: int) -> dict[str, Any]:
    """The answer's `warnings`, the first `shown` of them, and how many more there were."""
    body: dict[str, Any] = {"warnings": warnings[:shown]}
    if len(warnings) > shown:
        body["warnings_not_shown"] = len(warnings) - shown
    return body


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


def refuse_by_headers(headers: Headers, max_body_bytes: int) -> Response | None:
    """413 for a declared length over the cap, 415 for a body not sent as JSON, else None."""
    declared = headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and (
            len(declared.lstrip("0")) > len(str(max_body_bytes))
            or int(declared) > max_body_bytes):
        return body_too_large(max_body_bytes)
    if not is_json(headers.get("content-type")):
        return JSONResponse({"detail": "the body must be JSON: send it with content-type: "
                                       "application/json"}, status_code=415)
    return None


def is_json(content_type: str | None) -> bool:
    """No content type (read as JSON), application/json or a +json type."""
    if content_type is None:
        return True
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/")
                                           and media.endswith("+json"))


def too_slow(seconds: float) -> JSONResponse:
    return JSONResponse({"detail": f"the request body took over {seconds:g} s to arrive; send "
                                   f"it in one go"}, status_code=408)


def busy(capacity: int) -> JSONResponse:
    return JSONResponse(
        {"detail": f"the server is busy: {capacity} requests are already being answered or "
                   f"waiting; retry after {RETRY_AFTER_SECONDS} s, or serve with more --workers"},
        status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def log_unavailable(error: OSError) -> JSONResponse:
    # The client learns that the log failed, not where it is: the path stays in the server's.
    print(f"lifecycle serve: error: the prediction log could not be written: {error}",
          file=sys.stderr)
    return JSONResponse({"detail": "the prediction log could not be written, so no prediction "
                                   "is given; the server's output says why"}, status_code=503)


def client_gone() -> Response:
    # Nobody reads this: the client closed the connection. 499 is how nginx logs that case.
    return Response(status_code=499)


def body_too_large(limit: int) -> JSONResponse:
    return too_large(f"request body over {limit} bytes")


def too_large(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=413)
