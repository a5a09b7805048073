"""Deployment constraints (criteria.deployment): `lifecycle gate` measures the deployed model's
file size and single-row latency and judges them beside evaluate's criteria."""

import json
import shutil
from pathlib import Path

import pytest

from lifecycle import cli
from lifecycle.evaluation import gate

from ..conftest import TRAINED_FILES, copy_files, set_param


@pytest.fixture
def deployed(trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The trained project with a VALIDATED verdict of one criterion, as the working directory."""
    project = copy_files(trained, tmp_path / "project", TRAINED_FILES)
    (project / "reports/gate.json").write_text(json.dumps({"verdict": "VALIDATED", "criteria": [
        {"criterion": "test roc_auc", "value": 0.7, "comparison": ">=", "threshold": 0.6,
         "passed": True}]}))
    monkeypatch.chdir(project)
    return project


def gate_output(capsys: pytest.CaptureFixture) -> tuple[int, list[str]]:
    code = cli.main(["gate"])
    return code, capsys.readouterr().out.strip().splitlines()


def row_of(lines: list[str], words: str) -> str:
    return next(line for line in lines if words in line)


@pytest.mark.parametrize("runtime, model", [("onnx", "models/model.onnx"),
                                             ("skops", "models/model.skops")])
def test_a_model_file_larger_than_allowed_is_rejected_with_its_size(
        deployed, capsys, runtime, model):
    megabytes = (deployed / model).stat().st_size / 1e6
    set_param(deployed, "criteria.deployment", {"runtime": runtime,
                                                "max_model_megabytes": megabytes / 2})

    code, lines = gate_output(capsys)

    assert code == 1
    row = row_of(lines, f"{model} size in megabytes")
    assert f"{megabytes:.3f}".rstrip("0") in row and row.endswith("FAIL")
    assert lines[-1].startswith("REJECTED: 2 criteria judged, 1 failed (models/")


def test_constraints_the_model_meets_keep_the_verdict_and_show_what_was_measured(
        deployed, capsys):
    set_param(deployed, "criteria.deployment", {"runtime": "onnx", "max_model_megabytes": 100,
                                                "max_latency_ms": 1000, "latency_calls": 20})

    code, lines = gate_output(capsys)

    assert code == 0
    latency = row_of(lines, "single-row latency of the onnx runtime in ms, median of 20 calls")
    measured = float(latency.split()[-4])
    assert 0 < measured < 1000 and latency.endswith("pass")
    assert lines[-1] == "VALIDATED: 3 criteria judged, 0 failed; all judged"


def test_a_latency_above_the_maximum_rejects(deployed, capsys):
    # No model answers in a nanosecond: the measured median always exceeds this.
    set_param(deployed, "criteria.deployment", {"runtime": "skops", "max_latency_ms": 1e-6,
                                                "latency_calls": 5})

    code, lines = gate_output(capsys)

    assert code == 1
    assert row_of(lines, "single-row latency of the skops runtime").endswith("FAIL")


def test_without_thresholds_nothing_is_measured(deployed, capsys):
    (deployed / "models/model.onnx").unlink()  # measuring would need it
    set_param(deployed, "criteria.deployment", {"runtime": "onnx", "max_model_megabytes": None,
                                                "max_latency_ms": None})

    code, lines = gate_output(capsys)

    assert (code, lines[-1]) == (0, "VALIDATED: 1 criteria judged, 0 failed; all judged")
    assert not any("deployment" in line for line in lines)


def test_a_rejected_verdict_stays_rejected_whatever_the_constraints(deployed, capsys):
    verdict = json.loads((deployed / "reports/gate.json").read_text())
    verdict["verdict"], verdict["criteria"][0]["passed"] = gate.REJECTED, False
    (deployed / "reports/gate.json").write_text(json.dumps(verdict))
    set_param(deployed, "criteria.deployment", {"max_model_megabytes": 100})

    code, lines = gate_output(capsys)

    assert code == 1 and lines[-1].startswith("REJECTED: 2 criteria judged, 1 failed (test roc")


def test_a_missing_deployed_model_is_one_line_naming_it(deployed, capsys):
    shutil.move(deployed / "models/model.onnx", deployed / "models/elsewhere.onnx")
    set_param(deployed, "criteria.deployment", {"max_model_megabytes": 100})

    code = cli.main(["gate"])

    assert code != 0
    assert "models/model.onnx: not found" in capsys.readouterr().err
