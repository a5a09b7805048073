"""What evaluate's plots draw, as data: dvc.yaml registers the files dvclive writes from them.

The functions here return plain records; `log` hands them to a dvclive `Live` (the stage's),
so the choice of plots is tested in memory and only the stage writes files.
"""

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from lifecycle.evaluation import metrics

# Plots of single predictions draw at most this many seeded rows, so plot files stay small.
PLOT_ROWS = 1000


@dataclasses.dataclass(frozen=True)
class Curve:
    """A scikit-learn curve of labels and scores (`Live.log_sklearn_plot`)."""

    kind: str
    labels: Any
    scores: np.ndarray
    options: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Points:
    """Data points drawn with a template (`Live.log_plot`); `options` are x, y and template."""

    name: str
    points: list[dict]
    options: dict


def evaluation_plots(task: str, y: pd.Series, scores: np.ndarray, threshold: float | None,
                     classes: np.ndarray | None, seed: int) -> list[Curve | Points]:
    """The task's plots of the test scores: curves and confusion counts for classification,
    predicted against actual and residuals of a seeded sample of rows for regression."""
    if task == "binary":
        # Curves from scores rounded to 0.001: at most a thousand points, so the plot files
        # stay small in git and fast to draw; the metrics use the exact scores.
        curve_scores = scores.round(3)
        return [
            Curve("roc", y, curve_scores, {"drop_intermediate": True}),
            Curve("precision_recall", y, curve_scores, {"drop_intermediate": True}),
            Curve("calibration", y, scores, {"n_bins": 10, "strategy": "quantile"}),
            Points("confusion", confusion_counts(y, (scores >= threshold).astype(int)),
                   {"x": "actual", "y": "predicted"}),
        ]
    if task == "multiclass":
        return [Points("confusion", confusion_counts(y, np.asarray(classes)[scores.argmax(axis=1)]),
                       {"x": "actual", "y": "predicted"})]
    points = residual_points(y, scores, seed)
    return [Points("predicted_vs_actual", points,
                   {"x": "actual", "y": "predicted", "template": "scatter"}),
            Points("residuals", points, {"x": "predicted", "y": "residual", "template": "scatter"})]


def residual_points(y: pd.Series, scores: np.ndarray, seed: int) -> list[dict]:
    """Actual, predicted and residual of at most PLOT_ROWS seeded rows, rounded."""
    rows = np.random.default_rng(seed).choice(len(y), min(PLOT_ROWS, len(y)), replace=False)
    actual, predicted = np.asarray(y, dtype=float)[rows], scores[rows]
    return [{"actual": round(float(a), 4), "predicted": round(float(p), 4),
             "residual": round(float(a - p), 4)} for a, p in zip(actual, predicted, strict=True)]


def slice_plot(records: list[dict], primary: str, overall: float) -> list[Points]:
    """The slices' gaps to the whole test split, when there are slices."""
    if not records:
        return []
    return [Points("slices", slice_gaps(records, primary, overall), {"x": "gap", "y": "slice"})]


def slice_gaps(records: list[dict], primary: str, overall: float) -> list[dict]:
    """Each slice's primary metric and its gap to the overall value, oriented so that a
    negative gap is worse than overall whichever direction the metric prefers."""
    return [{"slice": record["slice"], primary: record[primary], "rows": record["rows"],
             "gap": metrics.lift(primary, record[primary], overall)} for record in records]


def confusion_counts(actual: pd.Series, predicted: np.ndarray) -> list[dict]:
    """Rows per (actual, predicted) pair, zeros included: a few records whatever the rows."""
    counts = pd.crosstab(pd.Series(np.asarray(actual), name="actual").astype(str),
                         pd.Series(predicted, name="predicted").astype(str))
    labels = sorted(set(counts.index) | set(counts.columns))
    counts = counts.reindex(index=labels, columns=labels, fill_value=0)
    return [{"actual": a, "predicted": p, "count": int(counts.loc[a, p])}
            for a in labels for p in labels]


def log(live: Any, plots: list[Curve | Points]) -> None:
    """Each plot through dvclive's `Live`, which writes its file."""
    for plot in plots:
        if isinstance(plot, Curve):
            live.log_sklearn_plot(plot.kind, plot.labels, plot.scores, **plot.options)
        else:
            live.log_plot(plot.name, plot.points, **plot.options)
