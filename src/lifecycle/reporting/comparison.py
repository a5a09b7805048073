"""The report's comparisons of two sides: the parameters and contract entries that changed,
every headline metric with its delta and a verdict against the noise, the gate of both sides
and any criterion that flipped, and the data-quality changes.

Where both sides' test predictions are available (DVC cache or remote) and cover the same test
rows, the verdicts come from a paired bootstrap; else from the two bootstrap intervals.
"""

import math
from dataclasses import dataclass
from typing import Any

from lifecycle.core import paths
from lifecycle.core.errors import LifecycleError
from lifecycle.core.formatting import DIGITS, markdown_table, number, result
from lifecycle.evaluation import metrics
from lifecycle.reporting.revisions import Side

# Missing shares that moved less than this (absolute) are not listed.
MISSING_SHARE_CHANGE = 0.01
# Headline metrics that are not task metrics, and which way is better for them.
OTHER_DIRECTIONS = {"worst_slice_gap": -1, "test_rows": 0}


@dataclass
class MetricsComparison:
    primary: str
    rows: list[dict]
    method: str


def compare_metrics(base: Side, head: Side) -> MetricsComparison:
    """Every headline metric: base, head, delta and a verdict against the noise."""
    params = head.data("params.yaml") or {}
    problem = section(params, "problem")
    task, primary = problem.get("task"), problem.get("primary_metric")
    before, after = (headline(side) for side in (base, head))
    paired, method = paired_intervals(base, head, task, params)
    unpaired = {name: (_intervals(base).get(name), _intervals(head).get(name))
                for name in after}
    rows = []
    for name in [*after, *(name for name in before if name not in after)]:
        old, new = before.get(name), after.get(name)
        direction = _direction(name, primary)
        delta = None if old is None or new is None else round(new - old, DIGITS)
        if old is None or new is None:
            verdict = "new" if old is None else "removed"
        elif delta == 0:
            verdict = "unchanged"
        elif name in paired:
            verdict = verdict_from_interval(paired[name])
        else:
            verdict = verdict_without_pairs(delta, direction, *unpaired.get(name, (None, None)))
        rows.append({"metric": name, "base": old, "head": new, "delta": delta,
                     "verdict": verdict})
    return MetricsComparison(primary, rows, method)


def headline(side: Side) -> dict[str, float]:
    """The side's headline metrics: a mapping of names to numbers, or an error naming it."""
    values = side.data(paths.EVALUATION_METRICS) or {}
    wrong = [name for name, value in values.items()
             if isinstance(value, bool) or not isinstance(value, int | float)]
    if wrong:
        raise LifecycleError(f"{paths.EVALUATION_METRICS} in {side.label}: {wrong[0]!r} is not "
                             f"a number; run `dvc repro` there, or compare other revisions")
    return values


def section(data: dict, key: str) -> dict:
    """A mapping inside `data`, or {} where it is absent or not a mapping."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def paired_intervals(base: Side, head: Side, task: str | None, params: dict
                     ) -> tuple[dict[str, list[float]], str]:
    """Paired-bootstrap intervals of the oriented deltas, or {} and why not."""
    unpaired = "from the two sides' bootstrap intervals"
    if task not in metrics.TASKS or section(base.data("params.yaml") or {}, "problem").get(
            "task") != task:
        return {}, f"{unpaired} (the task differs or is unknown)"
    tables = base.predictions(), head.predictions()
    missing = [side.label for side, table in zip((base, head), tables, strict=True)
               if table is None]
    if missing:
        return {}, (f"{unpaired} (no test predictions of {' and '.join(missing)} in the DVC "
                    f"cache or remote)")
    (y_base, scores_base, classes), (y_head, scores_head, _) = map(metrics.scores_from_table,
                                                                   tables)
    if len(y_base) != len(y_head) or (y_base != y_head).any():
        return {}, f"{unpaired} (the test rows differ: {len(y_base):,} and {len(y_head):,})"
    evaluation = section(params, "evaluate")
    thresholds = (decision_threshold(base, task), decision_threshold(head, task))
    resamples, seed = evaluation.get("bootstrap_resamples", 100), params.get("seed", 0)
    if not (isinstance(resamples, int) and 10 <= resamples <= 10_000 and isinstance(seed, int)
            and seed >= 0):
        return {}, f"{unpaired} (evaluate.bootstrap_resamples or seed is not usable)"
    intervals = metrics.paired_bootstrap_deltas(
        task, y_head, scores_base, scores_head, base_threshold=thresholds[0],
        head_threshold=thresholds[1], classes=classes, resamples=resamples, seed=seed)
    return intervals, (f"paired bootstrap: both models scored on the same {len(y_head):,} test "
                       f"rows, {resamples} resamples, 95% interval of the difference")


def verdict_from_interval(interval: list[float]) -> str:
    """Verdict from the interval of the oriented difference (positive: head is better)."""
    low, high = interval
    if low > 0:
        return "improved"
    if high < 0:
        return "worse"
    return "within noise"


def verdict_without_pairs(delta: float, direction: int, before: list | None,
                          after: list | None) -> str:
    """Two independent 95% intervals: a difference beyond their combined half-widths counts."""
    if delta == 0:
        return "unchanged"
    if before is None or after is None or direction == 0:
        word = "higher" if delta > 0 else "lower"
        return f"{word} (no interval)" if direction else word
    spread = math.hypot(*((high - low) / 2 for low, high in (before, after)))
    if abs(delta) <= spread:
        return "within noise"
    return "improved" if delta * direction > 0 else "worse"


def metrics_section(comparison: MetricsComparison) -> list[str]:
    rows = []
    for row in comparison.rows:
        name = f"**{row['metric']}**" if row["metric"] == comparison.primary else row["metric"]
        verdict = row["verdict"]
        verdict = f"**{verdict}**" if verdict in ("improved", "worse") else verdict
        rows.append((name, number(row["base"]), number(row["head"]),
                     number(row["delta"], sign=True), verdict))
    lines = ["## Metrics", "",
             *markdown_table(("metric", "base", "head", "delta", "verdict"), rows, "lrrr")]
    return [*lines, "", f"Verdicts: {comparison.method}.", ""]


def _intervals(side: Side) -> dict[str, list[float]]:
    return section(side.data(paths.EVALUATION_DETAILS) or {}, "intervals")


def decision_threshold(side: Side, task: str) -> float | None:
    if task != "binary":
        return None
    threshold = section(side.data("params.yaml") or {}, "evaluate").get("decision_threshold")
    return threshold if isinstance(threshold, float) and 0 < threshold < 1 else None


def _direction(name: str, primary: str | None) -> int:
    """+1 when larger is better, -1 when smaller is, 0 when neither."""
    if name in OTHER_DIRECTIONS:
        return OTHER_DIRECTIONS[name]
    if name.startswith("cv_") and name.endswith("_std"):
        return -1
    if name.startswith("cv_") and name.endswith("_mean"):
        name = name.removeprefix("cv_").removesuffix("_mean")
    return -1 if name in metrics.LOWER_IS_BETTER else 1


def summary_lines(comparison: MetricsComparison, gates: tuple[dict, dict]) -> list[str]:
    verdicts = [gate.get("verdict", "unknown") for gate in gates]
    lines = [f"**Gate: {verdicts[0]} → {verdicts[1]}**"]
    primary = next((row for row in comparison.rows if row["metric"] == comparison.primary), None)
    if primary is not None:
        lines.append(f"**{primary['metric']}: {number(primary['base'])} → "
                     f"{number(primary['head'])} ({number(primary['delta'], sign=True)}), "
                     f"{primary['verdict']}**")
    return [" · ".join(lines), ""]


def params_section(base: Side, head: Side) -> list[str]:
    changes = []
    for label, path in (("params.yaml", "params.yaml"), ("data contract", paths.CONTRACT)):
        before, after = flatten(base.data(path) or {}), flatten(head.data(path) or {})
        changes += [(label, key, before.get(key, "(absent)"), after.get(key, "(absent)"))
                    for key in sorted(before.keys() | after.keys())
                    if before.get(key, "(absent)") != after.get(key, "(absent)")]
    if not changes:
        return ["## Parameters", "", "No parameter or data-contract entry changed.", ""]
    lines = ["## Parameters that changed", "",
             *markdown_table(("file", "key", "base", "head"),
                             [(label, f"`{key}`", _value(old), _value(new))
                              for label, key, old, new in changes])]
    return [*lines, ""]


def gate_section(before: dict, after: dict) -> list[str]:
    old = {row["criterion"]: row for row in before.get("criteria", [])}
    rows, flipped = [], []
    for row in after.get("criteria", []):
        previous = old.get(row["criterion"], {})
        outcome = result(row.get("passed"))
        if previous and previous.get("passed") != row.get("passed"):
            outcome = f"**{result(previous.get('passed'))} → {outcome}**"
            flipped.append(row["criterion"])
        threshold = ("(not judged)" if row["threshold"] is None
                     else f"{row['comparison']} {number(row['threshold'])}")
        rows.append((row["criterion"], threshold, number(previous.get("value")),
                     number(row["value"]), outcome))
    flips = (f"Criteria that flipped: {', '.join(flipped)}." if flipped
             else "No criterion changed its result.")
    return ["## Gate", "", f"Base: {before.get('verdict', 'unknown')}. "
            f"Head: {after.get('verdict', 'unknown')}.", "",
            *markdown_table(("criterion", "threshold", "base", "head", "result"), rows, "llrr"),
            "", flips, ""]


def data_quality_section(before: dict, after: dict) -> list[str]:
    rows = []
    for key in ("rows_in", "rows_out"):
        rows.append((key, before.get(key), after.get(key)))
    for reason in sorted({**before.get("rows_dropped", {}), **after.get("rows_dropped", {})}):
        rows.append((f"rows dropped: {reason}", before.get("rows_dropped", {}).get(reason, 0),
                     after.get("rows_dropped", {}).get(reason, 0)))
    for split in sorted({**before.get("splits", {}), **after.get("splits", {})}):
        rows.append((f"{split} rows", before.get("splits", {}).get(split, {}).get("rows"),
                     after.get("splits", {}).get(split, {}).get("rows")))
    rows.append(("contract rule failures", len(before.get("validation", [])),
                 len(after.get("validation", []))))
    old_columns, new_columns = before.get("columns", {}), after.get("columns", {})
    notes = [f"column `{name}` added ({new_columns[name].get('type')}, "
             f"{new_columns[name].get('role')})" for name in new_columns if name not in old_columns]
    notes += [f"column `{name}` removed" for name in old_columns if name not in new_columns]
    for name in sorted(old_columns.keys() & new_columns.keys()):
        old, new = old_columns[name], new_columns[name]
        for key in ("type", "role"):
            if old.get(key) != new.get(key):
                notes.append(f"column `{name}`: {key} {old.get(key)} → {new.get(key)}")
        shares = old.get("missing_share", 0), new.get("missing_share", 0)
        if abs(shares[1] - shares[0]) >= MISSING_SHARE_CHANGE:
            notes.append(f"column `{name}`: missing share {shares[0]:.1%} → {shares[1]:.1%}")
    changed = [row for row in rows if row[1] != row[2]]
    lines = ["## Data quality", ""]
    if not changed and not notes:
        return [*lines, f"Unchanged: {after.get('rows_out', 0):,} rows after cleaning, same "
                        f"schema, no missing share moved by {MISSING_SHARE_CHANGE:.0%} or more.",
                ""]
    if changed:
        lines += markdown_table(("count", "base", "head"),
                                [(name, number(old), number(new)) for name, old, new in changed],
                                "lrr")
        lines.append("")
    lines += [f"- {note}" for note in notes]
    return [*lines, ""] if notes else lines


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix: data} if prefix else {}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        flat.update(flatten(value, name) if isinstance(value, dict) and value else
                    {name: value})
    return flat


def _value(value: Any) -> str:
    return f"`{value}`" if value != "(absent)" else value

