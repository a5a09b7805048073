"""Test metrics by task, with bootstrap confidence intervals, rounded so that files diff cleanly.

A model's "scores" are what `predict_scores` returns: the probability of the positive class
(binary), a probability per class (multiclass) or the predicted value (regression).
"""

from typing import TYPE_CHECKING

import numpy as np
from sklearn import metrics

if TYPE_CHECKING:
    import pandas as pd

DIGITS = 6
TASKS = ("binary", "multiclass", "regression")
# Metrics where a smaller value is better; every other metric is better when larger.
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "rmse", "mae"})
# Binary metrics that need the decision threshold from params; the rest rank or calibrate.
THRESHOLD_METRICS = ("f1", "precision", "recall")
METRIC_NAMES = {
    "binary": ("roc_auc", "average_precision", "log_loss", "brier", *THRESHOLD_METRICS),
    "multiclass": ("macro_f1", "balanced_accuracy", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}
# The scikit-learn scorer for each metric (permutation importance scores with these).
SCORERS = {
    "roc_auc": "roc_auc", "average_precision": "average_precision", "log_loss": "neg_log_loss",
    "brier": "neg_brier_score", "f1": "f1", "precision": "precision", "recall": "recall",
    "macro_f1": "f1_macro", "balanced_accuracy": "balanced_accuracy",
    "rmse": "neg_root_mean_squared_error", "mae": "neg_mean_absolute_error", "r2": "r2",
}


def predict_scores(model: object, X: object, task: str) -> np.ndarray:
    if task == "regression":
        return np.asarray(model.predict(X), dtype=float)
    probability = model.predict_proba(X)
    return probability[:, 1] if task == "binary" else probability


def binary_metrics(y_true: np.ndarray, probability: np.ndarray,
                   threshold: float | None) -> dict[str, float]:
    """Ranking and calibration metrics; with a threshold, also F1, precision and recall."""
    values = {
        "roc_auc": _or_nan(metrics.roc_auc_score, y_true, probability),
        "average_precision": metrics.average_precision_score(y_true, probability),
        "log_loss": metrics.log_loss(y_true, probability, labels=[0, 1]),
        "brier": metrics.brier_score_loss(y_true, probability, labels=[0, 1]),
    }
    if threshold is not None:
        predicted = (probability >= threshold).astype(int)
        # one call for all three: the bootstrap computes them hundreds of times
        precision, recall, f1, _ = metrics.precision_recall_fscore_support(
            y_true, predicted, average="binary", zero_division=0)
        values.update(f1=f1, precision=precision, recall=recall)
    return _rounded(values)


def multiclass_metrics(y_true: np.ndarray, probability: np.ndarray,
                       classes: np.ndarray) -> dict[str, float]:
    predicted = np.asarray(classes)[probability.argmax(axis=1)]
    values = {
        "macro_f1": metrics.f1_score(y_true, predicted, labels=classes, average="macro",
                                     zero_division=0),
        "balanced_accuracy": metrics.balanced_accuracy_score(y_true, predicted),
        "log_loss": metrics.log_loss(y_true, probability, labels=classes),
    }
    return _rounded(values)


def regression_metrics(y_true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    values = {
        "rmse": metrics.root_mean_squared_error(y_true, predicted),
        "mae": metrics.mean_absolute_error(y_true, predicted),
        "r2": metrics.r2_score(y_true, predicted),
    }
    return _rounded(values)


def task_metrics(task: str, y_true: np.ndarray, scores: np.ndarray,
                 threshold: float | None = None, classes: np.ndarray | None = None
                 ) -> dict[str, float]:
    """The task's metrics; `threshold` None leaves out the binary metrics that need one."""
    y_true = np.asarray(y_true)
    if task == "binary":
        return binary_metrics(y_true, scores, threshold)
    if task == "multiclass":
        return multiclass_metrics(y_true, scores, classes)
    return regression_metrics(y_true, scores)


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
        name: [round(float(bound), DIGITS)
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
    return {name: [round(float(bound), DIGITS)
                   for bound in np.nanpercentile(np.asarray(values), [tail, 100 - tail])]
            for name, values in sorted(draws.items())}


def prediction_table(y_true: object, scores: np.ndarray, classes: np.ndarray | None = None
                     ) -> "pd.DataFrame":
    """The test labels and scores in a frame: one `score` column, or `score:<class>` each."""
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


def oriented(metric: str, value: float) -> float:
    """A value where larger is always better, so lifts and gaps read the same for every metric."""
    return -value if metric in LOWER_IS_BETTER else value


def lift(metric: str, candidate: float, baseline: float) -> float:
    """How much better the candidate is than the baseline (positive: better)."""
    return round(oriented(metric, candidate) - oriented(metric, baseline), DIGITS)


def _or_nan(function: object, *arguments: object) -> float:
    # ROC AUC is undefined on a resample or a slice that holds a single class.
    try:
        return function(*arguments)
    except ValueError:
        return float("nan")


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {name: round(float(value), DIGITS) for name, value in values.items()}
