"""Stage train: fit the estimator on the encoded training split; save one deployable Pipeline."""

from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from lifecycle import config, features, io, models, paths


def run() -> None:
    params = config.load()
    target = params.problem.target
    transformer = io.load_model(paths.FEATURE_TRANSFORMER)
    encoded = io.read_parquet(paths.TRAIN_FEATURES)
    y = encoded.pop(target).astype(int)
    estimator = models.build_estimator(
        params.train.model, params.train.hyperparameters, params.seed,
        features.categorical_output_columns(transformer),
    )
    estimator.fit(encoded, y)
    # The transformer is already fitted; the pipeline only chains it to the estimator.
    model = Pipeline([("features", transformer), ("estimator", estimator)])
    io.save_model(model, paths.MODEL)
    train_score = roc_auc_score(y, estimator.predict_proba(encoded)[:, 1])
    io.write_json({
        "rows": len(encoded),
        "features": list(encoded.columns),
        "train_roc_auc": round(float(train_score), 6),
        "iterations": int(getattr(estimator, "n_iter_", 0)),
    }, paths.TRAIN_REPORT)
