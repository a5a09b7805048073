"""Check a table against the data contract: every rule, every failure, then one decision each.

All failures are collected first, so one run tells the user everything that is wrong. A policy
per rule (params.yaml `validation:`) then decides: fail the stage, drop the offending rows, or
warn. Dropped rows are counted by the first rule they broke, so the counts add up to the rows lost.
A value outside a range the contract marks `bounds: soft` is only ever a warning: the range is
what was seen, not what is possible (an infinity is outside every range, soft or not).
"""

import dataclasses

import numpy as np
import pandas as pd

from lifecycle.config.contract import Column, Contract
from lifecycle.core.errors import LifecycleError

RULES = ("missing_column", "wrong_type", "missing_value", "out_of_range", "unknown_category")


EXAMPLES = 3  # offending values quoted in a failure's detail


@dataclasses.dataclass
class Failure:
    rule: str
    column: str
    rows: pd.Series  # boolean mask of offending rows (all False for a missing column)
    # The detail is a template of {count} and {examples}, filled from the counts, so failures
    # found in parts of a table add up to the failure of the whole (see `merge_failures`).
    template: str
    count: int = 0
    examples: list[str] = dataclasses.field(default_factory=list)
    soft: bool = False  # outside a soft range: a warning whatever the rule's policy

    @property
    def detail(self) -> str:
        return self.template.format(count=self.count,
                                    examples=", ".join(repr(v) for v in self.examples))

    def message(self) -> str:
        return f"column {self.column!r}: {self.rule}: {self.detail}"


def _failure(rule: str, column: str, rows: pd.Series, template: str,
             values: pd.Series | None = None, soft: bool = False) -> Failure:
    examples = [] if values is None else list(values[rows].astype(str).unique()[:EXAMPLES])
    return Failure(rule, column, rows, template, int(rows.sum()), examples, soft)


def policy(failure: Failure, policies: dict[str, str]) -> str:
    """What a failure does: its rule's policy, or warn when it is outside a soft range."""
    return "warn" if failure.soft else policies[failure.rule]


def merge_failures(parts: list[list[Failure]], contract: Contract) -> list[Failure]:
    """The failures of a whole table from those of its consecutive parts (row masks dropped):
    counts add up, the examples are the first distinct ones, and the order is the whole
    table's (type failures first, then by the contract's columns and the rules' order)."""
    merged: dict[tuple[str, str, bool], Failure] = {}
    for failures in parts:
        for failure in failures:
            key = (failure.rule, failure.column, failure.soft)
            if key not in merged:
                merged[key] = Failure(failure.rule, failure.column, None, failure.template,
                                      soft=failure.soft)
            total = merged[key]
            total.count += failure.count
            total.examples = list(dict.fromkeys([*total.examples, *failure.examples]))[:EXAMPLES]
    columns = list(contract.columns)
    return sorted(merged.values(), key=lambda f: (
        f.rule != "wrong_type", columns.index(f.column), RULES.index(f.rule), f.soft))


@dataclasses.dataclass
class Outcome:
    table: pd.DataFrame
    dropped: dict[str, int]
    warnings: list[str]
    failures: list[dict]


def coerce_types(table: pd.DataFrame, contract: Contract) -> tuple[pd.DataFrame, list[Failure]]:
    """Parse numeric and datetime columns; a value that does not parse is a `wrong_type`."""
    table = table.copy()
    failures = []
    for name, column in contract.columns.items():
        if name not in table or column.type not in ("numeric", "datetime"):
            continue
        original = table[name]
        parsed = _parse(original, column.type)
        bad = original.notna() & parsed.isna()
        if bad.any():
            failures.append(_failure(
                "wrong_type", name, bad,
                f"{{count}} values are not {column.type} (e.g. {{examples}}); fix the data "
                f"or change the column's type in the contract", original))
        table[name] = parsed
    return table, failures


def _parse(values: pd.Series, type_: str) -> pd.Series:
    if type_ == "numeric":
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            return values
        return pd.to_numeric(values, errors="coerce")
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    try:
        return pd.to_datetime(values, errors="coerce", format="mixed")
    except ValueError:  # offsets differ between values, as across a daylight-saving change
        return pd.to_datetime(values.map(_wall_clock), errors="coerce")


def _wall_clock(value: object) -> object:
    """One value as the local time it names, without its offset (None when not a date)."""
    stamp = pd.to_datetime(value, errors="coerce")
    return stamp.tz_localize(None) if isinstance(stamp, pd.Timestamp) and stamp.tz else stamp


def check_rules(table: pd.DataFrame, contract: Contract) -> list[Failure]:
    """Missing columns, missing values where not allowed, out-of-range and unknown values."""
    failures = []
    nothing = pd.Series(False, index=table.index)
    for name, column in contract.columns.items():
        if name not in table:
            failures.append(_failure("missing_column", name, nothing,
                                     "in the contract but not in the data; add it to the "
                                     "source or remove it from the contract"))
            continue
        values = table[name]
        if not column.nullable and values.isna().any():
            failures.append(_failure("missing_value", name, values.isna(),
                                     "{count} missing values; the contract says nullable: "
                                     "false"))
        if column.type == "numeric" and pd.api.types.is_numeric_dtype(values):
            failures += range_failures(name, column, values, nothing)
        if column.categories is not None:
            allowed = {str(category) for category in column.categories}
            unknown = values.notna() & ~values.astype(str).isin(allowed)
            if unknown.any():
                failures.append(_failure("unknown_category", name, unknown,
                                         "{count} values outside the contract's categories "
                                         "(e.g. {examples})", values))
    return failures


def range_failures(name: str, column: Column, values: pd.Series,
                   nothing: pd.Series) -> list[Failure]:
    """Values outside the column's range: one failure for a hard range; for a soft one, a
    soft failure for finite values and a hard one for infinities, which no model takes."""
    low = values < column.min if column.min is not None else nothing
    high = values > column.max if column.max is not None else nothing
    outside = low | high
    if not outside.any():
        return []
    detail = f"{{count}} values outside {column.range_text()}"
    if not column.soft:
        return [_failure("out_of_range", name, outside, detail)]
    infinite = outside & values.isin([np.inf, -np.inf])
    found = [_failure("out_of_range", name, outside & ~infinite,
                      f"{detail}, kept: its bounds are soft", soft=True),
             _failure("out_of_range", name, infinite, f"{detail} (infinite)")]
    return [failure for failure in found if failure.count]


def apply_policies(table: pd.DataFrame, failures: list[Failure],
                   policies: dict[str, str], source: str) -> Outcome:
    """Fail with every `fail` failure at once, drop rows of `drop` ones, report `warn` ones."""
    check_fatal(failures, policies, source)
    table, dropped = drop_rows(table, failures, policies)
    return Outcome(table, dropped, warnings(failures, policies), report(failures, policies))


def check_fatal(failures: list[Failure], policies: dict[str, str], source: str) -> None:
    fatal = [f for f in failures if policy(f, policies) == "fail"]
    if fatal:
        lines = "\n  ".join(f.message() for f in fatal)
        raise LifecycleError(
            f"{source}: {len(fatal)} data contract rule(s) failed:\n  {lines}\n"
            f"Fix the data, edit data/contract.yaml, or set the rule's policy in params.yaml "
            f"`validation:` to drop or warn")


def drop_rows(table: pd.DataFrame, failures: list[Failure],
              policies: dict[str, str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """The rows no `drop` rule refuses, and the rows dropped per rule (by the first it broke)."""
    keep, dropped = kept_rows(table, failures, policies)
    return with_tolerated_columns(table[keep].reset_index(drop=True), failures), dropped


def kept_rows(table: pd.DataFrame, failures: list[Failure],
              policies: dict[str, str]) -> tuple[pd.Series, dict[str, int]]:
    keep = pd.Series(True, index=table.index)
    dropped: dict[str, int] = {}
    for failure in failures:
        if policy(failure, policies) == "drop":
            newly = failure.rows & keep
            dropped[f"{failure.rule}:{failure.column}"] = int(newly.sum())
            keep &= ~failure.rows
    return keep, dropped


def with_tolerated_columns(table: pd.DataFrame, failures: list[Failure]) -> pd.DataFrame:
    """A missing column the policy tolerates becomes an all-missing one."""
    for failure in failures:
        if failure.rule == "missing_column" and failure.column not in table:
            table[failure.column] = pd.NA
    return table


def warnings(failures: list[Failure], policies: dict[str, str]) -> list[str]:
    return [f.message() for f in failures if policy(f, policies) == "warn"]


def report(failures: list[Failure], policies: dict[str, str]) -> list[dict]:
    return [{"rule": f.rule, "column": f.column, "rows": f.count, "policy": policy(f, policies),
             "detail": f.detail} for f in failures]
