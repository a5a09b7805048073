"""Leakage and split checks: signs that a test score is too good to be true."""

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from lifecycle import metrics
from lifecycle.formatting import rounded

# A shallow tree on one column finds any column that alone nearly determines the target, and
# fits in milliseconds on this many rows.
SINGLE_FEATURE_ROWS = 20_000
SINGLE_FEATURE_DEPTH = 4
# The score a single column is judged by, per task (larger is better for each).
SINGLE_FEATURE_METRIC = {"binary": "roc_auc", "multiclass": "balanced_accuracy",
                         "regression": "r2"}


def single_feature_scores(train: pd.DataFrame, y_train: pd.Series, test: pd.DataFrame,
                          y_test: pd.Series, task: str, seed: int) -> list[dict]:
    """Test score of a shallow tree fitted on each input column alone, best first."""
    train, y_train = _sample(train, y_train, seed)
    test, y_test = _sample(test, y_test, seed)
    metric = SINGLE_FEATURE_METRIC[task]
    tree = DecisionTreeRegressor if task == "regression" else DecisionTreeClassifier
    records = []
    for column in train.columns:
        fit_values, score_values = _as_numbers(train[column], test[column])
        model = tree(max_depth=SINGLE_FEATURE_DEPTH, random_state=seed)
        model.fit(fit_values, y_train)
        scores = metrics.predict_scores(model, score_values, task)
        classes = getattr(model, "classes_", None)
        value = metrics.task_metrics(task, y_test, scores, None, classes)[metric]
        records.append({"feature": column, metric: value})
    return sorted(records, key=lambda record: (-np.nan_to_num(record[metric]), record["feature"]))


def column_score(values: pd.Series, target: pd.Series, task: str, seed: int = 0) -> float:
    """The single-feature score of one column of a table not yet split (`lifecycle init`):
    fitted on two thirds of its labelled rows, scored on the rest."""
    labelled = target.notna().to_numpy()
    frame, y = values[labelled].to_frame().reset_index(drop=True), target[labelled]
    y = y.reset_index(drop=True)
    if task != "regression":
        if y.nunique() < 2 or y.value_counts().min() < 3:
            return 0.0  # too few rows of a class to score
        if task == "binary":
            y = metrics.binary_targets(y, sorted(y.unique()))
    rows = np.random.default_rng(seed).permutation(len(y))
    fit, score = np.sort(rows[: 2 * len(y) // 3]), np.sort(rows[2 * len(y) // 3:])
    (record,) = single_feature_scores(frame.iloc[fit], y.iloc[fit], frame.iloc[score],
                                      y.iloc[score], task, seed)
    return float(np.nan_to_num(record[SINGLE_FEATURE_METRIC[task]]))


def shared_rows(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, float]:
    """Test rows whose input values all occur in one training row: scored on what was learned."""
    train_keys = set(pd.util.hash_pandas_object(train, index=False))
    shared = pd.util.hash_pandas_object(test, index=False).isin(train_keys)
    return {"rows": int(shared.sum()),
            "fraction": rounded(shared.mean() if len(test) else 0.0)}


def _sample(X: pd.DataFrame, y: pd.Series, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    if len(X) <= SINGLE_FEATURE_ROWS:
        return X, y
    rows = np.random.default_rng(seed).choice(len(X), SINGLE_FEATURE_ROWS, replace=False)
    rows.sort()
    return X.iloc[rows], y.iloc[rows]


def _as_numbers(fit: pd.Series, score: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """One numeric column for a tree (which handles NaN): numbers as they are, times in seconds,
    categories as codes learned on the training rows (unseen and missing ones become NaN)."""
    if pd.api.types.is_datetime64_any_dtype(fit):
        epoch = pd.Timestamp(0, tz=getattr(fit.dtype, "tz", None))
        fit, score = ((column - epoch).dt.total_seconds() for column in (fit, score))
    elif not pd.api.types.is_numeric_dtype(fit) or pd.api.types.is_bool_dtype(fit):
        codes = {value: code for code, value in enumerate(pd.unique(fit.dropna()))}
        fit, score = fit.map(codes), score.map(codes)
    numbers = (np.asarray(column, dtype="float64") for column in (fit, score))
    # scikit-learn refuses infinity; a tree routes missing values (NaN) on its own.
    return tuple(np.where(np.isinf(column), np.nan, column).reshape(-1, 1) for column in numbers)
