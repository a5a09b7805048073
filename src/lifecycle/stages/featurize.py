"""Stage featurize: fit the feature transformer on the training split only."""

import dataclasses

import pandas as pd

from lifecycle import config
from lifecycle.config import contract
from lifecycle.core import paths, progress, tables
from lifecycle.modeling import artifacts, features

# Rows the fitted transformer lays out its output on (see features.fit_by_branch).
LAYOUT_ROWS = 100


def run() -> None:
    params = config.load()
    rules = contract.load(paths.CONTRACT)
    columns = feature_columns(params, rules)
    transformer = unfitted_transformer(params, columns)
    target = params.problem.target
    train_columns = [*contract.input_columns(**columns), target]
    # The fit needs every training row of a branch's columns here; transforming is row by row.
    train = paths.PREPARED["train"]
    with progress.phase(f"fit the feature transformer on {tables.row_count(train):,} rows"):
        features.fit_by_branch(
            transformer, lambda columns: tables.read_parquet(train, columns=columns),
            next(tables.parquet_batches(train, LAYOUT_ROWS, train_columns)).drop(columns=target))
    if params.engine == "dask":
        from lifecycle.core import engine
        from lifecycle.data import partitions

        with engine.dask_client(), progress.phase("transform on the Dask engine"):
            partitions.write_parquet(
                partitions.read_parquet(paths.PREPARED["train"], columns=train_columns)
                .map_partitions(encoded_rows, transformer, target), paths.TRAIN_FEATURES)
    else:
        rows = tables.read_parquet(train, columns=train_columns)
        tables.write_parquet(encoded_rows(rows, transformer, target), paths.TRAIN_FEATURES)
    artifacts.save_model(transformer, paths.FEATURE_TRANSFORMER)


def feature_columns(params: config.Params, rules: contract.Contract) -> dict:
    """The transformer's columns: the contract's features and the params' calendar columns."""
    settings = params.features
    rules.check_calendar_params(settings.datetime, settings.age_from_year, paths.CONTRACT)
    numeric, categorical = rules.feature_lists(settings.age_from_year)
    return dict(numeric=numeric, categorical=categorical, datetime=settings.datetime,
                age_from_year=settings.age_from_year)


def unfitted_transformer(params: config.Params, columns: dict):
    """The feature transformer of `columns` (feature_columns) and the params, before its fit
    (the benchmark's core builds it here too, so both fit the same transformer)."""
    settings = params.features
    return features.build_transformer(
        **columns,
        impute_numeric=settings.impute_numeric,
        min_category_count=settings.min_category_count,
        cleaning=dataclasses.asdict(params.cleaning),
        impute_categorical=settings.impute_categorical,
        own=features.own_transformers(params.extensions.transformers),
    )


def encoded_rows(rows: pd.DataFrame, transformer: object, target: str) -> pd.DataFrame:
    encoded = transformer.transform(rows.drop(columns=target))
    encoded[target] = rows[target].to_numpy()
    return encoded


if __name__ == "__main__":
    from lifecycle import stages

    stages.main("featurize", run)
