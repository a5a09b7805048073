"""Stage monitor: drift of the current batch against the training data, and a retrain verdict.

As a DVC stage it compares the "current" split held out by prepare; `lifecycle monitor
--current PATH` runs the same checks on any new batch (CSV or parquet), or on what the API
answered (the folder of `lifecycle serve --log-predictions`). The measuring and the
report are `lifecycle.monitoring`; this shell reads the inputs and writes the report's folder.
"""

from pathlib import Path

from lifecycle import config
from lifecycle.config import contract
from lifecycle.core import files, paths, progress, tables
from lifecycle.core.errors import LifecycleError
from lifecycle.data import contract_checks
from lifecycle.deployment import prediction_log
from lifecycle.evaluation import metrics
from lifecycle.modeling import artifacts
from lifecycle.monitoring import drift, measure
from lifecycle.monitoring import report as monitoring


def run(current: str | None = None, output: str | None = None) -> None:
    params = config.load()
    logged = current is not None and prediction_log.is_log(current)
    if current is not None and not logged and not Path(current).is_file():
        raise LifecycleError(f"--current {current}: not found; give the path of a .csv or "
                             f".parquet batch, or the folder of a prediction log")
    folder = output or _default_output(current)
    chosen = current is not None or output is not None  # a path a user chose or named
    if chosen:
        files.check_output(folder, folder=True, inputs=(
            *filter(None, [current]), config.PARAMS_FILE, paths.CONTRACT, paths.MODEL,
            *paths.PREPARED.values(), paths.EVALUATION_METRICS, paths.TEST_PREDICTIONS))
    rules = contract.load(paths.CONTRACT)
    numeric, categorical = rules.features("numeric"), rules.features("categorical")
    model = artifacts.load_model(paths.MODEL, params.extensions.model_packages())
    inputs, current_path = list(model.feature_names_in_), current or paths.PREPARED["current"]
    limits = monitoring.thresholds(params.monitor)
    task, target = params.problem.task, params.problem.target
    # Prediction drift's reference: evaluate's scores of the test rows (not scored again).
    test_scores = metrics.scores_from_table(tables.read_parquet(paths.TEST_PREDICTIONS))[1]
    if params.engine == "dask" and not logged:  # a log is bounded by its rotation
        from lifecycle.core import engine

        with engine.dask_client(), progress.phase("drift and scores on the Dask engine"):
            measured = measure.measure_on_engine(
                current_path, paths.PREPARED["train"], test_scores, rules, model,
                inputs, task, target, numeric, categorical, limits)
    else:
        batch = (prediction_log.read_inputs(current_path) if logged
                 else tables.read_table(current_path))
        measure.require_columns(batch, inputs, current_path)
        # Values a batch holds as text where the contract says numbers or dates count as
        # missing (and are reported): a broken feed is what monitoring is for, not a reason
        # to stop.
        batch, unreadable = contract_checks.coerce_types(batch, rules)
        reference = tables.read_parquet(paths.PREPARED["train"], columns=[*numeric, *categorical])
        measured = measure.measure(batch, unreadable, reference, target, numeric, categorical,
                                   limits)
        if len(batch):
            measured = measure.score(measured, model, batch[inputs], test_scores, task)
    test_metrics = files.read_json(paths.EVALUATION_METRICS)
    performance = None
    if measured.rows and monitoring.labelled(measured.labels, target):
        performance = monitoring.performance(
            measured.labels, measured.scores, target, task, params.problem.primary_metric,
            params.evaluate.decision_threshold if task == "binary" else None,
            getattr(model, "classes_", None), test_metrics)
    report = monitoring.monitor_report(measured, paths.PREPARED["train"], current_path,
                                       performance, limits)
    progress.log.info("retrain: %s", str(report["decision"]["retrain"]).lower())
    # The folder is replaced as a whole, so plain writes inside it are already atomic. One of a
    # user's choosing records what it holds, so that the next run may replace it.
    with files.atomic_directory(folder, recorded=chosen) as written:
        (written / "drift.json").write_text(files.json_text(report))
        (written / "drift.md").write_text(drift.render_markdown(report))
        (written / "psi.json").write_text(files.json_text(monitoring.psi_rows(report,
                                                                              limits.psi)))


def _default_output(current: str | None) -> str:
    # A batch given on the command line gets its own folder, never the DVC-tracked one.
    return paths.MONITOR_DIR if current is None else f"{paths.MONITOR_DIR}-{Path(current).stem}"


if __name__ == "__main__":
    from lifecycle import stages

    stages.main("monitor", run)
