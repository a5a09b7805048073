"""Judgement on a table the template never saw: `lifecycle init` and the stages, in this
process, and the gate's verdict a reviewer would sign. A model that does not beat its linear
baseline, or that reads the parts of its target, is REJECTED with the reason; a model that
learns what a linear one cannot is VALIDATED."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lifecycle import cli

from ..conftest import run_stages
from .test_hostile_params import template_project

STAGES = ("ingest", "prepare", "featurize", "train", "evaluate")
pytestmark = pytest.mark.slow  # five stages on each table, end to end


def verdict_of(folder: Path, table: pd.DataFrame, target: str, capsys) -> dict:
    """init on `table`, then the stages to the gate; the gate's verdict."""
    project = template_project(folder)
    table.to_csv(project / "table.csv", index=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        assert cli.main(["init", "--data", "table.csv", "--target", target]) == 0, \
            capsys.readouterr().err
    run_stages(project, STAGES)
    return json.loads((project / "reports/gate.json").read_text())


def failed(gate: dict) -> list[str]:
    return [row["criterion"] for row in gate["criteria"] if row["passed"] is False]


def inputs(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x1": rng.normal(size=rows), "x2": rng.normal(size=rows),
                         "x3": rng.uniform(-3, 3, rows),
                         "group": rng.choice(["a", "b", "c"], rows)})


def test_a_model_that_does_not_beat_its_linear_baseline_is_rejected(tmp_path, capsys):
    table = inputs(800, 0)
    rng = np.random.default_rng(1)
    table["y"] = 2 * table["x1"] - 3 * table["x2"] + rng.normal(0, 1, len(table))

    gate = verdict_of(tmp_path / "project", table, "y", capsys)

    assert gate["verdict"] == "REJECTED"
    assert "rmse lift over the linear baseline (low end of its 95% paired interval)" in \
        failed(gate)


def test_a_model_that_reads_the_parts_of_its_target_is_rejected(tmp_path, capsys):
    table = inputs(800, 2)
    rng = np.random.default_rng(3)
    table["casual"] = rng.gamma(2.0, 12.0, len(table)).round()
    table["registered"] = rng.gamma(3.0, 20.0, len(table)).round()
    table["bikers"] = table["casual"] + table["registered"]

    gate = verdict_of(tmp_path / "project", table, "bikers", capsys)

    assert gate["verdict"] == "REJECTED"
    reasons = " / ".join(failed(gate))
    assert "leakage across columns: casual, registered" in reasons
    assert "too good to be true" in reasons


def test_a_model_that_learns_what_a_linear_one_cannot_is_validated(tmp_path, capsys):
    table = inputs(1500, 4)
    rng = np.random.default_rng(5)
    table["y"] = (8 * np.sin(2 * table["x3"]) + 4 * (table["x1"] > 0.5)
                  + 3 * (table["group"] == "b") + rng.normal(0, 1.5, len(table)))

    gate = verdict_of(tmp_path / "project", table, "y", capsys)

    assert gate["verdict"] == "VALIDATED", failed(gate)
    assert not failed(gate)
