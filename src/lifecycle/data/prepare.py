"""prepare on pandas, in the stage's process: validate a table against the data contract,
curate its rows, split them and profile them; and the checks of the columns prepare is given.

Only row curation happens here; value cleaning is fitted on train in the model pipeline. The
Dask engine (`prepare_dask`) applies the same functions partition by partition.
"""

import dataclasses

import pandas as pd

from lifecycle import config
from lifecycle.config import contract
from lifecycle.core import paths, progress
from lifecycle.core.errors import ParamsError
from lifecycle.data import contract_checks, curation, quality, splits


def prepare(table: pd.DataFrame, params: config.Params, rules: contract.Contract,
            inputs: list[str], kept_columns: list[str], numeric: list[str],
            categorical: list[str]) -> tuple[dict[str, pd.DataFrame], dict, list[str]]:
    """Curate, split and profile the raw table (of paths.RAW, named in messages) with pandas:
    the splits by name, the data-quality report and the warnings. `inputs` are the model's
    input columns, `kept_columns` those the splits keep."""
    target, task = params.problem.target, params.problem.task
    curation.check_target(table, target, task, paths.RAW)
    with progress.phase(f"contract checks on {len(table):,} rows"):
        typed, failures = contract_checks.coerce_types(table, rules)
        failures += contract_checks.check_rules(typed, rules)
        outcome = contract_checks.apply_policies(typed, failures, policies(params.validation),
                                                 paths.RAW)
    # Duplicates are judged on whole source rows: two flights may share every feature value.
    duplicate_row = params.validation.duplicate_row
    warnings = outcome.warnings
    if duplicate_row != "drop":  # curate counts what it drops; the others count here
        repeated = curation.repeated_rows(outcome.table, target)
        warnings = warnings + curation.judge_duplicate_rows(*repeated, duplicate_row, paths.RAW)
    curated, dropped = curation.curate(outcome.table, target, rules.keys,
                                       drop_duplicate_rows=duplicate_row == "drop")
    if duplicate_row == "drop":
        repeated = dropped["duplicate_row"], len(outcome.table) - dropped["missing_target"]
    duplicates = curation.duplicate_decision(duplicate_row, *repeated)
    curation.check_target(curated, target, task, paths.RAW)
    check_finite_inputs(curated, inputs, target, task)
    curated = curated[kept_columns]
    parts = splits.split_rows(curated, params.split, target, task, params.seed)
    with progress.phase("data-quality profile"):
        report = data_quality_report(params, rules, table, typed, outcome, curated, dropped,
                                     parts, numeric, categorical)
    report["decisions"] = {"duplicate_row": duplicates}
    return parts, report, warnings


def data_quality_report(params: config.Params, rules: contract.Contract, table, typed, outcome,
                        curated, dropped: dict, parts: dict, numeric: list[str],
                        categorical: list[str]) -> dict:
    target, task = params.problem.target, params.problem.task
    return {
        "rows_in": len(table),
        "rows_dropped": {**outcome.dropped, **dropped},
        "rows_out": len(curated),
        "duplicates_found": {"rows": int(typed.duplicated().sum()),
                             "keys": int(typed.duplicated(rules.keys).sum()) if rules.keys else 0},
        "validation": outcome.failures,
        "columns": quality.profile_columns(typed, rules),
        "cleaning": quality.cleaning_summary(
            parts, numeric, categorical, dataclasses.asdict(params.cleaning),
            params.features.min_category_count),
        "splits": {name: quality.target_distribution(frame, target, task)
                   for name, frame in parts.items()},
    }


def policies(section: config.Validation) -> dict[str, str]:
    return {rule: getattr(section, rule) for rule in contract_checks.RULES}


def check_finite_inputs(table, inputs: list[str], target: str, task: str) -> None:
    """No infinity reaches the model: scikit-learn would refuse it stages later."""
    columns = [*inputs, target] if task == "regression" else inputs
    contract.check_finite(table, columns, paths.RAW,
                          fix=f"replace or remove them, or give the column a min and max in "
                              f"{paths.CONTRACT} so validation drops those rows")


def check_contract_target(rules: contract.Contract, target: str, task: str) -> None:
    if rules.target() != target:
        raise ParamsError(f"{paths.CONTRACT}: the column with role target is "
                          f"{rules.target()!r} but params.yaml problem.target is {target!r}; "
                          f"make them agree")
    kind = rules.columns[target].type
    if task == "regression" and kind != "numeric":
        raise ParamsError(f"params.yaml: problem.task: regression needs a numeric target, but "
                          f"{paths.CONTRACT} says {target!r} is {kind}; set problem.task to "
                          f"binary or multiclass, or fix the column's type")


def check_no_leakage(inputs: list[str], target: str, leakage_columns: list[str]) -> None:
    """Refuse a feature list that holds the target or a column known only after the fact."""
    leaking = [column for column in inputs if column in leakage_columns or column == target]
    if leaking:
        raise ParamsError(
            f"params.yaml: features: {', '.join(leaking)} may not be features: the target and "
            f"the contract's leakage and identifier columns are never model inputs; remove them"
        )

