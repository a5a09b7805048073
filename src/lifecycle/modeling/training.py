"""Training, from the encoded training rows: build the candidate and the baselines from params,
try them on a few rows, search the candidate's hyperparameters (tuning on), cross-validate it,
fit every model, and report what was fitted.

A regression model, candidate and baselines alike (so the gate compares like with like), clips
its predictions to the target's bounds in the data contract: a count is never predicted negative.
"""

import concurrent.futures
import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from threadpoolctl import threadpool_limits

from lifecycle import config
from lifecycle.core import progress, tables
from lifecycle.modeling import clipping, cross_validation, metrics, models, tuning


@dataclasses.dataclass(frozen=True)
class Trained:
    """The fitted candidate and baselines (estimators, without the feature transformer), the
    candidate's cross-validation scores per fold, tuning on, the search's report, and the
    candidate's scores of the rows it was trained on (its training metrics')."""

    candidate: object
    baselines: dict[str, object]
    fold_scores: list[dict[str, float]]
    search: dict | None
    training_scores: np.ndarray


@dataclasses.dataclass(frozen=True)
class Rows:
    """The encoded training rows the stage fits on: every row's labels (`fit_labels`), and the
    rows the evidence (cross-validation, baselines, training metrics) uses, a seeded sample of
    `sample` positions when there are more than its bound (None: every row)."""

    labels: pd.Series
    sample: np.ndarray | None
    encoded: pd.DataFrame
    y: pd.Series

    @property
    def whole(self) -> pd.DataFrame | None:
        """Every row's features, when the evidence uses them all (else None: not in memory)."""
        return self.encoded if self.sample is None else None


def read_rows(path: str, target: str, task: str, max_rows: int, seed: int) -> Rows:
    """The encoded training table at `path`, its features at most `max_rows` (sampled with
    `seed`), read a row group at a time."""
    labels = fit_labels(tables.read_parquet(path, columns=[target])[target], task)
    sample = tables.sampled_positions(len(labels), max_rows, seed)
    encoded = tables.read_parquet_rows(path, sample).drop(columns=target)
    y = labels if sample is None else labels.iloc[sample].reset_index(drop=True)
    return Rows(labels, sample, encoded, y)


def train(params: config.Params, categorical: list[str], encoded: pd.DataFrame, y: pd.Series,
          order: pd.Series | None, bounds: tuple[float | None, float | None],
          fit_candidate: Callable[[object], None]) -> Trained:
    """Every model fitted on `encoded` and `y` (`fit_labels`). `order` is the training rows'
    times (out-of-time splits: time-ordered folds), `bounds` a regression target's, and
    `fit_candidate` the candidate's final fit (on the engine params choose); cross-validation,
    the search and the baselines fit in this process, on the frame given."""
    model, task, seed = params.train.model, params.problem.task, params.seed

    def build(name: str, chosen: dict | None = None) -> object:
        hyperparameters = models.hyperparameters_of(name, params.train.hyperparameters_for(name))
        estimator = models.build_estimator(name, {**hyperparameters, **(chosen or {})}, seed,
                                           categorical, task, params.extensions.models)
        return clipping.bounded(estimator, *bounds)

    candidate = build(model)
    baselines = {name: build(name) for name in models.BASELINES}
    # Seconds, not minutes, to learn that scikit-learn refuses a hyperparameter at fit.
    with progress.phase("try the hyperparameters on a few rows"):
        for name, estimator in {model: candidate, **baselines}.items():
            models.check_fits(name, estimator, encoded, y, task)
    # Off: the model's hyperparameters as params give them, exactly as before tuning existed.
    search = (tune(params, clipping.unwrapped(candidate), encoded, y, order)
              if params.tuning.enabled else None)
    if search:
        candidate = build(model, search["hyperparameters"])
    with models.refused_at_fit(model):
        fold_scores = cross_validation.cross_validate(candidate, encoded, y, order,
                                                      params.train.cv_folds, task, seed)
        with progress.phase(f"fit {model} on every training row"):
            fit_candidate(candidate)
    # The candidate scores its training rows in a thread while the baselines fit: a tree model
    # predicts outside the GIL on one OpenMP thread, and the linear fit is mostly one core's
    # work (the example's train stage took 1.4 s less, docs/performance.md).
    with threadpool_limits(limits=1, user_api="openmp"), \
            concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        training_scores = pool.submit(metrics.predict_scores, candidate, encoded, task)
        for name, baseline in baselines.items():
            with models.refused_at_fit(name), progress.phase(f"fit the {name} baseline"):
                baseline.fit(encoded, y)
    return Trained(candidate, baselines, fold_scores, search, training_scores.result())


def tune(params: config.Params, estimator: object, encoded: pd.DataFrame, y: pd.Series,
         order: pd.Series | None) -> dict:
    """Search tuning.space for train.model's hyperparameters (see lifecycle.modeling.tuning);
    what it tried and chose, for reports/train.json."""
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


def train_report(trained: Trained, model: str, rows: Rows, task: str) -> dict:
    """reports/train.json: the rows and features, the candidate's metrics on the training rows
    the evidence uses, its cross-validation folds and summary, its iterations and the search."""
    candidate, encoded, y = trained.candidate, rows.encoded, rows.y
    scores = trained.training_scores
    classes = getattr(candidate, "classes_", None)
    truth = metrics.binary_targets(y, classes) if task == "binary" else y
    return {
        "rows": len(rows.labels),
        # the rows cross-validation, the baselines and train_metrics used: a seeded sample when
        # fewer than "rows" (train.evidence_max_rows)
        "evidence_rows": len(encoded),
        "features": list(encoded.columns),
        "model": model,
        "train_metrics": metrics.task_metrics(task, truth, scores, None, classes),
        "cross_validation": {
            "folds": trained.fold_scores,
            "summary": cross_validation.summarize_folds(trained.fold_scores)},
        "iterations": int(getattr(clipping.unwrapped(candidate), "n_iter_", 0)),
        **({"tuning": trained.search} if trained.search else {}),
    }


def fit_on_engine(candidate: object, client: object, frame: object, y: pd.Series,
                  target: str) -> None:
    """The candidate's final fit on Dask partitions of the encoded features (`frame`, the target
    among its columns), with the labels of the type and classes `y` has in this process, so
    both engines save the same classes_."""
    classes = np.unique(y) if is_classifier(candidate) else None
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
