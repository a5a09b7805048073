"""Stage featurize: fit the feature transformer on the training split only."""

import dataclasses

from lifecycle import artifacts, config, contract, features, paths, progress, tables


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
    train = tables.read_parquet(
        paths.PREPARED["train"], columns=[*features.input_columns(**columns), target]
    )
    transformer = features.build_transformer(
        **columns,
        impute_numeric=feature_params.impute_numeric,
        min_category_count=feature_params.min_category_count,
        cleaning=dataclasses.asdict(params.cleaning),
        impute_categorical=feature_params.impute_categorical,
    )
    with progress.phase(f"fit the feature transformer on {len(train):,} rows"):
        encoded = transformer.fit_transform(train.drop(columns=target))
    encoded[target] = train[target].to_numpy()
    artifacts.save_model(transformer, paths.FEATURE_TRANSFORMER)
    tables.write_parquet(encoded, paths.TRAIN_FEATURES)


if __name__ == "__main__":
    from lifecycle import stages

    stages.main("featurize", run)
