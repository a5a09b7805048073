"""Stage export: the deployable pipeline as an ONNX file, for runtimes without scikit-learn.

The file is compared with the pipeline on every test row before it is written, against the
pipeline's scores evaluate recorded (data/predictions/test.parquet); the stage fails, writing
nothing, if a probability differs by more than 1e-5 (a regression value by more than 1e-4
relative) or a label differs. A pipeline holding a model or transformer of the project's
own (params.yaml extensions) has no converter: the stage fails with one line saying so, and the
skops runtime serves that model (docs/extensions.md).
"""

from lifecycle import config
from lifecycle.config import contract
from lifecycle.core import files, paths, tables
from lifecycle.core.errors import LifecycleError
from lifecycle.deployment.onnx import export as onnx_export
from lifecycle.deployment.onnx import runtime as onnx_runtime
from lifecycle.evaluation import metrics
from lifecycle.modeling import artifacts

PARITY_CHUNK_ROWS = 50_000  # test rows scored by both runtimes at a time


def run() -> None:
    params = config.load()
    problem = params.problem
    threshold = params.evaluate.decision_threshold if problem.task == "binary" else None
    model = artifacts.load_model(paths.MODEL, params.extensions.model_packages())
    column_types = {name: column.type
                    for name, column in contract.load(paths.CONTRACT).columns.items()}
    described = onnx_export.description(model, column_types, problem, threshold)
    data = onnx_export.export(model, column_types, described)
    portable = onnx_runtime.load(data)
    # Chunk by chunk: both runtimes' answers on every test row at once took 17.7 GiB at 30x.
    chunks = tables.parquet_batches(paths.PREPARED["test"], PARITY_CHUNK_ROWS,
                                    columns=list(model.feature_names_in_))
    # The pipeline's scores are evaluate's: scoring the test rows again would repeat its work.
    recorded = metrics.scores_from_table(tables.read_parquet(paths.TEST_PREDICTIONS))[1]
    report = {"file": paths.ONNX_MODEL, "bytes": len(data),
              "parity": onnx_export.recorded_parity(recorded, portable, chunks, problem.task,
                                                    threshold, paths.TEST_PREDICTIONS)}
    if not report["parity"]["holds"]:
        raise LifecycleError(f"{paths.ONNX_MODEL}: the ONNX file does not answer as "
                             f"{paths.MODEL} on the test rows: {report['parity']}; nothing "
                             f"was written")
    files.write_bytes(data, paths.ONNX_MODEL)
    files.write_json(report, paths.EXPORT_REPORT)


if __name__ == "__main__":
    from lifecycle import stages

    stages.main("export", run)
