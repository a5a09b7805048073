"""Row curation: dropping rows that only make sense to drop from training data.

Value transformations that must also apply to new rows live in the model pipeline instead
(see `features`).
"""


import pandas as pd

from lifecycle.errors import LifecycleError


def curate(table: pd.DataFrame, target: str,
           keys: list[str] | tuple = ()) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drop rows without a target, exact duplicate rows and, given keys, rows repeating a key
    (the first one is kept); count the rows dropped by reason."""
    has_target = table[target].notna()
    labelled = table[has_target]
    duplicated = labelled.duplicated()
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


def check_target(table: pd.DataFrame, target: str, task: str, where: str) -> None:
    """Refuse a target the task cannot learn from, naming the column and what to do."""
    if target not in table:
        close = [c for c in table.columns if c.lower() == target.lower()]
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise LifecycleError(f"{where}: target column {target!r} not found{hint}; columns are: "
                             f"{', '.join(map(str, table.columns))}; fix problem.target")
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
