"""The model card: one Markdown page a reviewer reads before trusting the model."""

from typing import Any

from lifecycle.core.formatting import markdown_table, result, shown
from lifecycle.data.quality import decision_lines
from lifecycle.evaluation.gate import judged


def render_model_card(problem: dict[str, str], data: dict, headline: dict, details: dict,
                      gate: dict, split_method: str) -> str:
    """Markdown from the evaluation's outputs; every number comes from the files beside it, and
    the split and folds it describes are the ones `split_method` (params split.method) made."""
    primary = problem["primary_metric"]
    lines = [
        f"# Model card: {problem['name']}", "",
        f"**Gate verdict: {gate['verdict']}**: {judged(gate['criteria'])} (`lifecycle gate` "
        f"prints the criteria)", "",
        "## Intended use", "", problem["description"], "",
        f"Task: {problem['task']}; target `{problem['target']}`; model "
        f"`{details['model']}`; primary metric `{primary}`.", "",
        "## Data and split", "",
        *markdown_table(("split", "rows", "target"),
                        [(name, split["rows"], _target_summary(split))
                         for name, split in data.get("splits", {}).items()]),
        "", f"Rows in the source: {data.get('rows_in', 'n/a')}; dropped: "
        f"{_show_record(data.get('rows_dropped', {}))}.", "",
        *_data_decisions(data),
        "## Test metrics (95% bootstrap interval)", "",
        *markdown_table(("metric", "value", "interval"),
                        [(name, headline[name], f"{low} to {high}")
                         for name, (low, high) in details["intervals"].items()]),
        *_own_metrics(details.get("own_metrics", {})),
        "", _cross_validation(details["cross_validation"]["summary"],
                              fold_kind(split_method, problem["task"])), "",
        "## Baselines", "",
        *markdown_table(("model", primary, "lift of the candidate", "95% paired interval"),
                        [(name, baseline["metrics"][primary], baseline["lift"],
                          "{} to {}".format(*baseline["lift_interval"]))
                         for name, baseline in details["baselines"].items()]),
        "", "## Slices", "", _slices(details["slices"], primary), "",
        *_fairness(details.get("fairness")),
        "## Checks", "", *_checks(details["checks"]), "",
        "## Criteria", "",
        *markdown_table(("criterion", "value", "threshold", "result"),
                        [(row["criterion"], shown(row["value"]), _threshold(row),
                          result(row["passed"], markdown=True)) for row in gate["criteria"]]),
        "", "## Limitations", "", TEST_SPLIT_LIMITATION[split_method], *LIMITATIONS, "",
    ]
    return "\n".join(lines)


def _data_decisions(data: dict) -> list[str]:
    """What prepare decided about duplicates and which columns the model never sees, as the
    data-quality report says it (none before the report had the decisions)."""
    if "decisions" not in data:
        return []
    return ["## Data decisions", "",
            *decision_lines(data["decisions"], data.get("rows_dropped", {})), ""]


TEST_SPLIT_LIMITATION = {
    "out_of_time": "- Measured on one out-of-time test period; performance on later periods may "
                   "decay, so watch for drift before relying on these numbers.",
    "random": "- Measured on one random test split, drawn from the same period as the training "
              "rows; later data may score lower, so watch for drift before relying on these "
              "numbers.",
}
LIMITATIONS = [
    "- Intervals cover resampling of the test rows only, not a change of period or population.",
    "- Slices smaller than `evaluate.slice_min_rows` are not reported; small slices stay "
    "unjudged.",
    "- The leakage checks find a column, or a group of up to 3 of the 20 columns that score best "
    "alone, that gives the answer away; a leak spread over more columns, or over columns that "
    "each tell nothing alone, can pass them.",
]


def _own_metrics(own: dict[str, dict]) -> list[str]:
    """The project's own metrics (params.yaml extensions.metrics), when it has any."""
    if not own:
        return []
    return ["", "The project's own metrics (params.yaml `extensions.metrics`), reported, not "
                "judged:", "",
            *markdown_table(("metric", "value", "function"),
                            [(name, shown(entry["value"]), f"`{entry['function']}`")
                             for name, entry in own.items()])]


def _fairness(fairness: dict | None) -> list[str]:
    """Each sensitive column's groups (data/contract.yaml), when the contract marks any."""
    if not fairness:
        return []
    measure, lines = fairness["measure"], ["## Fairness", ""]
    for column, found in fairness["columns"].items():
        names = list(found["difference"])
        lines += [f"Groups of the sensitive column `{column}` (95% bootstrap intervals; a group "
                  f"under {fairness['min_rows']} rows is marked small and left out of the gaps):",
                  "",
                  *markdown_table(("group", "rows", *names),
                                  [(group["group"] + (" (small)" if group["small"] else ""),
                                    group["rows"], *(_with_interval(group, name)
                                                     for name in names))
                                   for group in found["groups"]]),
                  "", f"Largest difference between groups: "
                  f"{_show_record({n: shown(v) for n, v in found['difference'].items()})}; "
                  f"smallest ratio: "
                  f"{_show_record({n: shown(v) for n, v in found['ratio'].items()})}; "
                  f"`criteria.fairness` judges {measure}.", ""]
    return lines


def _with_interval(group: dict, name: str) -> str:
    low, high = group["intervals"][name]
    return f"{shown(group['values'][name])} ({shown(low)} to {shown(high)})"


def _target_summary(split: dict) -> str:
    """Class counts (classification) or mean and spread (regression) of one split's target."""
    if "classes" in split:
        return ", ".join(f"{label}: {count}" for label, count in split["classes"].items())
    if "mean" in split:
        return f"mean {split['mean']}, std {split['std']}"
    return "n/a"


def fold_kind(split_method: str, task: str) -> str:
    """The folds cross_validation.cross_validate made: in time order for an out-of-time split,
    else seeded shuffled ones, stratified by class for classification."""
    if split_method == "out_of_time":
        return "time-ordered folds"
    return "shuffled folds" if task == "regression" else "shuffled folds, stratified by class"


def _cross_validation(summary: dict[str, dict[str, float]], folds: str) -> str:
    parts = [f"{name} {values['mean']} ± {values['std']}" for name, values in summary.items()]
    return f"Cross-validation on the training split ({folds}, mean ± std): " + (
        "; ".join(parts) + ".")


def _slices(slices: dict, primary: str) -> str:
    worst = slices["worst"]
    if worst is None:
        return "No slice has enough rows to report."
    return (f"{len(slices['records'])} slices reported; the worst is `{worst['slice']}` "
            f"({worst['rows']} rows) with {primary} {worst[primary]}, {worst['gap']} below "
            f"the overall value.")


def _checks(checks: dict) -> list[str]:
    best = checks["single_feature"][0] if checks["single_feature"] else {}
    groups = [f"{', '.join(record['features'])}: "
              f"{_show_record({k: v for k, v in record.items() if k != 'features'})}"
              for record in checks["feature_groups"]]
    return [
        f"- Best single-feature score: {_show_record(best)}.",
        f"- Best groups of columns (leakage spread over columns): {'; '.join(groups) or 'n/a'}.",
        f"- Test rows whose inputs also occur in train: {checks['shared_test_rows']['rows']} "
        f"({checks['shared_test_rows']['fraction']}).",
        f"- Train minus test primary metric: {shown(checks['train_test_gap'])}.",
        f"- Test primary metric below the cross-validation mean, in fold standard deviations: "
        f"{shown(checks['cv_shortfall'])}.",
    ]


def _show_record(record: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in record.items()) or "n/a"


def _threshold(row: dict) -> str:
    return "not judged" if row["threshold"] is None else f"{row['comparison']} {row['threshold']}"
