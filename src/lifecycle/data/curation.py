"""Row curation: dropping rows that only make sense to drop from training data.

Value transformations that must also apply to new rows live in the model pipeline instead
(see `features`).
"""


import pandas as pd

from lifecycle.core import formatting
from lifecycle.core.errors import LifecycleError

DUPLICATE_ROW_KEY = "validation.duplicate_row"


def curate(table: pd.DataFrame, target: str, keys: list[str] | tuple = (),
           drop_duplicate_rows: bool = True) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop rows without a target, exact duplicate rows (unless told to keep them) and, given
    keys, rows repeating a key (the first one is kept); count the rows dropped by reason."""
    has_target = table[target].notna()
    labelled = table[has_target]
    duplicated = labelled.duplicated() if drop_duplicate_rows else pd.Series(False, labelled.index)
    curated = labelled[~duplicated]
    dropped = {
        "missing_target": int((~has_target).sum()),
        "duplicate_row": int(duplicated.sum()),
    }
    if keys:
        repeated = curated.duplicated(subset=list(keys))
        curated = curated[~repeated]
        dropped["duplicate_key"] = int(repeated.sum())
    return curated.reset_index(drop=True), dropped


def check_target(table: pd.DataFrame, target: str, task: str, where: str,
                 key: str = "problem.target") -> None:
    """Refuse a target the task cannot learn from, naming the column and what to do (`key`:
    where the target was named, params.yaml's key or init's option)."""
    if target not in table:
        close = [c for c in table.columns if c.lower() == target.lower()]
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise LifecycleError(f"{where}: target column {target!r} not found{hint}; columns are: "
                             f"{', '.join(map(str, table.columns))}; fix {key}")
    values = table[target].dropna()
    if values.empty:
        raise LifecycleError(f"{where}: target column {target!r} is missing in every row; "
                             f"choose another target or fix the export")
    classes = values.nunique()
    if task != "regression" and classes < 2:
        raise LifecycleError(f"{where}: target column {target!r} has a single class "
                             f"({values.iloc[0]!r}); a classifier needs at least two")
    if task == "binary" and classes > 2:
        raise LifecycleError(f"{where}: target column {target!r} has {classes} classes; set "
                             f"problem.task to multiclass")


# --- exact duplicate rows: validation.duplicate_row decides, init shows what is at stake -------


def later_copies(table: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    """The rows with a target, and which of them repeat an earlier one in every column (what
    `curate` drops under `drop`; the first copy is kept)."""
    labelled = table[table[target].notna()]
    return labelled, labelled.duplicated()


def repeated_rows(table: pd.DataFrame, target: str) -> tuple[int, int]:
    """How many rows with a target repeat an earlier one, out of how many rows with a target."""
    labelled, repeated = later_copies(table, target)
    return int(repeated.sum()), len(labelled)


def judge_duplicate_rows(repeated: int, rows: int, policy: str, source: str) -> list[str]:
    """validation.duplicate_row on `repeated` of `rows` rows with a target: `fail` stops with
    one line, `warn` gives the warning to print, `drop` (curate drops them) nothing."""
    if not repeated or policy == "drop":
        return []
    share = formatting.percent(repeated / rows)
    found = (f"{source}: {repeated:,} of {rows:,} rows with a target ({share}) repeat an "
             f"earlier row in every column")
    if policy == "fail":
        raise LifecycleError(f"{found}; set {DUPLICATE_ROW_KEY} in params.yaml to drop (keep "
                             f"the first) or warn (keep them all: rows with no key column may "
                             f"share every value)")
    return [f"{found}; kept ({DUPLICATE_ROW_KEY}: {policy})"]


def duplicate_decision(policy: str, repeated: int, rows: int) -> dict:
    """What validation.duplicate_row did, for the reports people read: the policy, the later
    copies among the rows with a target and what became of them (`fail` stops before)."""
    outcome = {"drop": "dropped", "warn": "kept"}.get(policy, policy) if repeated else "none"
    return {"policy": policy, "repeated": repeated, "rows": rows, "outcome": outcome}


def duplicate_effect(table: pd.DataFrame, target: str, task: str) -> dict:
    """What dropping exact duplicate rows would do, for a person choosing
    validation.duplicate_row: the later copies among the rows with a target ("rows"), their
    share of those rows, and how the target would move ("target_shift": the mean for
    regression, else the class whose share moves most; "no change" without duplicates)."""
    labelled, duplicated = later_copies(table, target)
    repeated = int(duplicated.sum())
    before, after = labelled[target], labelled.loc[~duplicated, target]
    return {"rows": repeated,
            "share": repeated / len(labelled) if len(labelled) else 0.0,
            "target_shift": target_shift(before, after, task) if repeated else "no change"}


def target_shift(before: pd.Series, after: pd.Series, task: str) -> str:
    """`mean 2.86 -> 4.44` (regression) or `share of 'yes' 0.16 -> 0.21` for the class whose
    share changes most; on a tie (always, with two classes) the last in sorted order, which
    for a binary target is the positive class."""
    if task == "regression":
        return f"mean {formatting.before_after(before.mean(), after.mean(), digits=3)}"
    shares_before = before.value_counts(normalize=True)
    shares_after = after.value_counts(normalize=True).reindex(shares_before.index, fill_value=0)
    # Rounded so that float noise does not break a tie.
    change = (shares_after - shares_before).abs().round(12).sort_index()
    label = change[change == change.max()].index[-1]
    return (f"share of '{label}' "
            f"{formatting.before_after(shares_before[label], shares_after[label], digits=2)}")
