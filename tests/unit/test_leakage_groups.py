"""Leakage spread over columns: a target that two or three columns give away together (a total
and its parts, a ratio, a difference) is found, and strong honest features are not flagged."""

import numpy as np
import pandas as pd
import pytest

from lifecycle.evaluation import leakage

ROWS = 6000


def table(seed: int = 0) -> pd.DataFrame:
    """Positive amounts (the parts a leak is built from), noise, an hour and a category."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"noise{i}": rng.normal(size=ROWS) for i in range(8)})
    frame["hour"] = rng.integers(0, 24, ROWS)
    frame["casual"] = rng.gamma(2.0, 10.0, ROWS) + 3 * (frame["hour"] > 12)
    frame["registered"] = rng.gamma(4.0, 25.0, ROWS)
    frame["members"] = rng.gamma(3.0, 5.0, ROWS)
    frame["plan"] = rng.choice(["basic", "plus", "pro"], ROWS)
    return frame


CONSTRUCTIONS = {
    "sum of two": (lambda t: t["casual"] + t["registered"], ["casual", "registered"]),
    "sum of three": (lambda t: t["casual"] + t["registered"] + t["members"],
                     ["casual", "members", "registered"]),
    "difference": (lambda t: t["registered"] - t["casual"], ["casual", "registered"]),
    "ratio": (lambda t: t["registered"] / t["members"], ["members", "registered"]),
}


def groups(frame: pd.DataFrame, y: pd.Series, task: str) -> list[dict]:
    fit, held_out = slice(0, 4000), slice(4000, None)
    return leakage.feature_group_scores(frame[fit], y[fit], frame[held_out], y[held_out], task,
                                        seed=0)


def best(records: list[dict], metric: str) -> dict:
    return max(records, key=lambda record: record[metric])


@pytest.mark.parametrize("name", CONSTRUCTIONS)
def test_a_target_built_from_columns_is_found_for_regression(name):
    build, parts = CONSTRUCTIONS[name]
    frame = table()

    found = best(groups(frame, build(frame), "regression"), "r2")

    assert found["r2"] >= 0.99
    assert set(parts) <= set(found["features"])


@pytest.mark.parametrize("name", CONSTRUCTIONS)
def test_a_label_built_from_columns_is_found_for_classification(name):
    build, parts = CONSTRUCTIONS[name]
    frame = table()
    value = build(frame)
    y = (value > value.median()).astype(int)

    found = best(groups(frame, y, "binary"), "roc_auc")

    assert found["roc_auc"] >= 0.99
    assert set(parts) <= set(found["features"])


def test_strong_honest_features_are_not_flagged():
    """A target that depends on the columns, with the noise of the world: an r2 near 0.8 from
    the best pair and triple, far below a leak's."""
    frame = table()
    rng = np.random.default_rng(1)
    y = (0.3 * frame["registered"] + 5 * np.sin(frame["hour"] / 4) + 0.5 * frame["members"]
         + rng.normal(0, 12, ROWS))
    labels = (y + rng.normal(0, 12, ROWS) > y.median()).astype(int)

    assert best(groups(frame, y, "regression"), "r2")["r2"] < 0.9
    assert best(groups(frame, labels, "binary"), "roc_auc")["roc_auc"] < 0.9


def test_groups_are_reported_by_size_and_do_not_depend_on_the_column_order():
    frame = table()
    y = frame["casual"] + frame["registered"]

    first = groups(frame, y, "regression")
    again = groups(frame[list(reversed(frame.columns))], y, "regression")

    assert [len(record["features"]) for record in first] == [2, 3]
    assert first == again


def test_times_far_from_1970_and_with_offsets_are_scored_without_overflow():
    """Dates of the year 1 (what month names once parsed as) overflowed the nanoseconds a
    difference of timestamps counts in."""
    rng = np.random.default_rng(0)
    days = rng.integers(0, 300, 400)
    frame = pd.DataFrame({
        "long_ago": pd.Series(pd.Timestamp("0001-01-01").to_datetime64().astype("datetime64[us]")
                              + days.astype("timedelta64[D]")),
        "with_offset": pd.Timestamp("2024-01-01", tz="Europe/Paris")
        + pd.to_timedelta(days, unit="D")})
    y = pd.Series((days > 150).astype(int))

    scores = leakage.single_feature_scores(frame[:300], y[:300], frame[300:], y[300:], "binary", 0)

    assert {record["feature"] for record in scores} == {"long_ago", "with_offset"}
    assert all(record["roc_auc"] > 0.95 for record in scores)
