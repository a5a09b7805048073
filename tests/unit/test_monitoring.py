"""The monitor in memory: drift and scores measured on frames, and the report built from them."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from lifecycle.core.errors import LifecycleError
from lifecycle.monitoring import drift, measure
from lifecycle.monitoring import report as monitoring

from .test_drift import THRESHOLDS, sample


def fitted(rows: int = 400) -> tuple[LogisticRegression, pd.DataFrame]:
    X = sample(rows, 0)[["x", "y"]]
    return LogisticRegression().fit(X, (X["x"] > 10).astype(int)), X


def test_a_shifted_batch_is_measured_and_scored_against_the_test_rows():
    model, test = fitted()
    batch = sample(300, 2, shift=1.5).assign(late=np.nan)

    measured = measure.measure(batch, [], sample(2000, 1), "late", ["x", "y"], ["kind"],
                               THRESHOLDS)
    test_scores = model.predict_proba(test)[:, 1]  # as evaluate records them
    scored = measure.score(measured, model, batch[["x", "y"]], test_scores, "binary")

    assert (measured.rows, measured.reference_rows) == (300, 2000)
    assert measured.features["x"]["drift"] and not measured.features["y"]["drift"]
    assert list(measured.labels.columns) == ["late"] and measured.scores is None
    assert np.array_equal(scored.scores, model.predict_proba(batch[["x", "y"]])[:, 1])
    assert scored.test_scores is test_scores
    assert not monitoring.labelled(scored.labels, "late")  # every label missing


def test_the_report_decides_on_drift_and_decay_and_warns_of_unreadable_values():
    model, test = fitted()
    batch = sample(300, 2, shift=1.5)
    batch["late"] = (batch["x"] < 11).astype(float)  # the world changed: labels flipped
    measured = measure.score(
        measure.measure(batch, [], sample(2000, 1), "late", ["x", "y"], ["kind"], THRESHOLDS),
        model, batch[["x", "y"]], model.predict_proba(test)[:, 1], "binary")
    assert monitoring.labelled(measured.labels, "late")

    performance = monitoring.performance(measured.labels, measured.scores, "late", "binary",
                                         "roc_auc", 0.5, model.classes_, {"roc_auc": 0.9})
    report = monitoring.monitor_report(measured, "data/prepared/train.parquet", "batch.csv",
                                       performance, THRESHOLDS)

    assert performance["metric"] == "roc_auc" and performance["decay"] > 0.5
    assert report["current"] == {"name": "batch.csv", "rows": 300}
    assert report["predictions"]["psi"] > 0.2
    assert report["decision"]["retrain"] is True
    assert any("primary metric fell" in reason for reason in report["decision"]["reasons"])


def test_an_empty_batch_decides_nothing_and_has_no_prediction_drift():
    empty = sample(0, 2).assign(late=pd.Series(dtype=float))
    measured = measure.measure(empty, [], sample(500, 1), "late", ["x", "y"], ["kind"],
                               THRESHOLDS)

    report = monitoring.monitor_report(measured, "train", "current", None, THRESHOLDS)

    assert report["predictions"] == {"psi": 0.0} and report["performance"] is None
    assert report["decision"]["retrain"] is False
    assert "fewer than" in report["decision"]["warnings"][0]


def test_the_psi_rows_carry_each_features_psi_drift_and_the_threshold_line():
    report = {"features": {"x": {"psi": 0.3, "drift": True}, "kind": {"psi": 0.01,
                                                                      "drift": False}}}

    assert monitoring.psi_rows(report, 0.2) == [
        {"feature": "x", "psi": 0.3, "drift": True, "threshold": 0.2},
        {"feature": "kind", "psi": 0.01, "drift": False, "threshold": 0.2}]


def test_the_thresholds_come_from_the_monitor_section_field_by_field():
    section = type("Monitor", (), {name: 7 for name in drift.Thresholds.__dataclass_fields__})

    assert monitoring.thresholds(section) == drift.Thresholds(
        **dict.fromkeys(drift.Thresholds.__dataclass_fields__, 7))


def test_a_batch_without_a_column_the_model_needs_is_refused():
    with pytest.raises(LifecycleError, match=r"batch\.csv: missing column\(s\) the model needs: y"):
        measure.require_columns(pd.DataFrame({"x": [1.0]}), ["x", "y"], "batch.csv")
