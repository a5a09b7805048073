"""Stage train: fit the candidate and the baselines on the encoded training split, cross-validate
the candidate in time order, and save each as one deployable Pipeline.

A regression model, candidate and baselines alike (so the gate compares like with like), clips
its predictions to the target's bounds in the data contract: a count is never predicted negative.
"""

import numpy as np
import pandas as pd
from dvclive import Live
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline

from lifecycle import (
    artifacts,
    clipping,
    config,
    contract,
    cross_validation,
    features,
    files,
    metrics,
    models,
    paths,
    progress,
    tables,
    tuning,
)


def run() -> None:
    params = config.load()
    target, task, train = params.problem.target, params.problem.task, params.train
    transformer = artifacts.load_model(paths.FEATURE_TRANSFORMER)
    encoded = tables.read_parquet(paths.TRAIN_FEATURES)
    y = fit_labels(encoded.pop(target), task)
    categorical = features.categorical_output_columns(transformer)
    lower, upper = target_bounds(params)

    def build(name: str, chosen: dict | None = None) -> object:
        hyperparameters = models.hyperparameters_of(name, train.hyperparameters_for(name))
        estimator = models.build_estimator(name, {**hyperparameters, **(chosen or {})},
                                           params.seed, categorical, task)
        return clipping.bounded(estimator, lower, upper)

    candidate = build(train.model)
    baselines = {name: build(name) for name in models.BASELINES}
    # Seconds, not minutes, to learn that scikit-learn refuses a hyperparameter at fit.
    with progress.phase("try the hyperparameters on a few rows"):
        for name, estimator in {train.model: candidate, **baselines}.items():
            models.check_fits(name, estimator, encoded, y, task)
    # An out-of-time split orders the CV folds by the training rows' times.
    order = None
    if params.split.method == "out_of_time":
        time_column = params.split.time_column
        order = tables.read_parquet(paths.PREPARED["train"], columns=[time_column])[time_column]
    # Off: the model's hyperparameters as params give them, exactly as before tuning existed.
    search = (tune(params, clipping.unwrapped(candidate), encoded, y, order)
              if params.tuning.enabled else None)
    if search:
        candidate = build(train.model, search["hyperparameters"])
    # Cross-validation and the baselines fit in this process, on the frame already read; only
    # the candidate's final fit runs on the engine (see fit_candidate).
    with models.refused_at_fit(train.model):
        fold_scores = cross_validation.cross_validate(
            candidate, encoded, y, order, train.cv_folds, task, params.seed
        )
        with progress.phase(f"fit {train.model} on {len(encoded):,} rows"):
            fit_candidate(candidate, encoded, y, params.engine, target)
    # The transformer is already fitted; the pipeline only chains it to the estimator.
    deployable = Pipeline([("features", transformer), ("estimator", candidate)])
    artifacts.save_model(deployable, paths.MODEL)
    for name, baseline in baselines.items():
        with models.refused_at_fit(name), progress.phase(f"fit the {name} baseline"):
            baseline.fit(encoded, y)
        artifacts.save_model(Pipeline([("features", transformer), ("estimator", baseline)]),
                             paths.BASELINES[name])
    log_folds(fold_scores)
    scores = metrics.predict_scores(candidate, encoded, task)
    classes = getattr(candidate, "classes_", None)
    truth = metrics.binary_targets(y, classes) if task == "binary" else y
    files.write_json({
        "rows": len(encoded),
        "features": list(encoded.columns),
        "model": train.model,
        "train_metrics": metrics.task_metrics(task, truth, scores, None, classes),
        "cross_validation": {
            "folds": fold_scores, "summary": cross_validation.summarize_folds(fold_scores)},
        "iterations": int(getattr(clipping.unwrapped(candidate), "n_iter_", 0)),
        **({"tuning": search} if search else {}),
    }, paths.TRAIN_REPORT)


def tune(params: config.Params, estimator: object, encoded: pd.DataFrame, y: pd.Series,
         order: pd.Series | None) -> dict:
    """Search tuning.space for train.model's hyperparameters (see lifecycle.tuning); what it
    tried and chose, for reports/train.json."""
    model, task, seed = params.train.model, params.problem.task, params.seed
    space = models.check_space(model, params.tuning.space_for(model), estimator)
    keys = sorted(space)
    configured = {key: estimator.get_params()[key] for key in keys}
    settings = tuning.candidate_settings(space, tuning.defaults_of(estimator, keys), configured,
                                         params.tuning.candidates, seed)
    metric = tuning.search_metric(params.problem.primary_metric)
    if len(settings) < 2:
        progress.log.info("tuning: tuning.space.%s offers no setting to compare; nothing to "
                          "search", model)
        return tuning.unsearched_report(settings, metric)
    with progress.phase(f"try the {len(settings)} settings of tuning.space on a few rows"):
        for _, each in settings:
            models.check_fits(model, models.clone_with(estimator, each), encoded, y, task,
                              where=f"tuning.space.{model}")
    rows, folds = min(params.tuning.max_rows, len(y)), params.train.cv_folds
    progress.log.info(
        "tuning: successive halving over %d settings of %s by %s on %d %s folds, the last "
        "round on up to %s of %s training rows (tuning.candidates %d, tuning.max_rows %s)",
        len(settings), model, metric, folds, "time-ordered" if order is not None else "shuffled",
        f"{rows:,}", f"{len(y):,}", params.tuning.candidates, f"{params.tuning.max_rows:,}")
    with progress.phase(f"search {len(settings)} settings of {model}"):
        search = tuning.halving_search(estimator, encoded, y, order, [s for _, s in settings],
                                       folds=folds, task=task, metric=metric, seed=seed,
                                       max_rows=params.tuning.max_rows)
    report = tuning.search_report(search, settings, metric)
    for line in tuning.summary_lines(report):
        progress.log.info("tuning: %s", line)
    return report


def target_bounds(params: config.Params) -> tuple[float | None, float | None]:
    """A regression target's min and max in the data contract (read only for regression: a
    classifier's labels have no bounds)."""
    if params.problem.task != "regression":
        return None, None
    column = contract.load(paths.CONTRACT).columns[params.problem.target]
    return column.min, column.max


def fit_candidate(candidate: object, encoded: pd.DataFrame, y: pd.Series, engine: str,
                  target: str) -> None:
    """The candidate's final fit: on the Dask partitions of the encoded features (one per
    parquet row group) when the engine is dask and the model can train there (xgboost), else
    in this process. Both give the same kind of estimator."""
    if engine != "dask" or not hasattr(candidate, "fit_dask"):
        candidate.fit(encoded, y)
        return
    from lifecycle import engine as engines
    from lifecycle import partitions

    classes = np.unique(y) if is_classifier(candidate) else None
    with engines.dask_client() as client:
        frame = partitions.read_parquet(paths.TRAIN_FEATURES)
        # Labels of the type fit_labels gave the pandas ones, and their classes: both engines
        # save the same classes_.
        frame = frame.assign(**{target: frame[target].astype(y.dtype)})
        candidate.fit_dask(client, frame, target, classes=classes)


def fit_labels(y: pd.Series, task: str) -> pd.Series:
    """The labels the estimators learn: binary labels that are whole numbers as integers (a
    nullable or float 0/1 column gives the model classes 0 and 1), any others as they are
    (yes/no); `metrics.binary_targets` turns them into 0/1 where a metric needs it."""
    if task == "binary" and whole_numbers(y):
        return y.astype(int)
    return y


def whole_numbers(values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_integer_dtype(values):
        return True
    return bool(pd.api.types.is_float_dtype(values) and (values % 1 == 0).all())


def log_folds(fold_scores: list[dict[str, float]]) -> None:
    """One dvclive step per fold: `dvc plots` draws each metric across the folds."""
    with files.atomic_directory(paths.CV_DIR) as folder, Live(
        str(folder), save_dvc_exp=False, dvcyaml=None, report=None
    ) as live:
        for scores in fold_scores:
            for name, value in scores.items():
                live.log_metric(name, value)
            live.next_step()


if __name__ == "__main__":
    from lifecycle import stages

    stages.main("train", run)
