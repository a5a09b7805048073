"""Stage prepare: validate against the data contract, curate rows, split, profile.

Only row curation happens here; value cleaning is fitted on train in the model pipeline. The
work is `lifecycle.data.prepare` (pandas) and `lifecycle.data.prepare_dask` (`engine: dask`).
"""

import sys

from lifecycle import config
from lifecycle.config import contract
from lifecycle.core import files, paths, progress, tables
from lifecycle.data import prepare, quality


def run() -> None:
    params = config.load()
    rules = contract.load(paths.CONTRACT)
    target, task = params.problem.target, params.problem.task
    prepare.check_contract_target(rules, target, task)
    rules.check_calendar_params(params.features.datetime, params.features.age_from_year,
                                paths.CONTRACT)
    time_column = params.split.time_column
    if time_column:
        rules.require_column("split.time_column", time_column, "datetime", paths.CONTRACT)
    numeric, categorical = rules.feature_lists(params.features.age_from_year)
    inputs = contract.input_columns(numeric, categorical, params.features.datetime,
                                    params.features.age_from_year)
    prepare.check_no_leakage(inputs, target, rules.with_role("leakage", "identifier"))
    # Sensitive columns stay in the splits, model inputs or not: evaluate measures per group.
    kept_columns = list(dict.fromkeys(c for c in [*inputs, time_column, *rules.keys,
                                                  *rules.sensitive_columns(), target] if c))

    if params.engine == "dask":
        from lifecycle.core import engine
        from lifecycle.data import prepare_dask

        with engine.dask_client(), progress.phase("prepare on the Dask engine"):
            report, warnings = prepare_dask.prepare(
                params, rules, prepare.policies(params.validation),
                params.validation.duplicate_row, kept_columns,
                lambda frame: prepare.check_finite_inputs(
                    frame, [c for c in inputs if c in frame], target, task),
                numeric, categorical)
    else:
        with progress.phase(f"read {paths.RAW}"):
            table = tables.read_parquet(paths.RAW)
        parts, report, warnings = prepare.prepare(table, params, rules, inputs, kept_columns,
                                                  numeric, categorical)
        for name, frame in parts.items():
            tables.write_parquet(frame, paths.PREPARED[name])
    report["decisions"].update(quality.contract_decisions(
        rules, contract.column_reasons(rules, paths.CONTRACT)))
    for warning in warnings:
        print(f"lifecycle prepare: warning: {warning}", file=sys.stderr)
    progress.log.info("split: %s", ", ".join(f"{name} {rows['rows']:,} rows"
                                             for name, rows in report["splits"].items()))
    files.write_json(report, paths.DATA_REPORT)
    files.write_bytes(quality.markdown(report).encode(), paths.DATA_REPORT_MARKDOWN)


if __name__ == "__main__":
    from lifecycle import stages

    stages.main("prepare", run)
