"""The monitor's report: feature and prediction drift, the decay of the primary metric on a
labelled batch, and the retrain decision; and the per-feature PSI rows its chart draws."""

from pathlib import Path

import numpy as np

from lifecycle.core import formatting
from lifecycle.modeling import metrics
from lifecycle.monitoring import drift
from lifecycle.monitoring.measure import Measured


def thresholds(monitor: object) -> drift.Thresholds:
    """The drift thresholds of params.yaml's `monitor:` section."""
    return drift.Thresholds(**{name: getattr(monitor, name)
                               for name in drift.Thresholds.__dataclass_fields__})


def monitor_report(measured: Measured, reference_name: str, current_name: str,
                   performance: dict | None, limits: drift.Thresholds) -> dict:
    """drift.json: what was compared, each feature's drift, the predictions' PSI, the
    performance (`performance`, None without labels) and the decision, with a warning for each
    value the batch held that its contract type could not read."""
    prediction_psi = (drift.prediction_psi(measured.test_scores, measured.scores)
                      if measured.rows else 0.0)  # a split without "current" rows: empty
    report = {
        "reference": {"name": reference_name, "rows": measured.reference_rows},
        "current": {"name": Path(current_name).as_posix(), "rows": measured.rows},
        "features": measured.features,
        "predictions": {"psi": formatting.rounded(prediction_psi)},
        "performance": performance,
        "decision": drift.retrain_decision(
            measured.features, prediction_psi, performance["decay"] if performance else None,
            limits, measured.rows,
        ),
    }
    report["decision"]["warnings"] += [failure.message() for failure in measured.unreadable]
    return report


def labelled(labels: object, target: str) -> bool:
    """Whether the batch's target column (`Measured.labels`) holds a label."""
    return target in labels and not labels[target].isna().all()


def performance(labels: object, scores: np.ndarray, target: str, task: str, metric: str,
                threshold: float | None, classes: np.ndarray | None, test_metrics: dict) -> dict:
    """The primary metric on the batch's labelled rows (`labels`, its target column) against
    the test split's."""
    labelled = labels[target].notna().to_numpy()
    y = metrics.metric_labels(labels[target][labelled], task, classes)
    current = metrics.task_metrics(task, y.to_numpy(), scores[labelled], threshold,
                                   classes)[metric]
    test = test_metrics[metric]
    # Positive decay: the metric got worse, whichever direction is better for it.
    return {"metric": metric, "test": test, "current": current,
            "decay": metrics.lift(metric, test, current)}


def psi_rows(report: dict, psi_threshold: float) -> list[dict]:
    """Per feature: its PSI, whether its test flagged drift, and the PSI rule of thumb the
    chart draws as a line (params monitor.psi, the threshold for the predictions)."""
    return [{"feature": name, "psi": record["psi"], "drift": record["drift"],
             "threshold": psi_threshold} for name, record in report["features"].items()]
