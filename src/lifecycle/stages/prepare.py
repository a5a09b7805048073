"""Stage prepare: validate against the data contract, curate rows, split, profile.

Only row curation happens here; value cleaning is fitted on train in the model pipeline.
"""

import dataclasses
import sys

from lifecycle import (
    config,
    contract,
    contract_checks,
    curation,
    data_quality,
    features,
    files,
    paths,
    progress,
    splits,
    tables,
)
from lifecycle.errors import ParamsError


def run() -> None:
    params = config.load()
    rules = contract.load(paths.CONTRACT)
    target, task = params.problem.target, params.problem.task
    check_contract_target(rules, target, task)
    rules.check_calendar_params(params.features.datetime, params.features.age_from_year,
                                paths.CONTRACT)
    time_column = params.split.time_column
    if time_column:
        rules.require_column("split.time_column", time_column, "datetime", paths.CONTRACT)
    numeric, categorical = rules.feature_lists(params.features.age_from_year)
    inputs = features.input_columns(numeric, categorical, params.features.datetime,
                                    params.features.age_from_year)
    check_no_leakage(inputs, target, rules.with_role("leakage", "identifier"))
    kept_columns = list(dict.fromkeys(c for c in [*inputs, time_column, *rules.keys, target]
                                      if c))

    if params.engine == "dask":
        from lifecycle import engine, prepare_partitions

        with engine.dask_client(), progress.phase("prepare on the Dask engine"):
            report, warnings = prepare_partitions.prepare(
                params, rules, policies(params.validation), params.validation.duplicate_row,
                kept_columns,
                lambda frame: check_finite_inputs(
                    frame, [c for c in inputs if c in frame], target, task),
                numeric, categorical)
    else:
        report, warnings = prepare_in_process(params, rules, inputs, kept_columns, numeric,
                                              categorical)
    report["decisions"].update(data_quality.contract_decisions(
        rules, contract.column_reasons(rules, paths.CONTRACT)))
    for warning in warnings:
        print(f"lifecycle prepare: warning: {warning}", file=sys.stderr)
    progress.log.info("split: %s", ", ".join(f"{name} {rows['rows']:,} rows"
                                             for name, rows in report["splits"].items()))
    files.write_json(report, paths.DATA_REPORT)
    files.write_bytes(data_quality.markdown(report).encode(), paths.DATA_REPORT_MARKDOWN)


def prepare_in_process(params: config.Params, rules: contract.Contract, inputs: list[str],
                       kept_columns: list[str], numeric: list[str], categorical: list[str]
                       ) -> tuple[dict, list[str]]:
    """Curate, split and profile in this process with pandas; writes the split files and
    returns the data-quality report and the warnings."""
    target, task = params.problem.target, params.problem.task
    with progress.phase(f"read {paths.RAW}"):
        table = tables.read_parquet(paths.RAW)
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
    for name, frame in parts.items():
        tables.write_parquet(frame, paths.PREPARED[name])
    with progress.phase("data-quality profile"):
        report = data_quality_report(params, rules, table, typed, outcome, curated, dropped,
                                     parts, numeric, categorical)
    report["decisions"] = {"duplicate_row": duplicates}
    return report, warnings


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
        "columns": data_quality.profile_columns(typed, rules),
        "cleaning": data_quality.cleaning_summary(
            parts, numeric, categorical, dataclasses.asdict(params.cleaning),
            params.features.min_category_count),
        "splits": {name: data_quality.target_distribution(frame, target, task)
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


if __name__ == "__main__":
    from lifecycle import stages

    stages.main("prepare", run)
