"""Batch scoring and the HTTP API, on the model of the tiny project trained in this process
(conftest's `trained`), made a git repository as a deployed project is."""

import contextlib
import io
import json
import shutil
import socket
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import uvicorn

from lifecycle import cli, contract, scoring, tables
from lifecycle.commands import serve
from lifecycle.errors import LifecycleError

from .conftest import bin_path, environment, free_port, run

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
    for command in (["git", "init", "-q"], ["git", "config", "user.name", "test"],
                    ["git", "config", "user.email", "test@example.com"], ["git", "add", "-A"],
                    ["git", "commit", "-qm", "trained"]):
        run(command, repo)
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


def predict_in_process(deployed: dict, output: Path, *options: str) -> str:
    """`lifecycle predict` on the batch, in this process, in the deployed project; what it
    printed."""
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(io.StringIO()) as out:
        patch.chdir(deployed["repo"])
        code = cli.main(["predict", "--input", str(deployed["folder"] / "batch.csv"),
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
    app = serve.create_app()
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
    assert api["client"].get("/health").json() == {"status": "ok"}


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
