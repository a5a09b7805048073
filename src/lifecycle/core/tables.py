"""Tables: the parquet files stages exchange and the CSV or parquet files users bring."""

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lifecycle.core import stage_trace
from lifecycle.core.errors import LifecycleError
from lifecycle.core.files import atomic_path, check_regular, existing

TABLE_TYPES = (".csv", ".parquet")  # what users bring and get back, by extension
# Rows per parquet row group. Fixed, so a table written whole (pandas) or partition by partition
# (Dask) gives the same bytes; also the Dask engine's partition when it reads the file back.
ROW_GROUP_ROWS = 1_000_000
# The most columns a table a user brings may have: it is refused before its rows are read, since
# pandas' memory for a row grows with its columns (a 12 MB CSV of 1,000,000 columns takes GBs).
# A table of more columns than a data contract can reasonably list is not one this project scores.
MAX_COLUMNS = 10_000
# The most bytes of a parquet footer (the schema and each row group's column statistics) read to
# count the columns: a footer takes about 200 bytes per column and row group.
MAX_FOOTER_BYTES = 16 * 2**20
HEADER_BLOCK = 2**16  # bytes of a CSV header read at a time while counting its columns


def write_parquet(frame: Any, path: str | os.PathLike) -> None:
    write_parquet_parts([frame], path)


def write_parquet_parts(frames: Iterable[Any], path: str | os.PathLike) -> int:
    """One parquet file from consecutive frames of one table, in row groups of ROW_GROUP_ROWS
    whatever the frames' sizes; the bytes depend only on the rows. Returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows, writer, pending = 0, None, None  # pending: arrow rows not yet in a row group
    with atomic_path(path) as temporary:
        try:
            for frame in frames:
                if writer is None:
                    schema = pa.Schema.from_pandas(frame.iloc[:0], preserve_index=False)
                    writer, pending = pq.ParquetWriter(temporary, schema), schema.empty_table()
                table = pa.Table.from_pandas(frame, schema=writer.schema, preserve_index=False)
                pending, rows = pa.concat_tables([pending, table]), rows + len(frame)
                while pending.num_rows >= ROW_GROUP_ROWS:
                    writer.write_table(pending.slice(0, ROW_GROUP_ROWS).combine_chunks())
                    pending = pending.slice(ROW_GROUP_ROWS)
            if writer is None:
                raise ValueError("write_parquet_parts: no frames to write")
            if pending.num_rows or not rows:  # an empty table still has its one empty group
                writer.write_table(pending.combine_chunks())
        finally:
            if writer is not None:
                writer.close()
    return rows


def read_parquet(path: str | os.PathLike, columns: list[str] | None = None) -> Any:
    import pandas as pd

    stage_trace.record_read(path)
    return pd.read_parquet(existing(path), columns=columns)


def parquet_batches(path: str | os.PathLike, rows: int, columns: list[str] | None = None
                    ) -> Iterator[Any]:
    """A parquet file the stages exchange, as frames of at most `rows` rows (typed as
    `read_parquet` types them), so memory holds one frame at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    stage_trace.record_read(path)
    parquet = pq.ParquetFile(existing(path))
    if not parquet.metadata.num_rows:  # no batches at all: one empty frame, as read whole
        yield parquet.schema_arrow.empty_table().select(columns or parquet.schema_arrow.names
                                                        ).to_pandas()
        return
    for batch in parquet.iter_batches(rows, columns=columns):
        yield pa.Table.from_batches([batch], schema=batch.schema).to_pandas()


def sampled_positions(rows: int, max_rows: int, seed: int) -> Any:
    """A seeded sample of `max_rows` of `rows` row positions, sorted (file order kept), or None
    when there are no more rows than that: every row."""
    import numpy as np

    if rows <= max_rows:
        return None
    positions = np.random.default_rng(seed).choice(rows, max_rows, replace=False)
    positions.sort()
    return positions


def read_parquet_rows(path: str | os.PathLike, positions: Any, columns: list[str] | None = None
                      ) -> Any:
    """The rows at sorted `positions` of a parquet file (None: every row), read a row group at a
    time, so memory holds one group and the rows kept."""
    import pandas as pd

    if positions is None:
        return read_parquet(path, columns)
    kept, start = [], 0
    for frame in parquet_batches(path, ROW_GROUP_ROWS, columns):
        end = start + len(frame)
        inside = positions[(positions >= start) & (positions < end)] - start
        kept.append(frame.iloc[inside])
        start = end
    rows = pd.concat(kept, ignore_index=True) if len(kept) > 1 else kept[0].reset_index(drop=True)
    if len(rows) != len(positions):
        raise ValueError(f"read_parquet_rows: positions beyond the {start:,} rows of {path}")
    return rows


def row_count(path: str | os.PathLike) -> int:
    """The rows of a parquet file, from its footer."""
    import pyarrow.parquet as pq

    stage_trace.record_read(path)
    return pq.ParquetFile(existing(path)).metadata.num_rows


def read_table(path: str | os.PathLike, kind: str | None = None, name: str | None = None
               ) -> Any:
    """A CSV or parquet file a user brings, as one frame (see `table_chunks`)."""
    import pandas as pd

    chunks = list(table_chunks(path, kind=kind, name=name))
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def table_chunks(path: str | os.PathLike, rows: int | None = None, kind: str | None = None,
                 name: str | None = None) -> Iterator[Any]:
    """A CSV or parquet file in frames of at most `rows` rows (None: one frame), by `kind` or
    else the extension. Every way the file can fail to read is one LifecycleError that starts
    with `name` (default: the path) and says how to fix it."""
    import pandas as pd

    path = Path(path)
    name = name or str(path)
    kind = kind or path.suffix.lower().removeprefix(".")
    stage_trace.record_read(path)
    if not path.exists():
        raise LifecycleError(f"{name}: file not found")
    check_regular(path, name)  # whatever its name: /dev/zero never ends, a pipe blocks
    if kind not in ("csv", "parquet"):
        raise LifecycleError(f"{name}: unsupported file type {path.suffix!r}; use .csv or "
                             f".parquet")
    if path.stat().st_size == 0:
        raise LifecycleError(f"{name}: the file is empty; export the table again")
    try:
        check_columns(path, kind, name)
        if kind == "csv":
            frames = pd.read_csv(path, chunksize=rows) if rows else [pd.read_csv(path)]
        else:
            import pyarrow.parquet as pq

            parquet = pq.ParquetFile(path)
            batches = parquet.iter_batches(rows) if rows else [parquet.read()]
            frames = (batch.to_pandas() for batch in batches)
        for frame in frames:
            if frame.shape[1] == 1 and any(sep in str(frame.columns[0]) for sep in ";\t|"):
                raise LifecycleError(f"{name}: one column {frame.columns[0]!r}: the delimiter "
                                     f"looks wrong; save the file comma-separated")
            yield frame
    except UnicodeDecodeError as error:
        raise LifecycleError(
            f"{name}: not UTF-8 text ({error.reason} at byte {error.start}); save the file as "
            f"UTF-8 (e.g. `iconv -f latin1 -t utf-8`)") from None
    except pd.errors.EmptyDataError:
        raise LifecycleError(f"{name}: the file has no columns; export the table again with a "
                             f"header row") from None
    except (pd.errors.ParserError, ValueError, OSError) as error:
        raise LifecycleError(f"{name}: could not be read as {kind}: {error}") from None


def check_columns(path: Path, kind: str, name: str) -> None:
    """Refuse a table of more than MAX_COLUMNS columns, from its CSV header or parquet footer,
    before any row is read."""
    if kind == "csv":
        over = csv_columns(path, MAX_COLUMNS) > MAX_COLUMNS
    else:
        over = parquet_columns(path, name) > MAX_COLUMNS
    if over:
        raise LifecycleError(f"{name}: more than {MAX_COLUMNS:,} columns, the most a table may "
                             f"have here; keep only the columns you need")


def csv_columns(path: Path, limit: int) -> int:
    """The columns of a CSV file's header row, counted until they pass `limit`: the header is
    read in blocks, so a header of a million names costs what its first `limit` do."""
    columns, quoted, started = 1, False, False
    with path.open("rb") as file:
        while block := file.read(HEADER_BLOCK):
            if not started:  # pandas skips blank lines before the header
                block = block.lstrip(b"\r\n")
                started = bool(block)
            # Between quotes a comma or line break is part of a name: split on the quote
            # character, the pieces alternate outside and inside quotes ("" toggles twice).
            for piece in block.split(b'"'):
                if not quoted:
                    end = piece.find(b"\n")
                    columns += piece.count(b",", 0, None if end < 0 else end)
                    if end >= 0 or columns > limit:
                        return columns
                quoted = not quoted
            quoted = not quoted  # a block does not end in a quote character: undo the last
    return columns


def parquet_columns(path: Path, name: str) -> int:
    """The columns of a parquet file's schema, from a footer of at most MAX_FOOTER_BYTES."""
    import pyarrow.parquet as pq

    with path.open("rb") as file:
        file.seek(0, os.SEEK_END)
        if file.tell() >= 12:  # shorter: not parquet, and pyarrow says so below
            file.seek(-8, os.SEEK_END)
            footer, magic = int.from_bytes(file.read(4), "little"), file.read(4)
            if magic == b"PAR1" and footer > MAX_FOOTER_BYTES:
                raise LifecycleError(f"{name}: its parquet footer is {footer:,} bytes, more "
                                     f"than {MAX_FOOTER_BYTES:,}: more columns (or row groups) "
                                     f"than a table may have here; keep only the columns you "
                                     f"need")
    return pq.ParquetFile(path).metadata.num_columns


class TableWriter:
    """Append chunks to a CSV or parquet file; the first chunk fixes the columns and types."""

    def __init__(self, path: Path, kind: str) -> None:
        if kind not in TABLE_TYPES:
            raise LifecycleError(f"unsupported output type {kind!r}; use .csv or .parquet")
        self.path, self.kind, self.rows, self.started = path, kind, 0, False
        self.schema, self.parquet = None, None

    def write(self, frame: Any) -> None:
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
