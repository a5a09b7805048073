import numpy as np
import pytest

from lifecycle import metrics


def test_binary_metrics_on_a_known_example():
    y = np.array([0, 0, 1, 1])
    probability = np.array([0.1, 0.6, 0.4, 0.9])

    scores = metrics.binary_metrics(y, probability, threshold=0.5)

    assert scores["roc_auc"] == 0.75
    assert scores["precision"] == 0.5 and scores["recall"] == 0.5 and scores["f1"] == 0.5
    assert scores["brier"] == pytest.approx((0.01 + 0.36 + 0.36 + 0.01) / 4)
    assert set(scores) == {"roc_auc", "average_precision", "log_loss", "brier", "f1",
                           "precision", "recall"}


def test_threshold_moves_precision_and_recall():
    y = np.array([0, 0, 1, 1])
    probability = np.array([0.1, 0.6, 0.4, 0.9])

    low = metrics.binary_metrics(y, probability, threshold=0.3)

    assert low["recall"] == 1.0
    assert low["precision"] == pytest.approx(2 / 3, abs=1e-6)
