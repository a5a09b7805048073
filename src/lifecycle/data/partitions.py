"""Tables as Dask DataFrames (`engine: dask`): read and write the stages' parquet files in
partitions, number rows, find duplicates, and bring one column at a time to the stage.

- Row-wise work (types, contract rules, drops, time splits, transforms) runs on each partition
  with the pandas engine's functions.
- Duplicates are found by shuffling rows on a hash of their values and comparing whole rows
  within each hash group; the first occurrence in table order is kept, as pandas keeps it.
- Statistics that need a whole column (quantiles, distinct counts, a random split's strata)
  are computed with the pandas functions on one column at a time, never the whole table.

Workers read and write the project's files, so a remote scheduler's workers must see the
project folder at the same path (a shared file system).
"""

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lifecycle.core import stage_trace, tables
from lifecycle.core.files import existing

ROW = "__row__"  # a row's place in the table: partition * 2**32 + position in the partition
HASH = "__hash__"


def read_parquet(path: str | Path, columns: list[str] | None = None) -> Any:
    """A parquet file as a Dask DataFrame, one partition per row group, each read by pandas
    (so its types are the pandas engine's)."""
    import dask.dataframe as dd
    import pyarrow.parquet as pq

    stage_trace.record_read(path)
    path = str(existing(path))
    groups = pq.ParquetFile(path).metadata.num_row_groups
    meta = pq.ParquetFile(path).schema_arrow.empty_table().to_pandas()
    meta = meta if columns is None else meta[columns]
    if not groups:  # a file of no rows
        return dd.from_pandas(meta, npartitions=1)
    return dd.from_map(_row_group, [path] * groups, range(groups), columns=columns, meta=meta,
                       enforce_metadata=False)


def _row_group(path: str, group: int, columns: list[str] | None = None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).read_row_group(group, columns=columns).to_pandas()


def write_parquet(frame: Any, path: str | Path) -> int:
    """A Dask DataFrame as one parquet file, byte for byte what the pandas engine writes."""
    return tables.write_parquet_parts(each_partition(frame), path)


def each_partition(frame: Any) -> Iterator[pd.DataFrame]:
    """The partitions in order: a stage holds one partition, not the table."""
    return in_order(frame.to_delayed())


def in_order(parts: Iterable[Any], ahead: int = 2) -> Iterator[Any]:
    """The results of lazy parts in order, `ahead` more of them computing meanwhile: the
    workers stay busy and memory holds a few parts, whatever their number."""
    from distributed import get_client

    client, computing = get_client(), deque()
    for part in parts:
        computing.append(client.compute(part))
        if len(computing) > ahead:
            yield computing.popleft().result()
    while computing:
        yield computing.popleft().result()


def from_parts(parts: list[Any]) -> Any:
    """A Dask DataFrame of lazy pandas parts. A column parsed in one part as integers and in
    another as decimals (a missing value) gets the type pandas gives the whole column."""
    import dask
    import dask.dataframe as dd

    metas = dask.compute(*[dask.delayed(lambda part: part.iloc[:0])(p) for p in parts])
    meta = pd.concat(metas)
    frame = dd.from_delayed(list(parts), meta=meta, verify_meta=False)
    if all(part.dtypes.equals(meta.dtypes) for part in metas):
        return frame
    return frame.map_partitions(lambda part: part.astype(meta.dtypes.to_dict()), meta=meta)


def coerced(frame: Any, rules: Any) -> tuple[Any, list]:
    """`contract_checks.coerce_types` on every partition: the typed frame, held by the
    workers, and the whole table's failures."""
    import dask

    from lifecycle.data import contract_checks

    def coerce(part: pd.DataFrame) -> tuple[pd.DataFrame, list]:
        typed, failures = contract_checks.coerce_types(part, rules)
        for failure in failures:  # the masks stay here; counts and examples travel
            failure.rows = None
        return typed, failures

    results = [dask.delayed(coerce, nout=2)(part) for part in frame.to_delayed()]
    results = dask.persist(*[item for result in results for item in result])
    failures = dask.compute(*results[1::2])
    return from_parts(results[0::2]), contract_checks.merge_failures(list(failures), rules)


def apply_in_order(frame: Any, function: Callable, *shared: Any) -> list[Any]:
    """`function(partition, *shared)` of every partition, in order; `shared` (a model) is sent
    to each worker once."""
    import dask
    from distributed import get_client

    shared = [get_client().scatter(item, broadcast=True, hash=False) for item in shared]
    return list(in_order([dask.delayed(function)(part, *shared)
                          for part in frame.to_delayed()]))


def column(frame: Any, name: str) -> pd.DataFrame:
    """One column of a Dask DataFrame as a one-column pandas frame, in table order."""
    return frame[[name]].compute().reset_index(drop=True)


def with_rows(frame: Any) -> Any:
    """Number the rows in table order (ROW), so order survives a shuffle."""
    def numbered(part: pd.DataFrame, partition_info: dict | None = None) -> pd.DataFrame:
        number = partition_info["number"] if partition_info else 0
        return part.assign(**{ROW: (number << 32) + np.arange(len(part), dtype="int64")})

    return frame.map_partitions(numbered, meta={**frame.dtypes.to_dict(), ROW: "int64"})


def later_duplicates(frame: Any, subset: list[str]) -> np.ndarray:
    """ROW of each row repeating an earlier row's values in `subset` (pandas' `duplicated`)."""
    def hashed(part: pd.DataFrame) -> pd.DataFrame:
        values = pd.util.hash_pandas_object(part[subset], index=False).to_numpy()
        return part[[*subset, ROW]].assign(**{HASH: values})

    def repeats(part: pd.DataFrame) -> pd.Series:
        part = part.sort_values(ROW, kind="stable")
        return part.loc[part.duplicated(subset=subset), ROW]

    shuffled = frame.map_partitions(hashed).shuffle(on=HASH)
    found = shuffled.map_partitions(repeats, meta=(ROW, "int64")).compute()
    return np.sort(found.to_numpy())


def drop_rows(frame: Any, rows: np.ndarray) -> Any:
    """The frame without the rows numbered `rows` (a small set: duplicates, not the table)."""
    if not len(rows):
        return frame
    chosen = set(rows.tolist())
    return frame.map_partitions(lambda part: part[~part[ROW].isin(chosen)],
                                meta=frame._meta)
