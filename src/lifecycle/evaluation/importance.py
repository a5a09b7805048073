"""Permutation importance of the model's input columns on held-out rows."""

import pandas as pd
from sklearn.inspection import permutation_importance
from threadpoolctl import threadpool_limits


def permutation_importance_table(model: object, X: pd.DataFrame, y: pd.Series, rows: int,
                                 repeats: int, seed: int, scoring: str = "roc_auc"
                                 ) -> pd.DataFrame:
    """Mean and spread of the score (a scikit-learn scorer name) lost when each input column is
    shuffled.

    Scored on a seeded sample of at most `rows` rows to keep evaluation fast.
    """
    if len(X) > rows:
        X = X.sample(n=rows, random_state=seed)
        y = y.loc[X.index]
    # One OpenMP thread: gradient boosting predicts each row on its own, so the result is the same
    # to the bit, but with all threads every tree of every one of these ~100 predictions is a
    # parallel region, and when the cores are busy (a queued sweep) their barriers dominate.
    with threadpool_limits(limits=1, user_api="openmp"):
        result = permutation_importance(
            model, X, y, scoring=scoring, n_repeats=repeats, random_state=seed
        )
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
