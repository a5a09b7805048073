import math

import pandas as pd

from lifecycle.data import schedule_features


def schedule() -> pd.DataFrame:
    """Five scheduled flights; the second is cancelled (no departure time)."""
    return pd.DataFrame({
        "year": [2013] * 5, "month": [1] * 5, "day": [1, 1, 1, 1, 2],
        "hour": [5, 5, 5, 9, 5], "sched_arr_time": [730, 745, 800, 1010, 730],
        "origin": ["EWR", "EWR", "JFK", "EWR", "EWR"],
        "dest": ["ORD", "ORD", "ORD", "BOS", "ORD"],
        "carrier": ["UA", "AA", "UA", "UA", "UA"],
        "dep_time": [517.0, None, 502.0, 901.0, 515.0],
    }, index=[10, 11, 12, 13, 14])


def test_congestion_counts_every_scheduled_flight_of_each_group():
    counts = schedule_features.congestion_counts(schedule())

    assert counts.index.tolist() == [10, 11, 12, 13, 14]
    assert counts.to_dict("list") == {
        # the cancelled flight 11 counts: it was on the schedule known in advance
        "flights_origin_hour": [2, 2, 1, 1, 1],
        "flights_hour": [3, 3, 3, 1, 1],
        "flights_origin_day": [3, 3, 1, 3, 1],
        "flights_day": [4, 4, 4, 4, 1],
        "flights_dest_day": [3, 3, 3, 1, 1],
        "flights_carrier_origin_day": [2, 1, 1, 2, 1],
        # ORD on Jan 1: flights 10 and 11 arrive in hour 7, flight 12 in hour 8
        "flights_dest_arrival_hour": [2, 2, 1, 1, 1],
    }


def test_plane_rotation_orders_each_planes_day_by_scheduled_departure():
    # N1 flies three legs on Jan 1 (listed out of order, the 09:05 one cancelled) and one on
    # Jan 2; N2 one leg; one flight has no tail number.
    flights = pd.DataFrame({
        "tailnum": ["N1", "N1", None, "N2", "N1", "N1"], "year": 2013, "month": 1,
        "day": [1, 1, 1, 1, 1, 2], "hour": [13, 6, 7, 7, 9, 6], "minute": [0, 0, 0, 0, 5, 0],
        "dep_time": [1302.0, 601.0, 700.0, 705.0, None, 600.0],
    }, index=[5, 6, 7, 8, 9, 10])

    rotation = schedule_features.plane_rotation(flights)

    assert rotation.index.tolist() == [5, 6, 7, 8, 9, 10]
    assert rotation.fillna(-1).to_dict("list") == {
        "plane_legs_before": [2, 0, -1, 0, 1, 0],
        "plane_legs_day": [3, 3, -1, 1, 3, 1],
        # 06:00 -> 09:05 -> 13:00; the day's first leg has no previous one
        "plane_minutes_since_previous": [235, -1, -1, -1, 185, -1],
    }


def hourly(origin: str, values: dict[str, list]) -> pd.DataFrame:
    """Weather at `origin` at 00:00Z to 07:00Z on 2013-01-01, without the hours whose values
    are all None (a missing observation)."""
    frame = pd.DataFrame({"origin": origin,
                          "time_hour": [f"2013-01-01T{hour:02d}:00:00Z" for hour in range(8)],
                          **values})
    return frame.dropna(subset=list(values), how="all").reset_index(drop=True)


def weather() -> pd.DataFrame:
    nan = None
    ewr = hourly("EWR", {  # 05:00Z is missing
        "precip": [0.1, 0.2, 0.3, 0.4, 0.5, nan, 0.7, 0.8],
        "visib": [10, 10, 2, 10, 10, nan, 10, 10],
        "wind_gust": [nan, nan, nan, 30, nan, nan, nan, nan],
        "pressure": [1000.1, 1001.2, 1002.0, 1004.3, 1005.4, nan, 1010.2, 1011.5],
    })
    jfk = hourly("JFK", {"precip": [5.0] * 8, "visib": [0] * 8, "wind_gust": [60] * 8,
                         "pressure": [990 + 10 * hour for hour in range(8)]})
    return pd.concat([jfk, ewr], ignore_index=True)


def trailing_at(origin: str, hours: list[int]) -> pd.DataFrame:
    flights = pd.DataFrame({"origin": origin,
                            "time_hour": [f"2013-01-01T{hour:02d}:00:00Z" for hour in hours]})
    return schedule_features.trailing_weather_of(flights, weather())


def test_trailing_window_ends_at_the_scheduled_hour_and_includes_it():
    found = trailing_at("EWR", [2, 4, 7])

    # 02:00Z: 00:00, 01:00 and 02:00 (the hour before the grid starts is not there)
    # exactly: rounded to hundredths, not 0.1 + 0.2 + 0.3 == 0.6000000000000001
    assert found["precip_3h"].tolist() == [0.6, 1.2, 1.5]
    assert found["precip_6h"].tolist() == [0.6, 1.5, 2.7]
    assert found["visib_min_3h"].tolist() == [2, 2, 10]
    assert found["wind_gust_max_3h"].tolist()[1] == 30
    assert math.isnan(found["wind_gust_max_3h"].tolist()[2])  # no gust in 05:00-07:00
    # the pressure change since 3 hours before, missing when that hour is before the grid
    assert math.isnan(found["pressure_change_3h"].tolist()[0])
    assert found["pressure_change_3h"].tolist()[1:] == [4.2, 6.1]  # rounded to tenths


def test_a_missing_hour_is_a_gap_in_the_window_not_a_missing_window():
    found = trailing_at("EWR", [5, 6])

    assert found["precip_3h"].tolist() == [0.9, 1.2]  # 03+04, 04+06
    assert found["visib_min_3h"].tolist() == [10, 10]
    # the pressure change needs both ends: 05:00 has none, 06:00 goes back to 03:00
    assert math.isnan(found["pressure_change_3h"].tolist()[0])
    assert found["pressure_change_3h"].tolist()[1] == 5.9


def test_one_origins_weather_does_not_leak_into_anothers():
    ewr, jfk = trailing_at("EWR", [3]), trailing_at("JFK", [3])

    assert ewr.iloc[0].tolist() == [0.9, 1.0, 2, 30, 4.2]
    assert jfk.iloc[0].tolist() == [15.0, 20.0, 0, 60, 30]


def test_trailing_weather_is_missing_outside_the_weather_hours_and_keeps_the_flights_index():
    flights = pd.DataFrame({"origin": ["EWR", "LGA", "EWR"],
                            "time_hour": ["2013-01-01T01:00:00Z", "2013-01-01T01:00:00Z",
                                          "2013-01-02T01:00:00Z"]}, index=[7, 3, 5])

    found = schedule_features.trailing_weather_of(flights, weather())

    assert found.index.tolist() == [7, 3, 5]
    assert found.columns.tolist() == schedule_features.TRAILING_WEATHER
    assert found.loc[7, "precip_3h"] == 0.3
    assert found.loc[[3, 5]].isna().all().all()  # no weather at LGA; after the last hour
