"""Test metrics with bootstrap confidence intervals, and the test scores as a table.

The metrics of one set of predictions are `lifecycle.modeling.metrics` (training, monitoring and
deployment score with them too); its names are available here as well, so that evaluation and
the layers above it import one module for metrics.
"""

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from lifecycle.core import workers
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
    task_values,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "LOWER_IS_BETTER", "METRIC_NAMES", "ONE_METRIC", "SCORERS", "TASKS", "THRESHOLD_METRICS",
    "binary_metrics", "binary_targets", "bootstrap_intervals", "bootstrap_with_lifts",
    "compact_labels", "importance_scoring", "lift", "metric_labels", "metric_value",
    "multiclass_metrics", "oriented", "paired_bootstrap_deltas", "predict_scores",
    "prediction_table", "regression_metrics", "scores_from_table", "task_metrics", "task_values",
]


def bootstrap_intervals(task: str, y_true: np.ndarray, scores: np.ndarray, *,
                        threshold: float | None = None, classes: np.ndarray | None = None,
                        resamples: int, seed: int, level: float = 0.95
                        ) -> dict[str, list[float]]:
    """Percentile bootstrap interval of every metric, from one seeded set of resampled rows.

    Hand-written rather than scipy.stats.bootstrap: drawing the rows once per resample and
    computing all metrics on them costs one pass per resample instead of one per metric.
    """
    return bootstrap_with_lifts(task, y_true, scores, {}, None, threshold=threshold,
                                classes=classes, resamples=resamples, seed=seed, level=level)[0]


def bootstrap_with_lifts(task: str, y_true: np.ndarray, scores: np.ndarray,
                         baselines: dict[str, np.ndarray], metric: str | None, *,
                         threshold: float | None = None, classes: np.ndarray | None = None,
                         resamples: int, seed: int, level: float = 0.95
                         ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """`bootstrap_intervals` of the candidate's `scores`, and the interval of its lift over each
    of `baselines` (their scores) on `metric` (positive: better). Every model is scored on the
    same resampled rows, so that the noise they share cancels: a lift whose interval lies above
    0 is not luck of the test rows. One pass gives both: the candidate's metrics on a resample
    are computed once, for its intervals and its lifts."""
    on_rows = functools.partial(_metrics_and_lifts_on_rows, task, compact_labels(task, y_true),
                                scores, threshold, classes, metric, baselines)
    draws = resampled(on_rows, len(y_true), resamples, seed)
    return (_intervals([found for found, _ in draws], level),
            _intervals([lifts for _, lifts in draws], level))


def paired_bootstrap_deltas(task: str, y_true: np.ndarray, base: np.ndarray, head: np.ndarray,
                            *, base_threshold: float | None = None,
                            head_threshold: float | None = None,
                            classes: np.ndarray | None = None, resamples: int, seed: int,
                            level: float = 0.95) -> dict[str, list[float]]:
    """Interval of head minus base (oriented: positive is better) for each metric, from the same
    resampled rows scored by both models, so row-to-row noise shared by the two cancels out."""
    on_rows = functools.partial(_deltas_on_rows, task, compact_labels(task, y_true), base,
                                head, base_threshold, head_threshold, classes)
    return dict(sorted(_intervals(resampled(on_rows, len(y_true), resamples, seed),
                                  level).items()))


def compact_labels(task: str, y_true: object) -> np.ndarray:
    """A classifier's labels as an array, whole numbers (0/1, integer classes) one byte each
    when they fit: scikit-learn checks the labels on every metric and fit by hashing each value,
    and bytes hash faster (a third of a bootstrap resample's time on the flights). Every metric
    and fit is the same to the bit; other labels come back as they are."""
    labels = np.asarray(y_true)
    if task != "regression" and labels.dtype.kind in "iu" and labels.size and \
            np.iinfo(np.int8).min <= labels.min() and labels.max() <= np.iinfo(np.int8).max:
        return labels.astype(np.int8)
    return labels


def resampled(on_rows: Callable[[np.ndarray], dict[str, float]], size: int, resamples: int,
              seed: int) -> list[dict[str, float]]:
    """`on_rows` of each of `resamples` seeded resamples (with replacement) of `size` rows, the
    resamples shared among `lifecycle.core.workers`: the same values for any number of them."""
    return workers.shared(functools.partial(_resamples, on_rows, size, seed),
                          range(resamples), size)


def _resamples(on_rows: Callable[[np.ndarray], dict[str, float]], size: int, seed: int,
               numbers: range) -> list[dict[str, float]]:
    # Replays the seed's draws up to the share's last, so resample n is the same rows in any
    # worker; a draw costs a fraction of a millisecond against the metrics' tens.
    rng, values = np.random.default_rng(seed), []
    for number in range(numbers.stop):
        rows = rng.integers(0, size, size)
        if number >= numbers.start:
            values.append(on_rows(rows))
    return values


def _metrics_and_lifts_on_rows(task: str, y_true: np.ndarray, scores: np.ndarray,
                               threshold: float | None, classes: np.ndarray | None,
                               metric: str | None, baselines: dict[str, np.ndarray],
                               rows: np.ndarray) -> tuple[dict[str, float], dict[str, float]]:
    y = y_true[rows]
    values = task_values(task, y, scores[rows], threshold, classes)
    lifts = {name: oriented(metric, values[metric]) - oriented(metric, metric_value(
        metric, task, y, other[rows], threshold, classes)) for name, other in baselines.items()}
    return {name: rounded(value) for name, value in values.items()}, lifts


def _deltas_on_rows(task: str, y_true: np.ndarray, base: np.ndarray, head: np.ndarray,
                    base_threshold: float | None, head_threshold: float | None,
                    classes: np.ndarray | None, rows: np.ndarray) -> dict[str, float]:
    before = task_metrics(task, y_true[rows], base[rows], base_threshold, classes)
    after = task_metrics(task, y_true[rows], head[rows], head_threshold, classes)
    return {name: oriented(name, after[name]) - oriented(name, before[name])
            for name in after.keys() & before.keys()}


def _intervals(draws: list[dict[str, float]], level: float) -> dict[str, list[float]]:
    """The central `level` percentile interval of each name's values, in the first draw's
    order; NaN draws (a resample of one class) are left out."""
    tail = (1 - level) / 2 * 100
    return {name: [rounded(bound) for bound in
                   np.nanpercentile([values[name] for values in draws], [tail, 100 - tail])]
            for name in (draws[0] if draws else {})}


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
