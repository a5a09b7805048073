"""What the monitor measures on a batch: the drift of each feature against the training rows,
and the model's scores on the batch beside its scores on the test split (evaluate's, the
reference of prediction drift).

In this process the batch and the reference are frames; on the Dask engine
(`measure_on_engine`) they are read here from the files named, in partitions, and drift is
measured one feature column at a time.
"""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from lifecycle.config import contract
from lifecycle.core import progress, tables
from lifecycle.core.errors import LifecycleError
from lifecycle.data import partitions
from lifecycle.modeling import metrics
from lifecycle.monitoring import drift


@dataclasses.dataclass
class Measured:
    """What the monitor measures on a batch, by either engine."""

    rows: int
    reference_rows: int
    features: dict[str, dict]
    unreadable: list
    labels: pd.DataFrame  # the target column, where the batch has one
    scores: np.ndarray | None = None  # on the batch and on the test split; None: no rows
    test_scores: np.ndarray | None = None


def measure(batch: pd.DataFrame, unreadable: list, reference: pd.DataFrame, target: str,
            numeric: list[str], categorical: list[str],
            thresholds: drift.Thresholds) -> Measured:
    """Feature drift of a typed batch (`contract_checks.coerce_types`, whose failures are
    `unreadable`) against the reference's feature columns; scores come with `score`."""
    with progress.phase(f"feature drift of {len(batch):,} rows against {len(reference):,}"):
        feature_report = drift.feature_drift(reference, batch, numeric, categorical, thresholds)
    return Measured(len(batch), len(reference), feature_report, unreadable,
                    batch[[target]] if target in batch else batch.iloc[:, :0])


def score(measured: Measured, model: object, batch: pd.DataFrame, test_scores: np.ndarray,
          task: str) -> Measured:
    """`measured` with the model's scores on the batch, and its scores on the test split
    (evaluate's, `test_scores`). Those are the reference for prediction drift: out of sample,
    like the scores on a new batch (in-sample training scores would be sharper and flag false
    drift)."""
    return dataclasses.replace(measured, scores=metrics.predict_scores(model, batch, task),
                               test_scores=test_scores)


def measure_on_engine(current_path: str, reference_path: str, test_scores: np.ndarray,
                      rules: contract.Contract, model: object, inputs: list[str], task: str,
                      target: str, numeric: list[str], categorical: list[str],
                      thresholds: drift.Thresholds) -> Measured:
    """`measure` and `score` with the batch in partitions: drift one feature column at a time,
    scores partition by partition. A CSV batch is read here first."""
    import dask.dataframe as dd

    if Path(current_path).suffix.lower() == ".parquet":
        batch = partitions.read_parquet(current_path)
    else:
        batch = dd.from_pandas(tables.read_table(current_path), chunksize=tables.ROW_GROUP_ROWS)
    require_columns(batch.columns, inputs, current_path)
    batch, unreadable = partitions.coerced(batch, rules)
    batch = batch.persist()
    feature_report = {}
    reference_rows = len(tables.read_parquet(reference_path, columns=[target]))
    for name in [*numeric, *categorical]:
        reference = tables.read_parquet(reference_path, columns=[name])
        feature_report.update(drift.feature_drift(
            reference, partitions.column(batch, name), [name] if name in numeric else [],
            [name] if name in categorical else [], thresholds))
    rows = len(batch)
    measured = Measured(rows, reference_rows, feature_report, unreadable,
                        partitions.column(batch, target) if target in batch.columns
                        else batch._meta.iloc[:, :0])
    if rows:
        measured.scores = np.concatenate(partitions.apply_in_order(batch[inputs], _scores,
                                                                   model, task))
        measured.test_scores = test_scores
    return measured


def _scores(rows: pd.DataFrame, model: object, task: str) -> np.ndarray:
    return metrics.predict_scores(model, rows, task)


def require_columns(batch: object, columns: list[str], where: str) -> None:
    missing = [column for column in columns if column not in batch]
    if missing:
        raise LifecycleError(
            f"{where}: missing column(s) the model needs: {', '.join(missing)}"
        )
