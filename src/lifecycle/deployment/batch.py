"""Batch scoring: a CSV or parquet file of rows, scored into an output file and a rejects file.

Rows are checked against the data contract with the same rules `prepare` applies; a row that
breaks one goes to the rejects file with its reasons instead of being scored. A value outside a
range the contract marks `bounds: soft` is scored: the output's `warnings` column names the
column per row, and one warning on stderr counts them. The input is read and scored in chunks,
so memory stays flat as the file grows, and both outputs are written atomically.

Columns the model does not use are ignored (identifiers are copied to the output), with one
warning per file naming them; a column whose name looks like a misspelt input gets a warning of
its own with the input it resembles, as the API refuses such a field.
"""

import contextlib
import sys
from collections import Counter
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from lifecycle.config import Params, contract
from lifecycle.core import extras, files, paths, tables
from lifecycle.core.tables import TableWriter
from lifecycle.deployment import loading
from lifecycle.deployment.frames import CHUNK_ROWS
from lifecycle.deployment.scoring import (
    WARNINGS,
    has_soft_ranges,
    input_contract,
    misspelt_inputs,
    score_chunk,
)

NAMES_SHOWN = 10  # ignored columns a warning lists by name


def predict_file(params: Params, runtime: str, source: Path, output: Path, rejects: Path,
                 chunk_rows: int = CHUNK_ROWS) -> dict[str, Any]:
    """Score `source` with the project's model and contract; warn once of values outside soft
    ranges; return the row counts (see `score_file`)."""
    full = contract.load(paths.CONTRACT)
    model, _ = loading.load_deployed(runtime,
                                     packages=params.extensions.model_packages())
    rules = input_contract(full, list(model.feature_names_in_))
    counts = score_file(
        model, rules, full.with_role("identifier"), params.evaluate.decision_threshold,
        source, output, rejects, chunk_rows, described=full.columns, engine=params.engine,
    )
    warn_about_ranges(counts["warned"], rules)
    return counts


def read_chunks(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    """The input in chunks of at most `rows` rows, indexed by each row's 0-based position."""
    start = 0
    for chunk in tables.table_chunks(path, rows):
        chunk.index = pd.RangeIndex(start, start + len(chunk))
        yield chunk
        start += len(chunk)


def warned_once(chunks: Iterator[pd.DataFrame], rules: contract.Contract,
                identifiers: list[str], described: Collection[str],
                source: Path) -> Iterator[pd.DataFrame]:
    """The chunks, with the warnings about the file's columns as the first one arrives: every
    chunk has the file's columns."""
    for position, chunk in enumerate(chunks):
        if position == 0:
            warn_about_columns(list(chunk.columns), rules, identifiers, described, source)
        yield chunk


def warn_about_columns(columns: list[str], rules: contract.Contract, identifiers: list[str],
                       described: Collection[str], source: Path) -> None:
    """On stderr: the input's columns that look like a misspelt model input, then the other
    columns the model does not use, which are ignored."""
    misspelt = misspelt_inputs(columns, rules.columns, described)
    for name, hint in misspelt.items():
        print(f"lifecycle predict: warning: {source}: column {name!r} is not a model "
              f"input{hint}; it is ignored", file=sys.stderr)
    ignored = [name for name in columns
               if name not in rules.columns and name not in identifiers and name not in misspelt]
    if ignored:
        more = len(ignored) - NAMES_SHOWN
        print(f"lifecycle predict: warning: {source}: {len(ignored)} column(s) the model does "
              f"not use are ignored: {', '.join(ignored[:NAMES_SHOWN])}"
              f"{f' and {more} more' if more > 0 else ''}", file=sys.stderr)


def score_file(model: object, rules: contract.Contract, identifiers: list[str],
               threshold: float | None, source: Path, output: Path, rejects: Path,
               chunk_rows: int = CHUNK_ROWS, described: Collection[str] = (),
               engine: str = "pandas") -> dict[str, Any]:
    """Score `source` into `output` and `rejects`, chunk by chunk; return the row counts, and
    per column the scored rows outside its soft range (`warned`).
    `described` are the data contract's columns: never taken for misspelt inputs. With the
    Dask engine the chunks are scored by its workers, a few at a time, and written in order."""
    chunks = warned_once(read_chunks(source, chunk_rows), rules, identifiers, described, source)
    arguments = (rules, identifiers, threshold, str(source))
    warned: Counter[str] = Counter()
    soft = has_soft_ranges(rules)  # else a column of the user's may be named `warnings`
    with files.atomic_path(output) as scored_file, files.atomic_path(rejects) as rejects_file, \
            scored_chunks(engine, model, chunks, arguments) as results:
        scored_writer = TableWriter(scored_file, output.suffix.lower())
        rejects_writer = TableWriter(rejects_file, rejects.suffix.lower())
        try:
            for scored, rejected in results:
                scored_writer.write(scored)
                if soft:
                    warned.update(warned_columns(scored[WARNINGS]))
                rejects_writer.write(rejected)
        finally:
            scored_writer.close()
            rejects_writer.close()
    return {"rows_in": scored_writer.rows + rejects_writer.rows,
            "rows_scored": scored_writer.rows, "rows_rejected": rejects_writer.rows,
            "warned": dict(warned)}


def warned_columns(warnings: pd.Series) -> list[str]:
    """The columns named in a chunk's `warnings` ("temp: out of range; hum: out of range")."""
    return [entry.removesuffix(": out of range")
            for text in warnings[warnings != ""] for entry in text.split("; ")]


def warn_about_ranges(warned: dict[str, int], rules: contract.Contract) -> None:
    """One line on stderr: scored values outside soft ranges, per column, and what to do."""
    if not warned:
        return
    per_column = ", ".join(f"{name} outside {rules.columns[name].range_text()} in {count} "
                           f"row{'s' if count > 1 else ''}" for name, count in warned.items()
                           if name in rules.columns)  # not a name holding "; " itself
    print(f"lifecycle predict: warning: scored values outside the soft ranges of "
          f"{paths.CONTRACT}: {per_column}; the model saw few or no such values, so check those "
          f"predictions (column `{WARNINGS}` names the columns per row; `bounds: hard` on a "
          f"column rejects such rows instead)", file=sys.stderr)


@contextlib.contextmanager
def scored_chunks(engine: str, model: object, chunks: Iterator[pd.DataFrame],
                  arguments: tuple) -> Iterator[Iterator[tuple[pd.DataFrame, pd.DataFrame]]]:
    """`score_chunk` of every chunk, in order: here, or on the Dask engine's workers."""
    if engine != "dask":
        yield (score_chunk(model, chunk, *arguments) for chunk in chunks)
        return
    extras.require("dask", "engine: dask")
    import dask
    from distributed import get_client

    from lifecycle.core.engine import dask_client
    from lifecycle.data import partitions

    with dask_client():
        shared = get_client().scatter(model, broadcast=True, hash=False)
        yield partitions.in_order(dask.delayed(score_chunk)(shared, chunk, *arguments)
                                  for chunk in chunks)
