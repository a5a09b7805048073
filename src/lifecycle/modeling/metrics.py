"""A model's scores and the metrics of one set of predictions, by task, rounded so that files
diff cleanly.

A model's "scores" are what `predict_scores` returns: the probability of the positive class
(binary), a probability per class (multiclass) or the predicted value (regression). Binary
metrics take 0/1 labels: `binary_targets` turns the labels a model was fitted on (0/1, yes/no,
any two values) into them.

Here, below evaluation, because training (cross-validation, tuning), monitoring and deployment
score with them too; the intervals over resampled rows are `lifecycle.evaluation.metrics`.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn import metrics

from lifecycle import config
from lifecycle.core.errors import LifecycleError
from lifecycle.core.formatting import rounded

if TYPE_CHECKING:
    import pandas as pd

TASKS = ("binary", "multiclass", "regression")
# Metrics where a smaller value is better; every other metric is better when larger.
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "rmse", "mae"})
# Binary metrics that need the decision threshold from params; the rest rank or calibrate.
THRESHOLD_METRICS = ("f1", "precision", "recall")
# The metrics of each task; params.yaml is checked against them when it is parsed.
METRIC_NAMES = config.METRIC_NAMES
# The scikit-learn scorer for each metric (permutation importance scores with these).
SCORERS = {
    "roc_auc": "roc_auc", "average_precision": "average_precision", "log_loss": "neg_log_loss",
    "brier": "neg_brier_score", "f1": "f1", "precision": "precision", "recall": "recall",
    "macro_f1": "f1_macro", "balanced_accuracy": "balanced_accuracy",
    "rmse": "neg_root_mean_squared_error", "mae": "neg_mean_absolute_error", "r2": "r2",
}


def binary_targets(y: Any, classes: Any) -> Any:
    """1 where the label is the positive class, else 0: the labels binary metrics take.

    The positive class is `classes[1]` (a classifier's `classes_`, which scikit-learn sorts):
    the class whose probability `predict_proba(X)[:, 1]`, and so `predict_scores`, gives. Labels
    0/1 stay 0/1; yes/no become no = 0, yes = 1. A Series comes back as a Series on the same
    index, anything else as an array. A label that is not one of the classes is an error.
    """
    import pandas as pd

    classes = list(np.asarray(classes).tolist())
    if len(classes) != 2:
        raise LifecycleError(f"a binary target needs exactly two classes; the model knows "
                             f"{len(classes)}: {classes}")
    labels = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y))
    unknown = labels[~labels.isin(classes)]
    if len(unknown):
        raise LifecycleError(f"target label {unknown.iloc[0]!r} ({len(unknown)} rows) is not "
                             f"one of the classes the model learned: {classes[0]!r}, "
                             f"{classes[1]!r}")
    positive = (labels == classes[1]).to_numpy(dtype=np.int64)
    if isinstance(y, pd.Series):
        return pd.Series(positive, index=y.index, name=y.name)
    return positive


def metric_labels(target: "pd.Series", task: str, classes: Any) -> "pd.Series":
    """The labels metrics take: 0/1 for the model's positive class (binary), else as they are;
    a class the model never learned is an error (it cannot be scored)."""
    if task == "binary":
        return binary_targets(target, classes)
    if task == "multiclass":
        unseen = target[~target.isin(np.asarray(classes).tolist())]
        if len(unseen):
            raise LifecycleError(f"target label {unseen.iloc[0]!r} ({len(unseen)} rows) is not "
                                 f"one of the classes the model learned")
    return target


def importance_scoring(metric: str, task: str, threshold: float | None) -> str | Callable:
    """What permutation importance scores with: scikit-learn's scorer name, or for a binary
    task a scorer on 0/1 labels (`binary_targets`) that computes the metric as it is reported.

    scikit-learn's binary scorers judge the labels as the model names them: average precision
    asks for a class named 1, and F1, precision and recall compare `predict` (probability 0.5)
    where the report uses the decision threshold.
    """
    if task != "binary":
        return SCORERS[metric]

    def score(model: object, X: object, y: object) -> float:
        value = metric_value(metric, task, np.asarray(y), predict_scores(model, X, task),
                             threshold)
        return oriented(metric, value)  # larger is better, as for scikit-learn's
    return score


# Rows a model scores at a time: its transform's and its own copies of the rows stay the size
# of a chunk (the linear baseline took 6.5 GiB scoring 2.5 million test rows at once).
SCORE_CHUNK_ROWS = 100_000


def predict_scores(model: object, X: object, task: str) -> np.ndarray:
    """The model's scores of the rows of `X` (a frame or an array), SCORE_CHUNK_ROWS at a time:
    each row's score depends on that row alone, so the chunks give the scores of the whole."""
    if len(X) > SCORE_CHUNK_ROWS:
        rows = X.iloc if hasattr(X, "iloc") else X
        return np.concatenate([_scores(model, rows[start:start + SCORE_CHUNK_ROWS], task)
                               for start in range(0, len(X), SCORE_CHUNK_ROWS)])
    return _scores(model, X, task)


def _scores(model: object, X: object, task: str) -> np.ndarray:
    if task == "regression":
        return np.asarray(model.predict(X), dtype=float)
    probability = model.predict_proba(X)
    return probability[:, 1] if task == "binary" else probability


def binary_metrics(y_true: np.ndarray, probability: np.ndarray,
                   threshold: float | None) -> dict[str, float]:
    """Ranking and calibration metrics of 0/1 labels (see `binary_targets`); with a threshold,
    also F1, precision and recall."""
    return _rounded(_binary_values(y_true, probability, threshold))


def _binary_values(y_true: np.ndarray, probability: np.ndarray,
                   threshold: float | None) -> dict[str, float]:
    values = {name: ONE_METRIC[name](y_true, probability, None)
              for name in ("roc_auc", "average_precision", "log_loss", "brier")}
    if threshold is not None:
        values.update(_threshold_values(y_true, probability, threshold))
    return values


def _threshold_values(y_true: np.ndarray, probability: np.ndarray,
                      threshold: float) -> dict[str, float]:
    predicted = (probability >= threshold).astype(int)
    # one call for all three: the bootstrap computes them hundreds of times
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        y_true, predicted, average="binary", zero_division=0)
    return {"f1": f1, "precision": precision, "recall": recall}


def multiclass_metrics(y_true: np.ndarray, probability: np.ndarray,
                       classes: np.ndarray) -> dict[str, float]:
    return _rounded(_multiclass_values(y_true, probability, classes))


def _multiclass_values(y_true: np.ndarray, probability: np.ndarray,
                       classes: np.ndarray) -> dict[str, float]:
    predicted = np.asarray(classes)[probability.argmax(axis=1)]
    return {
        "macro_f1": metrics.f1_score(y_true, predicted, labels=classes, average="macro",
                                     zero_division=0),
        "balanced_accuracy": metrics.balanced_accuracy_score(y_true, predicted),
        "log_loss": metrics.log_loss(y_true, probability, labels=classes),
    }


def regression_metrics(y_true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return _rounded(_regression_values(y_true, predicted))


def _regression_values(y_true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {name: ONE_METRIC[name](y_true, predicted, None) for name in ("rmse", "mae", "r2")}


def _labels(probability: np.ndarray, classes: np.ndarray) -> np.ndarray:
    return np.asarray(classes)[probability.argmax(axis=1)]


# Each metric alone, from labels, scores and the classes (multiclass), for the paired bootstrap
# of one metric; binary labels are 0/1. The threshold metrics come from `task_metrics`.
ONE_METRIC: dict[str, Callable[[np.ndarray, np.ndarray, Any], float]] = {
    "roc_auc": lambda y, p, _: _or_nan(metrics.roc_auc_score, y, p),
    "average_precision": lambda y, p, _: metrics.average_precision_score(y, p),
    "brier": lambda y, p, _: metrics.brier_score_loss(y, p, labels=[0, 1]),
    "log_loss": lambda y, p, classes: metrics.log_loss(
        y, p, labels=[0, 1] if classes is None or p.ndim == 1 else classes),
    "macro_f1": lambda y, p, classes: metrics.f1_score(
        y, _labels(p, classes), labels=classes, average="macro", zero_division=0),
    "balanced_accuracy": lambda y, p, classes: metrics.balanced_accuracy_score(
        y, _labels(p, classes)),
    "rmse": lambda y, p, _: metrics.root_mean_squared_error(y, p),
    "mae": lambda y, p, _: metrics.mean_absolute_error(y, p),
    "r2": lambda y, p, _: metrics.r2_score(y, p),
}


def metric_value(metric: str, task: str, y_true: np.ndarray, scores: np.ndarray,
                 threshold: float | None = None, classes: np.ndarray | None = None) -> float:
    """One metric of the task, unrounded."""
    if metric in THRESHOLD_METRICS:
        return _threshold_values(y_true, scores, threshold)[metric]
    return ONE_METRIC[metric](y_true, scores, classes if task == "multiclass" else None)


def task_metrics(task: str, y_true: np.ndarray, scores: np.ndarray,
                 threshold: float | None = None, classes: np.ndarray | None = None
                 ) -> dict[str, float]:
    """The task's metrics; `threshold` None leaves out the binary metrics that need one.

    Binary labels are 0/1 (`binary_targets`); other tasks take the labels as they are.
    """
    return _rounded(task_values(task, y_true, scores, threshold, classes))


def task_values(task: str, y_true: np.ndarray, scores: np.ndarray,
                threshold: float | None = None, classes: np.ndarray | None = None
                ) -> dict[str, float]:
    """`task_metrics` unrounded: each is the value `metric_value` gives for its name."""
    y_true = np.asarray(y_true)
    if task == "binary":
        return _binary_values(y_true, scores, threshold)
    if task == "multiclass":
        return _multiclass_values(y_true, scores, classes)
    return _regression_values(y_true, scores)


def oriented(metric: str, value: float) -> float:
    """A value where larger is always better, so lifts and gaps read the same for every metric."""
    return -value if metric in LOWER_IS_BETTER else value


def lift(metric: str, candidate: float, baseline: float) -> float:
    """How much better the candidate is than the baseline (positive: better)."""
    return rounded(oriented(metric, candidate) - oriented(metric, baseline))


def _or_nan(function: object, *arguments: object) -> float:
    # ROC AUC is undefined on a resample or a slice that holds a single class.
    try:
        return function(*arguments)
    except ValueError:
        return float("nan")


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {name: rounded(value) for name, value in values.items()}
