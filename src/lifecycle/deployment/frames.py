"""What every way of scoring shares, with pandas and numpy only (never scikit-learn, so the ONNX
runtime can use it alone): a model's answers as a DataFrame, the output's columns beside the
user's, and a category value as text."""

import numbers

import numpy as np
import pandas as pd

CHUNK_ROWS = 50_000  # rows a batch file is read and scored at a time


def category_text(value: object) -> str:
    """A category value as text: 1.0 as '1' (a column of whole numbers with a gap reads as
    floats), 2.5 as '2.5'."""
    if (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and float(value).is_integer()):
        return str(int(value))
    return str(value)


def predict_frame(model: object, frame: pd.DataFrame, threshold: float | None) -> pd.DataFrame:
    """Predictions, and class probabilities for a classifier, one row per input row.

    A binary classifier's label uses the decision threshold from params.yaml, as evaluation does.
    """
    inputs = frame[list(model.feature_names_in_)]
    if inputs.empty:  # every row of a chunk rejected: scikit-learn refuses zero rows
        return empty_predictions(model, frame.index)
    if not hasattr(model, "predict_proba"):
        return pd.DataFrame({"prediction": model.predict(inputs)}, index=frame.index)
    probability = model.predict_proba(inputs)
    classes = model.classes_
    label = class_labels(probability, classes, threshold)
    columns = {f"probability_{c}": probability[:, i] for i, c in enumerate(classes)}
    return pd.DataFrame({"prediction": label, **columns}, index=frame.index)


def class_labels(probability: np.ndarray, classes: np.ndarray,
                 threshold: float | None) -> np.ndarray:
    """A binary classifier's label at the decision threshold; otherwise the likeliest class."""
    if len(classes) == 2:
        return np.where(probability[:, 1] >= threshold, classes[1], classes[0])
    return classes[probability.argmax(axis=1)]


def empty_predictions(model: object, index: pd.Index) -> pd.DataFrame:
    """The columns and types `predict_frame` gives, with no rows."""
    classes = getattr(model, "classes_", None)
    if not hasattr(model, "predict_proba") or classes is None:
        return pd.DataFrame({"prediction": pd.Series(dtype="float64")}, index=index)
    columns = {f"probability_{c}": pd.Series(dtype="float64") for c in classes}
    return pd.DataFrame({"prediction": pd.Series(dtype=classes.dtype), **columns}, index=index)


def with_output_columns(positions: pd.DataFrame, user: pd.DataFrame,
                        computed: pd.DataFrame) -> pd.DataFrame:
    """Positions, the user's columns, then what was computed; a user column whose name an output
    column takes is renamed `<name>_input` (again until free) rather than overwritten."""
    taken = {*positions.columns, *computed.columns}
    renamed = {}
    for name in user.columns:
        new = name
        while new in taken:
            new = f"{new}_input"
        taken.add(new)
        renamed[name] = new
    return pd.concat([positions, user.rename(columns=renamed), computed], axis=1)
