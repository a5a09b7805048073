"""A short load test of `lifecycle serve` as a real process: 8 concurrent clients for 10
seconds get only 200s, and the server's memory stays flat. The full measurement is
`python -m benchmarks.api_load`; this reuses its load generator. The servers start with
conftest's `lifecycle_server`: it waits for /health (no short fixed deadline) and stops each
server and its workers afterwards, also when a test fails.
"""

from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from benchmarks.api_load import load, sample_instance

from ..conftest import lifecycle_server

pytestmark = pytest.mark.slow  # servers as processes

CLIENTS = 8
SECONDS = 10
# Resident memory may grow this much over the load after warm-up (allocator noise, caches).
MEMORY_MARGIN = 16 * 2**20


@pytest.fixture(scope="module")
def server(trained: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`lifecycle serve --port N`, with no --host: the default address."""
    log = tmp_path_factory.mktemp("load") / "serve.log"
    with lifecycle_server(trained, log) as started:
        yield {**started, "instance": sample_instance(trained)}


def test_the_server_listens_on_loopback_only_by_default(server):
    listening = [connection.laddr for connection
                 in psutil.Process(server["process"].pid).net_connections(kind="inet")
                 if connection.status == psutil.CONN_LISTEN]

    assert [(address.ip, address.port) for address in listening] == [
        ("127.0.0.1", server["port"])]


def test_concurrent_clients_get_no_errors_and_memory_stays_flat(server):
    memory = psutil.Process(server["process"].pid)
    load(server["base_url"], server["instance"], CLIENTS, 3)  # warm-up
    warm = memory.memory_info().rss

    result = load(server["base_url"], server["instance"], CLIENTS, SECONDS)

    after = memory.memory_info().rss
    print(f"{result['requests']} requests, {result['errors']} errors, "
          f"{result['requests_per_second']}/s, p50 {result['p50_ms']} ms, "
          f"p99 {result['p99_ms']} ms, RSS {warm / 2**20:.1f} -> {after / 2**20:.1f} MiB")
    assert result["errors"] == 0
    assert result["requests"] >= CLIENTS  # every client was answered at least once
    assert after - warm <= MEMORY_MARGIN


def test_two_worker_processes_each_serve_the_model(trained, tmp_path):
    with lifecycle_server(trained, tmp_path / "serve.log", "--workers", "2") as started:
        workers = psutil.Process(started["process"].pid).children(recursive=True)
        result = load(started["base_url"], sample_instance(trained), 4, 3)

    assert len(workers) >= 2  # the worker processes (uvicorn may add a helper process)
    assert result["errors"] == 0 and result["requests"] >= 4
