"""Leakage and split checks: signs that a test score is too good to be true."""

import dataclasses
import functools
import warnings

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from lifecycle.core import tables, workers
from lifecycle.core.formatting import rounded
from lifecycle.evaluation import metrics

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
    train, y_train = _sample(train, y_train, task, seed)
    test, y_test = _sample(test, y_test, task, seed)
    metric = SINGLE_FEATURE_METRIC[task]
    tree = DecisionTreeRegressor if task == "regression" else DecisionTreeClassifier
    records = []
    for column in train.columns:
        fit_values, score_values = _as_numbers(train[column], test[column])
        model = tree(max_depth=SINGLE_FEATURE_DEPTH, random_state=seed)
        model.fit(fit_values, y_train)
        scores = metrics.predict_scores(model, score_values, task)
        classes = getattr(model, "classes_", None)
        value = metrics.metric_value(metric, task, np.asarray(y_test), scores, None, classes)
        records.append({"feature": column, metric: rounded(value)})
    return sorted(records, key=lambda record: (-np.nan_to_num(record[metric]), record["feature"]))


def column_score(values: pd.Series, target: pd.Series, task: str, seed: int = 0) -> float:
    """The single-feature score of one column of a table not yet split (`lifecycle init`):
    fitted on two thirds of its labelled rows, scored on the rest."""
    halves = split_labelled(values.to_frame(), target, task, seed)
    if halves is None:
        return 0.0  # too few rows of a class to score
    (record,) = single_feature_scores(*halves, task, seed)
    return float(np.nan_to_num(record[SINGLE_FEATURE_METRIC[task]]))


def split_labelled(table: pd.DataFrame, target: pd.Series, task: str, seed: int = 0
                   ) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series] | None:
    """A table not yet split (`lifecycle init`) as a seeded two thirds to fit on and a third to
    score on, labelled rows only (binary labels as 0/1); None when a class has too few rows."""
    labelled = target.notna().to_numpy()
    frame, y = table[labelled].reset_index(drop=True), target[labelled].reset_index(drop=True)
    if task != "regression":
        if y.nunique() < 2 or y.value_counts().min() < 3:
            return None
        if task == "binary":
            y = metrics.binary_targets(y, sorted(y.unique()))
    rows = np.random.default_rng(seed).permutation(len(y))
    fit, score = np.sort(rows[: 2 * len(y) // 3]), np.sort(rows[2 * len(y) // 3:])
    return frame.iloc[fit], y.iloc[fit], frame.iloc[score], y.iloc[score]


# Leakage spread over columns: a target that a few columns give away together (a total and its
# parts, a ratio, a difference). Groups grow one column at a time, keeping the best few of each
# size, up to GROUP_MOST columns; each group is scored by the best of three quick fits.
GROUP_MOST = 3
GROUP_BEAM = 3
GROUP_DEPTH = 6
# Groups are drawn from the columns that score best alone: a bounded cost whatever the width of
# the table (a total's parts each tell much of it).
GROUP_POOL = 20


def feature_group_scores(train: pd.DataFrame, y_train: pd.Series, test: pd.DataFrame,
                         y_test: pd.Series, task: str, seed: int,
                         alone: list[dict] | None = None) -> list[dict]:
    """The best group of each size from 2 to GROUP_MOST columns and its test score, on the
    single-feature check's metric (a group as good as its best column adds nothing); `alone`
    is `single_feature_scores` of the same arguments when the caller has it.

    A group is scored by the best of a linear fit on its values (sums, differences), a linear
    fit on their logarithms (products, ratios) and a tree of depth GROUP_DEPTH (thresholds)."""
    train, y_train = _sample(train, y_train, task, seed)
    test, y_test = _sample(test, y_test, task, seed)
    if alone is None:
        alone = single_feature_scores(train, y_train, test, y_test, task, seed)
    alone = alone[:GROUP_POOL]
    numbers = {record["feature"]: _as_numbers(train[record["feature"]], test[record["feature"]])
               for record in alone}
    # Each size's groups are shared among `lifecycle.core.workers`, the columns copied once each.
    scores = functools.partial(_group_scores, numbers, y_train, y_test, task, seed)
    beam: list[tuple[tuple[str, ...], float]] = [((), -np.inf)]
    records = []
    for size in range(1, min(GROUP_MOST, len(numbers)) + 1):
        groups = sorted({tuple(sorted({*group, column})) for group, _ in beam
                         for column in numbers if column not in group})
        scored = sorted(zip(groups, workers.shared(scores, groups, len(y_train)), strict=True),
                        key=lambda item: (-np.nan_to_num(item[1], nan=-np.inf), item[0]))
        beam = scored[:GROUP_BEAM]
        if size > 1:
            records.append({"features": list(beam[0][0]),
                            SINGLE_FEATURE_METRIC[task]: rounded(beam[0][1])})
    return records


def _group_scores(numbers: dict[str, tuple[np.ndarray, np.ndarray]], y_fit: np.ndarray,
                  y_held: np.ndarray, task: str, seed: int,
                  groups: list[tuple[str, ...]]) -> list[float]:
    """Each group's score from its columns' fit and held-out values in `numbers`."""
    return [_group_score(np.hstack([numbers[column][0] for column in group]), y_fit,
                         np.hstack([numbers[column][1] for column in group]), y_held, task, seed)
            for group in groups]


def _group_score(fit: np.ndarray, y_fit: np.ndarray, held_out: np.ndarray, y_held: np.ndarray,
                 task: str, seed: int) -> float:
    with warnings.catch_warnings():  # a fit that does not converge, a logarithm's overflow
        warnings.simplefilter("ignore")
        return _best_fit_score(fit, y_fit, held_out, y_held, task, seed)


def _best_fit_score(fit: np.ndarray, y_fit: np.ndarray, held_out: np.ndarray,
                    y_held: np.ndarray, task: str, seed: int) -> float:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    metric = SINGLE_FEATURE_METRIC[task]
    tree = DecisionTreeRegressor if task == "regression" else DecisionTreeClassifier
    fitted = [tree(max_depth=GROUP_DEPTH, random_state=seed).fit(fit, y_fit)]
    medians = np.nanmedian(np.where(np.isnan(fit).all(axis=0), 0.0, fit), axis=0)
    filled_fit, filled_held = (np.where(np.isnan(x), medians, x) for x in (fit, held_out))
    fitted.append(_linear(task).fit(filled_fit, y_fit))
    scores = [metrics.predict_scores(model, x, task)
              for model, x in zip(fitted, (held_out, filled_held), strict=True)]
    positive = (filled_fit > 0).all() and (filled_held > 0).all()
    if positive and (task != "regression" or (y_fit > 0).all()):
        logs = _linear(task).fit(np.log(filled_fit), np.log(y_fit) if task == "regression"
                                 else y_fit)
        logged = metrics.predict_scores(logs, np.log(filled_held), task)
        scores.append(np.exp(np.clip(logged, None, 700)) if task == "regression" else logged)
    classes = getattr(fitted[0], "classes_", None)
    values = [metrics.metric_value(metric, task, np.asarray(y_held), value, None, classes)
              for value in scores]
    return float(np.nanmax(values)) if not np.isnan(values).all() else np.nan


def _linear(task: str) -> object:
    """Least squares, or a logistic regression on standardised values (no penalty to speak of:
    an exact construction must fit exactly)."""
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if task == "regression":
        return LinearRegression()
    return make_pipeline(StandardScaler(), LogisticRegression(C=1e4, max_iter=1000))


@dataclasses.dataclass(frozen=True)
class TrainingRows:
    """What the checks take of the training split: a seeded sample of SINGLE_FEATURE_ROWS rows
    of the model's input columns and their target (the column checks fit on no more), and a hash
    of every row's inputs (test rows shared with training)."""

    sample: pd.DataFrame
    target: pd.Series
    hashes: np.ndarray


def read_training_rows(path: str, columns: list[str], target: str, seed: int) -> TrainingRows:
    """The training split at `path`, read a row group at a time: memory holds one group, the
    sample and 8 bytes a row, however many rows there are."""
    batches = tables.parquet_batches(path, tables.ROW_GROUP_ROWS, columns)
    hashes = np.concatenate([row_hashes(batch) for batch in batches])
    positions = tables.sampled_positions(len(hashes), SINGLE_FEATURE_ROWS, seed)
    sample = tables.read_parquet_rows(path, positions, [*columns, target])
    return TrainingRows(sample.drop(columns=target), sample[target], hashes)


def row_hashes(rows: pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(rows, index=False).to_numpy()


def shared_rows(train_hashes: np.ndarray, test: pd.DataFrame) -> dict[str, float]:
    """Test rows whose input values all occur in one training row: scored on what was learned."""
    shared = np.isin(row_hashes(test), train_hashes)
    return {"rows": int(shared.sum()),
            "fraction": rounded(shared.mean() if len(test) else 0.0)}


def _sample(X: pd.DataFrame, y: pd.Series, task: str, seed: int
            ) -> tuple[pd.DataFrame, np.ndarray]:
    """At most SINGLE_FEATURE_ROWS seeded rows, the labels compacted for the many quick fits."""
    rows = tables.sampled_positions(len(X), SINGLE_FEATURE_ROWS, seed)
    if rows is not None:
        X, y = X.iloc[rows], y.iloc[rows]
    return X, metrics.compact_labels(task, y)


def _seconds(moments: pd.Series) -> pd.Series:
    """Seconds since 1970 in whole seconds: a time far from it (the year 1) does not overflow
    the nanoseconds a difference of timestamps counts in."""
    if moments.dt.tz is not None:
        moments = moments.dt.tz_convert(None)
    seconds = moments.astype("datetime64[s]").astype("int64").astype("float64")
    return seconds.where(moments.notna())


def _as_numbers(fit: pd.Series, score: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """One numeric column for a tree (which handles NaN): numbers as they are, times in seconds,
    categories as codes learned on the training rows (unseen and missing ones become NaN)."""
    if pd.api.types.is_datetime64_any_dtype(fit):
        fit, score = _seconds(fit), _seconds(score)
    elif not pd.api.types.is_numeric_dtype(fit) or pd.api.types.is_bool_dtype(fit):
        codes = {value: code for code, value in enumerate(pd.unique(fit.dropna()))}
        fit, score = fit.map(codes), score.map(codes)
    numbers = (np.asarray(column, dtype="float64") for column in (fit, score))
    # scikit-learn refuses infinity; a tree routes missing values (NaN) on its own.
    return tuple(np.where(np.isinf(column), np.nan, column).reshape(-1, 1) for column in numbers)
