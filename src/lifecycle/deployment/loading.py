"""Which model answers: the skops pipeline, or the ONNX file the export stage wrote from it.
Batch scoring and the API choose here; neither runtime knows of the other."""

from lifecycle.config.names import RUNTIMES
from lifecycle.core import files, paths
from lifecycle.core.errors import LifecycleError

__all__ = ["RUNTIMES", "load_deployed"]


def load_deployed(runtime: str, threads: int = 0,
                  packages: tuple[str, ...] = ()) -> tuple[object, str]:
    """The model that scores, and its file: the skops pipeline (which may hold types of the
    project's own `packages`, see `artifacts.load_model`), or the ONNX file the export stage
    wrote from it (answering through onnxruntime with `threads` threads)."""
    # Each runtime is imported only when chosen: onnxruntime and scikit-learn each take a while
    # to load, and a process needs one of them.
    if runtime == "onnx":
        from lifecycle.deployment.onnx import runtime as onnx_runtime

        found = files.existing(paths.ONNX_MODEL)
        return onnx_runtime.load(found, threads), paths.ONNX_MODEL
    if runtime != "skops":
        raise LifecycleError(f"--runtime {runtime}: choose one of {', '.join(RUNTIMES)}")
    from lifecycle.modeling import artifacts

    return artifacts.load_model(paths.MODEL, packages), paths.MODEL
