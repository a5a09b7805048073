"""Test metrics with bootstrap confidence intervals, and the test scores as a table.

The metrics of one set of predictions are `lifecycle.modeling.metrics` (training, monitoring and
deployment score with them too); its names are available here as well, so that evaluation and
the layers above it import one module for metrics.
"""

from typing import TYPE_CHECKING

import numpy as np

from lifecycle.core.formatting import rounded
from lifecycle.modeling.metrics import (
    LOWER_IS_BETTER,
    METRIC_NAMES,
    ONE_METRIC,
    SCORERS,
    TASKS,
    THRESHOLD_METRICS,
    binary_metrics,
    binary_targets,
    importance_scoring,
    lift,
    metric_labels,
    metric_value,
    multiclass_metrics,
    oriented,
    predict_scores,
    regression_metrics,
    task_metrics,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "LOWER_IS_BETTER", "METRIC_NAMES", "ONE_METRIC", "SCORERS", "TASKS", "THRESHOLD_METRICS",
    "binary_metrics", "binary_targets", "bootstrap_intervals", "importance_scoring", "lift",
    "metric_labels", "metric_value", "multiclass_metrics", "oriented", "paired_bootstrap_deltas",
    "paired_lift_intervals", "predict_scores", "prediction_table", "regression_metrics",
    "scores_from_table", "task_metrics",
]


def bootstrap_intervals(task: str, y_true: np.ndarray, scores: np.ndarray, *,
                        threshold: float | None = None, classes: np.ndarray | None = None,
                        resamples: int, seed: int, level: float = 0.95
                        ) -> dict[str, list[float]]:
    """Percentile bootstrap interval of every metric, from one seeded set of resampled rows.

    Hand-written rather than scipy.stats.bootstrap: drawing the rows once per resample and
    computing all metrics on them costs one pass per resample instead of one per metric.
    """
    y_true, rng = np.asarray(y_true), np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(resamples):
        rows = rng.integers(0, len(y_true), len(y_true))
        values = task_metrics(task, y_true[rows], scores[rows], threshold, classes)
        for name, value in values.items():
            draws.setdefault(name, []).append(value)
    tail = (1 - level) / 2 * 100
    return {
        name: [rounded(bound)
               for bound in np.nanpercentile(np.asarray(values), [tail, 100 - tail])]
        for name, values in draws.items()
    }


def paired_bootstrap_deltas(task: str, y_true: np.ndarray, base: np.ndarray, head: np.ndarray,
                            *, base_threshold: float | None = None,
                            head_threshold: float | None = None,
                            classes: np.ndarray | None = None, resamples: int, seed: int,
                            level: float = 0.95) -> dict[str, list[float]]:
    """Interval of head minus base (oriented: positive is better) for each metric, from the same
    resampled rows scored by both models, so row-to-row noise shared by the two cancels out."""
    y_true, rng = np.asarray(y_true), np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(resamples):
        rows = rng.integers(0, len(y_true), len(y_true))
        before = task_metrics(task, y_true[rows], base[rows], base_threshold, classes)
        after = task_metrics(task, y_true[rows], head[rows], head_threshold, classes)
        for name in after.keys() & before.keys():
            draws.setdefault(name, []).append(oriented(name, after[name])
                                              - oriented(name, before[name]))
    tail = (1 - level) / 2 * 100
    return {name: [rounded(bound)
                   for bound in np.nanpercentile(np.asarray(values), [tail, 100 - tail])]
            for name, values in sorted(draws.items())}


def paired_lift_intervals(metric: str, task: str, y_true: np.ndarray, candidate: np.ndarray,
                          baselines: dict[str, np.ndarray], *, threshold: float | None = None,
                          classes: np.ndarray | None = None, resamples: int, seed: int,
                          level: float = 0.95) -> dict[str, list[float]]:
    """Interval of the candidate's lift over each baseline on one metric (positive: better),
    every model scored on the same resampled rows, so that the noise they share cancels: a
    lift whose interval lies above 0 is not luck of the test rows."""
    y_true, rng = np.asarray(y_true), np.random.default_rng(seed)
    draws: dict[str, list[float]] = {name: [] for name in baselines}
    for _ in range(resamples):
        rows = rng.integers(0, len(y_true), len(y_true))
        value = oriented(metric, metric_value(metric, task, y_true[rows], candidate[rows],
                                              threshold, classes))
        for name, scores in baselines.items():
            draws[name].append(value - oriented(metric, metric_value(
                metric, task, y_true[rows], scores[rows], threshold, classes)))
    tail = (1 - level) / 2 * 100
    return {name: [rounded(bound) for bound in np.nanpercentile(values, [tail, 100 - tail])]
            for name, values in draws.items()}


def prediction_table(y_true: object, scores: np.ndarray, classes: np.ndarray | None = None
                     ) -> "pd.DataFrame":
    """The test labels and scores in a frame: one `score` column, or `score:<class>` each.

    Binary labels are 0/1 (`binary_targets`), so the table scores like any binary one.
    """
    import pandas as pd

    table = pd.DataFrame({"label": np.asarray(y_true)})
    if scores.ndim == 1:
        table["score"] = scores
    else:
        for index, name in enumerate(classes):
            table[f"score:{name}"] = scores[:, index]
    return table


def scores_from_table(table: "pd.DataFrame") -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Labels, scores and classes back from `prediction_table`'s frame."""
    y_true = table["label"].to_numpy()
    if "score" in table:
        return y_true, table["score"].to_numpy(), None
    columns = [name for name in table.columns if name.startswith("score:")]
    classes = np.asarray([name.removeprefix("score:") for name in columns]).astype(y_true.dtype)
    return y_true, table[columns].to_numpy(), classes
