"""The model's measures per group of each sensitive column (data/contract.yaml `sensitive: true`):
the primary metric and, for a binary task, the rates of its decisions, with bootstrap intervals
and the largest difference and smallest ratio between groups.

fairlearn's MetricFrame computes the groups' values, differences and ratios; the caller checks
that fairlearn (the extra `fairness`) is installed before calling.
"""

import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from lifecycle.config.params import GROUP_RATES
from lifecycle.core.formatting import rounded
from lifecycle.evaluation import metrics

MISSING_GROUP = "(missing)"  # as slices name a missing value


def measure_names(task: str, primary: str, judged: str) -> list[str]:
    """What is reported per group: the primary metric, the rates of a binary classifier's
    decisions, and the judged measure (criteria.fairness.measure) when it is none of those."""
    return list(dict.fromkeys([primary, *(GROUP_RATES if task == "binary" else ()), judged]))


def measure_function(name: str, task: str, threshold: float | None,
                     classes: np.ndarray | None) -> Callable[[np.ndarray, np.ndarray], float]:
    """A function of (labels, scores) for MetricFrame: a rate of the decisions at `threshold`,
    or a metric of the task (NaN where the group's labels leave it undefined)."""
    if name in GROUP_RATES:
        from fairlearn import metrics as group_metrics

        rate = getattr(group_metrics, name)
        return lambda y, scores: float(rate(y, (scores >= threshold).astype(int)))

    def metric(y: np.ndarray, scores: np.ndarray) -> float:
        try:
            return float(metrics.metric_value(name, task, y, scores, threshold, classes))
        except ValueError:  # one class only: no ranking metric
            return float("nan")
    return metric


def group_labels(values: pd.Series) -> np.ndarray:
    """The group of each row as text, a missing value its own group."""
    return values.astype("string").fillna(MISSING_GROUP).to_numpy()


def metric_frame(functions: dict[str, Callable], y: np.ndarray, scores: np.ndarray,
                 groups: np.ndarray) -> object:
    from fairlearn.metrics import MetricFrame

    # Row positions stand in for the scores: MetricFrame splits one-dimensional predictions,
    # and a multiclass model's scores have a column per class.
    positions = np.arange(len(y))
    wrapped = {name: _on_rows(function, scores) for name, function in functions.items()}
    with warnings.catch_warnings():  # a rate of a group without positives is NaN, reported so
        warnings.simplefilter("ignore")
        return MetricFrame(metrics=wrapped, y_true=y, y_pred=positions,
                           sensitive_features=pd.Series(groups, name="group"))


def _on_rows(function: Callable, scores: np.ndarray) -> Callable:
    return lambda y_rows, rows: function(y_rows, scores[rows])


def group_intervals(names: list[str], functions: dict[str, Callable], task: str,
                    y: np.ndarray, scores: np.ndarray, threshold: float | None,
                    classes: np.ndarray | None, resamples: int, seed: int) -> dict[str, list]:
    """95% bootstrap intervals of each measure on one group's rows: the task's metrics from
    the test split's own helper, the rates from scipy's percentile bootstrap."""
    from scipy import stats

    try:
        with warnings.catch_warnings():  # a resample of a small group may hold one class
            warnings.simplefilter("ignore")
            found = metrics.bootstrap_intervals(task, y, scores, threshold=threshold,
                                                classes=classes, resamples=resamples, seed=seed)
    except ValueError:  # a group of one class has no ranking metric
        found = {}
    for name in names:
        if name in GROUP_RATES:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")  # a group without positives has no rate
                result = stats.bootstrap((y, scores), functions[name], paired=True,
                                         vectorized=False, n_resamples=resamples,
                                         method="percentile", rng=seed)
            found[name] = [rounded(bound) for bound in result.confidence_interval]
    return {name: found.get(name, [None, None]) for name in names}


def column_fairness(values: pd.Series, y: np.ndarray, scores: np.ndarray, task: str,
                    names: list[str], threshold: float | None, classes: np.ndarray | None,
                    min_rows: int, resamples: int, seed: int) -> dict:
    """One sensitive column: each group's rows, values and intervals (a group under `min_rows`
    flagged `small`), and per measure the largest difference and smallest ratio between the
    groups that are not small (None when fewer than two are)."""
    functions = {name: measure_function(name, task, threshold, classes) for name in names}
    groups = group_labels(values)
    frame = metric_frame(functions, y, scores, groups)
    sizes = pd.Series(groups).value_counts()
    records = []
    for group in sorted(sizes.index):
        rows = groups == group
        records.append({
            "group": group, "rows": int(sizes[group]), "small": bool(sizes[group] < min_rows),
            "values": {name: rounded(frame.by_group.loc[group, name]) for name in names},
            "intervals": group_intervals(names, functions, task, y[rows], scores[rows],
                                         threshold, classes, resamples, seed)})
    judged = np.isin(groups, [r["group"] for r in records if not r["small"]])
    spread = (metric_frame(functions, y[judged], scores[judged], groups[judged])
              if len({*groups[judged]}) >= 2 else None)
    return {"groups": records,
            "difference": _by_measure(spread, "difference", names),
            "ratio": _by_measure(spread, "ratio", names)}


def _by_measure(frame: object | None, kind: str, names: list[str]) -> dict[str, float | None]:
    if frame is None:
        return dict.fromkeys(names)
    values = getattr(frame, kind)()
    return {name: None if pd.isna(values[name]) else rounded(values[name]) for name in names}


def fairness_details(test: pd.DataFrame, columns: list[str], y: np.ndarray, scores: np.ndarray,
                     task: str, primary: str, measure: str, threshold: float | None,
                     classes: np.ndarray | None, min_rows: int, resamples: int,
                     seed: int) -> dict:
    """details.json's `fairness`: the judged measure, the minimum group size and each
    sensitive column's groups, differences and ratios."""
    names = measure_names(task, primary, measure)
    y = np.asarray(y)
    return {"measure": measure, "min_rows": min_rows, "columns": {
        column: column_fairness(test[column], y, scores, task, names, threshold, classes,
                                min_rows, resamples, seed)
        for column in columns}}


def gate_findings(fairness: dict) -> dict[str, dict]:
    """Per column, the judged measure's difference and ratio (what `gate.criteria_rows` judges)."""
    measure = fairness["measure"]
    return {column: {"measure": measure, "difference": found["difference"][measure],
                     "ratio": found["ratio"][measure]}
            for column, found in fairness["columns"].items()}


def fairness_figure(fairness: dict) -> object:
    """The judged measure per group of each sensitive column, with its 95% interval; small
    groups in grey."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measure = fairness["measure"]
    bars = [(f"{column}={group['group']}", group["values"][measure],
             group["intervals"][measure], group["small"])
            for column, found in fairness["columns"].items() for group in found["groups"]][::-1]
    values = [np.nan if value is None else value for _, value, _, _ in bars]
    errors = [[0 if low is None or np.isnan(v) else max(v - low, 0) for (_, _, (low, _), _), v
               in zip(bars, values, strict=True)],
              [0 if high is None or np.isnan(v) else max(high - v, 0) for (_, _, (_, high), _), v
               in zip(bars, values, strict=True)]]
    figure, axes = plt.subplots(figsize=(7, 0.3 * len(bars) + 1.2), dpi=100)
    axes.barh([label for label, *_ in bars], values, xerr=errors,
              color=["#aaaaaa" if small else "#4c72b0" for *_, small in bars])
    axes.set_xlabel(f"{measure} per group (test rows; grey: fewer than "
                    f"{fairness['min_rows']} rows)")
    axes.set_title("Fairness: groups of the sensitive columns")
    figure.tight_layout()
    return figure
