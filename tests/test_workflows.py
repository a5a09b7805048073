"""The GitHub workflows: valid YAML, valid shell, and wired to the commands tested elsewhere."""

import json
import re
import shlex
import subprocess

import pytest
import yaml

from lifecycle.commands import report

from .conftest import ROOT, bin_path, copy_project, environment, run

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



# ---- the sweep across machines -------------------------------------------------------------

SWEPT = "train.hyperparameters.hist_gradient_boosting.learning_rate"


def run_plan(tmp_path, param: str, values: str) -> tuple[subprocess.CompletedProcess, str]:
    """The sweep's first step, as GitHub runs it: the inputs in the environment; returns the
    result and what it wrote to $GITHUB_OUTPUT."""
    plan = load("sweep.yml")["jobs"]["plan"]["steps"][0]
    output = tmp_path / "github_output"
    output.write_text("")
    env = {"PATH": "/usr/bin:/bin", "PARAM": param, "VALUES": values, "RUN": "7",
           "GITHUB_OUTPUT": str(output)}
    done = subprocess.run(["bash", "-c", plan["run"]], env=env, cwd=tmp_path,
                          capture_output=True, text=True)
    return done, output.read_text()


def dvc_commands(script: str) -> list[list[str]]:
    """Each `dvc ...` command of a shell script as arguments, its variables replaced by a word."""
    script = script.replace("\\\n", " ")
    found = re.findall(r"(?:^|\$\(|\|\||&&|;|\bthen)\s*dvc\s+([^;|&)\n]*)", script, re.M)
    return [shlex.split(re.sub(r"\$\{?\w+\}?", "x", command)) for command in found]


def test_the_sweep_workflow_takes_its_inputs_only_through_the_environment():
    workflow = load("sweep.yml")

    assert set(workflow["on"]) == {"workflow_dispatch"}
    assert set(workflow["on"]["workflow_dispatch"]["inputs"]) == {"param", "values"}
    for step in steps(workflow):
        # No expression is pasted into a script, where an input could become shell code.
        assert "${{" not in step.get("run", ""), step
    env = {key: value for step in steps(workflow) for key, value in step.get("env", {}).items()}
    assert env["PARAM"] == "${{ inputs.param }}" and env["VALUES"] == "${{ inputs.values }}"
    assert env["VALUE"] == "${{ matrix.value }}" and env["NAME"] == "${{ matrix.name }}"


def test_the_sweep_plan_names_one_experiment_per_value(tmp_path):
    done, output = run_plan(tmp_path, SWEPT, "0.02, 0.05,0.1")

    assert done.returncode == 0, done.stdout
    lines = dict(line.split("=", 1) for line in output.splitlines())
    matrix = json.loads(lines["matrix"])["include"]
    names = [f"learning_rate-{value}-run7" for value in ("0.02", "0.05", "0.1")]
    assert matrix == [{"value": value, "name": name}
                      for value, name in zip(("0.02", "0.05", "0.1"), names, strict=True)]
    assert lines["names"].split() == names
    for name in names:  # a valid name of a DVC experiment: a git ref under refs/exps/
        subprocess.run(["git", "check-ref-format", f"refs/exps/ab/cdef/{name}"], check=True)


@pytest.mark.parametrize(("param", "values"), [
    (SWEPT, "0.1;touch pwned"),
    (SWEPT, "$(touch pwned)"),
    (SWEPT, "`touch pwned`"),
    (SWEPT, "0.1\nmatrix=injected"),
    (SWEPT, "0.1,0.1"),
    (SWEPT, "1..2"),
    (SWEPT, " , "),
    ("train.cv_folds;touch pwned", "2"),
    ("params.yaml:train.cv_folds", "2"),
    ("-n.x", "2"),
])
def test_the_sweep_plan_refuses_inputs_that_are_not_a_key_and_plain_values(tmp_path, param,
                                                                            values):
    done, output = run_plan(tmp_path, param, values)

    assert done.returncode == 1
    assert done.stdout.startswith("::error::")
    assert output == ""  # no matrix: no job runs
    assert not (tmp_path / "pwned").exists()


def test_the_sweep_runs_the_commands_the_shared_sweep_test_runs():
    from dvc.cli import parse_args

    workflow = load("sweep.yml")
    jobs = workflow["jobs"]
    experiment, summary = jobs["experiment"], jobs["summary"]
    assert experiment["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert experiment["strategy"]["fail-fast"] is False
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(experiment["env"])
    for job in (experiment, summary):
        checkout = next(step for step in job["steps"]
                        if step.get("uses", "").startswith("actions/checkout"))
        assert checkout["with"]["fetch-depth"] == 0  # dvc exp needs the history
    assert summary["needs"] == ["plan", "experiment"] and "cancelled()" in summary["if"]

    commands = [command for step in steps(workflow)
                for command in dvc_commands(step.get("run", ""))]
    for command in commands:
        parse_args(command)  # each command and option exists in the pinned DVC
    assert ["exp", "run", "-n", "x", "-S", "x=x"] in commands
    assert ["exp", "push", "origin", "x"] in commands
    assert ["exp", "pull", "--no-cache", "origin", "x"] in commands
    shown = next(step["run"] for step in summary["steps"] if "dvc exp show" in step.get("run", ""))
    assert "dvc exp show --md" in shown and '>> "$GITHUB_STEP_SUMMARY"' in shown


@pytest.mark.slow  # DVC as a process
def test_the_sweep_refuses_a_remote_on_the_runners_disk_and_sets_the_endpoint(tmp_path):
    step = next(step for step in load("sweep.yml")["jobs"]["experiment"]["steps"]
                if "dvc remote default" in step.get("run", ""))
    project = copy_project(tmp_path / "project")  # the template's own remote: .dvc/storage
    env = environment(ENDPOINT="http://127.0.0.1:9000")

    refused = subprocess.run(["bash", "-c", step["run"]], cwd=project, env=env,
                             capture_output=True, text=True)
    assert refused.returncode == 1
    assert "::error::the default DVC remote 'local'" in refused.stdout

    run([bin_path("dvc"), "remote", "add", "--default", "shared", "s3://bucket/lifecycle"],
        project, env)
    run(["bash", "-c", step["run"]], project, env)
    assert run([bin_path("dvc"), "config", "--local", "remote.shared.endpointurl"], project,
               env).stdout.strip() == "http://127.0.0.1:9000"


def answers_check(tmp_path, answers: str | None) -> subprocess.CompletedProcess:
    """The update workflow's first step, run by bash in a folder with these answers."""
    script = next(step["run"] for step in steps(load("template-update.yml"))
                  if step.get("id") == "answers")
    if answers is not None:
        (tmp_path / ".copier-answers.yml").write_text(answers)
    output = tmp_path / "github_output"
    return subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          env={**environment(), "GITHUB_OUTPUT": str(output)})


def test_the_update_workflow_runs_copier_update_weekly_and_opens_a_pull_request():
    workflow = load("template-update.yml")
    runs = " ".join(step.get("run", "") for step in steps(workflow))
    uses = [step.get("uses", "") for step in steps(workflow)]

    assert "schedule" in workflow["on"] and "workflow_dispatch" in workflow["on"]
    assert "copier update --trust --defaults" in runs
    assert "grep -E '^copier==' requirements.txt" in runs  # the pinned copier
    assert any(name.startswith("peter-evans/create-pull-request@") for name in uses)
    assert workflow["permissions"] == {"contents": "write", "pull-requests": "write"}


@pytest.mark.parametrize("answers, made, message", [
    (None, "made=false", "not a project made with copier copy"),
    ("_commit: v1\n_src_path: gh:team/template\n", "made=true", ""),
    ("_commit: v1\n_src_path: /home/me/template\n", None, "which a runner cannot reach"),
])
def test_the_update_workflow_runs_only_in_a_project_made_from_a_reachable_template(
        tmp_path, answers, made, message):
    result = answers_check(tmp_path, answers)
    output = (tmp_path / "github_output").read_text() if made else ""

    assert (result.returncode == 0) == (made is not None)
    assert made is None or made in output
    assert message in result.stdout
