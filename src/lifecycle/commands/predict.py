"""`lifecycle predict --input PATH --output PATH`: batch scoring (lifecycle.deployment.batch)
of a CSV or parquet file; rows that break the data contract go to a rejects file with their
reasons. Every path is checked before any work: no output may destroy data."""

from pathlib import Path

from lifecycle import config
from lifecycle.core import files, paths
from lifecycle.core.errors import LifecycleError
from lifecycle.core.tables import TABLE_TYPES
from lifecycle.deployment import batch
from lifecycle.deployment.frames import CHUNK_ROWS


def default_rejects(output: Path) -> Path:
    return output.with_name(f"{output.stem}.rejects.csv")


def check_output_type(output: Path) -> None:
    if output.suffix.lower() not in TABLE_TYPES:
        raise LifecycleError(f"--output {output}: unsupported output type {output.suffix!r}; "
                             f"use .csv or .parquet")


def check_paths(source: Path, output: Path, rejects: Path, overwrite: bool) -> None:
    """Refuse, before any work, paths that cannot be written or would destroy data."""
    if not source.exists():
        raise LifecycleError(f"--input {source}: not found; give the path of a .csv or .parquet "
                             f"file")
    files.check_regular(source)
    if rejects.suffix.lower() != ".csv":
        raise LifecycleError(f"--rejects {rejects}: the rejects file is CSV; give a path "
                             f"ending .csv")
    inputs = (source, config.PARAMS_FILE, paths.CONTRACT, paths.MODEL, paths.ONNX_MODEL)
    files.check_output(output, inputs=inputs, overwrite=overwrite)
    files.check_output(rejects, inputs=inputs, overwrite=overwrite, option="--rejects")
    files.check_distinct(output=output, rejects=rejects)


def run(input: str, output: str, rejects: str | None = None, chunk_rows: int = CHUNK_ROWS,
        overwrite: bool = False, runtime: str = "skops") -> None:
    params = config.load()
    source, target = Path(input), Path(output)
    if chunk_rows < 1:
        raise LifecycleError(f"--chunk-rows {chunk_rows}: give a positive number of rows")
    check_output_type(target)  # first: the default rejects file is named after it
    rejects_path = Path(rejects) if rejects else default_rejects(target)
    check_paths(source, target, rejects_path, overwrite)
    counts = batch.predict_file(params, runtime, source, target, rejects_path, chunk_rows)
    print(f"{counts['rows_in']} rows read from {source}: {counts['rows_scored']} scored into "
          f"{target}, {counts['rows_rejected']} rejected into {rejects_path} (reason per row)")
