"""Scoring with the ONNX file alone: numpy, pandas and onnxruntime, never scikit-learn or skops.

The file describes itself (task, classes, decision threshold, each input's kind) in its metadata,
so a model loaded here answers like the scikit-learn pipeline (`feature_names_in_`, `classes_`,
`predict_proba` or `predict`) and `frames.predict_frame` serves both. Inputs are converted as
the export expects: datetimes to seconds since 1970 of their wall-clock time, missing categories
to "", and categories spelt as the pipeline spells them (whitespace and case, by the rules the
file names: the graph's own text operators differ from Python's).

    python -m lifecycle.deployment.onnx.runtime models/model.onnx new_rows.csv scored.csv

scores a CSV or parquet table leniently (a value that does not parse scores as missing), chunk by
chunk, into a new file, with batch scoring's rule for outputs and its bounds on the table (a
regular file of at most `tables.MAX_COLUMNS` columns); for the data contract's row-by-row checks
use `lifecycle predict --runtime onnx`. The model is read only from a regular file of at most
MAX_MODEL_BYTES, and one that is damaged, foreign or badly described is one error naming it.
"""

import contextlib
import datetime
import io
import json
import math
import numbers
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import pandas as pd

from lifecycle.core import cleaning, errors, files, spelling, tables
from lifecycle.core.errors import LifecycleError
from lifecycle.deployment import frames  # none of these imports scikit-learn

METADATA_KEY = "lifecycle"  # the metadata entry holding the file's description
EPOCH = datetime.datetime(1970, 1, 1)
NUMBER_KINDS = ("numeric", "datetime")
Speller = Callable[[str], str]
KINDS = (*NUMBER_KINDS, "categorical", "text")
TASKS = ("binary", "multiclass", "regression")
# The most bytes an ONNX file may hold to be read: protobuf caps a model at 2 GiB, a model of
# this project takes a few MB (the example's random forest some tens), and loading holds the
# bytes twice (the file's and the session's).
MAX_MODEL_BYTES = 512 * 2**20
FATAL = 4  # onnxruntime's log severity: log only what ends the process
REEXPORT = "export it again with `dvc repro` (or fetch it with `dvc pull`)"


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
    """The model in an ONNX file (or its bytes) written by the export, answering through
    onnxruntime with `threads` threads (0: onnxruntime's default). A file that is missing,
    too large, damaged or not such a model is one error naming it."""
    name = "the ONNX model" if isinstance(source, bytes) else str(source)
    data = model_bytes(source, name)
    session, metadata, graph_inputs = open_session(data, threads, name)
    description = read_description(metadata, graph_inputs, name)
    kind = OnnxRegressor if description["task"] == "regression" else OnnxClassifier
    return kind(session, description, (data, threads))


def model_bytes(source: str | Path | bytes, name: str) -> bytes:
    if isinstance(source, bytes):
        return source
    if not Path(source).exists():
        raise LifecycleError(f"{name}: not found; give the path of the ONNX file the export "
                             f"stage wrote")
    return files.read_regular(source, MAX_MODEL_BYTES, name, fix="an ONNX model of this "
                              "project is far smaller; check the path (the cap is "
                              "MAX_MODEL_BYTES in lifecycle/deployment/onnx/runtime.py)")


def open_session(data: bytes, threads: int,
                 name: str) -> tuple[onnxruntime.InferenceSession, dict[str, str], list[str]]:
    """A session on the bytes, the file's metadata and the graph's input names."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = FATAL  # its errors are raised, and said once, below
    try:
        # onnxruntime prints a banner on stdout before retrying a failed load with the same
        # provider: the error below says it in one line.
        with contextlib.redirect_stdout(io.StringIO()):
            session = onnxruntime.InferenceSession(data, options,
                                                   providers=["CPUExecutionProvider"])
        # Text in a damaged file can be bytes that are not UTF-8.
        return (session, session.get_modelmeta().custom_metadata_map,
                [node.name for node in session.get_inputs()])
    except Exception as error:  # onnxruntime has an exception type per failure, none shared
        reason = (str(error).splitlines() or [""])[0][:200]
        raise LifecycleError(f"{name}: not a readable ONNX model ({type(error).__name__}: "
                             f"{reason}); {REEXPORT}") from None


def read_description(metadata: dict[str, str], graph_inputs: list[str], name: str) -> dict:
    """The description the export stored in the file's metadata, checked so that every use of
    it here holds: a file cut or edited by hand is refused, never half-loaded."""
    if METADATA_KEY not in metadata:
        raise LifecycleError(f"{name}: not a model exported by `lifecycle` (no description in "
                             f"its metadata); export it with the export stage")
    try:
        description = json.loads(metadata[METADATA_KEY])
    except ValueError as error:
        raise LifecycleError(f"{name}: its description (metadata {METADATA_KEY!r}) is not "
                             f"valid JSON ({error}); {REEXPORT}") from None
    problem = description_problem(description, graph_inputs)
    if problem:
        raise LifecycleError(f"{name}: its description (metadata {METADATA_KEY!r}) {problem}; "
                             f"{REEXPORT}")
    return description


def description_problem(description: Any, graph_inputs: list[str]) -> str | None:
    """What makes a file's description unusable, or None."""
    if not isinstance(description, dict):
        return "is not a JSON object"
    if description.get("task") not in TASKS:
        return f"names no task (one of {', '.join(TASKS)})"
    inputs = description.get("inputs")
    if not isinstance(inputs, dict) or not all(kind in KINDS for kind in inputs.values()):
        return f"gives no kind (one of {', '.join(KINDS)}) for each input"
    if sorted(inputs) != sorted(graph_inputs):
        return "names other inputs than the model's graph"
    classes = description.get("classes")
    if description["task"] != "regression" and not (isinstance(classes, list) and classes):
        return "lists no classes"
    threshold = description.get("decision_threshold")
    if threshold is not None and not (isinstance(threshold, numbers.Real)
                                      and 0 <= threshold <= 1):
        return "has a decision threshold that is not a number in [0, 1]"
    return None


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
    if isinstance(values, pd.Series) and values.dtype == "str":
        # A batch's text column: each distinct category spelled once.
        spell = speller or (lambda text: text)
        texts = cleaning.each_distinct(values, lambda value: spell(category_text(value)))
        array = texts.to_numpy(dtype=object)
        array[texts.isna().to_numpy()] = spell(category_text(None))
        return array.reshape(-1, 1)
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
    return frames.category_text(value)


def score_table(model: OnnxModel, frame: pd.DataFrame) -> pd.DataFrame:
    """The table's columns, then the prediction and, for a classifier, each class's
    probability; a binary label uses the decision threshold the file carries."""
    missing = [name for name in model.kinds if name not in frame]
    if missing:
        raise LifecycleError(f"missing column(s) the model needs: {', '.join(missing)}")
    predictions = frames.predict_frame(model, frame, model.decision_threshold or 0.5)
    return frames.with_output_columns(pd.DataFrame(index=frame.index), frame, predictions)


def score_file(model_path: Path, source: Path, output: Path) -> None:
    """Score a CSV or parquet table chunk by chunk into a new CSV or parquet file, refused
    before any work if it could destroy data (files.check_output) and written atomically."""
    files.check_output(output, inputs=(model_path, source))
    model = load(model_path)
    with files.atomic_path(output) as partial:
        writer = tables.TableWriter(partial, output.suffix.lower())
        try:
            for chunk in tables.table_chunks(source, frames.CHUNK_ROWS):
                writer.write(score_table(model, chunk))
        finally:
            writer.close()


def main(arguments: list[str]) -> int:
    if len(arguments) != 3:
        print("usage: python -m lifecycle.deployment.onnx.runtime MODEL.onnx INPUT.csv|.parquet "
              "OUTPUT.csv|.parquet", file=sys.stderr)
        return 2
    model_path, source, output = map(Path, arguments)
    return errors.run_command("onnx-runtime", lambda: score_file(model_path, source, output))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
