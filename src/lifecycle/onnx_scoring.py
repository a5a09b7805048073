"""Scoring with the ONNX file alone: numpy, pandas and onnxruntime, never scikit-learn or skops.

The file describes itself (task, classes, decision threshold, each input's kind) in its metadata,
so a model loaded here answers like the scikit-learn pipeline (`feature_names_in_`, `classes_`,
`predict_proba` or `predict`) and `scoring.predict_frame` serves both. Inputs are converted as
onnx_export expects: datetimes to seconds since 1970 of their wall-clock time, missing categories
to "", and categories spelt as the pipeline spells them (whitespace and case, by the rules the
file names: the graph's own text operators differ from Python's).

    python -m lifecycle.onnx_scoring models/model.onnx new_rows.csv scored.csv

scores a CSV or parquet table leniently (a value that does not parse scores as missing), chunk by
chunk, into a new file, with batch scoring's rule for outputs; for the data contract's row-by-row
checks use `lifecycle predict --runtime onnx`.
"""

import datetime
import json
import math
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pandas as pd

from lifecycle import errors, files, scoring, spelling, tables  # none imports scikit-learn
from lifecycle.errors import LifecycleError

METADATA_KEY = "lifecycle"  # the metadata entry holding the file's description
EPOCH = datetime.datetime(1970, 1, 1)
NUMBER_KINDS = ("numeric", "datetime")
Speller = Callable[[str], str]


class OnnxModel:
    """One ONNX file, answering as the pipeline it was exported from."""

    def __init__(self, session: onnxruntime.InferenceSession, description: dict,
                 reloaded: tuple = ()) -> None:
        self.session, self.description = session, description
        self.reloaded = reloaded  # load's arguments, to open the file again elsewhere
        self.kinds: dict[str, str] = description["inputs"]
        self.feature_names_in_ = np.asarray(list(self.kinds), dtype=object)
        self.task: str = description["task"]
        self.decision_threshold: float | None = description.get("decision_threshold")
        # A file exported before spelling was described has none: its graph spells alone.
        self.spellers = {name: speller(**rules)
                         for name, rules in description.get("spelling", {}).items()}

    def __reduce__(self) -> tuple:
        # A session cannot be copied to another process (a Dask worker): it is opened anew
        # there from the file's bytes.
        return load, self.reloaded

    def inputs(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """A [rows, 1] array per input column of a DataFrame."""
        return {name: column_array(frame[name], kind, self.spellers.get(name))
                for name, kind in self.kinds.items()}

    def inputs_from_records(self, records: list[dict]) -> dict[str, np.ndarray]:
        """A [rows, 1] array per input column of rows given as dicts, without pandas: a
        request's few rows cost microseconds, not a DataFrame's milliseconds."""
        return {name: record_array([record.get(name) for record in records], kind,
                                   self.spellers.get(name))
                for name, kind in self.kinds.items()}

    def outputs(self, X: pd.DataFrame | Mapping[str, np.ndarray]) -> list[np.ndarray]:
        feeds = X if isinstance(X, Mapping) else self.inputs(X)
        return self.session.run(None, feeds)


class OnnxClassifier(OnnxModel):
    def __init__(self, session: onnxruntime.InferenceSession, description: dict,
                 reloaded: tuple = ()) -> None:
        super().__init__(session, description, reloaded)
        self.classes_ = np.asarray(self.description["classes"])

    def predict_proba(self, X: pd.DataFrame | Mapping[str, np.ndarray]) -> np.ndarray:
        return self.outputs(X)[1]

    def predict(self, X: pd.DataFrame | Mapping[str, np.ndarray]) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class OnnxRegressor(OnnxModel):
    def predict(self, X: pd.DataFrame | Mapping[str, np.ndarray]) -> np.ndarray:
        return self.outputs(X)[0].ravel()


def load(source: str | Path | bytes, threads: int = 0) -> OnnxModel:
    """The model in an ONNX file (or its bytes) written by onnx_export, answering through
    onnxruntime with `threads` threads (0: onnxruntime's default)."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    data = model_bytes(source)
    session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    metadata = session.get_modelmeta().custom_metadata_map
    if METADATA_KEY not in metadata:
        raise LifecycleError("not a model exported by `lifecycle` (no description in its "
                         "metadata); export it with the export stage")
    description = json.loads(metadata[METADATA_KEY])
    kind = OnnxRegressor if description["task"] == "regression" else OnnxClassifier
    return kind(session, description, (data, threads))


def model_bytes(source: str | Path | bytes) -> bytes:
    return source if isinstance(source, bytes) else Path(source).read_bytes()


def column_array(values: pd.Series, kind: str, speller: Speller | None = None) -> np.ndarray:
    if kind == "datetime":
        moments = pd.to_datetime(values, errors="coerce")
        if moments.dt.tz is not None:  # the wall-clock time, as batch scoring reads it
            moments = moments.dt.tz_localize(None)
        seconds = (moments - pd.Timestamp(EPOCH)) / pd.Timedelta(seconds=1)
        return seconds.to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1, 1)
    if kind == "numeric":
        numbers = pd.to_numeric(values, errors="coerce")
        return numbers.to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1, 1)
    return category_array(values, speller)


def record_array(values: list, kind: str, speller: Speller | None = None) -> np.ndarray:
    if kind == "datetime":
        values = [math.nan if value is None else (value - EPOCH).total_seconds()
                  for value in values]
    if kind in NUMBER_KINDS:
        return np.asarray([math.nan if v is None else v for v in values],
                          dtype=np.float64).reshape(-1, 1)
    return category_array(values, speller)


def category_array(values: Iterable, speller: Speller | None) -> np.ndarray:
    if speller is None:
        texts = [category_text(value) for value in values]
    else:
        texts = [speller(category_text(value)) for value in values]
    return np.asarray(texts, dtype=object).reshape(-1, 1)


def speller(strip_whitespace: bool, case: str) -> Speller:
    """spelling.respell with one input's rules (a closure: twice as fast as a partial with
    keywords, and the API spells every category of every request)."""
    return lambda text: spelling.respell(text, strip_whitespace, case)


def category_text(value: Any) -> str:
    """A category as the encoder compares it: "" when missing, 1.0 as "1"."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return scoring.category_text(value)


def score_table(model: OnnxModel, frame: pd.DataFrame) -> pd.DataFrame:
    """The table's columns, then the prediction and, for a classifier, each class's
    probability; a binary label uses the decision threshold the file carries."""
    missing = [name for name in model.kinds if name not in frame]
    if missing:
        raise LifecycleError(f"missing column(s) the model needs: {', '.join(missing)}")
    predictions = scoring.predict_frame(model, frame, model.decision_threshold or 0.5)
    return scoring.with_output_columns(pd.DataFrame(index=frame.index), frame, predictions)


def score_file(model_path: Path, source: Path, output: Path) -> None:
    """Score a CSV or parquet table chunk by chunk into a new CSV or parquet file, refused
    before any work if it could destroy data (files.check_output) and written atomically."""
    files.check_output(output, inputs=(model_path, source))
    model = load(model_path)
    with files.atomic_path(output) as partial:
        writer = tables.TableWriter(partial, output.suffix.lower())
        try:
            for chunk in tables.table_chunks(source, scoring.CHUNK_ROWS):
                writer.write(score_table(model, chunk))
        finally:
            writer.close()


def main(arguments: list[str]) -> int:
    if len(arguments) != 3:
        print("usage: python -m lifecycle.onnx_scoring MODEL.onnx INPUT.csv|.parquet "
              "OUTPUT.csv|.parquet", file=sys.stderr)
        return 2
    model_path, source, output = map(Path, arguments)
    return errors.run_command("onnx_scoring", lambda: score_file(model_path, source, output))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
