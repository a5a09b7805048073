"""Stage featurize: fit the feature transformer on the training split only."""

import dataclasses

import pandas as pd

from lifecycle import config
from lifecycle.config import contract
from lifecycle.core import paths, progress, tables
from lifecycle.modeling import artifacts, features


def run() -> None:
    params = config.load()
    feature_params = params.features
    rules = contract.load(paths.CONTRACT)
    rules.check_calendar_params(feature_params.datetime, feature_params.age_from_year,
                                paths.CONTRACT)
    numeric, categorical = rules.feature_lists(feature_params.age_from_year)
    columns = dict(
        numeric=numeric,
        categorical=categorical,
        datetime=feature_params.datetime,
        age_from_year=feature_params.age_from_year,
    )
    target = params.problem.target
    train_columns = [*features.input_columns(**columns), target]
    train = tables.read_parquet(paths.PREPARED["train"], columns=train_columns)
    transformer = features.build_transformer(
        **columns,
        impute_numeric=feature_params.impute_numeric,
        min_category_count=feature_params.min_category_count,
        cleaning=dataclasses.asdict(params.cleaning),
        impute_categorical=feature_params.impute_categorical,
        own=features.own_transformers(params.extensions.transformers),
    )
    # The fit needs every training row's inputs here; transforming is row by row.
    with progress.phase(f"fit the feature transformer on {len(train):,} rows"):
        transformer.fit(train.drop(columns=target))
    del train
    if params.engine == "dask":
        from lifecycle.core import engine
        from lifecycle.data import partitions

        with engine.dask_client(), progress.phase("transform on the Dask engine"):
            partitions.write_parquet(
                partitions.read_parquet(paths.PREPARED["train"], columns=train_columns)
                .map_partitions(encoded_rows, transformer, target), paths.TRAIN_FEATURES)
    else:
        train = tables.read_parquet(paths.PREPARED["train"], columns=train_columns)
        tables.write_parquet(encoded_rows(train, transformer, target), paths.TRAIN_FEATURES)
    artifacts.save_model(transformer, paths.FEATURE_TRANSFORMER)


def encoded_rows(rows: pd.DataFrame, transformer: object, target: str) -> pd.DataFrame:
    encoded = transformer.transform(rows.drop(columns=target))
    encoded[target] = rows[target].to_numpy()
    return encoded


if __name__ == "__main__":
    from lifecycle import stages

    stages.main("featurize", run)
