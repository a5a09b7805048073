"""prepare on Dask partitions (`engine: dask`): the pandas engine's own functions, applied
partition by partition, with every whole-table decision taken exactly (see `partitions`).

- Failures and drop counts of the partitions add up (`contract_checks.merge_failures`).
- Duplicates: `partitions.later_duplicates`, the first occurrence in table order kept.
- The profile and the cleaning summary use the pandas functions on one column at a time.
"""

from collections.abc import Callable
from typing import Any

import pandas as pd

from lifecycle.core import tables
from lifecycle.data import contract_checks
from lifecycle.data.partitions import (
    ROW,
    column,
    drop_rows,
    later_duplicates,
    read_parquet,
    with_rows,
    write_parquet,
)

KEEP = "__keep__"  # False where a `drop` policy refuses the row


def checked(raw: Any, rules: Any, policies: dict[str, str],
            source: str) -> tuple[Any, list, dict[str, int]]:
    """The contract's types, rules and policies on every partition: the typed table (lazy,
    with KEEP, False where a `drop` policy refuses the row), the whole table's failures and the
    rows dropped per rule. A `fail` policy raises as the pandas engine does.

    The typed table is not held: a first pass sums up the partitions' failures, and each later
    use types its partition again (cheap next to holding every row in the workers' memory)."""
    import dask

    def check(part: pd.DataFrame) -> tuple[pd.DataFrame, list, dict[str, int]]:
        typed, failures = contract_checks.coerce_types(part, rules)
        failures += contract_checks.check_rules(typed, rules)
        keep, dropped = contract_checks.kept_rows(typed, failures, policies)
        return typed.assign(**{KEEP: keep}), failures, dropped

    def summary(part: pd.DataFrame) -> tuple[list, dict[str, int], pd.DataFrame]:
        typed, failures, dropped = check(part)
        for failure in failures:  # the masks stay here; counts and examples travel
            failure.rows = None
        return failures, dropped, typed.iloc[:0]

    summaries = dask.compute(*[dask.delayed(summary)(part) for part in raw.to_delayed()])
    failures = contract_checks.merge_failures([found for found, _, _ in summaries], rules)
    contract_checks.check_fatal(failures, policies, source)
    dropped = {key: sum(counts.get(key, 0) for _, counts, _ in summaries)
               for key in (f"{f.rule}:{f.column}" for f in failures
                           if contract_checks.policy(f, policies) == "drop")}
    # A column parsed in one partition as integers and in another as decimals (a missing
    # value) has the type pandas gives the whole column.
    meta = pd.concat([empty for _, _, empty in summaries])
    typed = raw.map_partitions(lambda part: check(part)[0].astype(meta.dtypes.to_dict()),
                               meta=meta)
    return typed, failures, dropped


def prepare(params: Any, rules: Any, policies: dict[str, str], duplicate_row: str,
            kept_columns: list[str], check_finite: Callable[[pd.DataFrame], None],
            numeric: list[str], categorical: list[str]) -> tuple[dict, list[str]]:
    """Prepare's curation, split and profile on the engine; writes the split files and
    returns the data-quality report and the warnings, as the pandas engine does.
    `duplicate_row` is validation.duplicate_row's policy; `check_finite` refuses infinite
    inputs in a one-column frame."""
    import dataclasses

    from lifecycle.core import paths
    from lifecycle.data import curation, quality

    raw_path, outputs = paths.RAW, paths.PREPARED
    target, task = params.problem.target, params.problem.task
    raw = with_rows(read_parquet(raw_path))
    curation.check_target(column(raw, target) if target in raw.columns else raw._meta,
                          target, task, raw_path)
    typed, failures, dropped = checked(raw, rules, policies, raw_path)
    report = {"rows_in": tables.row_count(raw_path), **typed_profile(typed, rules, raw_path)}
    curated, curation_dropped, duplicate_warnings, repeated = curate(
        typed, failures, target, rules.keys, kept_columns, duplicate_row, raw_path)
    curation.check_target(column(curated, target), target, task, raw_path)
    for name in curated.columns.drop(ROW):
        check_finite(column(curated, name))
    report["rows_out"] = len(curated)
    for name, part in split(curated, params.split, target, task, params.seed).items():
        write_parquet(part.drop(columns=ROW), outputs[name])
    report.update({
        "rows_dropped": {**dropped, **curation_dropped},
        "validation": contract_checks.report(failures, policies),
        "cleaning": cleaning_by_column(outputs, numeric, categorical,
                                       dataclasses.asdict(params.cleaning),
                                       params.features.min_category_count),
        "splits": {name: quality.target_distribution(
            tables.read_parquet(path, columns=[target]), target, task)
            for name, path in outputs.items()},
        "decisions": {"duplicate_row": curation.duplicate_decision(duplicate_row, *repeated)},
    })
    return report, contract_checks.warnings(failures, policies) + duplicate_warnings


def typed_profile(typed: Any, rules: Any, raw_path: str) -> dict:
    """The data-quality report's parts about the source rows: duplicates, and the profile of
    each column, read alone from the raw file and typed here."""
    from lifecycle.data import quality

    source_columns = [name for name in typed.columns if name not in (ROW, KEEP)]
    keys = list(rules.keys)
    columns = {}
    for name in source_columns:
        one, _ = contract_checks.coerce_types(tables.read_parquet(raw_path, columns=[name]),
                                              rules)
        columns.update(quality.profile_columns(one, rules))
    return {
        "duplicates_found": {
            "rows": len(later_duplicates(typed[[*source_columns, ROW]], source_columns)),
            "keys": len(later_duplicates(typed, keys)) if keys else 0},
        "columns": columns,
    }


def curate(typed: Any, failures: list, target: str, keys: list[str], kept_columns: list[str],
           duplicate_row: str, source: str
           ) -> tuple[Any, dict[str, int], list[str], tuple[int, int]]:
    """`curation.curate` on the engine: the rows the policies keep, without a missing target,
    an exact duplicate (under a `drop` duplicate_row policy) or a repeated key; the kept
    columns, held by the workers (the only copy of the table they hold); the rows dropped; the
    warnings of `curation.judge_duplicate_rows`, which raises under `fail`; and how many rows
    with a target repeat an earlier row, out of how many (`curation.repeated_rows`)."""
    import dask

    from lifecycle.data import curation

    kept = typed[typed[KEEP]].drop(columns=KEEP)
    for failure in failures:  # a missing column a policy tolerates: all missing
        if failure.rule == "missing_column" and failure.column not in kept.columns:
            kept = kept.assign(**{failure.column: pd.NA})
    has_target = kept[target].notnull()
    labelled = kept[has_target]
    repeated = later_duplicates(labelled, [name for name in kept.columns if name != ROW])
    missing_target, labelled_rows = (int(n) for n in dask.compute((~has_target).sum(),
                                                                  has_target.sum()))
    found = (len(repeated), labelled_rows)
    warnings = curation.judge_duplicate_rows(*found, duplicate_row, source)
    if duplicate_row == "drop":
        curated = drop_rows(labelled, repeated)
    else:  # kept, and counted by the warning
        curated, repeated = labelled, repeated[:0]
    dropped = {"missing_target": missing_target, "duplicate_row": len(repeated)}
    if keys:
        repeated_key = later_duplicates(curated, list(keys))
        curated = drop_rows(curated, repeated_key)
        dropped["duplicate_key"] = len(repeated_key)
    return curated[[*kept_columns, ROW]].persist(), dropped, warnings, found


def split(curated: Any, settings: Any, target: str, task: str, seed: int) -> dict[str, Any]:
    """prepare's split of the curated rows (numbered by ROW) on the engine: out of time
    partition by partition, or at random with the pandas engine's draw on the target column."""
    from lifecycle.data import splits

    if settings.method == "out_of_time":
        time_column = settings.time_column
        parts = split_frames(curated, lambda part: splits.out_of_time_masks(
            part, time_column, settings.test_start, settings.current_start))
        sizes = {name: len(frame) for name, frame in parts.items()}
        if not (sizes["train"] and sizes["test"]):
            splits.check_not_empty(sizes, time_column,
                                   splits.moments(column(curated, time_column)[time_column]))
        return parts
    labels = curated[[ROW, target]].compute().reset_index(drop=True)
    drawn = splits.split_random(labels, target, settings.test_fraction,
                                settings.current_fraction, seed, stratify=task != "regression")
    rows = {name: set(frame[ROW].tolist()) for name, frame in drawn.items()}
    return split_frames(curated, lambda part: {name: part[ROW].isin(rows[name])
                                               for name in rows})


def split_frames(curated: Any, masks: Callable[[pd.DataFrame], dict[str, pd.Series]],
                 names: tuple[str, ...] = ("train", "test", "current")) -> dict[str, Any]:
    """Each split as a lazy frame, from a function of one partition to the splits' masks."""
    return {name: curated.map_partitions(lambda part, name=name: part[masks(part)[name]],
                                         meta=curated._meta)
            for name in names}


def cleaning_by_column(outputs: dict[str, str], numeric: list[str], categorical: list[str],
                       cleaning: dict, min_count: int) -> dict:
    """`quality.cleaning_summary`, one column at a time from the written split files."""
    from lifecycle.data import quality

    summary: dict = {}
    for name in [*numeric, *categorical]:
        parts = {split: tables.read_parquet(path, columns=[name])
                 for split, path in outputs.items()}
        one = quality.cleaning_summary(
            parts, [name] if name in numeric else [], [name] if name in categorical else [],
            cleaning, min_count)
        _merge(summary, one)
    return summary or {"outliers": cleaning["outliers"]}


def _merge(into: dict, more: dict) -> None:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value

