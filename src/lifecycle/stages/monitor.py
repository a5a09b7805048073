"""Stage monitor: drift of the current batch against the training data, and a retrain verdict.

As a DVC stage it compares the "current" split held out by prepare; `lifecycle monitor
--current PATH` runs the same checks on any new batch (CSV or parquet).
"""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from lifecycle import (
    artifacts,
    config,
    contract,
    contract_checks,
    drift,
    files,
    formatting,
    metrics,
    paths,
    progress,
    tables,
)
from lifecycle.errors import LifecycleError


def run(current: str | None = None, output: str | None = None) -> None:
    params = config.load()
    if current is not None and not Path(current).is_file():
        raise LifecycleError(f"--current {current}: not found; give the path of a .csv or "
                             f".parquet batch")
    folder = output or _default_output(current)
    chosen = current is not None or output is not None  # a path a user chose or named
    if chosen:
        files.check_output(folder, folder=True, inputs=(
            *filter(None, [current]), config.PARAMS_FILE, paths.CONTRACT, paths.MODEL,
            *paths.PREPARED.values(), paths.EVALUATION_METRICS))
    columns = contract.load(paths.CONTRACT)
    numeric, categorical = columns.features("numeric"), columns.features("categorical")
    model = artifacts.load_model(paths.MODEL)
    inputs = list(model.feature_names_in_)
    current_path = current or paths.PREPARED["current"]
    thresholds = drift.Thresholds(**{
        name: getattr(params.monitor, name) for name in drift.Thresholds.__dataclass_fields__
    })
    task, target = params.problem.task, params.problem.target
    features = dict(numeric=numeric, categorical=categorical, thresholds=thresholds)
    if params.engine == "dask":
        from lifecycle import engine

        with engine.dask_client(), progress.phase("drift and scores on the Dask engine"):
            measured = _measure_on_engine(current_path, columns, model, inputs, task, target,
                                          **features)
    else:
        measured = _measure_in_process(current_path, columns, model, inputs, task, target,
                                       **features)
    feature_report, unreadable = measured.features, measured.unreadable
    test_metrics = files.read_json(paths.EVALUATION_METRICS)
    prediction_psi, performance = 0.0, None
    if measured.rows:  # a split without a "current" slice leaves an empty batch
        prediction_psi = drift.prediction_psi(measured.test_scores, measured.scores)
        performance = _performance(params, model, measured.labels, measured.scores,
                                   test_metrics)
    report = {
        "reference": {"name": paths.PREPARED["train"], "rows": measured.reference_rows},
        "current": {"name": Path(current_path).as_posix(), "rows": measured.rows},
        "features": feature_report,
        "predictions": {"psi": formatting.rounded(prediction_psi)},
        "performance": performance,
        "decision": drift.retrain_decision(
            feature_report, prediction_psi, performance["decay"] if performance else None,
            thresholds, measured.rows,
        ),
    }
    report["decision"]["warnings"] += [failure.message() for failure in unreadable]
    progress.log.info("retrain: %s", str(report["decision"]["retrain"]).lower())
    _write(report, folder, thresholds.psi, recorded=chosen)


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


def _measure_in_process(current_path: str, rules: contract.Contract, model, inputs: list[str],
                        task: str, target: str, numeric: list[str], categorical: list[str],
                        thresholds: drift.Thresholds) -> Measured:
    batch = tables.read_table(current_path)
    _require_columns(batch, inputs, current_path)
    # Values a batch holds as text where the contract says numbers or dates count as missing
    # (and are reported): a broken feed is what monitoring is for, not a reason to stop.
    batch, unreadable = contract_checks.coerce_types(batch, rules)
    reference = tables.read_parquet(paths.PREPARED["train"], columns=[*numeric, *categorical])
    with progress.phase(f"feature drift of {len(batch):,} rows against {len(reference):,}"):
        feature_report = drift.feature_drift(reference, batch, numeric, categorical, thresholds)
    measured = Measured(len(batch), len(reference), feature_report, unreadable,
                        batch[[target]] if target in batch else batch.iloc[:, :0])
    if len(batch):
        # Scores on the test split are the reference for prediction drift: out of sample, like
        # the scores on a new batch (in-sample training scores would be sharper and flag
        # false drift).
        test = tables.read_parquet(paths.PREPARED["test"], columns=inputs)
        measured.scores = metrics.predict_scores(model, batch[inputs], task)
        measured.test_scores = metrics.predict_scores(model, test, task)
    return measured


def _measure_on_engine(current_path: str, rules: contract.Contract, model, inputs: list[str],
                       task: str, target: str, numeric: list[str], categorical: list[str],
                       thresholds: drift.Thresholds) -> Measured:
    """As `_measure_in_process`, with the batch and the test split in partitions: drift one
    feature column at a time, scores partition by partition. A CSV batch is read here first."""
    import dask.dataframe as dd

    from lifecycle import partitions

    if Path(current_path).suffix.lower() == ".parquet":
        batch = partitions.read_parquet(current_path)
    else:
        batch = dd.from_pandas(tables.read_table(current_path), chunksize=tables.ROW_GROUP_ROWS)
    _require_columns(batch.columns, inputs, current_path)
    batch, unreadable = partitions.coerced(batch, rules)
    batch = batch.persist()
    feature_report = {}
    reference_rows = len(tables.read_parquet(paths.PREPARED["train"], columns=[target]))
    for name in [*numeric, *categorical]:
        reference = tables.read_parquet(paths.PREPARED["train"], columns=[name])
        feature_report.update(drift.feature_drift(
            reference, partitions.column(batch, name), [name] if name in numeric else [],
            [name] if name in categorical else [], thresholds))
    rows = len(batch)
    measured = Measured(rows, reference_rows, feature_report, unreadable,
                        partitions.column(batch, target) if target in batch.columns
                        else batch._meta.iloc[:, :0])
    if rows:
        test = partitions.read_parquet(paths.PREPARED["test"], columns=inputs)
        measured.scores, measured.test_scores = (
            np.concatenate(partitions.apply_in_order(frame[inputs], _scores, model, task))
            for frame in (batch, test))
    return measured


def _scores(rows: pd.DataFrame, model, task: str) -> np.ndarray:
    return metrics.predict_scores(model, rows, task)


def _performance(params: config.Params, model, batch, scores, test_metrics: dict) -> dict | None:
    """Primary metric on the batch against the test split, when the batch has labels."""
    target, task = params.problem.target, params.problem.task
    if target not in batch or batch[target].isna().all():
        return None
    name = params.problem.primary_metric
    threshold = params.evaluate.decision_threshold if task == "binary" else None
    labelled = batch[target].notna().to_numpy()
    y = batch[target][labelled]
    classes = getattr(model, "classes_", None)
    y = metrics.metric_labels(y, task, classes)
    current = metrics.task_metrics(task, y.to_numpy(), scores[labelled], threshold,
                                   classes)[name]
    test = test_metrics[name]
    # Positive decay: the metric got worse, whichever direction is better for it.
    return {"metric": name, "test": test, "current": current,
            "decay": metrics.lift(name, test, current)}


def _require_columns(batch, columns: list[str], where: str) -> None:
    missing = [column for column in columns if column not in batch]
    if missing:
        raise LifecycleError(
            f"{where}: missing column(s) the model needs: {', '.join(missing)}"
        )


def _default_output(current: str | None) -> str:
    # A batch given on the command line gets its own folder, never the DVC-tracked one.
    return paths.MONITOR_DIR if current is None else f"{paths.MONITOR_DIR}-{Path(current).stem}"


def _write(report: dict, output: str, psi_threshold: float, recorded: bool) -> None:
    # The folder is replaced as a whole, so plain writes inside it are already atomic. One of a
    # user's choosing records what it holds, so that the next run may replace it.
    with files.atomic_directory(output, recorded=recorded) as folder:
        (folder / "drift.json").write_text(files.json_text(report))
        (folder / "drift.md").write_text(drift.render_markdown(report))
        # Per feature: its PSI, whether its test flagged drift, and the PSI rule of thumb the
        # chart draws as a line (params monitor.psi, the threshold for the predictions).
        psi_rows = [{"feature": name, "psi": record["psi"], "drift": record["drift"],
                     "threshold": psi_threshold} for name, record in report["features"].items()]
        (folder / "psi.json").write_text(files.json_text(psi_rows))


if __name__ == "__main__":
    from lifecycle import stages

    stages.main("monitor", run)
