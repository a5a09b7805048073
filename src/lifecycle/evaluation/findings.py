"""What evaluate finds, from frames, scores and loaded models: the test metrics, the baselines'
lifts with paired intervals, the slices, the leakage and split checks, the shortfall against
cross-validation, the headline numbers and the verdict of the success criteria.
"""

import dataclasses
import numbers
from typing import Any

import numpy as np
import pandas as pd

from lifecycle import config
from lifecycle.core import extensions, progress
from lifecycle.core.errors import LifecycleError, ParamsError
from lifecycle.core.formatting import rounded
from lifecycle.evaluation import fairness, gate, leakage, metrics, slices


@dataclasses.dataclass(frozen=True)
class Scored:
    """The candidate on the test rows: their labels as metrics take them, its scores and
    metrics, and the decision threshold (binary) and classes (classification) they need."""

    y: pd.Series
    scores: np.ndarray
    metrics: dict[str, float]
    threshold: float | None
    classes: np.ndarray | None


def score_test(model: object, test: pd.DataFrame, y: pd.Series, task: str,
               threshold: float | None) -> Scored:
    """The candidate's scores and metrics on the test rows (`y` from `labels`)."""
    classes = getattr(model, "classes_", None)
    with progress.phase(f"score {len(test):,} test rows"):
        scores = metrics.predict_scores(model, test, task)
        return Scored(y, scores, metrics.task_metrics(task, y, scores, threshold, classes),
                      threshold, classes)


def own_metrics(specs: dict[str, str], candidate: Scored) -> dict[str, dict]:
    """details.json's `own_metrics` (nothing when there are none): the project's own metrics
    of the candidate's test scores (params.yaml extensions.metrics: name ->
    package.module:function), each with its value and function. Each function takes the labels
    as metrics take them (0/1 for binary) and the scores (the positive class's probability;
    multiclass, a column per class in the order of the model's classes; regression, the
    predicted values) and returns a number. Reported beside the task's metrics; never the
    primary metric nor a criterion."""
    y, scores = np.asarray(candidate.y), candidate.scores
    found = {}
    for name, spec in specs.items():
        where = f"params.yaml: extensions.metrics.{name}"
        value = extensions.load(spec, where, (y, scores), "(labels, scores)")(y, scores)
        if isinstance(value, np.ndarray) and value.shape == ():
            value = value.item()
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise LifecycleError(f"{where}: {spec!r} returned {value!r:.80}, not a number")
        found[name] = {"value": rounded(value), "function": spec}
    return {"own_metrics": found} if found else {}


def test_details(params: config.Params, test: pd.DataFrame, candidate: Scored,
                 train: leakage.TrainingRows, y_train: pd.Series, baselines: dict[str, object],
                 train_report: dict) -> dict:
    """details.json: intervals, cross-validation (from train's report), baselines, slices and
    checks. `train` holds the candidate's input columns (`y_train`: its sample's labels),
    `test` those and any others."""
    evaluation, task, primary = params.evaluate, params.problem.task, params.problem.primary_metric
    y, scores, value = candidate.y, candidate.scores, candidate.metrics[primary]
    resamples, seed = evaluation.bootstrap_resamples, params.seed
    with progress.phase("slices"):
        records = slices.slice_metrics(test, y, scores, evaluation.slice_columns, task,
                                       evaluation.slice_min_rows, candidate.threshold,
                                       candidate.classes)
    with progress.phase(f"bootstrap intervals and the baselines' paired lifts ({resamples} "
                        f"resamples)"):
        intervals, lifts = score_baselines(test, task, primary, candidate, baselines, resamples,
                                           seed)
    with progress.phase("leakage and split checks"):
        checks = run_checks(train, y_train, test[list(train.sample.columns)], y, task, seed,
                            train_report["train_metrics"].get(primary), value, primary)
    checks["cv_shortfall"] = cv_shortfall(
        train_report["cross_validation"]["summary"].get(primary), value,
        intervals.get(primary), primary)
    return {
        "model": train_report["model"],
        "intervals": intervals,
        "cross_validation": train_report["cross_validation"],
        "baselines": lifts,
        "slices": {"records": records, "worst": slices.worst_slice(records, primary, value)},
        "checks": checks,
    }


def score_baselines(test: pd.DataFrame, task: str, primary: str, candidate: Scored,
                    baselines: dict[str, object], resamples: int, seed: int
                    ) -> tuple[dict[str, list[float]], dict[str, dict]]:
    """The candidate's bootstrap intervals, and each baseline's test metrics and the candidate's
    lift over it on the primary metric, with the lift's paired bootstrap interval: one pass
    over the resampled rows, the same rows for every model."""
    y, threshold, classes = candidate.y, candidate.threshold, candidate.classes
    scores = {name: metrics.predict_scores(model, test, task) for name, model in baselines.items()}
    intervals, lift_intervals = metrics.bootstrap_with_lifts(
        task, y, candidate.scores, scores, primary, threshold=threshold, classes=classes,
        resamples=resamples, seed=seed)
    found = {}
    for name, baseline_scores in scores.items():
        scored = metrics.task_metrics(task, y, baseline_scores, threshold, classes)
        found[name] = {"metrics": scored,
                       "lift": metrics.lift(primary, candidate.metrics[primary], scored[primary]),
                       "lift_interval": lift_intervals[name]}
    return intervals, found


def cv_shortfall(cv: dict | None, test: float, interval: list | None,
                 primary: str) -> float | None:
    """How far the test primary metric falls below the cross-validation mean, in fold standard
    deviations (the test interval's half-width when wider): a gap between the training and test
    rows that cross-validation did not foresee. Negative when test does better."""
    if cv is None:
        return None
    half_width = (interval[1] - interval[0]) / 2 if interval else 0.0
    spread = max(cv["std"], half_width, 1e-9)
    return rounded(metrics.lift(primary, cv["mean"], test) / spread)


def run_checks(train: leakage.TrainingRows, y_train: pd.Series, test: pd.DataFrame,
               y: pd.Series, task: str, seed: int, train_score: float | None, test_score: float,
               primary: str) -> dict:
    """Leakage and split checks on the model's input columns (those of `train` and `test`)."""
    sample = train.sample
    alone = leakage.single_feature_scores(sample, y_train, test, y, task, seed)
    return {
        "single_feature": alone,
        "feature_groups": leakage.feature_group_scores(sample, y_train, test, y, task, seed,
                                                       alone),
        "shared_test_rows": leakage.shared_rows(train.hashes, test),
        # the primary metric on the rows the model was fitted on, minus on the test rows
        "train_test_gap": (None if train_score is None
                           else metrics.lift(primary, train_score, test_score)),
    }


def headline_metrics(test_metrics: dict, test_rows: int, primary: str, details: dict) -> dict:
    """The few numbers `dvc exp show` lists, the project's own metrics after the task's; the
    rest stays in details.json."""
    own = {name: entry["value"] for name, entry in details.get("own_metrics", {}).items()}
    headline = {**test_metrics, **own, "test_rows": test_rows}
    summary = details["cross_validation"]["summary"]
    if primary in summary:
        headline[f"cv_{primary}_mean"] = summary[primary]["mean"]
        headline[f"cv_{primary}_std"] = summary[primary]["std"]
    for name, baseline in details["baselines"].items():
        headline[f"lift_over_{name}"] = baseline["lift"]
    if details["slices"]["worst"] is not None:
        headline["worst_slice_gap"] = details["slices"]["worst"]["gap"]
    return headline


def verdict(criteria: Any, task: str, primary: str, test_metrics: dict[str, float],
            details: dict) -> dict:
    """reports/gate.json: each criterion judged, and VALIDATED or REJECTED."""
    rows = gate.criteria_rows(criteria, metrics.METRIC_NAMES[task], primary, test_metrics,
                              gate_findings(details, task, test_metrics))
    return {"verdict": gate.verdict(rows), "criteria": rows}


def gate_findings(details: dict, task: str, test_metrics: dict[str, float]) -> dict:
    """What the gate judges besides the test metrics (see `gate.criteria_rows`)."""
    checks, worst = details["checks"], details["slices"]["worst"]
    metric = leakage.SINGLE_FEATURE_METRIC[task]  # larger is better, 1 is perfect
    single = checks["single_feature"]
    group = max(checks["feature_groups"], key=lambda record: np.nan_to_num(record[metric]),
                default={"features": [], metric: None})
    linear = details["baselines"].get("linear", {}).get("metrics", {})
    return {
        **{f"lift_low_over_{name}": entry["lift_interval"][0]
           for name, entry in details["baselines"].items()},
        "slice_gap": worst["gap"] if worst else None,
        "single_feature_score": single[0][metric] if single else None,
        "feature_group": {"features": group["features"], "score": group[metric]},
        "plausible": {"metric": metric, "score": max(
            (value for value in (test_metrics.get(metric), linear.get(metric))
             if value is not None and not np.isnan(value)), default=None)},
        "shared_test_rows": checks["shared_test_rows"]["fraction"],
        "train_test_gap": checks["train_test_gap"],
        "cv_shortfall": checks["cv_shortfall"],
        **({"fairness": fairness.gate_findings(details["fairness"])}
           if "fairness" in details else {}),
    }


def labels(target: pd.Series, task: str, classes: np.ndarray | None, where: str) -> pd.Series:
    """The labels metrics take: 0/1 for the model's positive class (binary), else as they are.

    A class the model never saw in training cannot be scored: a clear error, not a crash in the
    metrics after the predictions are made."""
    try:
        return metrics.metric_labels(target, task, classes)
    except LifecycleError as error:
        raise LifecycleError(f"{where}: {error}; every class must occur in the training split "
                             f"(move split.test_start, or use split.method random), then run "
                             f"`dvc repro`") from None


def sensitive_details(params: config.Params, columns: list[str], test: pd.DataFrame,
                      candidate: Scored) -> dict:
    """details.json's `fairness` (nothing when no column of the contract is sensitive)."""
    if not columns:
        return {}
    missing = [column for column in columns if column not in test.columns]
    if missing:
        raise LifecycleError(f"data/contract.yaml: sensitive column(s) {', '.join(missing)} not "
                             f"in the test split; run `dvc repro` so prepare keeps them")
    task, primary = params.problem.task, params.problem.primary_metric
    with progress.phase(f"fairness of {len(columns)} sensitive column(s)"):
        return {"fairness": fairness.fairness_details(
            test, columns, candidate.y, candidate.scores, task, primary,
            params.criteria.fairness.measure_for(task, primary), candidate.threshold,
            candidate.classes, params.evaluate.slice_min_rows,
            params.evaluate.bootstrap_resamples, params.seed)}


def check_slice_columns(columns: list[str], available: pd.Index) -> None:
    missing = [column for column in columns if column not in available]
    if missing:
        raise ParamsError(f"params.yaml: evaluate.slice_columns: {', '.join(missing)} not in the "
                          f"test split; choose from its columns: {', '.join(available)}")
