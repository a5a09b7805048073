"""What `lifecycle init` infers from the user's table: the task, each column's type, role and
bounds (the data contract), the split, the positive class and the project's name. Pure: a
table in, values and errors that say how to fix the call out.
"""

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lifecycle import config
from lifecycle.config import contract
from lifecycle.config.contract import Column, Contract
from lifecycle.core.errors import LifecycleError
from lifecycle.evaluation import leakage

PRIMARY_METRIC = {"binary": "roc_auc", "multiclass": "macro_f1", "regression": "rmse"}
MAX_LISTED_CATEGORIES = 20
LEAKAGE_SCORE = 0.98  # one column that predicts the target this well is too good to be true
CHECK_ROWS = 5000     # rows sampled to infer a column's type
# A classifier fits a model per class (gradient boosting: trees per class per iteration), so a
# target with more classes is an identifier or a quantity, and training would run for hours.
MAX_CLASSES = 100
PROJECT_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # a slug: also a valid DVC artifact name


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


# Words in a column's name that suggest a protected attribute; init only suggests marking it.
SENSITIVE_WORDS = frozenset({"sex", "gender", "race", "ethnicity", "ethnic", "age", "religion",
                             "nationality", "marital", "disability", "disabled", "pregnancy",
                             "pregnant"})


def sensitive_suggestion(columns: list[str]) -> str | None:
    """One line naming the columns whose names suggest a protected attribute (whole words of
    the lowercased name, so `age` but not `page` or `usage`), and how to mark them; init
    marks nothing itself: which attributes are protected is the project's decision."""
    found = [name for name in columns
             if SENSITIVE_WORDS & set(re.split(r"[^a-z]+", str(name).lower()))]
    if not found:
        return None
    return (f"note: {', '.join(found)} may be sensitive (a protected attribute); to report the "
            f"model's metrics per group and judge their gaps (criteria.fairness in params.yaml), "
            f"add `sensitive: true` to each in {contract.CONTRACT_FILE}")


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
