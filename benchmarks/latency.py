"""Single-row latency of the deployed model, side by side in one run, for each runtime.

    python -m benchmarks.latency [--seconds 30] [--out reports/latency.json]

Run from a project whose models are built (`dvc repro`). For the skops and the ONNX runtime:
(a) the floor: one validated row scored in this process as the API scores it; (b) `lifecycle
serve` answering one client; (c) 8 clients against `--workers 2`. The reference is the naive
call a user would write: the skops Pipeline's predict_proba on a one-row DataFrame. Also the
model files' sizes and their 10,000-row batch times. Every figure is quoted with the load average.
"""

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pandas as pd

from benchmarks.api_load import free_port, load, sample_instance, start_server, stop_server

RUNTIMES = ("skops", "onnx")


def median_ms(call: Callable[[], object], seconds: float = 3.0) -> float:
    """The median time of `call` repeated for about `seconds` (after one warm-up call)."""
    call()
    times = []
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at or len(times) < 20:
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def in_process(project: Path) -> dict:
    """(a) per runtime, the naive reference, and batch times of 10,000 rows."""
    from threadpoolctl import threadpool_limits

    from lifecycle import config
    from lifecycle.config import contract
    from lifecycle.core import paths
    from lifecycle.deployment import frames, scoring
    from lifecycle.deployment.api import predictions, request
    from lifecycle.deployment.onnx import runtime as onnx_runtime
    from lifecycle.modeling import artifacts

    with contextlib.chdir(project):
        threshold = config.load().evaluate.decision_threshold
        models = {"skops": artifacts.load_model(paths.MODEL),
                  "onnx": onnx_runtime.load(paths.ONNX_MODEL, threads=1)}
        inputs = list(models["skops"].feature_names_in_)
        rows = pd.read_parquet(paths.PREPARED["test"])
        batch, one_row = rows.head(10_000), rows[inputs].head(1)
        rules = scoring.input_contract(contract.load(paths.CONTRACT), inputs)
        instance = request.instance_model(rules).model_validate(sample_instance(project))
        record = [instance.__dict__]  # as /predict hands validated rows to the model
        predictors = {runtime: predictions.row_predictor(model, rules, threshold)
                      for runtime, model in models.items()}
        with threadpool_limits(1):
            result = {
                "naive_predict_proba_ms": median_ms(
                    lambda: models["skops"].predict_proba(one_row)),
                "floor_ms": {runtime: median_ms(lambda p=predict: p(record))
                             for runtime, predict in predictors.items()},
                "batch_10000_ms": {
                    runtime: median_ms(lambda m=model: frames.predict_frame(m, batch, threshold),
                                       5)
                    for runtime, model in models.items()},
            }
    result["file_bytes"] = {runtime: (project / path).stat().st_size for runtime, path in
                            (("skops", paths.MODEL), ("onnx", paths.ONNX_MODEL))}
    return result


def served(project: Path, runtime: str, clients: int, workers: int, seconds: float) -> dict:
    port = free_port()
    server = start_server(project, port, workers, runtime)
    try:
        base_url = f"http://127.0.0.1:{port}"
        instance = sample_instance(project)
        assert httpx.post(f"{base_url}/predict", json={"instances": [instance]}).status_code == 200
        load(base_url, instance, clients, min(3.0, seconds))  # warm up
        return load(base_url, instance, clients, seconds)
    finally:
        stop_server(server)


def measure(project: Path, seconds: float) -> dict:
    result = {"load_average_before": os.getloadavg(), **in_process(project)}
    result["one_client"], result["eight_clients_two_workers"] = {}, {}
    for runtime in RUNTIMES:
        result["one_client"][runtime] = served(project, runtime, 1, 1, seconds)
        result["eight_clients_two_workers"][runtime] = served(project, runtime, 8, 2, seconds)
    result["load_average_after"] = os.getloadavg()
    result["targets"] = {runtime: targets(result, runtime) for runtime in RUNTIMES}
    return result


def targets(result: dict, runtime: str) -> dict:
    """The issue's targets for one runtime, each with the measured value and whether it holds."""
    floor = result["floor_ms"][runtime]
    one = result["one_client"][runtime]["p50_ms"]
    many = result["eight_clients_two_workers"][runtime]
    in_process_rate = 2 * 1000 / floor
    checks = {
        "p50_at_most_2x_floor_plus_1ms": (one, 2 * floor + 1),
        "p50_at_most_0.4x_naive": (one, 0.4 * result["naive_predict_proba_ms"]),
        "throughput_at_least_60pct_of_two_processes": (many["requests_per_second"],
                                                       0.6 * in_process_rate),
        "p99_at_most_5x_p50": (many["p99_ms"], 5 * many["p50_ms"]),
    }
    verdicts = {}
    for name, (value, bound) in checks.items():
        holds = value >= bound if name.startswith("throughput") else value <= bound
        verdicts[name] = {"value": round(value, 2), "bound": round(bound, 2), "holds": holds}
    verdicts["no_errors"] = {"value": many["errors"], "bound": 0, "holds": many["errors"] == 0}
    return verdicts


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.latency", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--project", default=".")
    parser.add_argument("--out", help="also write the result here (JSON)")
    arguments = parser.parse_args()
    result = measure(Path(arguments.project).resolve(), arguments.seconds)
    text = json.dumps(result, indent=2)
    print(text)
    if arguments.out:
        Path(arguments.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
