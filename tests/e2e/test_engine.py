"""The Dask engine writes what the pandas engine writes: the same split membership, drop counts
by reason, profiles and file bytes, on data with every kind of fault, over several partitions.

Each test starts a local Dask cluster (worker processes), hence the slow marker.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lifecycle.core import engine, tables
from lifecycle.core.errors import LifecycleError
from lifecycle.data import sources

from ..conftest import (
    SAMPLE_FRACTION,
    TINY_PARAMS,
    TRAINED_FILES,
    bin_path,
    copy_example,
    copy_files,
    copy_project,
    environment,
    run,
    run_stages,
    set_param,
)

pytestmark = pytest.mark.slow

OUTPUTS = ("data/prepared/train.parquet", "data/prepared/test.parquet",
           "data/prepared/current.parquet", "reports/data_quality.json",
           "reports/data_quality.md", "data/features/train.parquet", "models/features.skops")
PARTITION_ROWS = 1500  # several partitions of the test's few thousand rows


@pytest.fixture(scope="module")
def raw_flights(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """A sample of the flights as ingest writes them, with faults of every kind prepare
    handles, spread over the partitions."""
    project = tmp_path_factory.mktemp("raw")
    copy_example(project)
    set_param(project, "source.sample_fraction", TINY_PARAMS["source.sample_fraction"])
    run_stages(project, ("ingest",))
    raw = pd.read_parquet(project / "data/raw/dataset.parquet")
    rows = np.random.default_rng(0).choice(len(raw), size=60, replace=False)
    raw.loc[rows[:10], "late"] = np.nan                        # missing target
    raw.loc[rows[10:20], "distance"] = np.nan                  # missing value, not nullable
    raw.loc[rows[20:30], "humid"] = 150.0                      # out of range
    raw.loc[rows[30:40], "carrier"] = "ZZ"                     # unknown category
    raw.loc[rows[40:50], "temp"] = np.inf                      # dropped: out of range
    copies = raw.iloc[rows[50:]].copy()                        # exact duplicates, later rows
    return pd.concat([raw, copies, raw.iloc[[3, 4]]], ignore_index=True)


def file_hashes(project: Path) -> dict[str, str]:
    return {name: hashlib.md5((project / name).read_bytes()).hexdigest() for name in OUTPUTS}


def prepared_with(engine_name: str, raw: pd.DataFrame, folder: Path, monkeypatch,
                  **params: object) -> Path:
    project = copy_example(folder)
    for dotted, value in {**TINY_PARAMS, **params, "engine": engine_name}.items():
        set_param(project, dotted, value)
    monkeypatch.setattr(tables, "ROW_GROUP_ROWS", PARTITION_ROWS)
    (project / "data/raw").mkdir(parents=True)
    tables.write_parquet(raw, project / "data/raw/dataset.parquet")
    run_stages(project, ("prepare", "featurize"))
    return project


def prepared_and_warnings(engine_name: str, raw: pd.DataFrame, folder: Path, monkeypatch,
                          capsys, **params: object) -> tuple[Path, list[str]]:
    """`prepared_with`, and the warnings the stage printed (its own lines only: a library's
    logging noise on stderr, such as a handler left on a stream an earlier test closed, is not
    the stage's)."""
    capsys.readouterr()
    project = prepared_with(engine_name, raw, folder, monkeypatch, **params)
    return project, [line for line in capsys.readouterr().err.splitlines()
                     if line.startswith("lifecycle prepare: warning:")]


@pytest.mark.parametrize("split", [
    {"split.method": "out_of_time"},
    {"split.method": "random", "split.current_fraction": 0.1},
    # Exact duplicate rows kept (and warned about) rather than dropped.
    {"split.method": "random", "split.current_fraction": 0.1, "validation.duplicate_row": "warn"},
])
def test_both_engines_write_the_same_files(raw_flights, tmp_path, monkeypatch, capsys, split):
    on_pandas, pandas_warnings = prepared_and_warnings("pandas", raw_flights, tmp_path / "pandas",
                                                       monkeypatch, capsys, **split)
    on_dask, dask_warnings = prepared_and_warnings("dask", raw_flights, tmp_path / "dask",
                                                   monkeypatch, capsys, **split)

    assert len(raw_flights) > 3 * PARTITION_ROWS  # the engine really worked in parts
    report = json.loads((on_dask / "reports/data_quality.json").read_text())
    dropped = report["rows_dropped"]
    keeps_duplicates = split.get("validation.duplicate_row") == "warn"
    for reason in ("missing_target", "duplicate_row", "missing_value:distance",
                   "out_of_range:humid", "out_of_range:temp"):
        if reason == "duplicate_row" and keeps_duplicates:
            assert dropped[reason] == 0
            continue
        assert dropped[reason] > 0, reason  # every fault was met, and counted
    assert report["duplicates_found"]["rows"] >= 12  # the copies, and any the sample had
    # What the policy did with them, as data_quality.md and the model card say it.
    duplicates = report["decisions"]["duplicate_row"]
    assert duplicates["outcome"] == ("kept" if keeps_duplicates else "dropped")
    assert duplicates["repeated"] > 0
    assert keeps_duplicates or duplicates["repeated"] == dropped["duplicate_row"]
    repeated = [line for line in dask_warnings if "repeat an earlier row" in line]
    assert len(repeated) == keeps_duplicates
    assert dask_warnings == pandas_warnings
    assert {f["rule"] for f in report["validation"]} >= {"unknown_category", "out_of_range"}
    for name in ("train", "test", "current"):
        assert report["splits"][name]["rows"] > 0
    assert file_hashes(on_dask) == file_hashes(on_pandas)


@pytest.mark.parametrize("policies, words", [
    ({"validation.out_of_range": "fail", "validation.unknown_category": "fail"},
     ("'ZZ'", "values outside [0, 100]")),
    ({"validation.duplicate_row": "fail"},
     ("repeat an earlier row in every column", "set validation.duplicate_row")),
])
def test_a_failing_rule_stops_both_engines_with_the_same_message(raw_flights, tmp_path,
                                                                 monkeypatch, policies, words):
    messages = []
    for engine_name in ("pandas", "dask"):
        with pytest.raises(LifecycleError) as error:
            prepared_with(engine_name, raw_flights, tmp_path / engine_name, monkeypatch,
                          **policies)
        messages.append(str(error.value))
    assert messages[0] == messages[1]
    assert all(word in messages[0] for word in words)


def test_a_resample_drawn_on_the_engine_equals_the_pandas_one(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "ROW_GROUP_ROWS", 700)
    table = pd.DataFrame({"x": np.arange(1000) * 1.5, "name": [f"n{i % 7}" for i in range(1000)]})
    tables.write_parquet(sources.sample_rows(table, 2.5, 7), tmp_path / "pandas.parquet")
    with engine.dask_client():
        rows = sources.write_resample(table, 2.5, 7, tmp_path / "dask.parquet")
    assert rows == 2500
    assert (tmp_path / "dask.parquet").read_bytes() == (tmp_path / "pandas.parquet").read_bytes()


def test_dvc_records_the_same_hashes_for_both_engines(tmp_path):
    """Switching the engine reruns the data stages (their params changed) and changes no
    output's hash in dvc.lock, so nothing downstream of them would rerun."""
    dvc, env = bin_path("dvc"), environment()
    repo = copy_project(tmp_path / "repo")
    set_param(repo, "source.sample_fraction", SAMPLE_FRACTION)
    run([dvc, "repro", "featurize"], repo, env)
    before = outputs_in_lock(repo)
    set_param(repo, "engine", "dask")
    output = run([dvc, "repro", "featurize"], repo, env).stdout
    assert "Running stage 'prepare'" in output
    assert outputs_in_lock(repo) == before


def outputs_in_lock(repo: Path) -> dict[str, str]:
    import yaml

    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    return {out["path"]: out["md5"] for stage in ("ingest", "prepare", "featurize")
            for out in lock["stages"][stage]["outs"]}


def test_the_monitor_reports_the_same_drift_on_both_engines(trained_project, tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "ROW_GROUP_ROWS", 200)
    reports = {}
    for engine_name in ("pandas", "dask"):
        project = copy_files(trained_project, tmp_path / engine_name,
                             (*TRAINED_FILES, "data/prepared/current.parquet",
                              "reports/evaluation/metrics.json"))
        current = project / "data/prepared/current.parquet"
        tables.write_parquet(pd.read_parquet(current), current)  # in several partitions
        set_param(project, "engine", engine_name)
        run_stages(project, ("monitor",))
        reports[engine_name] = json.loads((project / "reports/monitor/drift.json").read_text())
    assert reports["dask"]["current"]["rows"] > 3 * 200
    assert reports["dask"]["performance"] is not None
    assert reports["dask"] == reports["pandas"]


@pytest.mark.parametrize("runtime", ["skops", "onnx"])
def test_batch_scoring_writes_the_same_files_on_both_engines(trained_project, tmp_path,
                                                             monkeypatch, runtime):
    from lifecycle.commands import predict

    rows = pd.read_parquet(trained_project / "data/prepared/test.parquet").head(900)
    rows = rows.drop(columns="late").astype({"distance": object})
    rows.loc[rows.index[::97], "distance"] = "far"  # rejected, with its reason
    written = {}
    for engine_name in ("pandas", "dask"):
        project = copy_files(trained_project, tmp_path / engine_name, TRAINED_FILES)
        set_param(project, "engine", engine_name)
        monkeypatch.chdir(project)
        rows.to_csv("rows.csv", index=False)
        predict.run("rows.csv", "scored.parquet", chunk_rows=200, runtime=runtime)
        written[engine_name] = [(project / name).read_bytes()
                                for name in ("scored.parquet", "scored.rejects.csv")]
    rejects = written["dask"][1].decode().splitlines()
    assert len(rejects) - 1 == len(rows.index[::97]) and "distance" in rejects[1]
    assert len(pd.read_parquet(tmp_path / "dask/scored.parquet")) == len(rows) - len(rejects) + 1
    assert written["dask"] == written["pandas"]


@pytest.mark.parametrize("address, reason", [
    ("::::", "ipv6 needs brackets"),
    ("not a url", "missing port number"),
    ("tcp://localhost:port", "invalid literal for int()"),
    ("ftp://host:8786", "unknown address scheme 'ftp'"),
])
def test_a_scheduler_address_dask_cannot_parse_is_one_error_naming_the_variable(monkeypatch,
                                                                              address, reason):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)

    with pytest.raises(LifecycleError) as error, engine.dask_client():
        pytest.fail("connected")

    message = str(error.value)
    assert message.startswith(f"DASK_SCHEDULER_ADDRESS={address!r}: not a scheduler address (")
    assert reason in message and "unset it to start a local cluster" in message
