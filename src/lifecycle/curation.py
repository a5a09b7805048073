"""Row curation and the split: work that only makes sense on training data.

Value transformations that must also apply to new rows live in the model pipeline instead
(see `features`).
"""

import datetime

import pandas as pd

from lifecycle.errors import LifecycleError

SPLITS = ("train", "test", "current")


def curate(table: pd.DataFrame, target: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop rows without a target and exact duplicate rows; count the rows dropped by reason."""
    has_target = table[target].notna()
    labelled = table[has_target]
    duplicated = labelled.duplicated()
    curated = labelled[~duplicated].reset_index(drop=True)
    dropped = {
        "missing_target": int((~has_target).sum()),
        "duplicate_row": int(duplicated.sum()),
    }
    return curated, dropped


def split_out_of_time(table: pd.DataFrame, time_column: str, test_start: datetime.date,
                      current_start: datetime.date) -> dict[str, pd.DataFrame]:
    """Train before `test_start`, test until `current_start`, and the "current" batch after.

    The current batch stands for the newest data a deployed model meets; monitoring compares it
    with the training data.
    """
    moment = pd.to_datetime(table[time_column])
    test_from, current_from = pd.Timestamp(test_start), pd.Timestamp(current_start)
    masks = {
        "train": moment < test_from,
        "test": (moment >= test_from) & (moment < current_from),
        "current": moment >= current_from,
    }
    splits = {name: table[mask].reset_index(drop=True) for name, mask in masks.items()}
    for name in ("train", "test"):
        if splits[name].empty:
            raise LifecycleError(
                f"split: the {name} split is empty: {time_column} runs from {moment.min()} to "
                f"{moment.max()}; move split.test_start / split.current_start inside that range"
            )
    return splits


def split_summary(splits: dict[str, pd.DataFrame], target: str) -> dict[str, dict[str, float]]:
    """Rows and positive rate per split, for the data report."""
    return {
        name: {
            "rows": len(frame),
            "positive_rate": round(float(frame[target].mean()), 6) if len(frame) else 0.0,
        }
        for name, frame in splits.items()
    }
