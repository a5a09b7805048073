"""The body of /predict: its request model, generated from the data contract, and the steps
before validation (parsing, counting, field names).

The model holds every rule of the contract's input columns, so a wrong type, a missing required
field, a value out of a hard range or an unknown category is refused with 422 naming the field,
and a row it accepts goes to the model without the pandas checks batch scoring runs. A value
outside a range the contract marks `bounds: soft` passes: the answer warns of it.

Fields the model does not use are ignored, as batch scoring ignores such columns, so a client
may send whole records. A field that is not a column of the data contract and whose name is
close to a model input (`carier`) is refused with 422 naming it and the input it resembles:
ignoring it would score the row as if that input were missing.
"""

import datetime
import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic_core import PydanticCustomError

from lifecycle.config import contract
from lifecycle.deployment import frames

PYTHON_TYPES = {"numeric": float, "datetime": datetime.datetime, "text": str, "categorical": str}


def request_model(rules: contract.Contract, max_instances: int) -> type[BaseModel]:
    """The body: 1 to `max_instances` instances, and no other field."""
    return create_model(
        "PredictRequest", __config__=ConfigDict(extra="forbid"),
        instances=(list[instance_model(rules)], Field(..., min_length=1,
                                                      max_length=max_instances)),
    )


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
    # Other fields are ignored here; the endpoint refuses those that look like misspelt inputs.
    return create_model("Instance", __config__=ConfigDict(extra="ignore"), **fields)


def numeric_constraints(column: contract.Column) -> dict[str, Any]:
    """A number's field constraints: a hard range refuses a value outside it; a soft one is
    only described in the schema (the answer warns, see `responses.range_warnings`)."""
    if column.soft:
        return {"allow_inf_nan": False,
                "description": f"expected within {column.range_text()}; a value outside is "
                               f"scored, with a warning"}
    return {"ge": column.min, "le": column.max, "allow_inf_nan": False}


def one_of(categories: list) -> Callable[[Any], Any]:
    """A check that a number (or date) is one of the contract's categories, compared as text
    as the contract lists them: 2.0 is the category 2."""
    allowed = {frames.category_text(category) for category in categories}

    def check(value: Any) -> Any:
        if frames.category_text(value) not in allowed:
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


def body_errors(error: ValidationError) -> list[dict]:
    # Field, message and type only: echoing the input back could hold NaN, which JSON cannot
    # encode, or a very long string.
    return [{"loc": ["body", *item["loc"]], "msg": item["msg"], "type": item["type"]}
            for item in error.errors(include_url=False, include_context=False,
                                     include_input=False)]
