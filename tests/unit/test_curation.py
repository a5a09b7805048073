import datetime

import pandas as pd
import pytest

from lifecycle.core.errors import LifecycleError
from lifecycle.data import curation, splits


def test_curate_drops_rows_without_target_and_exact_duplicates_and_counts_them():
    table = pd.DataFrame({"x": [1, 1, 2, 3, 3], "y": [0, 0, None, 1, 0]})

    curated, dropped = curation.curate(table, "y")

    assert dropped == {"missing_target": 1, "duplicate_row": 1}
    assert curated.to_dict("list") == {"x": [1, 3, 3], "y": [0, 1, 0]}


def test_curate_keeps_exact_duplicates_when_told_and_still_drops_repeated_keys():
    table = pd.DataFrame({"id": [1, 1, 2, 2, 3], "x": [1, 1, 2, 5, 3], "y": [0, 0, 1, 1, None]})

    kept, dropped = curation.curate(table, "y", drop_duplicate_rows=False)
    by_key, dropped_by_key = curation.curate(table, "y", ["id"], drop_duplicate_rows=False)

    assert dropped == {"missing_target": 1, "duplicate_row": 0}
    assert kept["x"].tolist() == [1, 1, 2, 5]
    assert dropped_by_key == {"missing_target": 1, "duplicate_row": 0, "duplicate_key": 2}
    assert by_key["x"].tolist() == [1, 2]


def test_repeated_rows_counts_later_copies_among_rows_with_a_target():
    table = pd.DataFrame({"x": [1, 1, 1, 2, 4, 4], "y": [5, 5, 5, 1, None, None]})

    assert curation.repeated_rows(table, "y") == (2, 4)


def test_judge_duplicate_rows_drops_silently_warns_or_fails_in_one_line():
    assert curation.judge_duplicate_rows(2, 5, "drop", "raw.parquet") == []
    assert curation.judge_duplicate_rows(0, 5, "fail", "raw.parquet") == []
    assert curation.judge_duplicate_rows(2, 5, "warn", "raw.parquet") == [
        "raw.parquet: 2 of 5 rows with a target (40.0%) repeat an earlier row in every column; "
        "kept (validation.duplicate_row: warn)"]
    with pytest.raises(LifecycleError) as error:
        curation.judge_duplicate_rows(1_100, 2_000, "fail", "raw.parquet")
    message = str(error.value)
    assert message.startswith("raw.parquet: 1,100 of 2,000 rows with a target (55.0%) repeat "
                              "an earlier row in every column; set validation.duplicate_row in "
                              "params.yaml to drop")
    assert "\n" not in message



def test_duplicate_effect_on_a_regression_target_gives_the_mean_before_and_after():
    # Three rows alike (two later copies) among five with a target; two alike without one.
    table = pd.DataFrame({"x": [1, 1, 1, 2, 3, 4, 4], "y": [5, 5, 5, 1, 2, None, None]})

    effect = curation.duplicate_effect(table, "y", "regression")

    assert effect == {"rows": 2, "share": 0.4, "target_shift": "mean 3.60 -> 2.67"}


def test_duplicate_effect_on_classes_gives_the_share_of_the_class_that_moves_most():
    binary = pd.DataFrame({"x": [1, 1, 1, 1, 2, 3, 4, 5, 6, 7],
                           "y": ["no"] * 4 + ["yes", "no", "yes", "no", "no", "no"]})
    three = pd.DataFrame({"x": [1, 1, 1, 2, 3, 4], "y": ["a", "a", "a", "b", "c", "c"]})

    # Two classes move alike; the positive class (last in sorted order) is the one named.
    assert curation.duplicate_effect(binary, "y", "binary") == {
        "rows": 3, "share": 0.3, "target_shift": "share of 'yes' 0.20 -> 0.29"}
    # 'a' goes from 3/6 to 1/4, 'b' from 1/6 to 1/4 and 'c' from 2/6 to 2/4.
    assert curation.duplicate_effect(three, "y", "multiclass") == {
        "rows": 2, "share": 2 / 6, "target_shift": "share of 'a' 0.50 -> 0.25"}


def test_duplicate_effect_without_duplicates_or_targets_changes_nothing():
    table = pd.DataFrame({"x": [1, 2, 2], "y": [0, 1, None]})
    no_target = pd.DataFrame({"x": [1, 1], "y": [None, None]})

    assert curation.duplicate_effect(table, "y", "binary") == {
        "rows": 0, "share": 0.0, "target_shift": "no change"}
    assert curation.duplicate_effect(no_target, "y", "regression") == {
        "rows": 0, "share": 0.0, "target_shift": "no change"}



def months_table() -> pd.DataFrame:
    moments = pd.date_range("2013-01-01", "2013-12-31 23:00", freq="7h")
    return pd.DataFrame({"when": moments, "y": range(len(moments))})


def test_split_out_of_time_puts_every_row_in_exactly_one_split_by_date():
    table = months_table()

    parts = splits.split_out_of_time(
        table, "when", datetime.date(2013, 9, 1), datetime.date(2013, 12, 1)
    )

    assert sum(len(frame) for frame in parts.values()) == len(table)
    ids = [set(frame["y"]) for frame in parts.values()]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert parts["train"]["when"].max() < pd.Timestamp("2013-09-01")
    assert parts["test"]["when"].min() >= pd.Timestamp("2013-09-01")
    assert parts["test"]["when"].max() < pd.Timestamp("2013-12-01")
    assert parts["current"]["when"].min() >= pd.Timestamp("2013-12-01")


def test_split_out_of_time_names_the_empty_split_and_the_data_range():
    with pytest.raises(LifecycleError, match=r"test split is empty.*2013-01-01"):
        splits.split_out_of_time(
            months_table(), "when", datetime.date(2014, 1, 1), datetime.date(2014, 2, 1)
        )
