"""Fairness in evaluate, end to end on a table with a sensitive column: `lifecycle init` suggests
marking it, and once marked, evaluate reports its groups in details.json and the model card, and
the gate judges criteria.fairness."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lifecycle import cli

from ..conftest import run_stages, set_param
from .test_hostile_params import template_project

STAGES = ("ingest", "prepare", "featurize", "train", "evaluate")
pytestmark = pytest.mark.slow  # five stages on a table, end to end


def loans(rows: int = 1600, seed: int = 0) -> pd.DataFrame:
    """Approvals that depend on `sex` by construction: a model that learns them selects one
    group far more often than the other."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], rows)
    income = rng.normal(size=rows)
    score = income + 2.5 * (sex == "male") - 1.25 + rng.normal(0, 0.5, rows)
    return pd.DataFrame({"income": income, "years_employed": rng.uniform(0, 30, rows),
                         "sex": sex, "approved": np.where(score > 0, "yes", "no")})


def mark_sensitive(project: Path, column: str) -> None:
    path = project / "data/contract.yaml"
    rules = yaml.safe_load(path.read_text())
    rules["columns"][column]["sensitive"] = True
    path.write_text(yaml.safe_dump(rules, sort_keys=False))


def test_a_model_that_treats_groups_differently_is_reported_per_group_and_rejected(
        tmp_path, capsys):
    project = template_project(tmp_path / "project")
    loans().to_csv(project / "table.csv", index=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        assert cli.main(["init", "--data", "table.csv", "--target", "approved"]) == 0
    printed = capsys.readouterr().out
    assert "note: sex may be sensitive" in printed
    written = yaml.safe_load((project / "data/contract.yaml").read_text())["columns"]
    assert not any("sensitive" in column for column in written.values())  # only suggested

    mark_sensitive(project, "sex")
    set_param(project, "criteria.fairness", {"max_difference": 0.2, "min_ratio": None,
                                             "measure": None})
    set_param(project, "evaluate.bootstrap_resamples", 20)
    set_param(project, "evaluate.slice_min_rows", 50)  # the groups' gaps are judged over these
    run_stages(project, STAGES)

    details = json.loads((project / "reports/evaluation/details.json").read_text())
    fairness = details["fairness"]
    assert fairness["measure"] == "selection_rate"
    found = fairness["columns"]["sex"]
    groups = {group["group"]: group for group in found["groups"]}
    assert set(groups) == {"female", "male"}
    assert sum(group["rows"] for group in groups.values()) == \
        json.loads((project / "reports/evaluation/metrics.json").read_text())["test_rows"]
    female, male = (groups[name]["values"]["selection_rate"] for name in ("female", "male"))
    assert male > 0.7 and female < 0.3  # the model learnt the groups' difference
    assert found["difference"]["selection_rate"] == pytest.approx(male - female, abs=1e-3)
    assert found["ratio"]["selection_rate"] == pytest.approx(female / male, abs=1e-3)
    for group in groups.values():
        assert group["small"] is False
        low, high = group["intervals"]["selection_rate"]
        assert low <= group["values"]["selection_rate"] <= high
        assert set(group["values"]) == {"roc_auc", "selection_rate", "true_positive_rate",
                                        "false_positive_rate"}

    gate = json.loads((project / "reports/gate.json").read_text())
    rows = {row["criterion"]: row for row in gate["criteria"]}
    difference = rows["fairness: largest selection_rate difference between groups of sex"]
    assert difference["passed"] is False and difference["threshold"] == 0.2
    assert rows["fairness: smallest selection_rate ratio between groups of sex"]["passed"] is None
    assert gate["verdict"] == "REJECTED"

    card = (project / "reports/model_card.md").read_text()
    assert "## Fairness" in card
    assert "Groups of the sensitive column `sex`" in card
    assert (project / "reports/evaluation/plots/images/fairness.png").read_bytes().startswith(
        b"\x89PNG")
