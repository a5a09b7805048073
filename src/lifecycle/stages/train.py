"""Stage train: fit the candidate and the baselines on the encoded training split, cross-validate
the candidate in time order, and save each as one deployable Pipeline."""

from dvclive import Live
from sklearn.pipeline import Pipeline

from lifecycle import config, cross_validation, features, io, metrics, models, paths


def run() -> None:
    params = config.load()
    target, task, train = params.problem.target, params.problem.task, params.train
    transformer = io.load_model(paths.FEATURE_TRANSFORMER)
    encoded = io.read_parquet(paths.TRAIN_FEATURES)
    y = encoded.pop(target)
    y = y.astype(int) if task == "binary" else y
    categorical = features.categorical_output_columns(transformer)

    def build(name: str) -> object:
        hyperparameters = models.hyperparameters_of(name, train.hyperparameters)
        return models.build_estimator(name, hyperparameters, params.seed, categorical, task)

    candidate = build(train.model)
    # An out-of-time split orders the CV folds by the training rows' times; the training split
    # is read (a declared dep) whatever the method, so dvc.yaml stays one list.
    in_time = params.split.method == "out_of_time"
    time_column = params.split.time_column
    rows = io.read_parquet(paths.PREPARED["train"], columns=[time_column] if in_time else [])
    order = rows[time_column] if in_time else None
    fold_scores = cross_validation.cross_validate(
        candidate, encoded, y, order, train.cv_folds, task, params.seed
    )
    candidate.fit(encoded, y)
    # The transformer is already fitted; the pipeline only chains it to the estimator.
    io.save_model(Pipeline([("features", transformer), ("estimator", candidate)]), paths.MODEL)
    for name in models.BASELINES:
        baseline = build(name).fit(encoded, y)
        io.save_model(Pipeline([("features", transformer), ("estimator", baseline)]),
                      paths.BASELINES[name])
    log_folds(fold_scores)
    scores = metrics.predict_scores(candidate, encoded, task)
    io.write_json({
        "rows": len(encoded),
        "features": list(encoded.columns),
        "model": train.model,
        "train_metrics": metrics.task_metrics(
            task, y, scores, None, getattr(candidate, "classes_", None)),
        "cross_validation": {
            "folds": fold_scores, "summary": cross_validation.summarize_folds(fold_scores)},
        "iterations": int(getattr(candidate, "n_iter_", 0)),
    }, paths.TRAIN_REPORT)


def log_folds(fold_scores: list[dict[str, float]]) -> None:
    """One dvclive step per fold: `dvc plots` draws each metric across the folds."""
    with io.atomic_directory(paths.CV_DIR) as folder, Live(
        str(folder), save_dvc_exp=False, dvcyaml=None, report=None
    ) as live:
        for scores in fold_scores:
            for name, value in scores.items():
                live.log_metric(name, value)
            live.next_step()
