"""Load on the HTTP API from concurrent clients on loopback: throughput, latency, memory.

    python -m benchmarks.api_load [--clients 8] [--seconds 60] [--workers 1]

Run from a project whose model is built (`dvc repro`). It starts `lifecycle serve` on a free
loopback port, sends single-row requests from each client thread until the time is up, and
samples the server's resident memory.
"""

import argparse
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import psutil


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sample_instance(project: Path) -> dict:
    rows = pd.read_parquet(project / "data/prepared/test.parquet").head(1)
    record = json.loads(rows.to_json(orient="records", date_format="iso"))[0]
    return {key: value for key, value in record.items() if key != "late"}


# A loaded machine can take minutes to import and load a model; a server that exits early
# fails at once.
START_LIMIT_SECONDS = 300


def start_server(project: Path, port: int, workers: int = 1,
                 runtime: str = "skops") -> subprocess.Popen:
    command = [str(Path(sys.executable).parent / "lifecycle"), "serve", "--port", str(port),
               "--workers", str(workers), "--runtime", runtime]
    server = subprocess.Popen(command, cwd=project, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + START_LIMIT_SECONDS
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"the API did not answer /health (exit code {server.returncode})")


def stop_server(server: subprocess.Popen) -> None:
    """Stop the server and its worker processes."""
    children = psutil.Process(server.pid).children(recursive=True) if server.poll() is None else []
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    for child in children:
        if child.is_running():
            child.kill()


def load(base_url: str, instance: dict, clients: int, seconds: float) -> dict:
    """Requests from `clients` threads for `seconds`; latencies and failures."""
    latencies: list[float] = []
    failures: list[int | str] = []  # status codes other than 200, names of transport errors
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client() -> None:
        with httpx.Client(base_url=base_url, timeout=30) as session:
            while time.monotonic() < stop_at:
                start = time.perf_counter()
                try:
                    status = session.post("/predict", json={"instances": [instance]}).status_code
                except httpx.HTTPError as error:  # refused, reset, timed out: an error too
                    status = type(error).__name__
                elapsed = time.perf_counter() - start
                with lock:
                    latencies.append(elapsed) if status == 200 else failures.append(status)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)
    return {
        "requests": len(latencies), "errors": len(failures),
        "requests_per_second": round(len(latencies) / seconds, 1),
        "p50_ms": round(1000 * statistics.median(ordered), 2),
        "p99_ms": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 2),
    }


def resident_memory(pid: int) -> int:
    """Resident bytes of a process and its children (the worker processes)."""
    process = psutil.Process(pid)
    return sum(each.memory_info().rss for each in [process, *process.children(recursive=True)])


def measure(project: Path, clients: int = 8, seconds: float = 60, workers: int = 1) -> dict:
    """Serve the project's model and load it; memory sampled before and after the load."""
    port = free_port()
    server = start_server(project, port, workers)
    try:
        instance = sample_instance(project)
        base_url = f"http://127.0.0.1:{port}"
        load(base_url, instance, clients, min(5.0, seconds))  # warm up
        before = resident_memory(server.pid)
        result = load(base_url, instance, clients, seconds)
        after = resident_memory(server.pid)
    finally:
        stop_server(server)
    return {**result, "clients": clients, "seconds": seconds, "workers": workers,
            "rss_before_mib": round(before / 2**20, 1), "rss_after_mib": round(after / 2**20, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.api_load", description=__doc__)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=1, help="`lifecycle serve --workers`")
    parser.add_argument("--project", default=".")
    arguments = parser.parse_args()
    print(json.dumps(measure(Path(arguments.project), arguments.clients, arguments.seconds,
                             arguments.workers), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
