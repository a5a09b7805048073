"""Converters for two of scikit-learn's own steps, replacing skl2onnx's: SimpleImputer with its
missing indicators (skl2onnx's drops them) and OrdinalEncoder with infrequent levels (skl2onnx's
pairs codes with the wrong keys)."""

from typing import Any

import numpy as np
from onnx import TensorProto
from skl2onnx import update_registered_converter
from skl2onnx.common.data_types import DoubleTensorType, StringTensorType
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OrdinalEncoder

from lifecycle.deployment.onnx.graph import Graph, same_rows_shape, single_input


def register() -> None:
    update_registered_converter(OrdinalEncoder, "SklearnOrdinalEncoder",
                                same_rows_shape(encoder_width), convert_encoder)
    update_registered_converter(SimpleImputer, "SklearnImputer", imputer_shape, convert_imputer)


# --- SimpleImputer with missing indicators -----------------------------------------------------

def convert_imputer(scope: Any, operator: Any, container: Any) -> None:
    graph = Graph(scope, container)
    imputer = operator.raw_operator
    x = single_input(graph, operator)
    statistics = imputer.statistics_
    if statistics.dtype.kind in "OU":
        # Text: scikit-learn looks for NaN, and a category arrives missing as None (see
        # scoring.category_values), which it leaves for the encoder's missing code; so does
        # this, and "" reaches the encoder as None does.
        graph.output(operator, x)
        return
    missing = graph.op("IsNaN", x)
    filled = graph.op("Where", missing, graph.const(statistics.astype(np.float64)), x)
    kept = kept_columns(imputer)
    parts = [graph.op("Gather", filled, graph.const(kept, TensorProto.INT64), axis=1)]
    if imputer.add_indicator:
        flagged = imputer.indicator_.features_.astype(np.int64)
        parts.append(graph.op("Cast", graph.op("Gather", missing, graph.const(
            flagged, TensorProto.INT64), axis=1), to=TensorProto.DOUBLE))
    graph.output(operator, graph.op("Concat", *parts, axis=1) if len(parts) > 1 else parts[0])


def kept_columns(imputer: SimpleImputer) -> np.ndarray:
    """Columns transform keeps: one all missing in training is dropped unless asked to keep."""
    if imputer.keep_empty_features or imputer.statistics_.dtype.kind in "OU":
        return np.arange(len(imputer.statistics_))
    return np.flatnonzero(~np.isnan(imputer.statistics_))


def imputer_width(imputer: SimpleImputer, inputs: list) -> int:
    indicators = len(imputer.indicator_.features_) if imputer.add_indicator else 0
    return len(kept_columns(imputer)) + indicators


def imputer_shape(operator: Any) -> None:
    rows = operator.inputs[0].get_first_dimension()
    imputer = operator.raw_operator
    kind = StringTensorType if imputer.statistics_.dtype.kind in "OU" else DoubleTensorType
    operator.outputs[0].type = kind([rows, imputer_width(imputer, operator.inputs)])


# --- OrdinalEncoder with infrequent levels -----------------------------------------------------

def convert_encoder(scope: Any, operator: Any, container: Any) -> None:
    graph = Graph(scope, container)
    encoder = operator.raw_operator
    x = single_input(graph, operator)
    columns = []
    for position, categories in enumerate(encoder.categories_):
        keys, codes = category_codes(encoder, position, categories)
        coded = graph.op("LabelEncoder", graph.column(x, position), domain="ai.onnx.ml",
                         version=2, keys_strings=keys, values_floats=codes,
                         default_float=float(encoder.unknown_value))
        columns.append(graph.op("Cast", coded, to=TensorProto.DOUBLE))
    graph.output(operator, graph.op("Concat", *columns, axis=1))


def category_codes(encoder: Any, position: int,
                   categories: np.ndarray) -> tuple[list[str], list[float]]:
    """Each category's text and the code transform gives it (infrequent levels share one);
    "" (a missing category) gets the missing code."""
    mapping = encoder._default_to_infrequent_mappings[position] if getattr(
        encoder, "_infrequent_enabled", False) else None
    codes = np.arange(len(categories)) if mapping is None else np.asarray(mapping)
    # A missing level, when training had one, is the last category and has no mapped code.
    pairs = {category: float(code) for category, code in zip(categories, codes, strict=False)
             if isinstance(category, str)}
    pairs.setdefault("", float(encoder.encoded_missing_value))
    return list(pairs), list(pairs.values())


def encoder_width(encoder: Any, inputs: list) -> int:
    return len(encoder.categories_)

