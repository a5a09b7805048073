"""The data-quality report: a profile of every column and what curation and cleaning did.

One dictionary, written as JSON (for diffs and tests) and rendered as Markdown (for people).
"""

from typing import Any

import pandas as pd

from lifecycle.config.contract import Contract
from lifecycle.core import cleaning as rules
from lifecycle.core.formatting import markdown_table, percent, rounded

TOP_CATEGORIES = 5
LEFT_OUT_ROLES = ("identifier", "leakage", "excluded")  # never model inputs


def profile_columns(table: pd.DataFrame, contract: Contract) -> dict[str, dict[str, Any]]:
    """Per column: contract type and role, missing count and share, distinct values, range and
    quartiles (numeric, datetime) or the most frequent values (categorical, text)."""
    profiles = {}
    for name in table.columns:
        values = table[name]
        column = contract.columns.get(name)
        missing = int(values.isna().sum())
        profile: dict[str, Any] = {
            "type": column.type if column else "not in contract",
            "role": column.role if column else "not in contract",
            "missing": missing,
            "missing_share": rounded(missing / len(values)) if len(values) else 0.0,
            "distinct": int(values.nunique()),
        }
        present = values.dropna()
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            points = present.quantile([0.0, 0.25, 0.5, 0.75, 1.0]) if len(present) else []
            profile.update(dict(zip(["min", "q25", "median", "q75", "max"],
                                    [rounded(q) for q in points], strict=False)))
        elif pd.api.types.is_datetime64_any_dtype(values) and len(present):
            profile.update(min=str(present.min()), max=str(present.max()))
        else:
            top = present.astype(str).value_counts().head(TOP_CATEGORIES)
            profile["top"] = {str(key): int(count) for key, count in top.items()}
        profiles[str(name)] = profile
    return profiles


def target_distribution(frame: pd.DataFrame, target: str, task: str) -> dict[str, Any]:
    """Class counts for classification; mean, spread and range for regression."""
    values = frame[target].dropna()
    if task == "regression":
        if values.empty:
            return {"rows": 0}
        return {"rows": len(values), "mean": rounded(values.mean()), "std": rounded(values.std()),
                "min": rounded(values.min()), "max": rounded(values.max())}
    counts = values.astype(str).value_counts().sort_index()
    return {"rows": len(values), "classes": {str(k): int(v) for k, v in counts.items()}}


def rare_levels(train: pd.DataFrame, categorical: list[str], min_count: int) -> dict[str, dict]:
    """Levels seen fewer than `min_count` times in train, which the encoder groups together."""
    grouped = {}
    for name in categorical:
        counts = train[name].value_counts()
        rare = counts[counts < min_count]
        grouped[name] = {"levels": len(rare), "rows": int(rare.sum())}
    return grouped


def contract_decisions(rules: Contract, reasons: dict[str, str]) -> dict[str, Any]:
    """The contract's decisions about rows and columns: the key columns (a row repeating a key
    is dropped), and the columns the model never sees, grouped by role and reason in the
    contract's order (`contract.column_reasons`; None where the contract gives none)."""
    groups: dict[tuple[str, str | None], list[str]] = {}
    for name in rules.with_role(*LEFT_OUT_ROLES):
        groups.setdefault((rules.columns[name].role, reasons.get(name)), []).append(name)
    return {"keys": list(rules.keys),
            "columns_left_out": [{"columns": names, "role": role, "reason": reason}
                                 for (role, reason), names in groups.items()]}


def decision_lines(decisions: dict[str, Any], rows_dropped: dict[str, int]) -> list[str]:
    """The decisions in Markdown (the data-quality report, the model card): what was done with
    exact duplicate rows and repeated keys, and which columns the model never sees, and why."""
    lines = []
    if duplicates := decisions.get("duplicate_row"):
        lines.append(f"- Exact duplicate rows: {_duplicates_sentence(duplicates)}")
    if keys := decisions.get("keys"):
        repeated = rows_dropped.get("duplicate_key")
        count = f"{repeated:,} rows" if repeated is not None else "rows"
        lines.append(f"- Key {', '.join(f'`{key}`' for key in keys)}: {count} repeating an "
                     f"earlier row's key dropped, the first kept.")
    left_out = decisions.get("columns_left_out", [])
    if not left_out:
        return [*lines, "- Columns the model never sees: none but the target and a timestamp."]
    return [*lines, "- Columns the model never sees (their role in `data/contract.yaml`):", "",
            *markdown_table(("columns", "role", "why"), [
                (_cell(", ".join(group["columns"])), group["role"],
                 _cell(group["reason"] or "no reason given in the contract"))
                for group in left_out])]


def _duplicates_sentence(found: dict[str, Any]) -> str:
    setting = f"`validation.duplicate_row: {found['policy']}`"
    if found["outcome"] == "none":
        return f"none among the {found['rows']:,} rows with a target ({setting})."
    fate = {"dropped": "dropped, the first copy kept", "kept": "kept, every copy counted"}
    share = percent(found["repeated"] / found["rows"]) if found["rows"] else "n/a"
    return (f"{found['repeated']:,} of the {found['rows']:,} rows with a target ({share}) repeat "
            f"an earlier row in every column; {fate.get(found['outcome'], found['outcome'])} "
            f"({setting}).")


def _cell(text: str) -> str:
    """Text in a Markdown table cell: a pipe would end the cell."""
    return text.replace("|", "\\|")


def markdown(report: dict[str, Any]) -> str:
    """The report for people: totals, drops by reason, the decisions about duplicates and
    columns, rule failures, cleaning, columns."""
    lines = ["# Data quality", "",
             f"Rows in: {report['rows_in']}; rows out: {report['rows_out']}.", "",
             "## Rows dropped", "",
             *markdown_table(("reason", "rows"), report["rows_dropped"].items())]
    if "decisions" in report:
        lines += ["", "## Data decisions", "",
                  *decision_lines(report["decisions"], report["rows_dropped"])]
    lines += ["", "## Contract rules that failed", ""]
    failures = report["validation"]
    if failures:
        lines += markdown_table(("rule", "column", "rows", "policy"),
                                [(f["rule"], f["column"], f["rows"], f["policy"])
                                 for f in failures])
    else:
        lines.append("None: every row obeys the contract.")
    lines += ["", "## Cleaning (fitted on train, applied in the model pipeline)", "",
              "```json", _json(report["cleaning"]), "```", "",
              "## Target per split", "", "```json", _json(report["splits"]), "```", "",
              "## Columns", ""]
    lines += markdown_table(
        ("column", "type", "role", "missing", "missing share", "distinct", "range / top"),
        [(name, p["type"], p["role"], p["missing"], f"{p['missing_share']:.2%}", p["distinct"],
          _spread(p)) for name, p in report["columns"].items()])
    return "\n".join(lines) + "\n"


def _spread(profile: dict[str, Any]) -> str:
    if "min" in profile:
        return f"{profile.get('min')} … {profile.get('max')}"
    return ", ".join(f"{value} ({count})" for value, count in profile.get("top", {}).items())


def _json(data: Any) -> str:
    import json

    return json.dumps(data, indent=2, sort_keys=True)


def cleaning_summary(splits: dict[str, pd.DataFrame], numeric: list[str],
                     categorical: list[str], cleaning: dict, min_count: int) -> dict[str, Any]:
    """What the model pipeline's cleaning (`modeling.features.OutlierFences` and
    `CategoryNormaliser`, by the same rules) does to each split, fitted on train as it is there."""
    train = splits["train"]
    summary: dict[str, Any] = {"outliers": cleaning["outliers"]}
    if cleaning["outliers"] != "none" and numeric:
        lower, upper = rules.iqr_fences(rules.float_values(train[numeric]),
                                        cleaning["outlier_iqr_factor"])
        summary["outlier_fences"] = {
            name: [rounded(low), rounded(high)]
            for name, low, high in zip(numeric, lower, upper, strict=True)}
        summary["outliers_by_split"] = {split: outliers_by_column(frame[numeric], lower, upper)
                                        for split, frame in splits.items()}
    if categorical:
        def normalised(frame: pd.DataFrame) -> pd.DataFrame:
            return rules.normalised_categories(frame, cleaning["strip_whitespace"],
                                               cleaning["category_case"],
                                               dict(cleaning["category_aliases"]))

        summary["categories_normalised_by_split"] = {
            split: rules.changed_counts(frame[categorical], normalised(frame[categorical]))
            for split, frame in splits.items()}
        summary["rare_levels_grouped_in_train"] = rare_levels(
            normalised(train[categorical]), categorical, min_count)
    return summary


def outliers_by_column(frame: pd.DataFrame, lower: Any, upper: Any) -> dict[str, int]:
    """Values per column beyond the fences `lower` and `upper` (one per column)."""
    counts = rules.beyond_fences(rules.float_values(frame), lower, upper).sum(axis=0)
    return {name: int(count) for name, count in zip(frame.columns, counts, strict=True)}
