"""What /predict computes for validated rows (dicts of field values), by the same functions as
batch scoring, so both agree row for row: the skops pipeline takes one DataFrame typed as batch
scoring parses its input; the ONNX runtime takes the rows as arrays, with no DataFrame per
request."""

from collections.abc import Callable
from typing import Any

import pandas as pd

from lifecycle.config import contract
from lifecycle.deployment import frames
from lifecycle.deployment.onnx import runtime as onnx_runtime

# Validated values as model input columns, typed as batch scoring parses them (missing values as
# NaN, NaT and None).
FRAME_TYPES = {"numeric": "float64", "datetime": "datetime64[us]", "text": object,
               "categorical": object}


def row_predictor(model: object, rules: contract.Contract,
                  threshold: float | None) -> Callable[[list[dict]], dict]:
    """The answer's predictions (and probabilities) for validated rows, from either runtime."""
    if isinstance(model, onnx_runtime.OnnxModel):
        return lambda records: array_predictions(model, records, threshold)
    return lambda records: prediction_body(
        frames.predict_frame(model, instance_frame(records, rules), threshold))


def instance_frame(records: list[dict], rules: contract.Contract) -> pd.DataFrame:
    """Validated instances as the model's input columns, typed as batch scoring parses them."""
    return pd.DataFrame({name: pd.Series([record[name] for record in records],
                                         dtype=FRAME_TYPES[column.type])
                         for name, column in rules.columns.items()})


def array_predictions(model: onnx_runtime.OnnxModel, records: list[dict],
                      threshold: float | None) -> dict[str, Any]:
    """The body `prediction_body` gives, from the ONNX runtime's arrays (no DataFrame)."""
    inputs = model.inputs_from_records(records)
    if not hasattr(model, "predict_proba"):
        return {"predictions": model.predict(inputs).tolist()}
    probability = model.predict_proba(inputs)
    classes = model.classes_
    names = [str(c) for c in classes]
    return {"predictions": frames.class_labels(probability, classes, threshold).tolist(),
            "probabilities": [dict(zip(names, map(float, row), strict=True))
                              for row in probability]}


def prediction_body(result: pd.DataFrame) -> dict[str, Any]:
    body: dict[str, Any] = {"predictions": result["prediction"].tolist()}
    probability_columns = [c for c in result if c.startswith("probability_")]
    if probability_columns:
        body["probabilities"] = [
            {column.removeprefix("probability_"): float(value) for column, value in row.items()}
            for row in result[probability_columns].to_dict(orient="records")
        ]
    return body
