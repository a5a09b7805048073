"""Permutation importance of the model's input columns on held-out rows."""

import pandas as pd
from sklearn.inspection import permutation_importance

from lifecycle.core import workers


def permutation_importance_table(model: object, X: pd.DataFrame, y: pd.Series, rows: int,
                                 repeats: int, seed: int, scoring: str = "roc_auc"
                                 ) -> pd.DataFrame:
    """Mean and spread of the score (a scikit-learn scorer name) lost when each input column is
    shuffled.

    Scored on a seeded sample of at most `rows` rows to keep evaluation fast. The columns are
    shared among `lifecycle.core.workers`; every column is shuffled with the same seed whichever
    worker takes it, so the table is the same for any number of workers.
    """
    if len(X) > rows:
        X = X.sample(n=rows, random_state=seed)
        y = y.loc[X.index]
    jobs = workers.count(X.shape[1], len(X) * repeats)  # before the limit hides the threads
    with workers.single_threaded():
        result = permutation_importance(model, X, y, scoring=scoring, n_repeats=repeats,
                                        random_state=seed, n_jobs=jobs)
    table = pd.DataFrame({
        "feature": X.columns,
        "importance_mean": result.importances_mean.round(6),
        "importance_std": result.importances_std.round(6),
    })
    return table.sort_values(["importance_mean", "feature"], ascending=[False, True])


def importance_figure(table: pd.DataFrame, metric: str = "ROC AUC") -> object:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = table.iloc[::-1]
    figure, axes = plt.subplots(figsize=(7, 0.3 * len(table) + 1.2), dpi=100)
    axes.barh(ordered["feature"], ordered["importance_mean"], xerr=ordered["importance_std"],
              color="#4c72b0")
    axes.set_xlabel(f"{metric} lost when the column is shuffled (test rows)")
    axes.set_title("Permutation importance")
    figure.tight_layout()
    return figure
