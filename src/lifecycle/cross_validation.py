"""Cross-validation on the training split, in time order when the split is out of time."""

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit

from lifecycle import metrics


def cross_validate(estimator: object, X: pd.DataFrame, y: pd.Series, order: pd.Series | None,
                   folds: int, task: str, seed: int) -> list[dict[str, float]]:
    """Metrics of each fold.

    With a time `order`, fit on the earlier rows and score on the block that follows: such folds
    never train on the future, as the out-of-time test split does not. Without one (a random
    split), seeded shuffled folds, stratified for classification.
    """
    if order is not None:
        by_time = np.argsort(order.to_numpy(), kind="stable")
        X, y = X.iloc[by_time], y.iloc[by_time]
        splitter = TimeSeriesSplit(n_splits=folds)
    elif task == "regression":
        splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    scores = []
    for fit_rows, score_rows in splitter.split(X, y):
        model = clone(estimator).fit(X.iloc[fit_rows], y.iloc[fit_rows])
        held_out = X.iloc[score_rows]
        predicted = metrics.predict_scores(model, held_out, task)
        classes = getattr(model, "classes_", None)
        scores.append(metrics.task_metrics(task, y.iloc[score_rows], predicted, None, classes))
    return scores


def summarize_folds(fold_scores: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean and standard deviation of each metric across folds."""
    table = pd.DataFrame(fold_scores)
    return {
        name: {"mean": round(float(table[name].mean()), metrics.DIGITS),
               "std": round(float(table[name].std(ddof=0)), metrics.DIGITS)}
        for name in table.columns
    }
