"""Stage train: fit the candidate and the baselines on the encoded training split, cross-validate
the candidate in time order, and save each as one deployable Pipeline.

The fitting is `lifecycle.modeling.training`; this shell reads the declared inputs, chooses the
engine of the candidate's final fit, and writes the models, the fold scores and the report.
"""

import numpy as np
import pandas as pd
from dvclive import Live
from sklearn.pipeline import Pipeline

from lifecycle import config
from lifecycle.config import contract
from lifecycle.core import files, paths, tables
from lifecycle.modeling import artifacts, features, training


def run() -> None:
    params = config.load()
    target, task = params.problem.target, params.problem.task
    transformer = artifacts.load_model(paths.FEATURE_TRANSFORMER,
                                       params.extensions.model_packages())
    rows = training.read_rows(paths.TRAIN_FEATURES, target, task,
                              params.train.evidence_max_rows, params.seed)
    trained = training.train(
        params, features.categorical_output_columns(transformer), rows.encoded, rows.y,
        time_order(params, rows.sample), target_bounds(params),
        lambda candidate: fit_candidate(candidate, rows.whole, rows.labels, params.engine,
                                        target))
    fitted = {paths.MODEL: trained.candidate, **{
        paths.BASELINES[name]: baseline for name, baseline in trained.baselines.items()}}
    for path, estimator in fitted.items():  # the transformer is fitted: the pipeline chains it
        artifacts.save_model(Pipeline([("features", transformer), ("estimator", estimator)]), path)
    log_folds(trained.fold_scores)
    files.write_json(training.train_report(trained, params.train.model, rows, task),
                     paths.TRAIN_REPORT)


def time_order(params: config.Params, sample: np.ndarray | None) -> pd.Series | None:
    """An out-of-time split orders the CV folds by the (sampled) training rows' times."""
    if params.split.method != "out_of_time":
        return None
    time_column = params.split.time_column
    return tables.read_parquet_rows(paths.PREPARED["train"], sample, [time_column])[time_column]


def target_bounds(params: config.Params) -> tuple[float | None, float | None]:
    """A regression target's min and max in the data contract (read only for regression: a
    classifier's labels have no bounds)."""
    if params.problem.task != "regression":
        return None, None
    column = contract.load(paths.CONTRACT).columns[params.problem.target]
    return column.min, column.max


def fit_candidate(candidate: object, encoded: pd.DataFrame | None, y: pd.Series, engine: str,
                  target: str) -> None:
    """The candidate's final fit on every training row (`encoded`, else read here): on the Dask
    partitions of the encoded features (one per parquet row group) when the engine is dask and
    the model can train there (xgboost), else in this process. Both give the same kind of
    estimator."""
    if engine != "dask" or not hasattr(candidate, "fit_dask"):
        if encoded is None:
            encoded = tables.read_parquet(paths.TRAIN_FEATURES).drop(columns=target)
        candidate.fit(encoded, y)
        return
    from lifecycle.core import engine as engines
    from lifecycle.data import partitions

    with engines.dask_client() as client:
        training.fit_on_engine(candidate, client, partitions.read_parquet(paths.TRAIN_FEATURES),
                               y, target)


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
