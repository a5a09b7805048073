"""The prediction log of `lifecycle serve --log-predictions FOLDER`: one JSON line per row
answered, with when, the request's id, the model file's identity, the validated inputs and the
answer. Off unless asked for; when off, nothing of a request is kept.

Every worker process appends whole requests under an exclusive lock on the folder's marker file,
and rotates by size (predictions.jsonl, then predictions.1.jsonl ... predictions.N.jsonl, the
oldest dropped), so the folder never holds much more than (N + 1) x the size cap.
`lifecycle monitor --current FOLDER` reads the log back as its batch.
"""

import dataclasses
import fcntl
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lifecycle.core import files
from lifecycle.core.errors import LifecycleError

LOG_NAME = "predictions.jsonl"
# Marks a folder as a prediction log's (serve appends there and rotates its files only where it
# finds it) and is the lock every writer takes.
MARKER = ".lifecycle-prediction-log"
MAX_MEGABYTES = 10_000  # the largest size cap per file accepted
MAX_FILES = 100  # the most rotated files kept
# The most bytes of log read back as one batch: a reader's memory grows with them.
MAX_READ_BYTES = 2 * 2**30


@dataclasses.dataclass(frozen=True)
class LogSettings:
    """Where the log goes, the size at which a file is rotated, and how many rotated files are
    kept besides the one written."""

    folder: str
    max_megabytes: float = 100
    files: int = 5

    def check(self) -> None:
        if not 0 < self.max_megabytes <= MAX_MEGABYTES:
            raise LifecycleError(f"--log-max-megabytes {self.max_megabytes:g}: give a size in "
                                 f"(0, {MAX_MEGABYTES:,}]")
        if not 0 <= self.files <= MAX_FILES:
            raise LifecycleError(f"--log-files {self.files}: give a count in [0, {MAX_FILES}]")

    @property
    def max_bytes(self) -> int:
        return int(self.max_megabytes * 2**20)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "LogSettings":
        return cls(**json.loads(text))


def open_folder(folder: str | os.PathLike, inputs: tuple = ()) -> Path:
    """The log's folder, checked as any output a user names (never the project, an input or a
    file of the project, nor a folder holding other files) and marked as the log's. An earlier
    log's folder is taken as it is: the log goes on there."""
    target = files.check_output(folder, inputs=inputs, folder=True, owned=MARKER,
                                option="--log-predictions")
    target.mkdir(parents=True, exist_ok=True)
    (target / MARKER).touch()
    return target


def is_log(path: str | os.PathLike) -> bool:
    return (Path(path) / MARKER).is_file()


class PredictionLog:
    """Appends the rows of each answered request to the log in `settings.folder` (made by
    `open_folder`). `model` names the model that answered, in every line."""

    def __init__(self, settings: LogSettings, model: dict) -> None:
        self.folder, self.settings, self.model = Path(settings.folder), settings, model

    def write(self, records: list[dict], answer: dict) -> str:
        """Append one line per row of a request; returns the request's id."""
        request = uuid.uuid4().hex
        data = "".join(log_lines(request, self.model, records, answer)).encode()
        self.append(data)
        return request

    def append(self, data: bytes) -> None:
        with open(self.folder / MARKER, "ab") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            current = self.folder / LOG_NAME
            size = current.stat().st_size if current.exists() else 0
            if size and size + len(data) > self.settings.max_bytes:
                self.rotate()
            with open(current, "ab") as log:
                log.write(data)

    def rotate(self) -> None:
        if not self.settings.files:
            os.unlink(self.folder / LOG_NAME)
            return
        names = [LOG_NAME, *(rotated_name(n) for n in range(1, self.settings.files + 1))]
        for older, newer in zip(reversed(names[1:]), reversed(names[:-1]), strict=True):
            if (self.folder / newer).exists():
                os.replace(self.folder / newer, self.folder / older)  # drops the oldest


def rotated_name(number: int) -> str:
    return f"predictions.{number}.jsonl"


def log_lines(request: str, model: dict, records: list[dict], answer: dict) -> list[str]:
    """A request's rows as JSON lines: its inputs as validated and its answer, row by row."""
    when = datetime.now(UTC).isoformat(timespec="milliseconds")
    probabilities = answer.get("probabilities") or [None] * len(records)
    return [json.dumps(files.finite({
        "time": when, "request": request, "model": model, "inputs": record,
        "prediction": prediction,
        **({"probabilities": probability} if probability is not None else {})}),
        default=_text, ensure_ascii=False) + "\n"
        for record, prediction, probability in zip(records, answer["predictions"],
                                                   probabilities, strict=True)]


def _text(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def log_files(folder: str | os.PathLike) -> list[Path]:
    """The log's files, oldest first."""
    folder = Path(folder)
    numbers = sorted((int(path.name.split(".")[1]) for path in folder.glob("predictions.*.jsonl")
                      if path.name.split(".")[1].isdecimal()), reverse=True)
    found = [folder / rotated_name(n) for n in numbers]
    return [*found, folder / LOG_NAME] if (folder / LOG_NAME).exists() else found


def read_inputs(folder: str | os.PathLike) -> Any:
    """The inputs of every row in the log, oldest first, as one frame (of text where the JSON
    held dates: the data contract's types are applied by the reader). A line cut short by a
    writer that was killed is left out."""
    import pandas as pd

    rows, left = [], MAX_READ_BYTES
    for path in log_files(folder):
        data = files.read_regular(path, left, fix="read a shorter log: keep fewer files "
                                                   "(--log-files) or move older ones away")
        left -= len(data)
        lines = data.split(b"\n")
        for number, line in enumerate(lines[:-1], start=1):  # the last: empty or cut short
            try:
                inputs = json.loads(line)["inputs"]
                if not isinstance(inputs, dict):
                    raise TypeError
            except (ValueError, KeyError, TypeError):
                raise LifecycleError(f"{path}: line {number} is not a line of the prediction "
                                     f"log; remove it, or give a folder of "
                                     f"`lifecycle serve --log-predictions`") from None
            rows.append(inputs)
    if not rows:
        raise LifecycleError(f"{folder}: the prediction log holds no rows yet; send requests to "
                             f"`lifecycle serve --log-predictions {folder}` first")
    return pd.DataFrame.from_records(rows)
