import datetime

import pandas as pd
import pytest

from lifecycle import curation, splits
from lifecycle.errors import LifecycleError


def test_curate_drops_rows_without_target_and_exact_duplicates_and_counts_them():
    table = pd.DataFrame({"x": [1, 1, 2, 3, 3], "y": [0, 0, None, 1, 0]})

    curated, dropped = curation.curate(table, "y")

    assert dropped == {"missing_target": 1, "duplicate_row": 1}
    assert curated.to_dict("list") == {"x": [1, 3, 3], "y": [0, 1, 0]}


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
