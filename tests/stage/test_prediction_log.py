"""The prediction log: `lifecycle serve --log-predictions DIR` appends what the API answered
(off by default), rotated by size, and `lifecycle monitor --current DIR` judges it as a batch.
On the model of the tiny project trained in this process (conftest's `trained`)."""

import json
import multiprocessing
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import uvicorn
from fastapi.testclient import TestClient

from lifecycle import cli
from lifecycle.config import contract
from lifecycle.deployment import prediction_log
from lifecycle.deployment.prediction_log import LOG_NAME, MARKER, LogSettings, PredictionLog

from ..conftest import commit_all, free_port, lifecycle_server
from .test_data_safety import assert_refused, lifecycle, snapshot


@pytest.fixture
def project(trained_project: Path, trained: Path, tmp_path: Path, monkeypatch) -> Path:
    """A trained project (a git repository) with what monitor reads; the working directory."""
    folder = tmp_path / "project"
    shutil.copytree(trained, folder)
    metrics = folder / "reports/evaluation/metrics.json"
    metrics.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(trained_project / "reports/evaluation/metrics.json", metrics)
    commit_all(folder, "project")
    monkeypatch.chdir(folder)
    return folder


def served(monkeypatch: pytest.MonkeyPatch, *options: str) -> TestClient:
    """The app `lifecycle serve [options]` would run, in this process."""
    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: started.update(app=app))
    assert cli.main(["serve", "--port", str(free_port()), *options]) == 0
    return TestClient(started["app"])


def feature_rows(project: Path, split: str, count: int, seed: int = 0) -> pd.DataFrame:
    """`count` rows of a split, drawn with a seed, as the API takes them (inputs only)."""
    rules = contract.load(project / "data/contract.yaml")
    rows = pd.read_parquet(project / f"data/prepared/{split}.parquet")
    inputs = [name for name, column in rules.columns.items()
              if column.role in ("feature", "timestamp") and name in rows]
    return rows[inputs].sample(count, random_state=seed, replace=len(rows) < count)


def instances(rows: pd.DataFrame) -> list[dict]:
    return json.loads(rows.to_json(orient="records", date_format="iso"))


def logged(folder: Path) -> list[dict]:
    return [json.loads(line) for path in prediction_log.log_files(folder)
            for line in path.read_text().splitlines()]


# --- off by default; when on, every answered row with its model and answer ---------------------

def test_serve_keeps_nothing_of_a_request_unless_asked(project, monkeypatch):
    client = served(monkeypatch)
    before = snapshot(project)

    answer = client.post("/predict", json={"instances": instances(
        feature_rows(project, "test", 3))})

    assert answer.status_code == 200
    assert "x-request-id" not in answer.headers
    assert snapshot(project) == before


def test_each_answered_row_is_logged_with_the_request_the_model_and_the_answer(project,
                                                                              monkeypatch):
    client = served(monkeypatch, "--log-predictions", "logs", "--runtime", "onnx")
    rows = instances(feature_rows(project, "test", 3))

    answer = client.post("/predict", json={"instances": rows})
    refused = client.post("/predict", json={"instances": [{**rows[0], "distance": -5}]})

    assert answer.status_code == 200 and refused.status_code == 422
    lines = logged(project / "logs")
    assert len(lines) == 3  # the refused request is not an answer: not logged
    model = client.get("/metadata").json()["model"]
    body = answer.json()
    for line, row, prediction, probabilities in zip(lines, rows, body["predictions"],
                                                    body["probabilities"], strict=True):
        assert line["request"] == answer.headers["x-request-id"]
        assert line["model"] == {"runtime": "onnx", **model}
        assert line["prediction"] == prediction and line["probabilities"] == probabilities
        assert line["inputs"]["distance"] == row["distance"]
        assert line["inputs"]["carrier"] == row["carrier"]
        assert pd.Timestamp(line["inputs"]["scheduled_departure"]) == \
            pd.Timestamp(row["scheduled_departure"]).tz_localize(None)
    assert sorted(path.name for path in (project / "logs").iterdir()) == [MARKER, LOG_NAME]


def test_an_answer_the_log_cannot_hold_is_not_given(project, monkeypatch, capsys):
    client = served(monkeypatch, "--log-predictions", "logs")
    (project / "logs" / LOG_NAME).mkdir()  # appending to it fails as a full disk would

    answer = client.post("/predict", json={"instances": instances(
        feature_rows(project, "test", 1))})

    assert answer.status_code == 503
    assert "prediction log could not be written" in answer.json()["detail"]
    assert "no prediction" in answer.json()["detail"]
    assert "predictions" not in answer.json()
    assert "the prediction log could not be written" in capsys.readouterr().err


# --- bounded: rotated by size, the oldest dropped ----------------------------------------------

def request_lines(number: int) -> tuple[list[dict], dict]:
    return [{"x": number, "padding": "p" * 200}], {"predictions": [number]}


def test_the_log_rotates_at_its_size_and_keeps_only_the_files_asked_for(tmp_path):
    folder = prediction_log.open_folder(tmp_path / "logs")
    settings = LogSettings(str(folder), max_megabytes=2_000 / 2**20, files=2)
    log = PredictionLog(settings, {"md5": "m"})
    line_bytes = len("".join(prediction_log.log_lines("r" * 32, {"md5": "m"},
                                                      *request_lines(0))).encode())

    for number in range(40):
        log.write(*request_lines(number))

    names = sorted(path.name for path in folder.iterdir())
    assert names == sorted([MARKER, LOG_NAME, "predictions.1.jsonl", "predictions.2.jsonl"])
    for path in prediction_log.log_files(folder):
        assert 0 < path.stat().st_size <= settings.max_bytes
    kept = [line["inputs"]["x"] for line in logged(folder)]
    per_file = settings.max_bytes // line_bytes
    assert kept == list(range(40 - len(kept), 40))  # oldest first, the newest all there
    assert 2 * per_file < len(kept) <= 3 * per_file  # the oldest files were dropped
    assert list(prediction_log.read_inputs(folder)["x"]) == kept


def test_with_no_rotated_files_kept_the_log_starts_again_at_its_size(tmp_path):
    folder = prediction_log.open_folder(tmp_path / "logs")
    log = PredictionLog(LogSettings(str(folder), max_megabytes=1_000 / 2**20, files=0), {})

    for number in range(20):
        log.write(*request_lines(number))

    assert sorted(path.name for path in folder.iterdir()) == [MARKER, LOG_NAME]
    assert (folder / LOG_NAME).stat().st_size <= 1_000
    assert [line["inputs"]["x"] for line in logged(folder)][-1] == 19


def append_requests(folder: str, first: int, count: int) -> None:
    log = PredictionLog(LogSettings(folder), {"md5": "m"})
    for number in range(first, first + count):
        log.write([{"x": number, "padding": "p" * 5_000}] * 3, {"predictions": [0, 1, 0]})


@pytest.mark.slow  # processes writing at once
def test_processes_appending_at_once_leave_whole_lines_and_lose_none(tmp_path):
    folder = str(prediction_log.open_folder(tmp_path / "logs"))
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=append_requests, args=(folder, 1000 * n, 150))
               for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=600)
        assert worker.exitcode == 0

    lines = logged(Path(folder))  # each parses: no line interleaved with another
    assert len(lines) == 4 * 150 * 3
    by_request = pd.Series([line["request"] for line in lines])
    assert (by_request.value_counts() == 3).all()
    assert sorted({line["inputs"]["x"] for line in lines}) == sorted(
        1000 * n + i for n in range(4) for i in range(150))


@pytest.mark.parametrize("option, value, words", [
    ("--log-max-megabytes", "0", "--log-max-megabytes 0: give a size in (0, 10,000]"),
    ("--log-files", "-1", "--log-files -1: give a count in [0, 100]"),
])
def test_log_sizes_out_of_bounds_are_refused(project, capsys, option, value, words):
    code, errors = lifecycle(capsys, "serve", "--log-predictions", "logs", option, value)

    assert_refused(code, errors, "serve", words)
    assert not (project / "logs").exists()


# --- a user's files: the log's folder is never one that holds anything else --------------------

@pytest.mark.parametrize("folder, words", [
    (".", "it is the project folder or holds it"),
    ("models", "it holds models/model.skops, an input of this command"),
    ("data", "it holds data/contract.yaml, an input of this command"),
    (".git/logs", "it is inside .git/"),
    ("notes", "the folder holds files this command did not write there (mine.txt)"),
])
def test_serve_refuses_a_log_folder_that_holds_anything_but_a_log(project, capsys, folder,
                                                                  words):
    (project / "notes").mkdir()
    (project / "notes/mine.txt").write_text("mine")
    before = snapshot(project)

    code, errors = lifecycle(capsys, "serve", "--log-predictions", folder)

    assert_refused(code, errors, "serve", "--log-predictions", "refused:", words)
    assert snapshot(project) == before


def test_a_log_goes_on_in_the_folder_of_an_earlier_one(project, monkeypatch):
    rows = instances(feature_rows(project, "test", 2))
    for _ in range(2):  # a restarted server
        client = served(monkeypatch, "--log-predictions", "logs")
        assert client.post("/predict", json={"instances": rows}).status_code == 200

    assert len(logged(project / "logs")) == 4


# --- the monitor reads the log as its batch -----------------------------------------------------

def shifted(rows: pd.DataFrame, rules: contract.Contract) -> pd.DataFrame:
    """The same rows in another world: every numeric feature moved by one and a half of its
    standard deviations (within the contract's hard bounds), one carrier flying everything."""
    moved = rows.copy()
    for name in moved.select_dtypes("number"):
        column = rules.columns[name]
        moved[name] = np.clip(moved[name] + 1.5 * moved[name].std(),
                              column.min, column.max)
    moved["carrier"] = "EV"
    return moved


def monitor_decision(capsys: pytest.CaptureFixture, folder: str) -> dict:
    code, errors = lifecycle(capsys, "monitor", "--current", folder)
    assert code == 0, errors
    return json.loads(Path(f"reports/monitor-{folder}/drift.json").read_text())["decision"]


def test_monitor_on_the_log_of_shifted_requests_says_retrain(project, monkeypatch, capsys):
    rules = contract.load(project / "data/contract.yaml")
    usual = feature_rows(project, "train", 600, seed=1)
    moved = shifted(feature_rows(project, "test", 600, seed=2), rules)
    for folder, rows in (("usual", usual), ("shifted", moved)):
        client = served(monkeypatch, "--log-predictions", folder)
        for start in range(0, len(rows), 100):
            answer = client.post("/predict", json={"instances": instances(
                rows.iloc[start:start + 100])})
            assert answer.status_code == 200, answer.text

    calm, alarmed = monitor_decision(capsys, "usual"), monitor_decision(capsys, "shifted")

    assert calm["retrain"] is False, calm
    assert alarmed["retrain"] is True, alarmed
    assert any("drift" in reason for reason in alarmed["reasons"])


def test_monitor_leaves_out_a_line_cut_short_and_names_a_broken_one(project, capsys):
    folder = prediction_log.open_folder(project / "logs")
    rows = instances(feature_rows(project, "test", 5))
    PredictionLog(LogSettings(str(folder)), {}).write(rows, {"predictions": [0] * 5})
    log = folder / LOG_NAME
    log.write_bytes(log.read_bytes() + b'{"time": "2026-')  # a writer killed mid-line

    assert len(prediction_log.read_inputs(folder)) == 5
    log.write_bytes(b"not json\n" + log.read_bytes())
    code, errors = lifecycle(capsys, "monitor", "--current", "logs")
    assert_refused(code, errors, "monitor", "logs/predictions.jsonl: line 1 is not a line of "
                                            "the prediction log")


def test_monitor_on_an_empty_log_says_to_send_requests_first(project, capsys):
    prediction_log.open_folder(project / "logs")

    code, errors = lifecycle(capsys, "monitor", "--current", "logs")

    assert_refused(code, errors, "monitor", "the prediction log holds no rows yet")


@pytest.mark.slow
def test_a_served_log_with_workers_feeds_the_monitor(project, tmp_path, capsys):
    """`lifecycle serve --workers 2 --log-predictions` as a process, requests over HTTP."""
    import httpx

    rows = instances(feature_rows(project, "test", 40))
    with lifecycle_server(project, tmp_path / "server.log", "--workers", "2",
                          "--log-predictions", "served", "--log-max-megabytes", "100",
                          "--log-files", "5") as server, \
            httpx.Client(base_url=server["base_url"], timeout=60) as client:
        for start in range(0, 40, 4):
            assert client.post("/predict", json={"instances": rows[start:start + 4]}
                               ).status_code == 200

    assert len(logged(project / "served")) == 40
    assert "logging predictions in served/" in (tmp_path / "server.log").read_text()
    code, errors = lifecycle(capsys, "monitor", "--current", "served")
    assert code == 0, errors
    report = json.loads((project / "reports/monitor-served/drift.json").read_text())
    assert report["current"]["rows"] == 40
