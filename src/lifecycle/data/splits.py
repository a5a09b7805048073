"""The split: training, test and current (monitoring) rows, at random or out of time."""

import datetime
from typing import Any

import pandas as pd

from lifecycle.core.errors import LifecycleError


def split_rows(table: pd.DataFrame, settings: Any, target: str, task: str,
               seed: int) -> dict[str, pd.DataFrame]:
    """prepare's split as params.yaml's `split:` section (`settings`) says: out of time at its
    dates, else at random, stratified by the target for classification."""
    if settings.method == "out_of_time":
        return split_out_of_time(table, settings.time_column, settings.test_start,
                                 settings.current_start)
    return split_random(table, target, settings.test_fraction, settings.current_fraction, seed,
                        stratify=task != "regression")


def split_random(table: pd.DataFrame, target: str, test_fraction: float,
                 current_fraction: float, seed: int, stratify: bool) -> dict[str, pd.DataFrame]:
    """A seeded random split, stratified by the target for classification.

    The optional "current" slice stands in for new data to monitor when no time column exists.
    """
    from sklearn.model_selection import train_test_split

    def cut(frame: pd.DataFrame, size: float) -> tuple[pd.DataFrame, pd.DataFrame]:
        labels = frame[target] if stratify else None
        try:
            return train_test_split(frame, test_size=size, random_state=seed, stratify=labels)
        except ValueError as error:
            raise LifecycleError(f"split: cannot split {len(frame)} rows randomly ({error}); "
                                 f"use more data or set split.test_fraction") from None

    rest, test = cut(table, test_fraction)
    current = table.iloc[:0]
    if current_fraction > 0:
        rest, current = cut(rest, current_fraction / (1 - test_fraction))
    splits = {"train": rest, "test": test, "current": current}
    return {name: frame.sort_index().reset_index(drop=True) for name, frame in splits.items()}


def split_out_of_time(table: pd.DataFrame, time_column: str, test_start: datetime.date,
                      current_start: datetime.date | None) -> dict[str, pd.DataFrame]:
    """Train before `test_start`, test until `current_start`, and the "current" batch after.

    The current batch stands for the newest data a deployed model meets; monitoring compares it
    with the training data.
    """
    masks = out_of_time_masks(table, time_column, test_start, current_start)
    splits = {name: table[mask].reset_index(drop=True) for name, mask in masks.items()}
    check_not_empty({name: len(frame) for name, frame in splits.items()}, time_column,
                    moments(table[time_column]))
    return splits


def out_of_time_masks(table: pd.DataFrame, time_column: str, test_start: datetime.date,
                      current_start: datetime.date | None) -> dict[str, pd.Series]:
    """Each split's rows of `table`, by the time column alone (so any part of a table can be
    split on its own)."""
    moment = moments(table[time_column])
    test_from = pd.Timestamp(test_start)
    # Without current_start there is no "current" batch: everything from test_start is test.
    current_from = pd.Timestamp(current_start) if current_start else pd.Timestamp.max
    return {
        "train": moment < test_from,
        "test": (moment >= test_from) & (moment < current_from),
        "current": moment >= current_from,
    }


def moments(values: pd.Series) -> pd.Series:
    moment = pd.to_datetime(values)
    if moment.dt.tz is not None:  # compare in UTC with the naive dates of params.yaml
        moment = moment.dt.tz_convert(None)
    return moment


def check_not_empty(sizes: dict[str, int], time_column: str, moment: pd.Series) -> None:
    for name in ("train", "test"):
        if not sizes[name]:
            raise LifecycleError(
                f"split: the {name} split is empty: {time_column} runs from {moment.min()} to "
                f"{moment.max()}; move split.test_start / split.current_start inside that range"
            )
