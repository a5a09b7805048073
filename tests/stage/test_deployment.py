"""Batch scoring and the HTTP API, on the model of the tiny project trained in this process
(conftest's `trained`), made a git repository as a deployed project is."""

import contextlib
import io
import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import uvicorn
from fastapi.testclient import TestClient

from lifecycle import cli
from lifecycle.commands import serve
from lifecycle.config import contract
from lifecycle.core import tables
from lifecycle.core.errors import LifecycleError
from lifecycle.data import contract_checks
from lifecycle.deployment import loading, scoring
from lifecycle.deployment.api import app as api_app

from ..conftest import (
    TRAINED_FILES,
    bin_path,
    commit_all,
    copy_files,
    environment,
    free_port,
    run,
)

RULES = contract.parse({"columns": {
    "when": {"type": "datetime", "role": "feature", "nullable": False},
    "size": {"type": "numeric", "role": "feature", "nullable": False, "min": 0, "max": 10},
    "kind": {"type": "categorical", "role": "feature", "nullable": True,
             "categories": ["a", "b"]},
}})


def test_check_rows_gives_every_broken_rule_per_row():
    frame = pd.DataFrame({"when": ["2013-01-01", "soon", "2013-01-02", "2013-01-03"],
                          "size": ["1", "2", "11", None], "kind": ["a", "c", None, "b"]})

    parsed, reasons = scoring.check_rows(frame, RULES, "batch.csv")

    assert reasons.tolist() == [
        "", "when: wrong type; kind: unknown category", "size: out of range",
        "size: missing value"]
    assert parsed["size"].iloc[0] == 1.0


def test_times_with_different_offsets_are_read_as_the_local_times_they_name():
    # Local times exported across a daylight-saving change carry two offsets.
    frame = pd.DataFrame({"when": ["2013-03-10T01:30-05:00", "2013-03-10T03:30-04:00",
                                   "2013-03-11T08:00"], "size": [1, 2, 3], "kind": "a"})

    parsed, reasons = scoring.check_rows(frame, RULES, "batch.csv")

    assert reasons.tolist() == ["", "", ""]
    assert parsed["when"].dt.hour.tolist() == [1, 3, 8]


def test_a_chunk_where_a_category_is_all_missing_reaches_the_model_as_in_training():
    frame = pd.DataFrame({"when": ["2013-01-01"] * 2, "size": [1, 2],
                          "kind": [float("nan")] * 2})

    parsed, reasons = scoring.check_rows(frame, RULES, "batch.csv")

    assert reasons.tolist() == ["", ""]
    assert parsed["kind"].tolist() == [None, None] and parsed["kind"].dtype == object


def test_a_batch_without_a_needed_column_is_refused_as_a_whole():
    with pytest.raises(LifecycleError, match=r"batch.csv: missing column.*kind"):
        scoring.check_rows(pd.DataFrame({"when": [], "size": []}), RULES, "batch.csv")


@pytest.fixture(scope="module")
def deployed(trained, tmp_path_factory):
    """The trained project's model in a git repository (the API reports the revision), and a
    batch of its test rows with four broken ones. Read only: tests write outside it."""
    repo = tmp_path_factory.mktemp("deployed") / "project"
    shutil.copytree(trained, repo)
    commit_all(repo, "trained")
    folder = tmp_path_factory.mktemp("batch")
    rows = tables.read_parquet(repo / "data/prepared/test.parquet").drop(columns="late").head(500)
    batch = rows.astype({"carrier": object, "temp": object, "distance": object})
    batch.loc[10, "carrier"] = "ZZ"
    batch.loc[20, "temp"] = "hot"
    batch.loc[30, "distance"] = None
    batch.loc[40, "distance"] = -5
    batch.to_csv(folder / "batch.csv", index=False)
    return {"repo": repo, "env": environment(), "folder": folder, "rows": rows,
            "bad": {10: "carrier: unknown category", 20: "temp: wrong type",
                    30: "distance: missing value", 40: "distance: out of range"}}


def predict_in_process(deployed: dict, output: Path, *options: str,
                       batch: Path | None = None) -> str:
    """`lifecycle predict` on the batch (or `batch`), in this process, in the deployed project;
    what it printed."""
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(io.StringIO()) as out:
        patch.chdir(deployed["repo"])
        code = cli.main(["predict", "--input", str(batch or deployed["folder"] / "batch.csv"),
                         "--output", str(output), *options])
    assert code == 0, out.getvalue()
    return out.getvalue()


@pytest.mark.slow  # the installed command, as a user runs it
def test_batch_scoring_writes_predictions_and_a_rejects_file_with_each_reason(deployed,
                                                                             tmp_path):
    repo, folder = deployed["repo"], deployed["folder"]

    output = run([bin_path("lifecycle"), "predict", "--input", str(folder / "batch.csv"),
                  "--output", str(tmp_path / "scored.parquet"), "--chunk-rows", "64"],
                 repo, deployed["env"]).stdout

    assert "500 rows read" in output and "496 scored" in output and "4 rejected" in output
    scored = pd.read_parquet(tmp_path / "scored.parquet")
    rejects = pd.read_csv(tmp_path / "scored.rejects.csv")
    assert dict(zip(rejects["row"], rejects["reason"], strict=True)) == deployed["bad"]
    assert sorted([*scored["row"], *rejects["row"]]) == list(range(500))
    assert np.allclose(scored[["probability_0", "probability_1"]].sum(axis=1), 1)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_chunk_size_does_not_change_the_predictions(deployed, tmp_path):
    for rows in (37, 100_000):
        printed = predict_in_process(deployed, tmp_path / f"chunks{rows}.csv", "--chunk-rows",
                                     str(rows))
        assert "500 rows read" in printed and "4 rejected" in printed

    small, whole = (pd.read_csv(tmp_path / f"chunks{rows}.csv") for rows in (37, 100_000))
    pd.testing.assert_frame_equal(small, whole)


@pytest.fixture(scope="module")
def api(deployed, tmp_path_factory):
    """The app of the deployed project, served by uvicorn on loopback in a thread, and the
    batch scored by `lifecycle predict` (in this process) to compare with."""
    scored = tmp_path_factory.mktemp("scored") / "scored.parquet"
    predict_in_process(deployed, scored, "--chunk-rows", "64")
    repo = deployed["repo"]
    previous = pytest.MonkeyPatch()
    previous.chdir(repo)
    app = api_app.create_app()
    previous.undo()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 300  # generous: a loaded machine starts slowly
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield {"client": client, "port": port, "scored": scored, **deployed}
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def instances(rows: pd.DataFrame) -> list[dict]:
    return json.loads(rows.to_json(orient="records", date_format="iso"))


def test_api_predictions_equal_batch_predictions_for_the_same_rows(api):
    good = api["rows"].drop(index=list(api["bad"])).head(200)
    scored = pd.read_parquet(api["scored"]).set_index("row")

    response = api["client"].post("/predict", json={"instances": instances(good)})

    assert response.status_code == 200
    body = response.json()
    expected = scored.loc[good.index]
    assert body["predictions"] == expected["prediction"].tolist()
    assert [p["1"] for p in body["probabilities"]] == expected["probability_1"].tolist()


@pytest.mark.parametrize("change, field", [
    ({"carrier": "ZZ"}, "carrier"),          # unknown category
    ({"temp": "hot"}, "temp"),               # wrong type
    ({"distance": None}, "distance"),        # required, missing
    ({"distance": -5}, "distance"),          # out of range
    ({"carier": "AA"}, "carier"),            # unknown field
])
def test_a_bad_instance_gets_422_naming_the_field_and_the_server_keeps_serving(api, change,
                                                                             field):
    row = {**instances(api["rows"].head(1))[0], **change}

    response = api["client"].post("/predict", json={"instances": [row]})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == field
    assert api["client"].get("/health").json()["status"] == "ok"


def test_a_nan_value_gets_422_not_500(api):
    row = instances(api["rows"].head(1))[0]
    text = json.dumps({"instances": [{**row, "temp": 0.5}]}).replace("0.5", "NaN")

    response = api["client"].post("/predict", content=text,
                                  headers={"content-type": "application/json"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "temp"


def test_oversized_requests_get_413(api):
    row = instances(api["rows"].head(1))[0]

    too_many = api["client"].post("/predict", json={"instances": [row] * 1001})
    assert too_many.status_code == 413
    assert "at most 1000" in too_many.json()["detail"]

    # A declared body over the limit is refused before the body is read.
    with socket.create_connection(("127.0.0.1", api["port"])) as raw:
        raw.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 5000000\r\n\r\n")
        assert raw.recv(200).startswith(b"HTTP/1.1 413")


def test_metadata_names_the_model_its_inputs_and_the_gate(api):
    metadata = api["client"].get("/metadata").json()

    digest = __import__("hashlib").md5((api["repo"] / "models/model.skops").read_bytes())
    assert metadata["model"]["md5"] == digest.hexdigest()
    assert len(metadata["model"]["git_revision"]) == 40
    names = [field["name"] for field in metadata["inputs"]]
    assert {"scheduled_departure", "carrier", "temp"} <= set(names)
    carrier = next(field for field in metadata["inputs"] if field["name"] == "carrier")
    assert "AA" in carrier["categories"]


def test_categories_read_as_numbers_reach_the_model_as_text_as_the_api_sends_them():
    values = pd.Series([0.0, float("nan"), 2.5, float("inf")])

    assert scoring.category_values(values).tolist() == ["0", None, "2.5", "inf"]
    assert scoring.category_values(pd.Series([True, False])).tolist() == [True, False]


# --- columns the model does not use: ignored by both, misspelt inputs named -------------------

# Not inputs of the model: a contract identifier, a contract column whose name is close to the
# input sched_arr_time, and a field of the client's own.
UNUSED = {"flight": 1545, "sched_dep_time": 515, "request_id": "r-17"}


def test_fields_the_model_does_not_use_are_ignored_by_the_api(api):
    rows = instances(api["rows"].head(3))

    plain = api["client"].post("/predict", json={"instances": rows})
    extended = api["client"].post("/predict",
                                  json={"instances": [{**row, **UNUSED} for row in rows]})

    assert plain.status_code == extended.status_code == 200, extended.text
    assert extended.json() == plain.json()


def test_a_field_close_to_an_input_is_refused_naming_the_input_it_resembles(api):
    row = instances(api["rows"].head(1))[0]
    misspelt = {key: value for key, value in row.items() if key != "temp"} | {"tmp": 40.0}

    response = api["client"].post("/predict", json={"instances": [row, misspelt]})

    # temp may be missing, so without the check the row would be scored without its temperature
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "instances", 1, "tmp"]
    assert "did you mean 'temp'?" in error["msg"] and error["type"] == "misspelt_field"


def test_batch_scoring_ignores_unused_columns_and_warns_once_naming_them(api, tmp_path, capsys):
    rows = api["rows"].drop(index=list(api["bad"])).head(200)
    extended = rows.assign(**UNUSED, carier=rows["carrier"])
    extended.to_csv(tmp_path / "extended.csv", index=False)
    capsys.readouterr()

    predict_in_process(api, tmp_path / "scored.csv", "--chunk-rows", "64",
                       batch=tmp_path / "extended.csv")

    warnings = capsys.readouterr().err.splitlines()
    source = tmp_path / "extended.csv"
    assert warnings == [
        f"lifecycle predict: warning: {source}: column 'carier' is not a model input "
        f"(did you mean 'carrier'?); it is ignored",
        f"lifecycle predict: warning: {source}: 2 column(s) the model does not use are "
        f"ignored: sched_dep_time, request_id"]
    scored = pd.read_csv(tmp_path / "scored.csv")
    expected = pd.read_parquet(api["scored"]).set_index("row").loc[rows.index]
    assert scored["flight"].eq(1545).all()  # an identifier is copied, not ignored
    assert scored["probability_1"].tolist() == expected["probability_1"].tolist()


# --- one validation per request: the request model holds every rule ---------------------------


def test_a_valid_request_is_not_checked_again_with_pandas(api, monkeypatch):
    def checked_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("the pandas contract checks ran on a validated request")

    for module, name in ((scoring, "rule_failures"), (contract_checks, "coerce_types"),
                         (contract_checks, "check_rules")):
        monkeypatch.setattr(module, name, checked_again)

    response = api["client"].post("/predict",
                                  json={"instances": instances(api["rows"].head(5))})

    assert response.status_code == 200, response.text


def test_dates_far_from_training_and_with_offsets_are_scored_as_batch_scoring_scores_them(
        api, tmp_path):
    # pandas 3 holds dates as microseconds: years 1 to 9999 fit, as they fit a JSON datetime,
    # so neither path refuses what the other accepts.
    when = ["1000-01-01T07:30:00", "9999-12-31T07:30:00", "2013-12-01T07:30:00-05:00",
            "2013-12-01T07:30:00"]
    rows = api["rows"].head(len(when)).assign(scheduled_departure=when)
    rows.to_csv(tmp_path / "dates.csv", index=False)
    predict_in_process(api, tmp_path / "dates_scored.csv", batch=tmp_path / "dates.csv")
    scored = pd.read_csv(tmp_path / "dates_scored.csv")

    response = api["client"].post("/predict", json={"instances": instances(rows)})

    assert response.status_code == 200, response.text
    assert scored["row"].tolist() == list(range(len(when)))  # none rejected
    assert [p["1"] for p in response.json()["probabilities"]] == pytest.approx(
        scored["probability_1"].tolist(), rel=1e-12)


class Halves:
    """A stand-in classifier of two inputs that answers 0.5 for every row."""

    feature_names_in_ = np.array(["engines", "size"], dtype=object)
    classes_ = np.array([0, 1])

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.tile([0.5, 0.5], (len(frame), 1))


@pytest.mark.parametrize("value, status", [
    ({"engines": 2}, 200), ({"engines": 2.0}, 200), ({"engines": 3}, 422),
    ({"engines": 2.5}, 422), ({"size": "m"}, 200), ({"size": "xl"}, 422), ({}, 200)])
def test_categories_of_number_and_text_columns_are_checked_by_the_request_model(value, status):
    # Only the pandas checks looked at these before, and read 2.0 as the text "2.0", not "2".
    rules = contract.parse({"columns": {
        "engines": {"type": "numeric", "role": "feature", "nullable": True,
                    "categories": [1, 2, 4]},
        "size": {"type": "text", "role": "feature", "nullable": True, "categories": ["s", "m"]},
    }})
    client = TestClient(api_app.build_app(Halves(), rules, 0.5, {}))

    response = client.post("/predict", json={"instances": [value]})

    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["detail"][0]["loc"][-1] == next(iter(value))


# --- the gate verdict at start-up, in /health and in /metadata ---------------------------------


@pytest.mark.parametrize("verdict", ["VALIDATED", "REJECTED", None])
def test_serve_warns_at_start_up_unless_the_model_is_validated_and_health_says_so(
        trained, tmp_path, monkeypatch, capsys, verdict):
    project = copy_files(trained, tmp_path, TRAINED_FILES)
    gate = project / "reports/gate.json"
    if verdict is None:
        gate.unlink()
    else:
        gate.write_text(json.dumps({**json.loads(gate.read_text()), "verdict": verdict}))
    monkeypatch.chdir(project)
    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.update(app=app))

    serve.run("127.0.0.1", free_port())

    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    client = TestClient(started["app"])
    assert client.get("/health").json() == {"status": "ok", "gate": verdict}
    assert client.get("/metadata").json()["gate"] == verdict
    if verdict == "VALIDATED":
        assert warnings == []
    else:
        (warning,) = warnings
        assert warning.startswith("lifecycle serve: warning: serving a model that is not "
                                  "VALIDATED: ")
        assert (f"its gate verdict is {verdict}" if verdict else
                "no gate verdict (reports/gate.json not found)") in warning


# --- text that is not Unicode ------------------------------------------------------------------

JSON_BODY = {"content-type": "application/json"}


@pytest.mark.parametrize("runtime", loading.RUNTIMES)
def test_a_lone_surrogate_in_a_text_field_gets_422_naming_it_on_either_runtime(trained,
                                                                              monkeypatch,
                                                                              runtime):
    """JSON can escape half a UTF-16 pair ("\\ud800"), which is not Unicode: no encoder of the
    model can take it, so the field holding it is refused, as a field of categories refuses it."""
    monkeypatch.chdir(trained)
    client = TestClient(api_app.create_app(runtime), raise_server_exceptions=False)
    row = instances(pd.read_parquet("data/prepared/test.parquet").drop(columns="late").head(1))[0]

    def post(**values: str) -> httpx.Response:
        body = json.dumps({"instances": [{**row, **values}]})  # escapes the surrogate
        return client.post("/predict", content=body.encode(), headers=JSON_BODY)

    for field in ("dest", "plane_manufacturer", "origin"):  # free text, nullable, categories
        response = post(**{field: "A\ud800"})
        assert response.status_code == 422, response.text
        assert [item["loc"] for item in response.json()["detail"]] == [
            ["body", "instances", 0, field]]
    misspelt = post(**{"carrie\udfff": "AA"})  # a field name holding one comes back escaped
    assert misspelt.status_code == 422
    assert misspelt.json()["detail"][0]["loc"][-1] == "carrie\\udfff"
    assert post(plane_manufacturer="Ærø \U0001f600").status_code == 200  # Unicode still scores


# --- a server whose model is missing or damaged fails fast, whatever --workers --------------------

# Seconds a failing start may take before the test gives up: a few on an idle machine, and
# generous for a loaded one; the test asserts the exit, not its speed.
FAIL_FAST_LIMIT = 120
DAMAGES = {
    "missing": lambda path: path.unlink(),
    "truncated": lambda path: path.write_bytes(path.read_bytes()[:1000]),
    "random bytes": lambda path: path.write_bytes(bytes(range(256)) * 20),
}


@pytest.mark.slow  # servers as processes
@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("runtime", loading.RUNTIMES)
@pytest.mark.parametrize("damage", DAMAGES)
def test_serve_with_a_missing_or_damaged_model_exits_with_one_line_before_any_worker_starts(
        trained, tmp_path, workers, runtime, damage):
    from ..conftest import stop_process_tree

    project = copy_files(trained, tmp_path / "project", TRAINED_FILES)
    model = Path("models/model.onnx" if runtime == "onnx" else "models/model.skops")
    DAMAGES[damage](project / model)
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [bin_path("lifecycle"), "serve", "--port", str(free_port()), "--workers", workers,
             "--runtime", runtime], cwd=project, env=environment(), stdout=stdout, stderr=stderr)
    try:
        code = process.wait(timeout=FAIL_FAST_LIMIT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {FAIL_FAST_LIMIT} s:\n{err.read_text()}")
    finally:
        stop_process_tree(process)

    errors, output = err.read_text(), out.read_text()
    assert code == 1, errors
    (line,) = errors.splitlines()
    assert line.startswith(f"lifecycle serve: error: {model}: ")
    assert "Traceback" not in errors + output
    assert "serving the model" not in output  # refused before uvicorn started


def test_a_worker_that_cannot_load_the_model_stops_the_server_rather_than_restarting(
        trained, tmp_path, monkeypatch, capsys):
    """Should the model break after `serve` checked it, a worker exits with uvicorn's start-up
    failure code, on which uvicorn stops every worker instead of starting this one again."""
    from uvicorn.config import STARTUP_FAILURE

    project = copy_files(trained, tmp_path, TRAINED_FILES)
    (project / "models/model.skops").write_bytes(b"not a model")
    monkeypatch.chdir(project)
    monkeypatch.setenv(api_app.RUNTIME_VARIABLE, "skops")

    with pytest.raises(SystemExit) as exit:
        api_app.worker_app()

    assert exit.value.code == STARTUP_FAILURE
    assert capsys.readouterr().err.startswith(
        "lifecycle serve: error: models/model.skops: not a readable skops model file")
