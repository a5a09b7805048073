"""`lifecycle init`: point the template at your own table.

Reads the table (CSV, parquet or a SQL query), infers the data contract and the problem, and
writes `data/contract.yaml`, the problem/source/split sections of params.yaml and the ingest
stage's dependencies, the plots and the artifacts in dvc.yaml. Columns that look like
identifiers or leakage are excluded, and it says so. The judgement the example's params carry
(decision threshold, slices, duplicate rows, criteria) is derived from the table, never
inherited, and printed with its reason. Only the lines init means to change differ. Nothing is
written unless everything succeeds: a file from outside the project is copied into data/source/
last, and never over a different file of the same name.
"""

import dataclasses
import datetime
import filecmp
import json
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from lifecycle import (
    config,
    contract,
    curation,
    features,
    files,
    formatting,
    leakage,
    paths,
    sources,
    splits,
    yaml_edits,
)
from lifecycle.contract import Column, Contract
from lifecycle.errors import LifecycleError

PRIMARY_METRIC = {"binary": "roc_auc", "multiclass": "macro_f1", "regression": "rmse"}
MAX_LISTED_CATEGORIES = 20
LEAKAGE_SCORE = 0.98  # one column that predicts the target this well is too good to be true
CHECK_ROWS = 5000     # rows sampled to infer a column's type
# A classifier fits a model per class (gradient boosting: trees per class per iteration), so a
# target with more classes is an identifier or a quantity, and training would run for hours.
MAX_CLASSES = 100
SOURCE_DIR = Path("data/source")
WRITES = ("params.yaml", "dvc.yaml", paths.CONTRACT)  # never the source it reads
INGEST_PARAMS = {
    "nycflights13": ["source.late_threshold_minutes"],
    "csv": ["source.path"], "parquet": ["source.path"], "sql": ["source.query", "source.url"],
}
# Keys only some problems use (optional in config.py): init removes each one it does not set,
# so no key of the example's problem stays in another's params.yaml (nor in dvc.yaml's params).
OPTIONAL_KEYS = {"source": ("path", "url", "query", "late_threshold_minutes"),
                 "evaluate": ("decision_threshold",)}
THRESHOLD_STAGES = ("evaluate", "monitor", "export")  # the stages that read the threshold
PROJECT_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # a slug: also a valid DVC artifact name
TASK_LABELS = {"binary": "binary-classification", "multiclass": "multiclass-classification",
               "regression": "regression"}
# The template's criterion: a test row whose inputs all occur in train is scored on what was
# learned, and more than 1% of them would flatter the metrics.
MAX_SHARED_TEST_ROWS = 0.01
# Above this share of exact duplicate rows, keeping or dropping them moves the metrics: say so.
NOTABLE_DUPLICATE_SHARE = 0.05


# --- inference (pure) ---------------------------------------------------------------------------


def infer_task(target: pd.Series, requested: str | None = None) -> str:
    """binary or multiclass for classes, regression for a measured quantity."""
    values = target.dropna()
    classes = values.nunique()
    if requested == "regression":
        if not pd.api.types.is_numeric_dtype(values):
            raise LifecycleError(f"target {target.name!r} is not numeric; regression needs "
                                 f"numbers (or use --task classification)")
        return "regression"
    if requested is None and pd.api.types.is_float_dtype(values) and classes > 10:
        return "regression"
    if requested is None and pd.api.types.is_integer_dtype(values) and classes > 10:
        return "regression"
    if classes > MAX_CLASSES:
        numeric = pd.api.types.is_numeric_dtype(values)
        raise LifecycleError(f"target {target.name!r} has {classes} classes, more than the "
                             f"{MAX_CLASSES} a classifier here learns; group rare classes"
                             f"{' or use --task regression for a quantity' if numeric else ''}")
    return "binary" if classes <= 2 else "multiclass"


def infer_type(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "categorical"
    if pd.api.types.is_numeric_dtype(values):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(values):
        return "datetime"
    present = values.dropna().astype(str)
    present = present.sample(min(len(present), CHECK_ROWS), random_state=0)  # parsing is slow
    if present.empty:
        return "categorical"
    # A date holds digits (a day, a year): "Jan".."Dec" parse as dates of the year 1 otherwise.
    if pd.to_datetime(present, errors="coerce", format="mixed").notna().mean() > 0.95 \
            and pd.to_numeric(present, errors="coerce").isna().all() \
            and present.str.contains(r"\d").all():
        return "datetime"
    many = present.nunique() > max(50, 0.5 * len(present))
    return "text" if many or present.str.len().mean() > 40 else "categorical"


def identifier_reason(values: pd.Series, type_: str) -> str | None:
    """Why a column looks like an identifier (unique per row, or free text), else None."""
    present = values.dropna()
    if type_ == "text":
        return "free text with a different value in most rows"
    integer_like = pd.api.types.is_integer_dtype(values) or type_ == "categorical"
    # Almost: exact duplicate rows repeat an identifier too.
    if integer_like and len(values) > 10 and present.nunique() >= 0.95 * len(values):
        return "a different value in (almost) every row"
    return None


def infer_contract(table: pd.DataFrame, target: str, task: str, time_column: str | None,
                   leaking: tuple[str, ...] = ()) -> tuple[Contract, dict[str, str]]:
    """A contract for `table` and the comments explaining each flagged column; `leaking` are
    the columns the user says are known only after the outcome."""
    columns, comments = {}, {}
    calendar_taken = time_column is not None  # only one datetime column becomes calendar parts
    for name in table.columns:
        values = table[name]
        type_ = "datetime" if name == time_column else infer_type(values)
        role, note = "feature", None
        if name == target:
            role = "target"
        elif name == time_column:
            role = "timestamp"
        elif name in leaking:
            role, note = "leakage", "known only after the outcome (init --leakage)"
        elif reason := identifier_reason(values, type_):
            role, note = "identifier", f"looks like an identifier: {reason}"
        elif type_ == "datetime" and not calendar_taken:
            calendar_taken = True
        elif type_ == "datetime":
            role, note = "excluded", ("a second datetime column: only features.datetime "
                                      "becomes calendar features")
        elif (score := leakage.column_score(values, table[target], task)) >= LEAKAGE_SCORE:
            role, note = "leakage", (f"looks like leakage: alone it predicts the target with "
                                     f"score {score:.3f}")
        if note:
            comments[name] = f"{note}; excluded from the features (edit role to change)"
        columns[name] = _column_rule(name, values, type_, role, task)
    # An identifier that is unique once exact duplicate rows are gone is the row's key.
    distinct_rows = table.drop_duplicates()
    keys = [name for name in rules_with_role(columns, "identifier")
            if distinct_rows[name].notna().all() and distinct_rows[name].is_unique][:1]
    return Contract(columns, keys), comments


def leaking_columns(given: str | None, table: pd.DataFrame, target: str) -> tuple[str, ...]:
    """The columns of --leakage a,b, each a column of the table other than the target."""
    names = tuple(name.strip() for name in (given or "").split(",") if name.strip())
    for name in names:
        if name == target or name not in table:
            problem = "is the target" if name == target else "is not a column of the table"
            raise LifecycleError(f"init: --leakage {given}: {name!r} {problem}; give the "
                                 f"columns known only after the outcome"
                                 f"{config.did_you_mean(name, table.columns)}")
    return names


def group_leak_warning(table: pd.DataFrame, rules: Contract, target: str,
                       task: str) -> str | None:
    """One line when a group of up to 3 feature columns gives the target away together (a total
    and its parts, a ratio): what they score, and how to exclude them on the user's word."""
    feature_columns = rules.with_role("feature")
    halves = leakage.split_labelled(table[feature_columns], table[target], task)
    if len(feature_columns) < 2 or halves is None:
        return None
    metric = leakage.SINGLE_FEATURE_METRIC[task]
    groups = leakage.feature_group_scores(*halves, task, seed=0)
    found = max(groups, key=lambda record: np.nan_to_num(record[metric]))
    if np.nan_to_num(found[metric]) < LEAKAGE_SCORE:
        return None
    names = ",".join(found["features"])
    return (f"warning: columns {', '.join(found['features'])} together predict {target!r} with "
            f"{metric} {found[metric]:.3f}: a leak spread over columns (a total and its parts, "
            f"a ratio)? If they are known only after the outcome, run init again with "
            f"--leakage {names}; until then evaluate's gate rejects the model "
            f"(criteria.max_feature_group_score; set it to null if they are honest)")


def rules_with_role(columns: dict[str, Column], role: str) -> list[str]:
    return [name for name, column in columns.items() if column.role == role]


def _column_rule(name: str, values: pd.Series, type_: str, role: str, task: str) -> Column:
    rule: dict[str, Any] = {"nullable": bool(values.isna().any()) or role == "target"}
    present = values.dropna()
    if type_ == "numeric" and (role != "target" or task == "regression"):
        rule.update(inferred_bounds(present, role))
    listable = type_ == "categorical" or (role == "target" and task != "regression")
    if listable and 0 < present.nunique() <= MAX_LISTED_CATEGORIES:
        rule["categories"] = sorted({_plain(v) for v in present.unique()}, key=str)
    return Column(name=name, type=type_, role=role, **rule)


def inferred_bounds(present: pd.Series, role: str) -> dict[str, Any]:
    """Soft bounds from the finite values (see contract.inferred_range): the observed range
    widened, or a regression target's sign alone, which its predictions are then clipped to.
    An infinity falls outside any range, soft or hard, so validation.out_of_range decides in
    prepare, where scikit-learn would refuse it later."""
    finite = present[np.isfinite(present.astype("float64"))]
    if finite.empty:
        return {}
    low, high = _plain(finite.min()), _plain(finite.max())
    if role == "target":
        bounds = contract.physical_bounds(low, high)
    else:
        bounds = dict(zip(("min", "max"), contract.inferred_range(low, high), strict=True))
    return {**bounds, "bounds": "soft"} if bounds else {}


def _plain(value: Any) -> Any:
    """numpy scalars as the Python values YAML writes plainly."""
    return value.item() if hasattr(value, "item") else value


def split_settings(table: pd.DataFrame, time_column: str | None) -> dict[str, Any]:
    """Out of time at the 70% and 90% points of the time column, else random 80/20."""
    settings: dict[str, Any] = {"method": "random", "time_column": time_column,
                                "test_start": None, "current_start": None,
                                "test_fraction": 0.2, "current_fraction": 0.0}
    if time_column:
        moment = moments(table[time_column]).dropna()
        test_start, current_start = (moment.quantile(q).date() for q in (0.7, 0.9))
        if not (moment < pd.Timestamp(test_start)).any():
            raise LifecycleError(
                f"init: --time-column {time_column!r} has too few distinct times to split out "
                f"of time ({moment.min()} to {moment.max()}); leave out --time-column for a "
                f"random split")
        if not test_start < current_start:
            current_start = None
        settings.update(method="out_of_time", test_start=test_start.isoformat(),
                        current_start=current_start.isoformat() if current_start else None)
    return settings


def moments(values: pd.Series) -> pd.Series:
    """Times as naive UTC timestamps (NaT where a value is not a time), whatever the offsets."""
    parsed = pd.to_datetime(values, errors="coerce", format="mixed", utc=True)
    return parsed.dt.tz_convert(None)


def check_time_column(table: pd.DataFrame, time_column: str | None, target: str,
                      where: str) -> None:
    """The --time-column exists, is not the target and holds dates or times in every row that
    has a value, as the out-of-time split needs."""
    if time_column is None:
        return
    if time_column == target:
        raise LifecycleError(f"init: --time-column {time_column!r} is the target; give the "
                             f"column that says when each row happened")
    if time_column not in table:
        raise LifecycleError(f"init: --time-column {time_column!r} is not a column of {where}")
    values, column = table[time_column], f"init: --time-column {time_column!r} of {where}"
    present = values.notna()
    if not present.any():
        raise LifecycleError(f"{column} is empty in every row; give a column of dates or times")
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        raise LifecycleError(f"{column} holds numbers, not dates; give a column of dates or "
                             f"times (e.g. 2024-03-31)")
    not_times = present & moments(values).isna()
    if not_times.any():
        example = values[not_times].iloc[0]
        raise LifecycleError(f"{column} does not hold dates: {int(not_times.sum())} of "
                             f"{int(present.sum())} values are not dates or times (e.g. "
                             f"{example!r}); give a column of dates or times")


def positive_class(target: pd.Series) -> Any:
    """The label binary metrics count as positive: the second in sorted order, as scikit-learn
    sorts a classifier's classes and scores the second (see metrics.binary_targets)."""
    labels = np.unique(target.dropna().to_numpy())
    label = _plain(labels[-1])
    return int(label) if isinstance(label, float) and label.is_integer() else label


def project_slug(requested: str | None, location: str) -> str:
    """The project's name (problem.name, the artifacts' names): --name, checked as a slug, or
    the source file's stem made one."""
    if requested is None:
        return re.sub(r"[^a-z0-9]+", "-", Path(location).stem.lower()).strip("-") or "my-problem"
    check_project_name(requested)
    return requested


def check_project_name(requested: str | None) -> None:
    if requested is not None and not PROJECT_NAME.fullmatch(requested):
        raise LifecycleError(f"init: --name {requested!r} is not a slug; use lowercase letters, "
                             f"digits and single hyphens inside, e.g. customer-churn")


# --- judgement derived from the table (pure) ----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Derived:
    """A params.yaml value init chose for this table, why (printed in the summary) and, where
    the template's comment on the key speaks of its own data, the comment that replaces it."""

    key: str  # dotted, e.g. evaluate.decision_threshold
    value: Any
    reason: str
    comment: str | None = None


def derive_decision_threshold(target: pd.Series, positive: Any) -> Derived:
    """The positive class's share: a classifier that scores a row above the base rate flags
    it (the example's 0.3 fits the flights' 22% late, nothing else)."""
    share = float((target.dropna() == positive).mean())
    value = min(max(round(share, 2), 0.01), 0.99)  # a probability strictly inside (0, 1)
    return Derived("evaluate.decision_threshold", value,
                   f"the share of {positive!r} in the table ({formatting.percent(share)}): a "
                   f"row scored above the base rate is predicted {positive!r}",
                   f"the base rate of {positive!r} in the table")


def derive_slice_columns(rules: Contract) -> Derived:
    columns = slice_columns(rules)
    reason = ("the first categorical features with at most 20 levels" if columns
              else "no categorical feature with at most 20 levels: no slices")
    return Derived("evaluate.slice_columns", columns, reason)


def derive_duplicate_row(rules: Contract) -> Derived:
    """drop with a key column (a row repeating another with its key is a true duplicate); warn
    without one (rows sharing every value may be distinct observations)."""
    if rules.keys:
        return Derived(curation.DUPLICATE_ROW_KEY, "drop",
                       f"key column {rules.keys[0]}: a row repeating another, key included, is "
                       f"a true duplicate")
    return Derived(curation.DUPLICATE_ROW_KEY, "warn",
                   "no key column: identical rows may be distinct observations, so they are "
                   "kept, with a warning from prepare")


def duplicate_warning(effect: dict, policy: str) -> str | None:
    """One line when exact duplicate rows are common enough that the policy moves the
    metrics: how many, their share, what dropping them does to the target, how to change it."""
    if effect["share"] <= NOTABLE_DUPLICATE_SHARE:
        return None
    fate = "drops" if policy == "drop" else "keeps"
    return (f"warning: {effect['rows']:,} rows ({formatting.percent(effect['share'])}) repeat an "
            f"earlier row in every column; dropping them moves the target "
            f"({effect['target_shift']}); {curation.DUPLICATE_ROW_KEY}: {policy} {fate} them; "
            f"set it to drop, warn or fail in params.yaml to change that")


def derive_criteria(primary: str) -> list[Derived]:
    """The criteria every table is judged by, whatever the problem: a model that does not beat
    its baselines beyond noise, that looks too good to be true, or whose test score falls far
    below what cross-validation foresaw is rejected. Those that need the problem's own numbers
    stay null, and say so."""
    return [
        Derived("criteria.min_lift_over_baselines", 0.0,
                "the candidate must beat each baseline beyond noise: the low end of the paired "
                "95% bootstrap interval of its primary-metric lift must be at least 0",
                "low end of the lift's paired 95% interval; raise it for a margin"),
        Derived("criteria.max_single_feature_score", 0.95,
                "no single column may give the target away (leakage)"),
        Derived("criteria.max_feature_group_score", 0.95,
                "no group of up to 3 columns may give the target away together (a total and "
                "its parts, a ratio)"),
        Derived("criteria.max_plausible_score", 0.99,
                "a near-perfect test score of the candidate or of the linear baseline is "
                "suspected leakage until you mark the columns (--leakage) or set this to null",
                "too good to be true: suspected leakage; null once confirmed"),
        Derived("criteria.max_cv_shortfall", 3.0,
                "the test primary metric may fall below the cross-validation mean by at most "
                "3 fold standard deviations: a larger train-test gap than cross-validation "
                "shows means the test rows differ from the training rows (or CV leaks)",
                "in fold standard deviations"),
        Derived("criteria.max_train_test_gap", None,
                "not judged on its own: a flexible model fits its training rows closely, and "
                "max_cv_shortfall judges the gap against cross-validation",
                "null: max_cv_shortfall judges the gap"),
        Derived("criteria.max_slice_gap", None,
                "not judged: how much worse a slice may be depends on the problem; read the "
                "slice gaps in reports/gate.json after a first run and set it",
                "null: set it from the slice gaps after a first run"),
        Derived("criteria.minimum", {},
                f"not judged: the problem's success threshold on {primary}, under "
                f"criteria.minimum or criteria.maximum, is yours to set once you know what is "
                f"good enough"),
    ]


def derive_tuning() -> Derived:
    """On: the template's hyperparameters were tuned by hand for its example's data."""
    return Derived("tuning.enabled", True,
                   "the template's hyperparameters were tuned for its example's data; train "
                   "searches tuning.space for this table's, with scikit-learn's defaults among "
                   "the candidates, and reports/train.json shows what it chose and why",
                   "on: train searches tuning.space for this table's hyperparameters")


def natural_shared_share(table: pd.DataFrame, rules: Contract, target: str, task: str, *,
                         split: dict[str, Any], seed: int, duplicate_row: str,
                         datetime_feature: str | None) -> float:
    """The share of test rows whose model inputs all occur in a training row, on the rows
    prepare keeps and under the split it will make: what evaluate's check (leakage.shared_rows
    on the model's inputs) will find for any model, before a model exists."""
    curated, _ = curation.curate(table, target, rules.keys,
                                 drop_duplicate_rows=duplicate_row == "drop")
    parts = split_as_prepare(curated, target, task, split, seed)
    numeric, categorical = rules.feature_lists([])
    inputs = features.input_columns(numeric, categorical, datetime_feature, [])
    if not inputs or parts["test"].empty:
        return 0.0
    return leakage.shared_rows(parts["train"][inputs], parts["test"][inputs])["fraction"]


def split_as_prepare(table: pd.DataFrame, target: str, task: str, split: dict[str, Any],
                     seed: int) -> dict[str, pd.DataFrame]:
    """prepare's split (`splits.split_rows`) with the settings init writes, the time column
    typed as prepare types it."""
    def date(text: str | None) -> datetime.date | None:
        return datetime.date.fromisoformat(text) if text else None

    settings = config.Split(**{**split, "test_start": date(split["test_start"]),
                               "current_start": date(split["current_start"])})
    if settings.method == "out_of_time":
        table = table.assign(**{settings.time_column: moments(table[settings.time_column])})
    return splits.split_rows(table, settings, target, task, seed)


def derive_max_shared_test_rows(share: float | None, method: str) -> Derived:
    """The template's 1%, unless the split shares more test rows with train by nature (inputs
    of few distinct values): then the check would reject any model, so it is not judged."""
    key = "criteria.max_shared_test_rows"
    split = "random split" if method == "random" else "out-of-time split"
    if share is None:
        return Derived(key, MAX_SHARED_TEST_ROWS,
                       f"the template's {MAX_SHARED_TEST_ROWS}: the {split} could not be made "
                       f"here to measure it (prepare will say why)")
    shown = formatting.percent(share)
    if share <= MAX_SHARED_TEST_ROWS:
        return Derived(key, MAX_SHARED_TEST_ROWS,
                       f"the template's {MAX_SHARED_TEST_ROWS}: under the {split} {shown} of "
                       f"test rows share their inputs with train")
    return Derived(key, None,
                   f"{shown} of test rows share their inputs with train by nature "
                   f"(low-cardinality inputs, {split}); the check would reject any model",
                   f"null: {shown} of test rows share inputs with train by nature")


# --- reading and writing ------------------------------------------------------------------------


# A file from outside the project and where init copies it: (original, copy in data/source/).
Copy = tuple[Path, Path] | None


def read_source(data: str | None, sql_url: str | None,
                query: str | None) -> tuple[pd.DataFrame, dict[str, Any], Copy]:
    """The table, the params.yaml `source:` section that reads it again in ingest, and the copy
    into the project that section needs (made last, once everything else has succeeded)."""
    base = {"sample_fraction": 1.0}
    if sql_url:
        if not query:
            raise LifecycleError("init: --sql-url needs --query \"select ...\"")
        database, copy, url = sources.sqlite_file(sql_url), None, sql_url
        if database:
            location, copy = project_location(Path(database))
            url = sources.sqlite_url(location)
        return sources.read_sql(sql_url, query, ("--sql-url", "--query")), {
            "name": "sql", **base, "url": url, "query": query}, copy
    if not data:
        raise LifecycleError("init: give --data PATH (csv or parquet) or --sql-url and --query")
    path = Path(data)
    kind = "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"
    table = sources.read_file(path, kind, "--data")
    location, copy = project_location(path)
    return table, {"name": kind, **base, "path": location.as_posix()}, copy


def project_location(path: Path) -> tuple[Path, Copy]:
    """The path relative to the project, and for a file outside it the copy to make in
    data/source/: DVC tracks a stage's dependencies inside the project. Refuses a copy that
    would replace a different file."""
    resolved, root = path.resolve(), Path.cwd().resolve()
    if resolved in {(root / name).resolve() for name in WRITES}:
        raise LifecycleError(f"init: {path} is a file init writes; nothing was written; give "
                             f"the table's own file")
    if resolved.is_relative_to(root):
        return resolved.relative_to(root), None
    if not path.is_file():
        raise LifecycleError(f"init: {path}: file not found")
    copy = SOURCE_DIR / path.name
    check_copy(path, copy)
    return copy, (path, copy)


def check_copy(original: Path, copy: Path) -> None:
    """A file already at `copy` is reused when it holds the same bytes, never replaced."""
    if copy.is_symlink() or (copy.exists() and not copy.is_file()):
        raise LifecycleError(f"init: {copy} exists and is not a plain file; remove or rename "
                             f"it, or give --data a file inside the project")
    if copy.exists() and not filecmp.cmp(original, copy, shallow=False):
        raise LifecycleError(f"init: {copy} already exists and differs from {original}; "
                             f"nothing was written; remove or rename one of them (or give "
                             f"--data {copy} to use the one in the project)")


def make_copy(copy: Copy) -> None:
    """Copy the source into the project, atomically (a temporary beside it, then renamed)."""
    if copy is None:
        return
    original, destination = copy
    check_copy(original, destination)  # again: the file may have appeared meanwhile
    if destination.exists():
        print(f"{destination} already holds {original}; using it (a dependency of ingest)")
        return
    try:
        with files.atomic_path(destination) as temporary:
            shutil.copyfile(original, temporary)
    except OSError as error:
        raise LifecycleError(f"init: could not copy {original} to {destination}: "
                             f"{error.strerror or error}") from None
    print(f"copied {original} to {destination} (a dependency of ingest)")


def check_params_file(params_file: Path) -> config.Params:
    """The params.yaml init edits must be a valid one (the template's sections): refuse anything
    else before any work, not with a traceback half-way."""
    data = config.read_yaml(params_file, if_missing="run lifecycle init from the project root")
    return config.parse(data, source=str(params_file))


def check_dvc_file(dvc_file: Path) -> None:
    """dvc.yaml must hold the template's ingest stage, whose dependencies init rewrites."""
    data = config.read_yaml(dvc_file, if_missing="run lifecycle init from the project root")
    stages = data.get("stages") if isinstance(data, dict) else None
    ingest = stages.get("ingest") if isinstance(stages, dict) else None
    if not isinstance(ingest, dict) or not isinstance(ingest.get("deps"), list):
        raise LifecycleError(f"{dvc_file}: no `stages: ingest:` with a `deps:` list; restore "
                             f"the template's dvc.yaml")


def update_params(params_file: Path, sections: dict[str, dict[str, Any]],
                  comments: dict[str, str] | None = None) -> str:
    """params.yaml with the given keys replaced, comments and other sections kept, and the
    end-of-line comment of each key in `comments` (dotted keys) replaced."""
    yaml = yaml_edits.round_trip_yaml()
    document = yaml.load(params_file.read_text())
    for section, values in sections.items():
        for key, value in values.items():
            yaml_edits.replace_value(document[section], key, value)
    for section, keys in OPTIONAL_KEYS.items():  # only the keys this problem uses
        for key in keys:
            if key not in sections.get(section, {}) and key in document[section]:
                del document[section][key]
    for dotted, text in (comments or {}).items():
        section, key = dotted.split(".", 1)
        yaml_edits.set_line_comment(document[section], key, text)
    return yaml_edits.dump(yaml, document)


def plots_for(task: str, primary: str) -> list:
    """The charts dvc.yaml registers for a task: one per plot file evaluate, train and monitor
    write for it (evaluate's `log_plots`), with the templates in .dvc/plots. Each has a short id,
    what `dvc plots show ID` takes, and a title the chart shows."""
    evaluation, custom = "reports/evaluation/plots/sklearn", "reports/evaluation/plots/custom"

    def chart(name: str, title: str, template: str, file: str, x: str, y: str, x_label: str,
              y_label: str) -> dict:
        return {name: {"title": title, "template": template, "x": x, "y": {file: y},
                       "x_label": x_label, "y_label": y_label}}

    confusion = chart("confusion", "Confusion matrix", "confusion_counts",
                      f"{custom}/confusion.json", "actual", "predicted", "Actual", "Predicted")
    charts = {
        "binary": [
            chart("roc", "ROC", "simple", f"{evaluation}/roc.json", "fpr", "tpr",
                  "False positive rate", "True positive rate"),
            chart("precision-recall", "Precision-recall", "simple",
                  f"{evaluation}/precision_recall.json", "recall", "precision", "Recall",
                  "Precision"),
            confusion,
            chart("calibration", "Calibration (dashed line: perfectly calibrated)",
                  "calibration", f"{evaluation}/calibration.json", "prob_pred", "prob_true",
                  "Mean predicted probability", "Observed share of the positive class"),
        ],
        "multiclass": [confusion],
        "regression": [
            chart("predicted-vs-actual", "Predicted against actual", "scatter",
                  f"{custom}/predicted_vs_actual.json", "actual", "predicted", "Actual",
                  "Predicted"),
            chart("residuals", "Residuals", "scatter", f"{custom}/residuals.json", "predicted",
                  "residual", "Predicted", "Actual minus predicted"),
        ],
    }[task]
    return [
        *charts,
        chart("cv-folds", "CV fold scores", "folds", f"reports/cv/plots/metrics/{primary}.tsv",
              "step", primary, "Fold", f"{primary} on the fold after"),
        chart("slices", "Slices against the whole test split", "gaps", f"{custom}/slices.json",
              "gap", "slice", f"{primary} of the slice minus overall (negative is worse)",
              "Slice"),
        "reports/evaluation/plots/images",
        chart("drift",
              "Feature drift (PSI, training data vs current batch; dashed line at monitor.psi)",
              "bars_with_threshold", "reports/monitor/psi.json", "psi", "feature",
              "Population stability index", "Feature"),
    ]


def update_dvc_file(dvc_file: Path, source: dict[str, Any], problem: dict[str, Any]) -> str:
    """dvc.yaml with ingest depending on the source file and reading the source's keys, the
    plots of the task, and the model artifacts named and described for the problem."""
    yaml = yaml_edits.round_trip_yaml()
    document = yaml.load(dvc_file.read_text())
    stage = document["stages"]["ingest"]
    modules = [dep for dep in stage["deps"] if str(dep).startswith("src/")]
    data = [source["path"]] if source.get("path") else []
    if source.get("url") and sources.sqlite_file(source["url"]):
        data = [sources.sqlite_file(source["url"])]
    yaml_edits.replace_value(stage, "deps", sorted([*data, *modules]))
    yaml_edits.replace_value(stage, "params", sorted([
        "engine", "seed", "source.name", "source.sample_fraction", *INGEST_PARAMS[source["name"]]]))
    declare_threshold(document["stages"], binary=problem["task"] == "binary")
    charts = plots_for(problem["task"], problem["primary_metric"])
    yaml_edits.replace_value(document, "plots", charts)
    if isinstance(document.get("artifacts"), dict):
        renamed = artifacts_for(document["artifacts"], problem)
        yaml_edits.replace_value(document, "artifacts", renamed)
    return yaml_edits.dump(yaml, document)


def declare_threshold(stages: Any, binary: bool) -> None:
    """evaluate.decision_threshold among the params of the stages that read it for a binary task
    only: params.yaml holds it then only (update_params), and DVC refuses a missing key."""
    key = "evaluate.decision_threshold"
    for name in THRESHOLD_STAGES:
        declared = stages.get(name, {}).get("params")
        if declared is None:
            continue
        if not binary and key in declared:
            declared.remove(key)
        elif binary and key not in declared:  # init run again, on a binary table this time
            later = [i for i, item in enumerate(declared) if isinstance(item, str) and item > key]
            declared.insert(later[0] if later else len(declared), key)


def model_name(project: str) -> str:
    """`<project>-model`, or the project's name when it already says model (churn-model)."""
    return project if project.endswith("model") else f"{project}-model"


def artifacts_for(artifacts: Any, problem: dict[str, Any]) -> Any:
    """The template's artifacts in their order, renamed `<name>-model` (the skops pipeline) and
    `<name>-model-onnx` (see `model_name`), described from the task and target and labelled
    with the task; an artifact at another path keeps its entry."""
    task_label, target = TASK_LABELS[problem["task"]], problem["target"]
    pipeline = (f"The deployable pipeline (feature transformer + the estimator train.model "
                f"names) that predicts `{target}` ({task_label.replace('-', ' ')}) from the "
                f"columns with role feature in data/contract.yaml.")
    model = model_name(problem["name"])
    kinds = {
        paths.MODEL: (model, "scikit-learn", f"{pipeline} Saved with skops."),
        paths.ONNX_MODEL: (f"{model}-onnx", "onnx", None),
    }
    renamed = CommentedMap()
    for name, entry in artifacts.items():
        kind = kinds.get(str(entry.get("path")) if isinstance(entry, dict) else None)
        if kind is None:
            renamed[name] = entry
            continue
        new_name, runtime, description = kind
        if description:  # the ONNX entry's own description speaks of no data
            entry["desc"] = yaml_edits.folded(description)
        entry["labels"] = CommentedSeq(["tabular", task_label, runtime])
        renamed[new_name] = entry
    return renamed


def run(data: str | None, target: str, task: str | None, time_column: str | None,
        sql_url: str | None = None, query: str | None = None,
        project_name: str | None = None, leakage: str | None = None) -> None:
    """`lifecycle init` (see the module's docstring); a command returns its exit code."""
    adopt(data, target, task, time_column, sql_url, query, project_name, leakage)


def adopt(data: str | None, target: str, task: str | None, time_column: str | None,
          sql_url: str | None = None, query: str | None = None,
          project_name: str | None = None, leakage: str | None = None) -> dict:
    """`lifecycle init`, returning what validation.duplicate_row will do with the table's
    exact duplicate rows (`curation.duplicate_decision`), for the start's README."""
    params_file, dvc_file = Path("params.yaml"), Path("dvc.yaml")
    template = check_params_file(params_file)
    check_dvc_file(dvc_file)
    check_project_name(project_name)  # before the table is read
    table, source, copy = read_source(data, sql_url, query)
    location = source.get("path") or source.get("url")  # in the project, once copied
    where = copy[0].as_posix() if copy else location    # what the user gave, for errors
    curation.check_target(table, target, "regression", where, "--target")
    try:
        task = infer_task(table[target], task)
    except LifecycleError as error:
        raise LifecycleError(f"{where}: {error}") from None
    curation.check_target(table, target, task, where, "--target")
    if task == "regression":
        contract.check_finite(table, [target], where)
    check_time_column(table, time_column, target, where)
    rules, comments = infer_contract(table, target, task, time_column,
                                     leaking_columns(leakage, table, target))
    datetime_feature = (rules.with_role("timestamp") or [
        name for name, c in rules.columns.items() if c.type == "datetime" and c.role == "feature"]
        or [None])[0]
    problem = {"name": project_slug(project_name, str(location)), "task": task, "target": target,
               "primary_metric": PRIMARY_METRIC[task],
               "description": f"Predict {target} from the other columns of {location}."}
    split = split_settings(table, time_column)
    positive = positive_class(table[target]) if task == "binary" else None
    derived = derive_judgement(table, rules, problem, split, template.seed, datetime_feature,
                               positive)
    effect = curation.duplicate_effect(table, target, task)
    warnings = [duplicate_warning(effect, derived[curation.DUPLICATE_ROW_KEY].value),
                group_leak_warning(table, rules, target, task)]
    texts = {
        paths.CONTRACT: contract.dump(rules, comments),
        "params.yaml": update_params(params_file, params_sections(
            problem, source, split, datetime_feature, derived), params_comments(split, derived)),
        "dvc.yaml": update_dvc_file(dvc_file, source, problem),
    }
    # What init writes must read back as valid params, or the first stage would fail on it.
    config.parse(config.parse_yaml(texts["params.yaml"], "params.yaml"))
    for path, text in texts.items():
        files.write_bytes(text.encode(), path)
    make_copy(copy)  # last: a failed init leaves no copy behind
    print(summary(rules, comments, problem, len(table), positive, list(derived.values()),
                  [line for line in warnings if line]))
    return curation.duplicate_decision(derived[curation.DUPLICATE_ROW_KEY].value,
                                       effect["rows"], int(table[target].notna().sum()))


def derive_judgement(table: pd.DataFrame, rules: Contract, problem: dict[str, Any],
                     split: dict[str, Any], seed: int, datetime_feature: str | None,
                     positive: Any) -> dict[str, Derived]:
    """Every value of the example's judgement that init derives for this table, by key."""
    target, task = problem["target"], problem["task"]
    duplicate_row = derive_duplicate_row(rules)
    try:
        share = natural_shared_share(table, rules, target, task, split=split, seed=seed,
                                     duplicate_row=duplicate_row.value,
                                     datetime_feature=datetime_feature)
    except LifecycleError:  # a split prepare cannot make either: it says why, with the fix
        share = None
    derived = [
        *([derive_decision_threshold(table[target], positive)] if task == "binary" else []),
        derive_slice_columns(rules),
        duplicate_row,
        *derive_criteria(problem["primary_metric"]),
        derive_max_shared_test_rows(share, split["method"]),
        derive_tuning(),
    ]
    return {item.key: item for item in derived}


def params_sections(problem: dict[str, Any], source: dict[str, Any], split: dict[str, Any],
                    datetime_feature: str | None,
                    derived: dict[str, Derived]) -> dict[str, dict[str, Any]]:
    """The params.yaml keys init sets, by section."""
    sections: dict[str, dict[str, Any]] = {
        "problem": problem, "source": source, "split": split,
        "features": {"datetime": datetime_feature, "age_from_year": []},
        # The example's thresholds mean nothing for another problem.
        "criteria": {"maximum": {}},
    }
    for key, item in derived.items():
        section, name = key.split(".", 1)
        sections.setdefault(section, {})[name] = item.value
    return sections


def params_comments(split: dict[str, Any], derived: dict[str, Derived]) -> dict[str, str]:
    """End-of-line comments for the keys whose template comment describes the example's data."""
    if split["method"] == "out_of_time":
        test = "train before, test from this date (the time column's 70% point)"
        current = ('the "current" batch for monitoring from this date (the 90% point)'
                   if split["current_start"] else "none: every row from test_start is test")
    else:
        test = current = "out_of_time only"
    return {
        "source.name": "csv or parquet (path:), or sql (url:, query:); see `lifecycle init`",
        "split.test_start": test,
        "split.current_start": current,
        "features.age_from_year": "numeric year columns -> their age at features.datetime",
        **{key: item.comment for key, item in derived.items() if item.comment},
    }


def slice_columns(rules: Contract, most: int = 2) -> list[str]:
    """Categorical features to report metrics per value of: the first few with few levels."""
    few = [name for name in rules.features("categorical")
           if rules.columns[name].categories is None or len(rules.columns[name].categories) <= 20]
    return few[:most]


def summary(rules: Contract, comments: dict[str, str], problem: dict, rows: int,
            positive: Any = None, derived: list[Derived] = (),
            warnings: list[str] = ()) -> str:
    lines = [f"{rows} rows, {len(rules.columns)} columns; task {problem['task']} on "
             f"{problem['target']!r}, primary metric {problem['primary_metric']}; "
             f"project {problem['name']}"]
    if positive is not None:
        lines.append(f"  positive class: {positive!r} (the second label in sorted order): the "
                     f"model scores its probability, and precision and recall count it")
    for role in ("feature", "timestamp", "identifier", "leakage", "excluded"):
        names = rules.with_role(role)
        if names:
            lines.append(f"  {role}: {', '.join(names)}")
    lines += [f"  flagged {name}: {comment}" for name, comment in comments.items()]
    if derived:
        lines.append("derived from the table, not taken from the example (params.yaml):")
        lines += [f"  {item.key}: {json.dumps(item.value)} ({item.reason})" for item in derived]
    lines += warnings
    lines.append(f"wrote {paths.CONTRACT} (review it), params.yaml and dvc.yaml; "
                 f"now run `dvc repro`, and set your success thresholds under `criteria:` in "
                 f"params.yaml")
    return "\n".join(lines)
