"""Cross-validation on the training split, in time order when the split is out of time."""

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit

from lifecycle.core import progress
from lifecycle.core.errors import ParamsError
from lifecycle.core.formatting import rounded
from lifecycle.modeling import metrics


def cross_validate(estimator: object, X: pd.DataFrame, y: pd.Series, order: pd.Series | None,
                   folds: int, task: str, seed: int) -> list[dict[str, float]]:
    """Metrics of each fold.

    With a time `order`, fit on the earlier rows and score on the block that follows: such folds
    never train on the future, as the out-of-time test split does not. Without one (a random
    split), seeded shuffled folds, stratified for classification.
    """
    if order is not None:
        X, y = in_time_order(X, y, order)
    splitter = fold_splitter(order is not None, folds, task, seed)
    scores = []
    for number, (fit_rows, score_rows) in enumerate(fold_rows(splitter, X, y, folds), 1):
        if task != "regression":
            check_fold_classes(y.iloc[fit_rows], y, number, ordered=order is not None)
        with progress.phase(f"cross-validation fold {number}/{folds}"):
            model = clone(estimator).fit(X.iloc[fit_rows], y.iloc[fit_rows])
        held_out = X.iloc[score_rows]
        predicted = metrics.predict_scores(model, held_out, task)
        classes = getattr(model, "classes_", None)
        truth = y.iloc[score_rows]
        if task == "binary":
            truth = metrics.binary_targets(truth, classes)
        scores.append(metrics.task_metrics(task, truth, predicted, None, classes))
    return scores


def in_time_order(X: pd.DataFrame, y: pd.Series,
                  order: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """The rows sorted by their time (ties kept in file order)."""
    by_time = np.argsort(order.to_numpy(), kind="stable")
    return X.iloc[by_time], y.iloc[by_time]


def fold_splitter(ordered: bool, folds: int, task: str, seed: int) -> object:
    """Time-ordered folds for rows `in_time_order`; else seeded shuffled folds, stratified for
    classification. The hyperparameter search (lifecycle.modeling.tuning) cuts the same folds."""
    if ordered:
        return TimeSeriesSplit(n_splits=folds)
    if task == "regression":
        return KFold(n_splits=folds, shuffle=True, random_state=seed)
    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)


def fold_rows(splitter: object, X: pd.DataFrame, y: pd.Series, folds: int) -> list[tuple]:
    """The (fit, score) row positions of each fold, or a ParamsError when the training rows
    cannot be cut into that many folds."""
    try:
        return list(splitter.split(X, y))
    except ValueError as error:
        raise ParamsError(f"params.yaml: train.cv_folds: {len(y)} training rows cannot be cut "
                          f"into {folds} folds ({error}); lower train.cv_folds") from None


def check_fold_classes(fit_labels: pd.Series, labels: pd.Series, number: int,
                       ordered: bool) -> None:
    """A fold must fit on every class, or its model cannot score the classes it never saw."""
    missing = sorted(set(labels.unique()) - set(fit_labels.unique()), key=str)
    if missing:
        how = ("time-ordered folds fit on the oldest rows first; lower train.cv_folds or use "
               "split.method random" if ordered else "lower train.cv_folds")
        raise ParamsError(f"params.yaml: train.cv_folds: fold {number} of the cross-validation "
                          f"fits on no row of class {missing[0]!r}; {how}")


def summarize_folds(fold_scores: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation of each metric across folds."""
    table = pd.DataFrame(fold_scores)
    return {
        name: {"mean": rounded(table[name].mean()),
               "std": rounded(table[name].std(ddof=0))}
        for name in table.columns
    }
