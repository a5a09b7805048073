"""`lifecycle serve`: the model's HTTP API (lifecycle.deployment.api) under uvicorn, on loopback
by default. The address is checked and the project's params, contract and model are loaded
once, before any worker starts; each worker process then builds its own app.

A model whose gate verdict is not VALIDATED is still served, with a warning on stderr at
start-up; /health and /metadata report the verdict.

With --log-predictions FOLDER, every answered row is appended to a rotating prediction log
(lifecycle.deployment.prediction_log) that `lifecycle monitor --current FOLDER` reads.
"""

import os
import socket
import sys

from lifecycle import config
from lifecycle.core import paths
from lifecycle.core.errors import LifecycleError
from lifecycle.deployment import loading, prediction_log
from lifecycle.deployment.api import app as api
from lifecycle.deployment.api.metadata import gate_verdict

WORKER_APP = "lifecycle.deployment.api.app:worker_app"  # uvicorn's factory for each worker


def warn_unless_validated(verdict: str | None) -> None:
    """A warning line on stderr when the model to serve did not pass its gate."""
    if verdict == "VALIDATED":
        return
    why = (f"its gate verdict is {verdict}" if verdict
           else f"no gate verdict ({paths.GATE} not found)")
    print(f"lifecycle serve: warning: serving a model that is not VALIDATED: {why}; "
          f"`lifecycle gate` lists the criteria; /health and /metadata report the verdict",
          file=sys.stderr)


def check_address(host: str, port: int) -> None:
    """Refuse an address the server could not listen on, before the model is loaded."""
    if not 0 < port < 65536:
        raise LifecycleError(f"--port {port}: not a port number; use 1 to 65535")
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            probe.bind(address)
    except OSError as error:
        raise LifecycleError(f"--host {host} --port {port}: cannot listen there: "
                             f"{error.strerror or error}; choose another port or host") from None


def run(host: str, port: int, workers: int = 1, runtime: str = "skops",
        log_predictions: str | None = None, log_max_megabytes: float = 100,
        log_files: int = 5) -> None:
    import uvicorn

    log = None if log_predictions is None else prediction_log.LogSettings(
        log_predictions, log_max_megabytes, log_files)
    if workers < 1:
        raise LifecycleError(f"--workers {workers}: give 1 or more processes")
    if runtime not in loading.RUNTIMES:
        raise LifecycleError(f"--runtime {runtime}: choose one of {', '.join(loading.RUNTIMES)}")
    if log is not None:
        log.check()
    check_address(host, port)
    # Params, contract and model are loaded and checked here, once, whatever --workers: a file
    # that is missing or damaged is one error before any worker starts.
    app = api.create_app(runtime, log)
    if log is not None:
        prediction_log.open_folder(log.folder, inputs=(
            config.PARAMS_FILE, paths.CONTRACT, paths.MODEL, paths.ONNX_MODEL))
    warn_unless_validated(gate_verdict())
    print(f"serving the model on http://{host}:{port} (POST /predict, GET /health, /metadata)"
          f" with {workers} worker process{'es' if workers > 1 else ''}, {runtime} runtime"
          + (f"; logging predictions in {log.folder}/" if log is not None else ""))
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="warning")
        return
    os.environ[api.RUNTIME_VARIABLE] = runtime
    if log is not None:
        os.environ[api.LOG_VARIABLE] = log.to_json()
    del app  # each worker process builds its own app (and loads the model) from the project
    uvicorn.run(WORKER_APP, factory=True, workers=workers, host=host, port=port,
                log_level="warning")
