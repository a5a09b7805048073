"""Typed sections from YAML data: each key converted to its field's annotation (a nested
section, an optional, a choice of literals, a list of names, a mapping, a date, a number),
unknown and missing keys refused with the dotted key's path, then the section's own checks."""

import dataclasses
import datetime
import math
import types
import typing
from typing import Any, Literal

from lifecycle.config.section import Section
from lifecycle.core.errors import ParamsError, not_allowed_error, unknown_key_error


def build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ParamsError(f"{where or 'top level'}: expected a mapping, found {data!r}")
    hints = typing.get_type_hints(cls)
    names = [field.name for field in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            raise unknown_key_error(where, key, names)
    optional = {f.name for f in dataclasses.fields(cls) if has_default(f)}
    missing = [name for name in names if name not in data and name not in optional]
    if missing:
        raise ParamsError(f"{key_path(where, missing[0])}: missing; add it "
                          f"(params.schema.json describes every key)")
    values = {name: _convert(hints[name], data[name], key_path(where, name))
              for name in names if name in data}
    section = cls(**values)
    section.check(where or "params")
    return section


def _convert(expected: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(expected)
    if isinstance(expected, type) and issubclass(expected, Section):
        return build(expected, value, where)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in typing.get_args(expected):
            return None
        (inner,) = [arg for arg in typing.get_args(expected) if arg is not type(None)]
        return _convert(inner, value, where)
    if origin is Literal:
        allowed = typing.get_args(expected)
        if value not in allowed:
            raise not_allowed_error(where, value, allowed)
        return value
    if origin is list:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ParamsError(f"{where}: expected a list of names, found {value!r}")
        return list(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"{where}: expected a mapping, found {value!r}")
        _, item_type = typing.get_args(expected)
        if item_type is Any:
            return dict(value)
        return {key: _convert(item_type, item, key_path(where, key)) for key, item in value.items()}
    return _convert_scalar(expected, value, where)


def _convert_scalar(expected: type, value: Any, where: str) -> Any:
    if expected is datetime.date:
        if isinstance(value, datetime.date):
            return value
        try:
            return datetime.date.fromisoformat(str(value))
        except ValueError:
            raise ParamsError(f"{where}: expected a date YYYY-MM-DD, found {value!r}") from None
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is float and isinstance(value, float) and not math.isfinite(value):
        raise ParamsError(f"{where}: expected a finite number, found {value!r}")
    if isinstance(value, bool) and expected is not bool:
        raise ParamsError(f"{where}: expected {expected.__name__}, found {value!r}")
    if not isinstance(value, expected):
        raise ParamsError(f"{where}: expected {expected.__name__}, found {value!r}")
    return value


def has_default(field: dataclasses.Field) -> bool:
    """Whether params.yaml may leave the key out."""
    return (field.default is not dataclasses.MISSING
            or field.default_factory is not dataclasses.MISSING)


def key_path(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)
