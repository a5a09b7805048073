"""Stage prepare: keep the columns the problem needs, curate rows, split out of time."""

from lifecycle import config, curation, io, paths
from lifecycle.errors import ParamsError


def run() -> None:
    params = config.load()
    target, time_column = params.problem.target, params.split.time_column
    inputs = params.features.input_columns()
    check_no_leakage(inputs, target, params.problem.leakage_columns)
    table = io.read_parquet(paths.RAW)
    # Duplicates are judged on whole source rows: two flights may share every feature value.
    curated, dropped = curation.curate(table, target)
    curated = curated[list(dict.fromkeys([*inputs, time_column, target]))]
    splits = curation.split_out_of_time(
        curated, time_column, params.split.test_start, params.split.current_start
    )
    for name, frame in splits.items():
        io.write_parquet(frame, paths.PREPARED[name])
    io.write_json({
        "rows_in": len(table),
        "rows_dropped": dropped,
        "rows_out": len(curated),
        "splits": curation.split_summary(splits, target),
    }, paths.DATA_REPORT)


def check_no_leakage(inputs: list[str], target: str, leakage_columns: list[str]) -> None:
    """Refuse a feature list that holds the target or a column known only after the fact."""
    leaking = [column for column in inputs if column in leakage_columns or column == target]
    if leaking:
        raise ParamsError(
            f"params.yaml: features: {', '.join(leaking)} may not be features: the target and "
            f"problem.leakage_columns are known only after the outcome; remove them"
        )
