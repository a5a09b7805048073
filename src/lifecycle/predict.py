"""Batch scoring: `lifecycle predict --input PATH --output PATH`.

Rows are checked against the data contract with the same rules `prepare` applies; a row that
breaks one goes to a rejects file with its reasons instead of being scored. The input is read and
scored in chunks, so memory stays flat as the file grows, and both outputs are written atomically.
"""

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from lifecycle import config, contract, io, paths, validation
from lifecycle.errors import LifecycleError

CHUNK_ROWS = 50_000
ROW = "row"  # position of the row in the input file, 0-based
REASON = "reason"  # why a row was rejected
TABLE_TYPES = (".csv", ".parquet")


def input_contract(full: contract.Contract, inputs: list[str]) -> contract.Contract:
    """The contract's rules for the model's input columns only."""
    missing = [name for name in inputs if name not in full.columns]
    if missing:
        raise LifecycleError(f"{paths.CONTRACT}: the model needs columns the contract does not "
                             f"describe: {', '.join(missing)}; retrain or update the contract")
    return dataclasses.replace(full, columns={name: full.columns[name] for name in inputs},
                               keys=[])


def rule_failures(frame: pd.DataFrame, rules: contract.Contract,
                  source: str) -> tuple[pd.DataFrame, list[tuple[str, str, pd.Series]]]:
    """Values parsed per the contract, and each broken rule as (column, rule, rows that break it).

    A value breaks at most one rule: a value that did not parse is not also "missing".
    """
    absent = [name for name in rules.columns if name not in frame]
    if absent:
        raise LifecycleError(f"{source}: missing column(s) the model needs: {', '.join(absent)}")
    parsed, failures = validation.coerce_types(frame[list(rules.columns)], rules)
    failures += validation.check_rules(parsed, rules)
    for name, column in rules.columns.items():
        if column.type in ("categorical", "text"):
            parsed[name] = category_values(parsed[name])
    broken = []
    flagged: dict[str, pd.Series] = {}
    for failure in failures:
        rows = failure.rows & ~flagged.get(failure.column, False)
        flagged[failure.column] = rows | flagged.get(failure.column, False)
        broken.append((failure.column, failure.rule, rows))
    return parsed, broken


def category_values(values: pd.Series) -> pd.Series:
    """Categories as text, as the contract compares them and the API receives them, and None
    where missing, as in training: a chunk where a category holds only numbers, or only missing
    values, reads as a column of numbers the model's encoder cannot compare."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        values = values.map(_number_text, na_action="ignore").astype(object)
    if values.isna().any():
        values = values.astype(object).where(values.notna(), None)
    return values


def _number_text(value: float) -> str:
    """1.0 as '1' (a column of whole numbers with a gap reads as floats), 2.5 as '2.5'."""
    return str(int(value)) if float(value).is_integer() else str(value)


def check_rows(frame: pd.DataFrame, rules: contract.Contract,
               source: str) -> tuple[pd.DataFrame, pd.Series]:
    """Values parsed per the contract, and per row the rules it breaks ('' when none)."""
    parsed, broken = rule_failures(frame, rules, source)
    reasons = pd.Series("", index=frame.index, dtype=object)
    for column, rule, rows in broken:
        reasons[rows] += f"{column}: {rule.replace('_', ' ')}; "
    return parsed, reasons.str.removesuffix("; ")


def predict_frame(model: object, frame: pd.DataFrame, threshold: float) -> pd.DataFrame:
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
    if len(classes) == 2:
        label = np.where(probability[:, 1] >= threshold, classes[1], classes[0])
    else:
        label = classes[probability.argmax(axis=1)]
    columns = {f"probability_{c}": probability[:, i] for i, c in enumerate(classes)}
    return pd.DataFrame({"prediction": label, **columns}, index=frame.index)


def empty_predictions(model: object, index: pd.Index) -> pd.DataFrame:
    """The columns and types `predict_frame` gives, with no rows."""
    classes = getattr(model, "classes_", None)
    if not hasattr(model, "predict_proba") or classes is None:
        return pd.DataFrame({"prediction": pd.Series(dtype="float64")}, index=index)
    columns = {f"probability_{c}": pd.Series(dtype="float64") for c in classes}
    return pd.DataFrame({"prediction": pd.Series(dtype=classes.dtype), **columns}, index=index)


def score_chunk(model: object, chunk: pd.DataFrame, rules: contract.Contract,
                identifiers: list[str], threshold: float,
                source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scored rows keyed by position (and identifiers), and rejected rows with their reasons.

    The chunk's index is each row's position in the input; the user's columns are never
    overwritten, so a column named like an output column (`row`, `prediction`, `reason`) is
    scored as it is and written with the suffix `_input`."""
    parsed, reasons = check_rows(chunk, rules, source)
    ok = reasons == ""
    present = [name for name in identifiers if name in chunk]
    # Identifiers as text: a chunk where one is all missing must not change the column's type.
    keys = chunk[present].astype(dict.fromkeys(present, "string"))
    predictions = predict_frame(model, parsed[ok], threshold)
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


def read_chunks(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    """The input in chunks of at most `rows` rows, indexed by each row's 0-based position."""
    start = 0
    for chunk in io.table_chunks(path, rows):
        chunk.index = pd.RangeIndex(start, start + len(chunk))
        yield chunk
        start += len(chunk)


class TableWriter:
    """Append chunks to a CSV or parquet file; the first chunk fixes the columns and types."""

    def __init__(self, path: Path, kind: str):
        if kind not in TABLE_TYPES:
            raise LifecycleError(f"unsupported output type {kind!r}; use .csv or .parquet")
        self.path, self.kind, self.rows, self.started = path, kind, 0, False
        self.schema, self.parquet = None, None

    def write(self, frame: pd.DataFrame) -> None:
        if self.kind == ".csv":
            frame.to_csv(self.path, mode="a" if self.started else "w", header=not self.started,
                          index=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, schema=self.schema, preserve_index=False)
            if self.parquet is None:
                self.schema = table.schema
                self.parquet = pq.ParquetWriter(self.path, self.schema)
            self.parquet.write_table(table)
        self.started = True
        self.rows += len(frame)

    def close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()


def score_file(model: object, rules: contract.Contract, identifiers: list[str],
               threshold: float, source: Path, output: Path, rejects: Path,
               chunk_rows: int = CHUNK_ROWS) -> dict[str, int]:
    """Score `source` into `output` and `rejects`, chunk by chunk; return the row counts."""
    with io.atomic_path(output) as scored_file, io.atomic_path(rejects) as rejects_file:
        scored_writer = TableWriter(scored_file, output.suffix.lower())
        rejects_writer = TableWriter(rejects_file, rejects.suffix.lower())
        try:
            for chunk in read_chunks(source, chunk_rows):
                scored, rejected = score_chunk(model, chunk, rules, identifiers, threshold,
                                               str(source))
                scored_writer.write(scored)
                rejects_writer.write(rejected)
        finally:
            scored_writer.close()
            rejects_writer.close()
    return {"rows_in": scored_writer.rows + rejects_writer.rows,
            "rows_scored": scored_writer.rows, "rows_rejected": rejects_writer.rows}


def default_rejects(output: Path) -> Path:
    return output.with_name(f"{output.stem}.rejects.csv")


def check_output_type(output: Path) -> None:
    if output.suffix.lower() not in TABLE_TYPES:
        raise LifecycleError(f"{output}: unsupported output type {output.suffix!r}; "
                             f"use .csv or .parquet")


def check_paths(source: Path, output: Path, rejects: Path, overwrite: bool) -> None:
    """Refuse, before any work, paths that cannot be written or would destroy data."""
    if not source.exists():
        raise LifecycleError(f"{source}: not found; give the path of a .csv or .parquet file")
    if rejects.suffix.lower() != ".csv":
        raise LifecycleError(f"{rejects}: the rejects file is CSV; give a path ending .csv")
    inputs = (source, config.PARAMS_FILE, paths.CONTRACT, paths.MODEL)
    io.check_output(output, inputs=inputs, overwrite=overwrite)
    io.check_output(rejects, inputs=inputs, overwrite=overwrite, option="--rejects")
    io.check_distinct(output=output, rejects=rejects)


def run(input: str, output: str, rejects: str | None = None, chunk_rows: int = CHUNK_ROWS,
        overwrite: bool = False) -> None:
    params = config.load()
    source, target = Path(input), Path(output)
    if chunk_rows < 1:
        raise LifecycleError(f"--chunk-rows {chunk_rows}: give a positive number of rows")
    check_output_type(target)  # first: the default rejects file is named after it
    rejects_path = Path(rejects) if rejects else default_rejects(target)
    check_paths(source, target, rejects_path, overwrite)
    full = contract.load(paths.CONTRACT)
    model = io.load_model(paths.MODEL)
    counts = score_file(
        model, input_contract(full, list(model.feature_names_in_)),
        full.with_role("identifier"), params.evaluate.decision_threshold,
        source, target, rejects_path, chunk_rows,
    )
    print(f"{counts['rows_in']} rows read from {source}: {counts['rows_scored']} scored into "
          f"{target}, {counts['rows_rejected']} rejected into {rejects_path} (reason per row)")
