"""A search for the candidate's hyperparameters: scikit-learn's successive halving
(HalvingGridSearchCV) over a list of settings drawn from the model's space in params.yaml.

The first settings are always scikit-learn's defaults and the model's own hyperparameters from
params, so the search can only keep or beat them on cross-validation (in the last round they
reach). Every round fits each remaining setting on the cross-validation folds of the train stage
(time-ordered out of time: never a future row) with a growing sample of the training rows, and
keeps the best third; the last round fits on at most `tuning.max_rows` rows. One process and
one seed: the same data gives the same choice.
"""

import inspect
import warnings
from typing import Any

import numpy as np
import pandas as pd

from lifecycle.core.formatting import number, rounded
from lifecycle.modeling import cross_validation, metrics

# Each round keeps a third of the settings and fits them on three times the rows.
FACTOR = 3
# Rows of the smallest round: fewer rounds rather than folds too small to rank settings.
MIN_ROUND_ROWS = 500
# Binary metrics that need the decision threshold (evaluate's) cannot rank settings in train;
# the log loss judges the probabilities the threshold cuts.
THRESHOLD_FREE = "log_loss"
SOURCES = ("scikit-learn's defaults", "train.hyperparameters", "drawn from tuning.space")


def search_metric(primary: str) -> str:
    """What the search ranks settings by: the primary metric, unless it needs a threshold."""
    return THRESHOLD_FREE if primary in metrics.THRESHOLD_METRICS else primary


def defaults_of(estimator: Any, keys: list[str]) -> dict[str, Any]:
    """The estimator class's own default for each key."""
    signature = inspect.signature(type(estimator)).parameters
    return {key: signature[key].default for key in keys}


def candidate_settings(space: dict[str, list], defaults: dict, configured: dict, count: int,
                       seed: int) -> list[tuple[str, dict]]:
    """Up to `count` distinct settings of the space's keys, each with where it came from:
    scikit-learn's defaults, the params' hyperparameters, then seeded draws from the space."""
    from sklearn.model_selection import ParameterGrid, ParameterSampler

    draws = min(count, len(ParameterGrid(space)))  # more would repeat (and warn)
    found: list[tuple[str, dict]] = []
    sampled = ParameterSampler(space, draws, random_state=seed)
    for source, settings in [(SOURCES[0], defaults), (SOURCES[1], configured),
                             *((SOURCES[2], drawn) for drawn in sampled)]:
        if all(settings != known for _, known in found):
            found.append((source, dict(settings)))
    return found[:count]


def first_round_rows(rows: int, candidates: int) -> int:
    """Rows of the first round: enough rounds to leave one setting, each a third of the next,
    the last on every row; fewer rounds when the first would hold under MIN_ROUND_ROWS."""
    rounds = 1
    while FACTOR**rounds <= candidates:
        rounds += 1
    while rounds > 1 and rows // FACTOR ** (rounds - 1) < MIN_ROUND_ROWS:
        rounds -= 1
    return rows // FACTOR ** (rounds - 1)


def scorer(metric: str, task: str) -> Any:
    """A scorer computing the metric as the train stage's cross-validation reports it (larger
    is better, as scikit-learn's search expects)."""
    def score(model: Any, X: pd.DataFrame, y: pd.Series) -> float:
        classes = getattr(model, "classes_", None)
        truth = metrics.binary_targets(y, classes) if task == "binary" else y
        values = metrics.task_metrics(task, truth, metrics.predict_scores(model, X, task), None,
                                      classes)
        return metrics.oriented(metric, values[metric])
    return score


def halving_search(estimator: Any, X: pd.DataFrame, y: pd.Series, order: pd.Series | None,
                   settings: list[dict], *, folds: int, task: str, metric: str, seed: int,
                   max_rows: int) -> Any:
    """The fitted HalvingGridSearchCV over `settings`, in their order, on the train stage's
    folds (`cross_validation.fold_splitter`), single process and seeded."""
    from sklearn.exceptions import FitFailedWarning
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV

    if order is not None:
        X, y = cross_validation.in_time_order(X, y, order)
    rows = min(max_rows, len(y))
    search = HalvingGridSearchCV(
        estimator, [{key: [value] for key, value in each.items()} for each in settings],
        factor=FACTOR, resource="n_samples", max_resources=rows,
        min_resources=first_round_rows(rows, len(settings)),
        cv=cross_validation.fold_splitter(order is not None, folds, task, seed),
        scoring=scorer(metric, task), refit=False, error_score=np.nan, return_train_score=False,
        n_jobs=1, random_state=seed)
    # A small round can hold a fold with one class: that setting scores NaN in that round
    # (null in the report) and ranks last, which says all a warning would.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FitFailedWarning)
        warnings.filterwarnings("ignore", "One or more of the test scores are non-finite")
        search.fit(X, y)
    return search


def search_report(search: Any, settings: list[tuple[str, dict]], metric: str) -> dict:
    """What the search tried and chose: the rounds (rows, settings), and per setting its
    source, hyperparameters and mean cross-validation score in each round it reached (in the
    metric's own direction; null where a fold could not be scored)."""
    results = search.cv_results_
    position = [next(index for index, (_, known) in enumerate(settings) if known == tried)
                for tried in results["params"]]
    scores: dict[int, list] = {index: [] for index in range(len(settings))}
    for row, index in enumerate(position):
        value = metrics.oriented(metric, results["mean_test_score"][row])
        scores[index].append(rounded(value) if np.isfinite(value) else None)
    chosen = position[search.best_index_]
    return {
        "metric": metric,
        "rounds": [{"rows": int(rows), "settings": int(count)}
                   for rows, count in zip(search.n_resources_, search.n_candidates_, strict=True)],
        "chosen": chosen,
        "hyperparameters": settings[chosen][1],
        "candidates": [{"candidate": index, "source": source, "hyperparameters": each,
                        "mean_scores": scores[index]}
                       for index, (source, each) in enumerate(settings)],
    }


def unsearched_report(settings: list[tuple[str, dict]], metric: str) -> dict:
    """The report of a space with fewer than two settings: nothing tried, nothing changed."""
    return {"metric": metric, "rounds": [], "chosen": None, "hyperparameters": {},
            "candidates": [{"candidate": index, "source": source, "hyperparameters": each,
                            "mean_scores": []} for index, (source, each) in enumerate(settings)]}


def summary_lines(report: dict) -> list[str]:
    """The rounds, the choice, and how the defaults and the params' settings fared, for the
    stage's log."""
    def fared(each: dict) -> str:
        return (f"setting {each['candidate']} ({each['source']}): {report['metric']} "
                f"{number(each['mean_scores'][-1])} in round {len(each['mean_scores'])} of "
                f"{len(report['rounds'])}")

    chosen = report["candidates"][report["chosen"]]
    settings = ", ".join(f"{key}={value}"
                         for key, value in sorted(chosen["hyperparameters"].items()))
    rounds = ", ".join(f"{each['settings']} on {each['rows']:,} rows" for each in report["rounds"])
    return [f"rounds: {rounds}", f"chose {fared(chosen)}: {settings}",
            *(fared(each) for each in report["candidates"][:2] if each is not chosen)]
