"""Limits of `lifecycle serve`: every size a client controls is capped before work in proportion
to it starts, a request whose client left is not computed, and /health answers under any load.

In this process: the answers to hostile bodies (TestClient on the trained project's model), and
the queue on a small app with a stand-in model under uvicorn in a thread. Against a real
`lifecycle serve` process (marked slow): a burst of clients that give up, the server's CPU time
after they left, /health latency during the burst and 503s from the full queue.
"""

import asyncio
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import psutil
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lifecycle.config import contract
from lifecycle.deployment.api import app as api_app
from lifecycle.deployment.api import limits as api_limits
from lifecycle.deployment.api.limits import Limits

from ..conftest import free_port, lifecycle_server

JSON = {"content-type": "application/json"}


def post_json(client: TestClient, body: bytes) -> httpx.Response:
    return client.post("/predict", content=body, headers=JSON)


# --- hostile bodies, in this process ------------------------------------------------------------


@pytest.fixture(scope="module")
def rows(trained: Path) -> list[dict]:
    """1,000 valid instances: test rows as JSON."""
    frame = pd.read_parquet(trained / "data/prepared/test.parquet").drop(columns="late")
    return json.loads(frame.head(1000).to_json(orient="records", date_format="iso"))


def test_many_empty_instances_are_refused_by_count_before_any_is_validated(client):
    body = b'{"instances": [' + b",".join([b"{}"] * 240_000) + b"]}"
    assert len(body) < api_limits.MAX_BODY_BYTES  # under the byte cap: only the count refuses it

    start = time.perf_counter()
    response = post_json(client, body)
    elapsed = time.perf_counter() - start

    print(f"240,000 empty instances ({len(body)} bytes): {response.status_code} in "
          f"{elapsed:.3f} s, {len(response.content)} bytes")
    assert response.status_code == 413
    assert response.json() == {"detail": "240000 instances; at most 1000 per request"}
    assert elapsed < 1.0  # validating each instance first took 22 s and 1.3 GiB
    assert len(response.content) < 200


@pytest.mark.parametrize("body, words", [
    (b"[" * 100_000, "nested too deeply"),
    (b'{"instances": ' + b"[" * 100_000, "nested too deeply"),
    (b'{"a": ' * 100_000, "nested too deeply"),
    (b'{"instances": [{"temp": ' + b"9" * 5000 + b"}]}", "too many digits"),
    (b'{"instances": [{"carrier": "\xff"}]}', "not UTF-8"),
    (b'{"instances": [', "JSON decode error"),
    (b"", "Field required"),
])
def test_a_body_that_is_not_json_gets_422_not_500(client, body, words):
    response = post_json(client, body)

    assert response.status_code == 422, response.text
    assert words in response.text
    assert response.json()["detail"][0]["loc"][0] == "body"


def test_a_request_of_many_bad_rows_gets_a_bounded_answer(client, rows):
    bad = [{**row, "temp": "hot"} for row in rows]

    response = client.post("/predict", json={"instances": bad})

    body = response.json()
    print(f"1,000 bad rows: {response.status_code}, {len(body['detail'])} errors listed, "
          f"{body.get('errors_not_shown')} not shown, {len(response.content)} bytes")
    assert response.status_code == 422
    assert len(body["detail"]) == api_limits.MAX_ERRORS_SHOWN
    assert body["errors_not_shown"] == 1000 - api_limits.MAX_ERRORS_SHOWN
    assert body["detail"][0] == {"loc": ["body", "instances", 0, "temp"],
                                 "msg": "Input should be a valid number, unable to parse string "
                                        "as a number", "type": "float_parsing"}
    assert len(response.content) < 20_000


def test_a_few_bad_rows_are_all_listed_without_a_count(client, rows):
    response = client.post("/predict", json={"instances": [{**rows[0], "temp": "hot"}, rows[1]]})

    assert response.status_code == 422
    assert response.json() == {"detail": [{
        "loc": ["body", "instances", 0, "temp"],
        "msg": "Input should be a valid number, unable to parse string as a number",
        "type": "float_parsing"}]}


@pytest.mark.parametrize("count", [1, 1000])
def test_valid_requests_still_get_predictions(client, rows, count):
    response = client.post("/predict", json={"instances": rows[:count]})

    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == count
    assert len(response.json()["probabilities"]) == count


def test_the_api_documentation_still_describes_the_request_body(client):
    document = client.get("/openapi.json").json()

    body = document["paths"]["/predict"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PredictRequest"}
    schemas = document["components"]["schemas"]
    assert schemas["PredictRequest"]["properties"]["instances"]["maxItems"] == 1000
    assert {"carrier", "temp", "scheduled_departure"} <= set(schemas["Instance"]["properties"])
    assert client.get("/docs").status_code == 200


# --- the queue, on a stand-in model under uvicorn in a thread -----------------------------------

RULES = contract.parse({"columns": {
    "size": {"type": "numeric", "role": "feature", "nullable": False, "min": 0, "max": 10}}})
ONE_ROW = {"instances": [{"size": 1.0}]}


class StandInModel:
    """A classifier that counts its calls and takes `seconds` each, or until `release` is set
    when `blocking`; sleeping and waiting leave the interpreter lock free, as no real model
    would, so what is measured is the server's queue."""

    feature_names_in_ = np.array(["size"], dtype=object)
    classes_ = np.array([0, 1])

    def __init__(self, seconds: float = 0.0, blocking: bool = False) -> None:
        self.seconds, self.blocking = seconds, blocking
        self.calls = 0
        self.entered, self.release = threading.Event(), threading.Event()

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        self.calls += 1
        self.entered.set()
        if self.blocking:
            self.release.wait(timeout=60)
        time.sleep(self.seconds)
        return np.tile([0.5, 0.5], (len(frame), 1))


def raw_request(body: dict) -> bytes:
    """A POST /predict as a client sends it, built once for many connections."""
    payload = json.dumps(body).encode()
    return (b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload))


ONE_ROW_REQUEST = raw_request(ONE_ROW)


@contextmanager
def serving(app: FastAPI) -> Iterator[int]:
    """`app` under uvicorn on a free loopback port, in a thread; the port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def post_one_row(port: int, timeout: float, sent: threading.Semaphore | None = None) -> int | str:
    """A single-row prediction on a connection of its own: its status, or "gave up" when no
    answer came within `timeout` s and the connection was closed, as a client that gives up
    does. Raw sockets: the clients share this process with the server, and an HTTP client
    library's own work would hold the interpreter lock the server needs."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(ONE_ROW_REQUEST)
        if sent is not None:
            sent.release()
        try:
            head = connection.recv(64)
        except TimeoutError:
            return "gave up"
    return int(head.split()[1])


def in_threads(count: int, send: Callable[[], object]) -> tuple[list[threading.Thread], list]:
    """`send()` from `count` threads at once; the threads and the list their results go to."""
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(send())) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, results


def join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(timeout=60)


def timed_get(url: str) -> tuple[float, httpx.Response]:
    start = time.perf_counter()
    response = httpx.get(url, timeout=30)
    return time.perf_counter() - start, response


def test_health_and_metadata_answer_while_every_compute_slot_is_busy():
    model = StandInModel(blocking=True)
    # More waiting requests than the default thread pool has threads: /health used to queue
    # behind them there.
    app = api_app.build_app(model, RULES, 0.5, {"model": "stand-in"},
                            Limits(compute_slots=1, max_waiting=60))
    with serving(app) as port:
        sent = threading.Semaphore(0)
        threads, statuses = in_threads(60, lambda: post_one_row(port, 60, sent))
        try:
            assert all(sent.acquire(timeout=30) for _ in threads)
            assert model.entered.wait(timeout=30)
            time.sleep(0.2)  # for the server to read the requests, all waiting for the slot

            health_seconds, health = timed_get(f"http://127.0.0.1:{port}/health")
            metadata_seconds, metadata = timed_get(f"http://127.0.0.1:{port}/metadata")
        finally:
            model.release.set()
            join(threads)

    print(f"/health in {health_seconds:.3f} s, /metadata in {metadata_seconds:.3f} s "
          f"with 60 requests in /predict")
    assert health.json() == {"status": "ok", "gate": None} and health_seconds < 1
    assert metadata.json() == {"model": "stand-in"} and metadata_seconds < 1
    assert statuses == [200] * 60


def test_a_full_queue_gets_503_at_once_with_retry_after_and_the_server_recovers():
    model = StandInModel(blocking=True)
    app = api_app.build_app(model, RULES, 0.5, {}, Limits(compute_slots=1, max_waiting=0))
    with serving(app) as port:
        threads, statuses = in_threads(1, lambda: post_one_row(port, 60))
        try:
            assert model.entered.wait(timeout=30)
            start = time.perf_counter()
            refused = httpx.post(f"http://127.0.0.1:{port}/predict", json=ONE_ROW, timeout=30)
            refused_seconds = time.perf_counter() - start
        finally:
            model.release.set()
            join(threads)
        after = post_one_row(port, 30)

    assert refused.status_code == 503 and refused_seconds < 1
    assert refused.headers["retry-after"] == "1"
    assert "busy" in refused.json()["detail"]
    assert statuses == [200] and after == 200


def test_a_request_whose_client_left_while_waiting_is_never_computed():
    model = StandInModel(seconds=0.3)
    app = api_app.build_app(model, RULES, 0.5, {}, Limits(compute_slots=1, max_waiting=20))
    with serving(app) as port:
        threads, statuses = in_threads(10, lambda: post_one_row(port, 0.5))
        join(threads)
        time.sleep(1.5)  # time for at least 5 more computations, had they been queued
        computed = model.calls

        # Every abandoned request gave its place back: the whole queue is free again.
        model.seconds = 0
        threads, after = in_threads(21, lambda: post_one_row(port, 30))
        join(threads)

    print(f"10 clients gave up after 0.5 s: {statuses.count('gave up')} gave up, "
          f"{computed} computed")
    assert statuses.count("gave up") >= 7
    assert computed <= 4  # those started before their clients gave up; not all 10
    assert after == [200] * 21


def test_a_body_that_stalls_gets_408_and_gives_its_place_back():
    app = api_app.build_app(StandInModel(), RULES, 0.5, {},
                            Limits(compute_slots=1, max_waiting=0, body_seconds=0.5))
    with serving(app) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Type: application/json\r\n"
                               b"Content-Length: 100\r\n\r\n{\"inst")
            answer = b""
            while b"arrive" not in answer:  # the status line and body may come in pieces
                piece = connection.recv(1000)
                if not piece:
                    break
                answer += piece
        after = post_one_row(port, 30)

    assert answer.startswith(b"HTTP/1.1 408")
    assert b"took over 0.5 s to arrive" in answer
    assert after == 200


# --- a real `lifecycle serve` process -----------------------------------------------------------

BURST_CLIENTS = 300
GIVE_UP_SECONDS = 1.5
AFTER_SECONDS = 3.0  # how long the server's CPU time is watched after the clients left


@pytest.fixture(scope="module")
def server(trained: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """`lifecycle serve` on a free loopback port, in a copy of the trained project; stopped
    (with anything it started) when the module's tests are done, or failed."""
    folder = tmp_path_factory.mktemp("served")
    shutil.copytree(trained, folder, dirs_exist_ok=True)
    with lifecycle_server(folder, folder / "serve.log") as started:
        instance = json.loads(pd.read_parquet(folder / "data/prepared/test.parquet")
                              .drop(columns="late").head(1)
                              .to_json(orient="records", date_format="iso"))[0]
        yield {**started, "body": {"instances": [instance]}}


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


async def give_up_after(port: int, request: bytes, seconds: float) -> dict:
    """Send `request` on a connection of its own, closed after `seconds` if not yet answered
    (as a client that gives up does): its status (or "gave up"), headers, body and time."""
    start = time.perf_counter()
    writer = None
    try:
        async with asyncio.timeout(seconds):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            body = await reader.read()  # to the end: the connection closes after the answer
        status_line, *lines = head.strip().split("\r\n")
        outcome = {"status": int(status_line.split()[1]), "body": body,
                   "headers": dict(line.lower().split(": ", 1) for line in lines)}
    except TimeoutError:
        outcome = {"status": "gave up"}
    except (OSError, asyncio.IncompleteReadError) as error:
        outcome = {"status": type(error).__name__}
    finally:
        if writer is not None:
            writer.close()
    return {**outcome, "seconds": time.perf_counter() - start}


async def burst(port: int, body: dict, clients: int, seconds: float) -> list[dict]:
    # Raw connections: an HTTP client library's own overhead would spread 300 requests over
    # more than a second, and the burst would not be one.
    request = raw_request(body)
    return await asyncio.gather(*(give_up_after(port, request, seconds)
                                  for _ in range(clients)))


# /health probed from a process of its own: a thread of this one would wait for the
# interpreter lock the burst's client holds, and measure that too.
HEALTH_PROBE = """
import json, sys, time
import httpx

base_url, seconds = sys.argv[1], float(sys.argv[2])
latencies = []
with httpx.Client(base_url=base_url, timeout=30) as client:
    client.get("/health").raise_for_status()
    print("ready", flush=True)
    stop_at = time.monotonic() + seconds
    while time.monotonic() < stop_at:
        start = time.perf_counter()
        client.get("/health").raise_for_status()
        latencies.append(time.perf_counter() - start)
        time.sleep(0.05)
print(json.dumps(latencies))
"""


@contextmanager
def probing_health(base_url: str, seconds: float) -> Iterator[list[float]]:
    """/health latencies from another process, probing from entry for `seconds`; the list is
    filled on exit, once the probe ends."""
    probe = subprocess.Popen([sys.executable, "-c", HEALTH_PROBE, base_url, str(seconds)],
                             stdout=subprocess.PIPE, text=True)
    latencies: list[float] = []
    try:
        assert probe.stdout.readline().strip() == "ready", "the /health probe did not start"
        yield latencies
        output, _ = probe.communicate(timeout=120)
        latencies.extend(json.loads(output))
    finally:
        if probe.poll() is None:
            probe.kill()
            probe.wait()


@pytest.fixture(scope="module")
def abandoned(server: dict) -> dict:
    """A burst of single-row requests whose clients give up, /health probed meanwhile, and the
    server's CPU time per request before and after the clients left."""
    process = psutil.Process(server["process"].pid)
    base_url, body = server["base_url"], server["body"]
    with httpx.Client(base_url=base_url, timeout=60) as client:
        client.post("/predict", json=body).raise_for_status()  # warm-up
        before = cpu_seconds(process)
        for _ in range(5):
            client.post("/predict", json=body).raise_for_status()
        per_request = (cpu_seconds(process) - before) / 5

    with probing_health(base_url, GIVE_UP_SECONDS + 0.5) as health:
        outcomes = asyncio.run(burst(server["port"], body, BURST_CLIENTS, GIVE_UP_SECONDS))
        left = cpu_seconds(process)
        time.sleep(AFTER_SECONDS)
        after_leaving = cpu_seconds(process) - left
    with httpx.Client(base_url=base_url, timeout=60) as client:
        afterwards = client.post("/predict", json=body).status_code
    statuses = [outcome["status"] for outcome in outcomes]
    refused = [outcome["seconds"] for outcome in outcomes if outcome["status"] == 503]
    print(f"{BURST_CLIENTS} clients giving up after {GIVE_UP_SECONDS} s: "
          f"{statuses.count(200)} answered, {len(refused)} got 503 (slowest in "
          f"{max(refused, default=0):.3f} s), {statuses.count('gave up')} gave up; "
          f"{per_request:.3f} s CPU per request; server CPU over {AFTER_SECONDS} s after they "
          f"left: {after_leaving:.3f} s (computing the abandoned ones would take "
          f"{statuses.count('gave up') * per_request:.2f} s); /health slowest "
          f"{max(health, default=0):.3f} s of {len(health)} probes")
    return {"outcomes": outcomes, "statuses": statuses, "per_request": per_request,
            "after_leaving": after_leaving, "health": health, "afterwards": afterwards}


@pytest.mark.slow
def test_requests_whose_clients_left_stop_costing_cpu(abandoned):
    statuses = abandoned["statuses"]
    assert set(statuses) <= {200, 503, "gave up"}, statuses
    # Only the requests computing when their clients left still finish (a slot each); all
    # those waiting are dropped. Every one of the 300 used to be computed, 15 s of CPU or more.
    allowed = api_limits.COMPUTE_SLOTS * abandoned["per_request"] + 0.5
    assert abandoned["after_leaving"] < allowed


@pytest.mark.slow
def test_health_answers_within_a_second_during_the_burst(abandoned):
    assert len(abandoned["health"]) >= 3
    assert max(abandoned["health"]) < 1.0, abandoned["health"]


@pytest.mark.slow
def test_a_full_queue_answers_503_at_once_and_the_server_recovers(abandoned):
    refused = [outcome for outcome in abandoned["outcomes"] if outcome["status"] == 503]
    # The queue holds the computing requests and MAX_WAITING more; most of the burst is
    # refused (a few more get in as others are answered).
    assert len(refused) >= BURST_CLIENTS // 2
    assert max(outcome["seconds"] for outcome in refused) < 1.0
    assert {outcome["headers"]["retry-after"] for outcome in refused} == {"1"}
    assert all("busy" in json.loads(outcome["body"])["detail"] for outcome in refused)
    assert abandoned["afterwards"] == 200
