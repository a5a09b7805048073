"""The quality gate: success criteria from params.yaml judged against what evaluate measured.

`evaluate` writes the verdict to reports/gate.json and never fails on it (a sweep keeps the
metrics of every experiment); `lifecycle gate` prints it, with the deployment constraints it
measures itself (criteria.deployment), and exits 1 unless VALIDATED.
"""

from typing import Any

from lifecycle.config.params import Deployment, did_you_mean
from lifecycle.core import files, formatting
from lifecycle.core.errors import LifecycleError, ParamsError

VALIDATED, REJECTED = "VALIDATED", "REJECTED"
ROW_KEYS = {"criterion", "value", "comparison", "threshold", "passed"}


def criteria_rows(criteria: Any, task_metric_names: tuple[str, ...], primary: str,
                  test_metrics: dict[str, float], findings: dict[str, Any]) -> list[dict]:
    """One row per criterion: what is measured, the comparison, the threshold and pass/fail.

    `findings` holds, per baseline, the lower end of the paired interval of the candidate's lift
    (`lift_low_over_<baseline>`), and `slice_gap`, `single_feature_score`, `feature_group`
    (columns and score), `plausible` (metric and score), `shared_test_rows`, `train_test_gap`
    and `cv_shortfall`, and `fairness` (per sensitive column: measure, difference, ratio) when
    the contract marks any column sensitive. A None threshold is reported but not judged.
    """
    rows = []
    for bound, comparison in ((criteria.minimum, ">="), (criteria.maximum, "<=")):
        for metric, threshold in sorted(bound.items()):
            _check_metric_name(metric, task_metric_names, comparison)
            rows.append(_row(f"test {metric}", test_metrics[metric], comparison, threshold))
    if not criteria.minimum and not criteria.maximum:  # shown as not judged, not left out
        rows.append(_row(f"test {primary} against a minimum (criteria.minimum)",
                         test_metrics[primary], ">=", None))
    for name, value in sorted(findings.items()):
        if name.startswith("lift_low_over_"):
            baseline = name.removeprefix("lift_low_over_")
            rows.append(_row(f"{primary} lift over the {baseline} baseline (low end of its 95% "
                             f"paired interval)", value, ">=", criteria.min_lift_over_baselines))
    group, plausible = findings["feature_group"], findings["plausible"]
    rows += [
        _row(f"{primary} gap of the worst slice", findings["slice_gap"], "<=",
             criteria.max_slice_gap),
        _row("best single-feature score (leakage)", findings["single_feature_score"], "<=",
             criteria.max_single_feature_score),
        _row(f"best score of a group of columns (leakage across columns: "
             f"{', '.join(group['features']) or 'none'})", group["score"], "<=",
             criteria.max_feature_group_score),
        _row(f"best test {plausible['metric']} of the candidate and the linear baseline (too "
             f"good to be true)", plausible["score"], "<=", criteria.max_plausible_score),
        _row("fraction of test rows also in train", findings["shared_test_rows"], "<=",
             criteria.max_shared_test_rows),
        _row(f"train minus test {primary} (overfitting)", findings["train_test_gap"], "<=",
             criteria.max_train_test_gap),
        _row(f"test {primary} below the cross-validation mean, in fold standard deviations",
             findings["cv_shortfall"], "<=", criteria.max_cv_shortfall),
    ]
    return rows + fairness_rows(criteria, findings.get("fairness", {}))


def fairness_rows(criteria: Any, columns: dict[str, dict]) -> list[dict]:
    """Two rows per sensitive column: the largest difference and the smallest ratio of the
    judged measure between its groups (criteria.fairness); none when no column is sensitive."""
    if not columns:
        return []
    bounds = criteria.fairness
    rows = []
    for column, found in sorted(columns.items()):
        measure = found["measure"]
        rows += [
            _row(f"fairness: largest {measure} difference between groups of {column}",
                 found["difference"], "<=", bounds.max_difference),
            _row(f"fairness: smallest {measure} ratio between groups of {column}",
                 found["ratio"], ">=", bounds.min_ratio),
        ]
    return rows


def deployment_rows(limits: Deployment, measured: dict) -> list[dict]:
    """Rows for the deployment constraints that have a threshold, from what
    `lifecycle.deployment.constraints.measure` found."""
    rows = []
    if limits.max_model_megabytes is not None:
        rows.append(_row(f"{measured['file']} size in megabytes (deployment)",
                         round(measured["megabytes"], 3), "<=", limits.max_model_megabytes))
    if limits.max_latency_ms is not None:
        rows.append(_row(f"single-row latency of the {measured['runtime']} runtime in ms, median "
                         f"of {limits.latency_calls} calls here (deployment)",
                         round(measured["latency_ms"], 3), "<=", limits.max_latency_ms))
    return rows


def judged(rows: list[dict]) -> str:
    """One line: how many criteria were judged and failed, and which were not judged."""
    failed = [row["criterion"] for row in rows if row["passed"] is False]
    unjudged = [row["criterion"] for row in rows if row["passed"] is None]
    line = f"{len(rows) - len(unjudged)} criteria judged, {len(failed)} failed"
    if failed:
        line += f" ({'; '.join(failed)})"
    return line + (f"; not judged: {'; '.join(unjudged)}" if unjudged else "; all judged")


def verdict(rows: list[dict]) -> str:
    return REJECTED if any(row["passed"] is False for row in rows) else VALIDATED


def format_table(gate: dict) -> str:
    rows = [(row["criterion"], formatting.shown(row["value"]),
             f"{row['comparison']} {formatting.shown(row['threshold'])}"
             if row["threshold"] is not None else "(not judged)",
             formatting.result(row["passed"]))
            for row in gate["criteria"]]
    table = formatting.text_table(("criterion", "value", "threshold", "result"), rows)
    return f"{table}\n\n{gate['verdict']}: {judged(gate['criteria'])}"


def read_gate(path: str) -> dict:
    """The verdict evaluate wrote, or a LifecycleError saying how to get a readable one."""
    fix = "run `dvc repro` (or `dvc pull`) to write it again"
    try:
        gate = files.read_json(path)
    except ValueError as error:
        raise LifecycleError(f"{path}: not valid JSON ({error}); {fix}") from None
    if not (isinstance(gate, dict) and gate.get("verdict") in (VALIDATED, REJECTED)
            and _are_rows(gate.get("criteria"))):
        raise LifecycleError(f"{path}: not a gate verdict of `lifecycle evaluate`; {fix}")
    return gate


def _are_rows(rows: Any) -> bool:
    return isinstance(rows, list) and all(
        isinstance(row, dict) and row.keys() >= ROW_KEYS for row in rows)


def _row(criterion: str, value: float | None, comparison: str,
         threshold: float | None) -> dict:
    if threshold is None:
        passed = None
    elif value is None:  # a threshold on something that could not be measured does not pass
        passed = False
    else:
        passed = value >= threshold if comparison == ">=" else value <= threshold
    return {"criterion": criterion, "value": value, "comparison": comparison,
            "threshold": threshold, "passed": passed}


def _check_metric_name(metric: str, allowed: tuple[str, ...], comparison: str) -> None:
    if metric not in allowed:
        section = "minimum" if comparison == ">=" else "maximum"
        raise ParamsError(
            f"params.yaml: criteria.{section}.{metric}: not a metric of this task; choose from: "
            f"{', '.join(allowed)}{did_you_mean(metric, allowed)}"
        )
