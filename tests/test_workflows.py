"""The GitHub workflows: valid YAML, valid shell, and wired to the commands tested elsewhere."""

import re
import subprocess

import pytest
import yaml

from lifecycle.commands import report

from .conftest import ROOT

WORKFLOWS = ROOT / ".github/workflows"


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads `on` as true
    return workflow


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


@pytest.mark.parametrize("name", sorted(path.name for path in WORKFLOWS.glob("*.yml")))
def test_every_run_step_is_valid_bash(name, tmp_path):
    for step in steps(load(name)):
        if "run" in step:
            # GitHub substitutes ${{ ... }} before the shell sees the script.
            script = re.sub(r"\$\{\{[^}]*\}\}", "x", step["run"])
            checked = subprocess.run(["bash", "-n"], input=script, text=True,
                                     capture_output=True)
            assert checked.returncode == 0, f"{name}: {step}\n{checked.stderr}"


def test_the_test_workflow_runs_the_same_script_as_ci():
    workflow = load("test.yml")

    assert {"push", "pull_request"} <= set(workflow["on"])
    assert [step["run"] for step in steps(workflow) if "run" in step] == ["bash .ci/run"]
    assert (ROOT / ".ci/run").is_file()


def test_the_pull_request_workflow_reports_comments_once_and_gates():
    workflow = load("model-report.yml")
    runs = [step.get("run", "") for step in steps(workflow)]

    assert set(workflow["on"]) == {"pull_request"}
    assert workflow["permissions"]["pull-requests"] == "write"
    checkout = next(step for step in steps(workflow) if step.get("uses", "").startswith(
        "actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0  # the base revision must be in the clone
    assert any("lifecycle report --base" in run and "--output model-report.md" in run
               for run in runs)
    posting = next(run for run in runs if "gh api" in run)
    assert report.MARKER in posting  # finds the comment the report posted before
    assert "PATCH" in posting and "body=@model-report.md" in posting
    assert runs[-1].strip() == "lifecycle gate"  # the last step fails the check on REJECTED

