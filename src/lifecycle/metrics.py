"""Test metrics for a binary classifier, rounded so that files diff cleanly."""

import numpy as np
from sklearn import metrics

DIGITS = 6


def binary_metrics(y_true: np.ndarray, probability: np.ndarray,
                   threshold: float) -> dict[str, float]:
    predicted = (probability >= threshold).astype(int)
    values = {
        "roc_auc": metrics.roc_auc_score(y_true, probability),
        "average_precision": metrics.average_precision_score(y_true, probability),
        "log_loss": metrics.log_loss(y_true, probability, labels=[0, 1]),
        "brier": metrics.brier_score_loss(y_true, probability),
        "f1": metrics.f1_score(y_true, predicted, zero_division=0),
        "precision": metrics.precision_score(y_true, predicted, zero_division=0),
        "recall": metrics.recall_score(y_true, predicted, zero_division=0),
    }
    return {name: round(float(value), DIGITS) for name, value in values.items()}
