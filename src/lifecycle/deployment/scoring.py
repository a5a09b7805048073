"""Scoring rows: the contract's rules for the model's inputs, the reasons a row is rejected,
and the predictions of the rows that pass. Batch scoring and the API share it.

A value outside a range the contract marks `bounds: soft` does not reject its row: the row is
scored, and batch scoring names the column in the row's `warnings` column.

Columns (or fields) the model does not use are ignored by both; one whose name looks like a
misspelt input is named with the input it resembles (`misspelt_inputs`), since the input itself
would otherwise pass as missing: batch scoring warns, the API refuses the request."""

import dataclasses
from collections.abc import Collection, Iterable

import pandas as pd

from lifecycle import config
from lifecycle.config import contract
from lifecycle.core import paths
from lifecycle.core.errors import LifecycleError
from lifecycle.data import contract_checks
from lifecycle.deployment import frames

ROW = "row"  # position of the row in the input file, 0-based
REASON = "reason"  # why a row was rejected
WARNINGS = "warnings"  # why a scored row deserves a second look (soft ranges only)


def input_contract(full: contract.Contract, inputs: list[str]) -> contract.Contract:
    """The contract's rules for the model's input columns only."""
    missing = [name for name in inputs if name not in full.columns]
    if missing:
        raise LifecycleError(f"{paths.CONTRACT}: the model needs columns the contract does not "
                             f"describe: {', '.join(missing)}; retrain or update the contract")
    return dataclasses.replace(full, columns={name: full.columns[name] for name in inputs},
                               keys=[])


def misspelt_inputs(names: Iterable[str], inputs: Collection[str],
                    described: Collection[str]) -> dict[str, str]:
    """Each of `names` that looks like a misspelt model input, with its " (did you mean ...)".

    A column the data contract describes is never taken for one: the source's `sched_dep_time`
    is close to the input `sched_arr_time`, and real."""
    return {name: hint for name in names if name not in inputs and name not in described
            and (hint := config.did_you_mean(name, inputs))}


def rule_failures(frame: pd.DataFrame, rules: contract.Contract, source: str
                  ) -> tuple[pd.DataFrame, list[tuple[str, str, pd.Series, bool]]]:
    """Values parsed per the contract, and each broken rule as (column, rule, rows that break
    it, whether it is outside a soft range and so only a warning).

    A value breaks at most one rule: a value that did not parse is not also "missing".
    """
    absent = [name for name in rules.columns if name not in frame]
    if absent:
        raise LifecycleError(f"{source}: missing column(s) the model needs: {', '.join(absent)}")
    parsed, failures = contract_checks.coerce_types(frame[list(rules.columns)], rules)
    failures += contract_checks.check_rules(parsed, rules)
    for name, column in rules.columns.items():
        if column.type in ("categorical", "text"):
            parsed[name] = category_values(parsed[name])
    broken = []
    flagged: dict[str, pd.Series] = {}
    for failure in failures:
        rows = failure.rows & ~flagged.get(failure.column, False)
        flagged[failure.column] = rows | flagged.get(failure.column, False)
        broken.append((failure.column, failure.rule, rows, failure.soft))
    return parsed, broken


def category_values(values: pd.Series) -> pd.Series:
    """Categories as text, as the contract compares them and the API receives them, and None
    where missing, as in training: a chunk where a category holds only numbers, or only missing
    values, reads as a column of numbers the model's encoder cannot compare."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        values = values.map(frames.category_text, na_action="ignore").astype(object)
    if values.isna().any():
        values = values.astype(object).where(values.notna(), None)
    return values


def check_rows(frame: pd.DataFrame, rules: contract.Contract,
               source: str) -> tuple[pd.DataFrame, pd.Series]:
    """Values parsed per the contract, and per row the rules it breaks ('' when none)."""
    parsed, reasons, _ = checked_rows(frame, rules, source)
    return parsed, reasons


def checked_rows(frame: pd.DataFrame, rules: contract.Contract,
                 source: str) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Values parsed per the contract, and per row the rules that reject it and the soft
    ranges it is outside ('' when none)."""
    parsed, broken = rule_failures(frame, rules, source)
    reasons = pd.Series("", index=frame.index, dtype=object)
    warnings = pd.Series("", index=frame.index, dtype=object)
    for column, rule, rows, soft in broken:
        found = warnings if soft else reasons
        found[rows] += f"{column}: {rule.replace('_', ' ')}; "
    return parsed, reasons.str.removesuffix("; "), warnings.str.removesuffix("; ")


def has_soft_ranges(rules: contract.Contract) -> bool:
    """Whether a row can be scored with a warning: batch scoring then writes `warnings`."""
    return any(column.soft for column in rules.columns.values())


def score_chunk(model: object, chunk: pd.DataFrame, rules: contract.Contract,
                identifiers: list[str], threshold: float | None,
                source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scored rows keyed by position (and identifiers), and rejected rows with their reasons.

    The chunk's index is each row's position in the input; the user's columns are never
    overwritten, so a column named like an output column (`row`, `prediction`, `reason`) is
    scored as it is and written with the suffix `_input`."""
    parsed, reasons, warnings = checked_rows(chunk, rules, source)
    ok = reasons == ""
    present = [name for name in identifiers if name in chunk]
    # Identifiers as text: a chunk where one is all missing must not change the column's type.
    keys = chunk[present].astype(dict.fromkeys(present, "string"))
    predictions = frames.predict_frame(model, parsed[ok], threshold)
    if has_soft_ranges(rules):
        predictions[WARNINGS] = warnings[ok].astype("string")  # a type even with no rows
    scored = frames.with_output_columns(positions(chunk.index[ok]), keys[ok], predictions)
    rejected = frames.with_output_columns(positions(chunk.index[~ok]), chunk[~ok],
                                          reasons[~ok].rename(REASON).to_frame())
    return scored, rejected


def positions(index: pd.Index) -> pd.DataFrame:
    """The `row` column: each row's position in the input."""
    return pd.DataFrame({ROW: index}, index=index)
