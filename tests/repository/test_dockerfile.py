"""The container image: no container runtime is needed to check it. The Dockerfile is parsed
for what the image must be (pinned base, pinned packages, not root, a health check) and the
command it declares is run, as the image runs it, in a trained project holding only what
.dockerignore lets into the image."""

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest

from ..conftest import ROOT, environment, free_port, server_process


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1])
            for line in lines if line and not line.startswith("#")]


def arguments(keyword: str) -> list[str]:
    return [value for name, value in instructions() if name == keyword]


def exec_form(value: str) -> list[str]:
    """The argv of an exec-form (JSON array) CMD or ENTRYPOINT; a shell form fails here."""
    argv = json.loads(value)
    assert isinstance(argv, list) and all(isinstance(item, str) for item in argv), value
    return argv


def declared_command() -> list[str]:
    """What the container runs: ENTRYPOINT followed by CMD, the last of each counting."""
    entrypoint, command = arguments("ENTRYPOINT")[-1:], arguments("CMD")[-1:]
    return [*(exec_form(entrypoint[0]) if entrypoint else []),
            *(exec_form(command[0]) if command else [])]


def health_check() -> list[str]:
    """The HEALTHCHECK's command (its options before CMD left out)."""
    (value,) = arguments("HEALTHCHECK")
    return exec_form(value.split(" CMD ", 1)[1])


RUNTIME_LOCK = "requirements/runtime.txt"
# Nothing the image serves with needs these: tests, lint, docs, the lock tool, S3 test doubles.
TOOLS = {"pytest", "pytest-randomly", "pytest-xdist", "hypothesis", "ruff", "moto", "copier",
         "zizmor", "mkdocs", "import-linter", "boto3", "uv", "httpx"}


def pip_installs() -> list[list[str]]:
    """The arguments of every `pip install` the RUN instructions make."""
    commands = [part.strip() for run in arguments("RUN") for part in re.split(r"&&|;", run)]
    return [shlex.split(command)[2:] for command in commands
            if command.startswith("pip install")]


def locked_names(lock: str) -> dict[str, str]:
    """A lock file's pins: normalised name -> version."""
    pins = re.findall(r"^([A-Za-z0-9][\w.-]*)==([^\s;\\]+)", (ROOT / lock).read_text(), re.M)
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pins}


def test_the_image_is_built_from_a_pinned_base_with_the_runtime_lock_only():
    (base,) = arguments("FROM")
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", base), base
    installs = pip_installs()
    assert len(installs) == 2, installs
    locked, library = installs
    # The runtime lock, every file checked against its hashes, and nothing else...
    assert locked == ["--no-cache-dir", "--require-hashes", "-r", RUNTIME_LOCK]
    # ...then the library from src/, none of its dependencies, built by the locked setuptools.
    assert library == ["--no-cache-dir", "--no-deps", "--no-build-isolation", "."]
    copies = arguments("COPY")
    assert copies[0] == f"{RUNTIME_LOCK} {RUNTIME_LOCK}"  # the packages' layer: the lock alone
    assert all(name in " ".join(copies[1:3]) for name in ("pyproject.toml", "src/"))
    # The packages install before the source arrives: a change of src/ reuses their layer.
    keywords = [name for name, _ in instructions()]
    assert keywords.index("RUN") < keywords.index("COPY", keywords.index("COPY") + 1)


def test_the_runtime_lock_holds_no_test_lint_or_docs_tool():
    pins = locked_names(RUNTIME_LOCK)

    assert not TOOLS & set(pins), sorted(TOOLS & set(pins))
    assert {"dvc", "fastapi", "onnxruntime", "scikit-learn", "skops", "uvicorn"} <= set(pins)
    assert "setuptools" in pins  # builds the library with --no-build-isolation


def test_the_image_runs_its_server_as_a_user_other_than_root():
    users = arguments("USER")
    assert users, "no USER: the server would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    keywords = [name for name, _ in instructions()]
    # Every instruction after the last USER runs as that user, the command included.
    assert keywords.index("ENTRYPOINT") > len(keywords) - 1 - keywords[::-1].index("USER")


def test_the_image_exposes_the_port_it_serves_on_and_checks_its_health():
    command = declared_command()
    assert command[:2] == ["lifecycle", "serve"]
    assert command[command.index("--host") + 1] == "0.0.0.0"  # reachable from outside
    port = command[command.index("--port") + 1]
    assert arguments("EXPOSE") == [port]
    check = health_check()
    assert check[:2] == ["python", "-c"] and "urllib" in check[2]
    assert f"127.0.0.1:{port}/health" in check[2]
    assert ("WORKDIR", "/app") in instructions() and ("COPY", ". .") in instructions()


# --- .dockerignore ------------------------------------------------------------------------------


def ignore_rules() -> list[tuple[bool, str]]:
    """.dockerignore's patterns as (exception?, pattern), in order."""
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    return [(line.startswith("!"), line.lstrip("!").strip("/")) for line in lines
            if line and not line.startswith("#")]


def matches(pattern: str, path: str) -> bool:
    # fnmatch's `*` also crosses `/`, unlike Docker's; no pattern here relies on the difference.
    if pattern.startswith("**/"):
        parts = path.split("/")
        return any(fnmatch.fnmatchcase("/".join(parts[i:]), pattern[3:])
                   for i in range(len(parts)))
    return fnmatch.fnmatchcase(path, pattern)


def ignored(path: str) -> bool:
    """Docker's rule: the last pattern that matches the path, or a folder holding it, decides."""
    parts = path.split("/")
    folders = ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]
    verdict = False
    for exception, pattern in ignore_rules():
        if any(matches(pattern, folder) for folder in folders):
            verdict = not exception
    return verdict


@pytest.mark.parametrize("path, left_out", [
    ("src/lifecycle/commands/serve.py", False), ("pyproject.toml", False),
    ("requirements/runtime.txt", False), ("README.md", False), ("params.yaml", False),
    ("data/contract.yaml", False), ("models/model.skops", False),
    ("reports/gate.json", False),
    (".venv/bin/python", True), (".git/HEAD", True), (".dvc/cache/files/md5/00/1", True),
    ("data/raw/dataset.parquet", True), ("data/prepared/train.parquet", True),
    ("src/lifecycle/__pycache__/cli.cpython-311.pyc", True), ("tests/conftest.py", True),
])
def test_dockerignore_keeps_what_serving_needs_and_leaves_out_data_and_caches(path, left_out):
    assert ignored(path) == left_out


# --- the declared command, run as the image runs it ---------------------------------------------


@pytest.fixture
def image_files(trained: Path, tmp_path: Path) -> Path:
    """The trained project's files that .dockerignore lets into the image."""
    folder = tmp_path / "app"
    for path in trained.rglob("*"):
        name = path.relative_to(trained).as_posix()
        if path.is_file() and not ignored(name):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, folder / name)
    assert not (folder / "data/prepared").exists()  # the data stays out
    return folder


@pytest.mark.slow  # a server process
def test_the_declared_command_serves_the_trained_model(image_files, trained, tmp_path):
    command = declared_command()
    port = free_port()
    # The declared command, with the port it listens on moved to a free one (the last --port
    # counts), as `docker run -p` would map it; `lifecycle` is found on this environment's PATH.
    with server_process([*command, "--port", str(port)], port, image_files,
                        tmp_path / "serve.log") as server:
        with httpx.Client(base_url=server["base_url"], timeout=60) as client:
            health = client.get("/health").json()
            row = json.loads(pd.read_parquet(trained / "data/prepared/test.parquet")
                             .drop(columns="late").head(1)
                             .to_json(orient="records", date_format="iso"))
            predicted = client.post("/predict", json={"instances": row})
        check = health_check()
        check[2] = check[2].replace(":8000/", f":{port}/")
        healthy = subprocess.run([sys.executable, *check[1:]], env=environment(),
                                 capture_output=True, text=True, timeout=60)
    log = (tmp_path / "serve.log").read_text()

    verdict = json.loads((image_files / "reports/gate.json").read_text())["verdict"]
    assert health == {"status": "ok", "gate": verdict}
    assert predicted.status_code == 200, predicted.text
    assert len(predicted.json()["predictions"]) == 1
    assert healthy.returncode == 0, healthy.stderr
    assert ("warning: serving a model that is not VALIDATED" in log) == (verdict != "VALIDATED")
