"""Metrics per value of the slice columns: where does the model do worst?"""

import numpy as np
import pandas as pd

from lifecycle.evaluation import metrics


def slice_metrics(frame: pd.DataFrame, y: np.ndarray, scores: np.ndarray, columns: list[str],
                  task: str, min_rows: int, threshold: float | None = None,
                  classes: np.ndarray | None = None) -> list[dict]:
    """One record per slice (column = value) with at least `min_rows` rows, in a stable order.

    A slice whose labels hold a single class has no ranking metric, so it is left out.
    """
    y = np.asarray(y)
    records = []
    for column in columns:
        values = frame[column].astype("string").fillna("(missing)").to_numpy()
        # Row positions per value in one pass: a column with a value in every row (a slice
        # column a user chose by mistake) costs a sort, not one scan of the rows per value.
        positions = pd.Series(np.arange(len(values))).groupby(values).indices
        for value in sorted(positions):
            rows = positions[value]
            if len(rows) < min_rows or (task != "regression" and len(set(y[rows])) < 2):
                continue
            scored = metrics.task_metrics(task, y[rows], scores[rows], threshold, classes)
            records.append({"slice": f"{column}={value}", "column": column, "value": value,
                            "rows": len(rows), **scored})
    return records


def worst_slice(records: list[dict], metric: str, overall: float) -> dict | None:
    """The slice with the worst value of `metric`, and how far it falls below the overall value."""
    if not records:
        return None
    worst = min(records, key=lambda record: (metrics.oriented(metric, record[metric]),
                                             record["slice"]))
    gap = metrics.lift(metric, overall, worst[metric])
    return {"slice": worst["slice"], "rows": worst["rows"], metric: worst[metric], "gap": gap}
