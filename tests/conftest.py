"""Shared fixtures: small in-memory frames and a reproduced copy of the project."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
# The end-to-end copy runs on a seeded sample of the flights to keep the suite fast.
SAMPLE_FRACTION = 0.05


def run(command: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command; fail the test with its output when it exits non-zero."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {result.returncode}\n{result.stdout}\n"
                    f"{result.stderr}")
    return result


def bin_path(name: str) -> str:
    """A console script of the running interpreter's environment (dvc, lifecycle)."""
    return str(Path(sys.executable).parent / name)


def copy_project(destination: Path) -> Path:
    """Copy the project's tracked and unignored files into a fresh git repository."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
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


@pytest.fixture(scope="session")
def reproduced(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A copy of the project on a sample of the data, after one traced `dvc repro`."""
    repo = copy_project(tmp_path_factory.mktemp("project"))
    set_param(repo, "source.sample_fraction", SAMPLE_FRACTION)
    run(["git", "commit", "-qam", "sample"], repo)
    trace_dir = tmp_path_factory.mktemp("trace")
    env = environment(LIFECYCLE_TRACE_DIR=str(trace_dir))
    output = run([bin_path("dvc"), "repro"], repo, env).stdout
    return {"repo": repo, "trace_dir": trace_dir, "output": output, "env": env}


# What batch scoring, the API and the train stage read from a reproduced project.
TRAINED_FILES = ("params.yaml", "dvc.yaml", "data/contract.yaml", "models/model.skops",
                 "models/features.skops", "data/features/train.parquet",
                 "data/prepared/train.parquet", "data/prepared/test.parquet", "reports/gate.json")


def copy_files(source: Path, destination: Path, names: tuple[str, ...]) -> Path:
    for name in names:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, target)
    return destination


@pytest.fixture(scope="session")
def trained(reproduced: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reproduced project's params, contract, model and splits, copied before any test
    changes them: a folder where `lifecycle predict`, `serve` and `train` can run."""
    return copy_files(reproduced["repo"], tmp_path_factory.mktemp("trained"), TRAINED_FILES)


@pytest.fixture
def flights() -> pd.DataFrame:
    """Four flights: two from EWR at 05:00 UTC-hour, one cancelled, one with an unknown plane."""
    return pd.DataFrame({
        "year": [2013] * 4, "month": [1, 1, 2, 3], "day": [1, 1, 15, 31],
        "hour": [5, 5, 14, 23], "minute": [15, 30, 0, 59],
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
