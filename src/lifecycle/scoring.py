"""Scoring rows: the contract's rules for the model's inputs, the reasons a row is rejected,
and the predictions of the rows that pass. Batch scoring and the API share it.

A value outside a range the contract marks `bounds: soft` does not reject its row: the row is
scored, and batch scoring names the column in the row's `warnings` column.

Columns (or fields) the model does not use are ignored by both; one whose name looks like a
misspelt input is named with the input it resembles (`misspelt_inputs`), since the input itself
would otherwise pass as missing: batch scoring warns, the API refuses the request."""

import dataclasses
import numbers
from collections.abc import Collection, Iterable

import numpy as np
import pandas as pd

from lifecycle import config, contract, contract_checks, files, paths
from lifecycle.errors import LifecycleError

CHUNK_ROWS = 50_000
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
        values = values.map(category_text, na_action="ignore").astype(object)
    if values.isna().any():
        values = values.astype(object).where(values.notna(), None)
    return values


def category_text(value: object) -> str:
    """A category value as text: 1.0 as '1' (a column of whole numbers with a gap reads as
    floats), 2.5 as '2.5'."""
    if (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and float(value).is_integer()):
        return str(int(value))
    return str(value)


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


def predict_frame(model: object, frame: pd.DataFrame, threshold: float | None) -> pd.DataFrame:
    """Predictions, and class probabilities for a classifier, one row per input row.

    A binary classifier's label uses the decision threshold from params.yaml, as evaluation does.
    """
    inputs = frame[list(model.feature_names_in_)]
    if inputs.empty:  # every row of a chunk rejected: scikit-learn refuses zero rows
        return empty_predictions(model, frame.index)
    if not hasattr(model, "predict_proba"):
        return pd.DataFrame({"prediction": model.predict(inputs)}, index=frame.index)
    probability = model.predict_proba(inputs)
    classes = model.classes_
    label = class_labels(probability, classes, threshold)
    columns = {f"probability_{c}": probability[:, i] for i, c in enumerate(classes)}
    return pd.DataFrame({"prediction": label, **columns}, index=frame.index)


def class_labels(probability: np.ndarray, classes: np.ndarray,
                 threshold: float | None) -> np.ndarray:
    """A binary classifier's label at the decision threshold; otherwise the likeliest class."""
    if len(classes) == 2:
        return np.where(probability[:, 1] >= threshold, classes[1], classes[0])
    return classes[probability.argmax(axis=1)]


RUNTIMES = ("skops", "onnx")


def load_deployed(runtime: str, threads: int = 0) -> tuple[object, str]:
    """The model that scores, and its file: the skops pipeline, or the ONNX file the export
    stage wrote from it (answering through onnxruntime with `threads` threads)."""
    if runtime == "onnx":
        from lifecycle import onnx_scoring

        found = files.existing(paths.ONNX_MODEL)
        return onnx_scoring.load(found, threads), paths.ONNX_MODEL
    if runtime != "skops":
        raise LifecycleError(f"--runtime {runtime}: choose one of {', '.join(RUNTIMES)}")
    from lifecycle import artifacts

    return artifacts.load_model(paths.MODEL), paths.MODEL


def empty_predictions(model: object, index: pd.Index) -> pd.DataFrame:
    """The columns and types `predict_frame` gives, with no rows."""
    classes = getattr(model, "classes_", None)
    if not hasattr(model, "predict_proba") or classes is None:
        return pd.DataFrame({"prediction": pd.Series(dtype="float64")}, index=index)
    columns = {f"probability_{c}": pd.Series(dtype="float64") for c in classes}
    return pd.DataFrame({"prediction": pd.Series(dtype=classes.dtype), **columns}, index=index)


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
    predictions = predict_frame(model, parsed[ok], threshold)
    if has_soft_ranges(rules):
        predictions[WARNINGS] = warnings[ok].astype("string")  # a type even with no rows
    scored = with_output_columns(pd.DataFrame({ROW: chunk.index[ok]}, index=chunk.index[ok]),
                                 keys[ok], predictions)
    rejected = with_output_columns(pd.DataFrame({ROW: chunk.index[~ok]}, index=chunk.index[~ok]),
                                   chunk[~ok], reasons[~ok].rename(REASON).to_frame())
    return scored, rejected


def with_output_columns(positions: pd.DataFrame, user: pd.DataFrame,
                        computed: pd.DataFrame) -> pd.DataFrame:
    """Positions, the user's columns, then what was computed; a user column whose name an output
    column takes is renamed `<name>_input` (again until free) rather than overwritten."""
    taken = {*positions.columns, *computed.columns}
    renamed = {}
    for name in user.columns:
        new = name
        while new in taken:
            new = f"{new}_input"
        taken.add(new)
        renamed[name] = new
    return pd.concat([positions, user.rename(columns=renamed), computed], axis=1)


