"""Stage featurize: fit the feature transformer on the training split only."""

from lifecycle import config, features, io, paths


def run() -> None:
    params = config.load()
    feature_params = params.features
    columns = dict(
        numeric=feature_params.numeric,
        categorical=feature_params.categorical,
        datetime=feature_params.datetime,
        age_from_year=feature_params.age_from_year,
    )
    target = params.problem.target
    train = io.read_parquet(
        paths.PREPARED["train"], columns=[*features.input_columns(**columns), target]
    )
    transformer = features.build_transformer(
        **columns,
        impute_numeric=feature_params.impute_numeric,
        min_category_count=feature_params.min_category_count,
    )
    encoded = transformer.fit_transform(train.drop(columns=target))
    encoded[target] = train[target].to_numpy()
    io.save_model(transformer, paths.FEATURE_TRANSFORMER)
    io.write_parquet(encoded, paths.TRAIN_FEATURES)
