"""The JSON Schema of params.yaml, generated from the dataclasses of `lifecycle.config.params`
(`lifecycle check --write-schema` writes params.schema.json; editors validate against it)."""

import dataclasses
import datetime
import types
import typing
from typing import Any, Literal

from lifecycle.config.params import (
    MAX_BOOTSTRAP_RESAMPLES,
    MAX_CV_FOLDS,
    MAX_IMPORTANCE_REPEATS,
    MAX_SAMPLE_FRACTION,
    MAX_SEED,
    MAX_TUNING_CANDIDATES,
    METRIC_NAMES,
    METRIC_RANGES,
    MIN_TUNING_ROWS,
    MODEL_NAMES,
    Params,
    Section,
)
from lifecycle.config.typed import has_default, key_path
from lifecycle.core import extensions

SCHEMA_FILE = "params.schema.json"

# What the types alone do not say: names the registries allow (the models' are `_models`) and
# the ranges the `check` methods enforce (tests/unit/test_config.py checks that parse refuses a
# value beyond each bound).
_SCHEMA_EXTRA: dict[str, dict[str, Any]] = {
    "seed": {"minimum": 0, "maximum": MAX_SEED},
    "problem.primary_metric": {"enum": list(dict.fromkeys(
        name for names in METRIC_NAMES.values() for name in names))},
    "source.sample_fraction": {"exclusiveMinimum": 0, "maximum": MAX_SAMPLE_FRACTION},
    "split.test_fraction": {"exclusiveMinimum": 0, "exclusiveMaximum": 1},
    "split.current_fraction": {"minimum": 0, "exclusiveMaximum": 1},
    "features.min_category_count": {"minimum": 1},
    "cleaning.outlier_iqr_factor": {"exclusiveMinimum": 0},
    "cleaning.category_aliases": {"additionalProperties": {"type": "string"}},
    "train.cv_folds": {"minimum": 2, "maximum": MAX_CV_FOLDS},
    "tuning.candidates": {"minimum": 2, "maximum": MAX_TUNING_CANDIDATES},
    "tuning.max_rows": {"minimum": MIN_TUNING_ROWS},
    "evaluate.decision_threshold": {"exclusiveMinimum": 0, "exclusiveMaximum": 1},
    "evaluate.importance_rows": {"minimum": 1},
    "evaluate.importance_repeats": {"minimum": 1, "maximum": MAX_IMPORTANCE_REPEATS},
    "evaluate.bootstrap_resamples": {"minimum": 10, "maximum": MAX_BOOTSTRAP_RESAMPLES},
    "criteria.max_shared_test_rows": {"minimum": 0, "maximum": 1},
    "criteria.max_slice_gap": {"minimum": 0},
    "criteria.max_cv_shortfall": {"minimum": 0},
    **{f"monitor.{name}": {"exclusiveMinimum": 0, "maximum": 1}
       for name in ("p_value", "jensen_shannon", "missing_share", "drifted_feature_share")},
    **{f"monitor.{name}": {"exclusiveMinimum": 0} for name in ("wasserstein", "psi", "decay")},
    "monitor.small_sample_rows": {"minimum": 1},
    # Each section of `extensions:` maps a name to an import path package.module:name.
    **{f"extensions.{kind}": {
        "propertyNames": {"pattern": extensions.NAME.pattern},
        "additionalProperties": {"type": "string", "pattern": extensions.IMPORT_PATH.pattern}}
       for kind in extensions.KINDS},
}


def _models(names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """What names a model: train.model and the keys of the blocks of models' settings."""
    return {
        "train.model": {"enum": list(names)},
        "train.hyperparameters": {
            "properties": {name: {"type": "object"} for name in names},
            "additionalProperties": False},
        "tuning.space": {
            "properties": {name: {"type": "object",
                                  "additionalProperties": {"type": "array", "minItems": 1}}
                           for name in names},
            "additionalProperties": False},
    }


def _metric_thresholds() -> dict[str, Any]:
    properties = {}
    for metric, (low, high) in METRIC_RANGES.items():
        bounds = {"minimum": low, "maximum": high}
        properties[metric] = {"type": "number",
                              **{key: value for key, value in bounds.items() if value is not None}}
    return {"properties": properties, "additionalProperties": False}


_SCHEMA_EXTRA["criteria.minimum"] = _SCHEMA_EXTRA["criteria.maximum"] = _metric_thresholds()


def json_schema(own_models: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON Schema of params.yaml: every section and key of the dataclasses, no other key
    (`additionalProperties: false`), the choices and ranges above, and as models those of the
    registry and `own_models` (a project's extensions.models). The checks across keys (a
    metric of the task, a column of the contract) are `lifecycle check`'s."""
    extra = {**_SCHEMA_EXTRA, **_models((*MODEL_NAMES, *own_models))}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "params.yaml of the ML lifecycle template",
        "description": "Generated from lifecycle.config.params by `lifecycle check "
                       "--write-schema`; do not edit by hand.",
        **_schema_of(Params, "", extra),
    }


def _schema_of(expected: Any, where: str, extra: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if isinstance(expected, type) and issubclass(expected, Section):
        hints = typing.get_type_hints(expected)
        fields = dataclasses.fields(expected)
        schema: dict[str, Any] = {"type": "object"}
        own_doc = expected.__doc__ or ""
        if own_doc and not own_doc.startswith(f"{expected.__name__}("):  # not dataclass's
            schema["description"] = " ".join(own_doc.split())
        schema["properties"] = {
            field.name: _schema_of(hints[field.name], key_path(where, field.name), extra)
            for field in fields}
        schema["required"] = [field.name for field in fields if not has_default(field)]
        schema["additionalProperties"] = False
        return schema
    origin = typing.get_origin(expected)
    if origin in (types.UnionType, typing.Union):
        (inner,) = [arg for arg in typing.get_args(expected) if arg is not type(None)]
        return {"anyOf": [_schema_of(inner, where, extra), {"type": "null"}]}
    if origin is Literal:
        schema = {"enum": list(typing.get_args(expected))}
    elif origin is list:
        schema = {"type": "array", "items": {"type": "string"}}
    elif origin is dict:
        _, item_type = typing.get_args(expected)
        schema = {"type": "object"}
        if item_type is not Any:
            schema["additionalProperties"] = _schema_of(item_type, where, extra)
    else:
        schema = {str: {"type": "string"}, int: {"type": "integer"},
                  float: {"type": "number"}, bool: {"type": "boolean"},
                  datetime.date: {"type": "string", "format": "date"}}[expected]
    return {**schema, **extra.get(where, {})}


def schema_text(own_models: tuple[str, ...] = ()) -> str:
    import json

    return json.dumps(json_schema(own_models), indent=2) + "\n"
