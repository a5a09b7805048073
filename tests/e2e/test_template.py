"""The template as a product: `copier copy` makes a project on a table the template never saw,
`dvc repro` runs it, a clone reproduces it, and `copier update` brings a later template version
without touching the adopter's own files. These tests stay in the template (copier.yml excludes
them): they are about the template, not about a project made from it.
"""

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ..conftest import (
    ROOT,
    bin_path,
    built_once,
    copy_repository,
    environment,
    project_file_names,
    run,
)
from ..tables import customers

pytestmark = pytest.mark.slow  # copier, git and DVC as processes

ROWS = 600
EXAMPLE_WORDS = re.compile(r"flight|nycflights|New York|\blate\b|January|December|carrier",
                           re.IGNORECASE)


def project_environment(project: Path) -> dict:
    """The project's own code first, whatever `lifecycle` this interpreter has installed; git's
    default branch is not main, as on many machines."""
    return environment(PYTHONPATH=str(project / "src"), GIT_AUTHOR_NAME="adopter",
                       GIT_AUTHOR_EMAIL="adopter@example.com", GIT_COMMITTER_NAME="adopter",
                       GIT_COMMITTER_EMAIL="adopter@example.com", GIT_CONFIG_COUNT="1",
                       GIT_CONFIG_KEY_0="init.defaultBranch", GIT_CONFIG_VALUE_0="master")


def snapshot(destination: Path) -> Path:
    """The template as it is now (committed or not), as a git repository of its own: what a
    team would publish. `copier update` needs later commits of it."""
    for name in project_file_names():
        source = ROOT / name
        if source.is_symlink() or source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():
                target.symlink_to(source.readlink())
            else:
                target.write_bytes(source.read_bytes())
    commit(destination, "template")
    return destination


def commit(repo: Path, message: str) -> None:
    if not (repo / ".git").exists():
        run(["git", "init", "-q"], repo)
    run(["git", "add", "-A"], repo, project_environment(repo))
    run(["git", "commit", "-qm", message], repo, project_environment(repo))


def copier_copy(template: Path, destination: Path, **answers: str) -> Path:
    data = [item for key, value in answers.items() for item in ("--data", f"{key}={value}")]
    # Started from the folder above the project, whose relative paths the answers may use.
    run([bin_path("copier"), "copy", "--trust", "--defaults", "--vcs-ref", "HEAD", *data,
         str(template), destination.name], destination.parent, project_environment(destination))
    return destination


def reproduce(project: Path) -> str:
    return run([bin_path("dvc"), "repro"], project, project_environment(project)).stdout


def tracked(repo: Path) -> set[str]:
    return set(run(["git", "ls-files"], repo).stdout.split())


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    return snapshot(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="module")
def shared_template(tmp_path_factory) -> Path:
    """The snapshot the shared projects were made from; read only (`template` is changed by the
    update test, and each worker has its own)."""
    return built_once(tmp_path_factory, "template", snapshot)


def binary_csv(folder: Path) -> dict:
    path = folder / "customers.csv"
    customers("binary", ROWS, seed=3).to_csv(path, index=False)
    return {"data": path.name, "target": "churned"}  # from the folder copier runs in


def multiclass_parquet(folder: Path) -> dict:
    path = folder / "segments.parquet"
    customers("multiclass", ROWS, seed=4).to_parquet(path, index=False)
    return {"data": str(path), "target": "segment", "time_column": "signup_date"}


def regression_sqlite(folder: Path) -> dict:
    path = folder / "shop.db"
    with sqlite3.connect(path) as connection:
        customers("regression", ROWS, seed=5).to_sql("customers", connection, index=False)
    return {"data": f"sqlite:///{path.name}", "query": "select * from customers",
            "target": "lifetime_value"}


TABLES = {"binary": binary_csv, "multiclass": multiclass_parquet, "regression": regression_sqlite}


@pytest.fixture(scope="module")
def projects(shared_template, tmp_path_factory) -> dict[str, dict]:
    """One project per table, made by copier, reproduced and committed (once per test run,
    whatever the workers: read only, copy what a test changes)."""
    def build(root: Path) -> None:
        made = {}
        for task, table in TABLES.items():
            folder = root / task
            folder.mkdir()
            answers = table(folder)
            project = copier_copy(shared_template, folder / "project",
                                  project_name=f"{task}-project", **answers)
            first = sorted(tracked(project))
            output = reproduce(project)
            commit(project, "dvc repro")
            made[task] = {"answers": answers, "first": first, "repro": output}
        (root / "projects.json").write_text(json.dumps(made))

    root = built_once(tmp_path_factory, "projects", build)
    made = json.loads((root / "projects.json").read_text())
    return {task: {**found, "project": root / task / "project", "first": set(found["first"])}
            for task, found in made.items()}


@pytest.mark.parametrize("task", sorted(TABLES))
def test_copy_makes_a_project_of_its_own(projects, task):
    project, first = projects[task]["project"], projects[task]["first"]
    params = yaml.safe_load((project / "params.yaml").read_text())
    readme = (project / "README.md").read_text()

    assert params["problem"]["name"] == f"{task}-project"
    assert params["problem"]["task"] == task
    assert readme.startswith(f"# {task}-project\n")
    assert "copier update" in readme
    # The example's results, benchmarks and contract did not come along; the project's did.
    assert not {"dvc.lock", "benchmarks/results.md", "reports/model_card.md",
                "tests/e2e/test_template.py", "copier.yml"} & first
    # A thin project: the library is a pinned requirement, not files of the project.
    assert not [name for name in first if name.startswith(("src/lifecycle/", "tests/example/"))]
    package = f"{task}_project"
    assert {"data/contract.yaml", "params.yaml", "dvc.yaml", ".copier-answers.yml",
            ".github/workflows/template-update.yml", ".ci/run", "code_versions.yaml",
            "requirements.txt", "tests/test_project.py", f"src/{package}/__init__.py"} <= first
    pin = (project / "requirements.txt").read_text()
    assert re.search(r"^dvc-ml-lifecycle @ git\+file://\S+@[0-9a-f]{40}$", pin, re.MULTILINE)
    for name in ("README.md", "params.yaml", "dvc.yaml", "data/contract.yaml"):
        found = EXAMPLE_WORDS.findall((project / name).read_text())
        assert not found, f"{task}: {name} still speaks of the example: {found}"
    # The source is versioned where a clone finds it (a database file included).
    assert any(name.startswith("data/source/") for name in first)
    # The first commit is on main, as the README and the workflows say, whatever git's default.
    assert run(["git", "branch", "--show-current"], project).stdout.strip() == "main"


def test_the_projects_own_checks_pass_as_its_ci_runs_them(projects):
    """The lines of the project's .ci/run up to its tests: its own lint settings (where
    `lifecycle` is a third-party package), the code versions, the configuration, and its own
    tests (its contract, its pipeline on a sample, its model)."""
    project = projects["binary"]["project"]
    ci = (project / ".ci/run").read_text()
    env = project_environment(project)

    for command in ("ruff check src tests", "lifecycle code-deps --check", "lifecycle check",
                    "pytest"):
        assert f"\n{command}\n" in ci
        name, *arguments = command.split()
        if name == "pytest":  # the project's own tests, its pipeline on a sample among them
            arguments = ["-p", "no:cacheprovider", "-p", "no:randomly"]
        output = run([bin_path(name), *arguments], project, env).stdout
    assert re.search(r"\b4 passed\b", output), output


@pytest.mark.parametrize("task", sorted(TABLES))
def test_the_project_reproduces_and_registers_the_plots_of_its_task(projects, task):
    project = projects[task]["project"]
    gate = yaml.safe_load((project / "reports/gate.json").read_text())
    plots = yaml.safe_load((project / "dvc.yaml").read_text())["plots"]
    ids = {next(iter(plot)) for plot in plots if isinstance(plot, dict)}

    assert gate["verdict"] in {"VALIDATED", "REJECTED"}
    assert ("roc" in ids) == (task == "binary")
    assert ("residuals" in ids) == (task == "regression")
    assert run(["git", "status", "--porcelain"], project).stdout == ""


def test_the_readme_experiment_commands_run_on_a_regression_project(projects, tmp_path):
    """The project's README sorts experiments by its own primary metric (rmse, lower first) and
    reviews against the branch the start made."""
    project = copy_repository(projects["regression"]["project"], tmp_path / "project")
    readme = (project / "README.md").read_text()
    block = readme.split("Then vary the knobs and review a change:", 1)[1]
    commands = block.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    env = project_environment(project)

    assert "--sort-by rmse --sort-order asc" in block and "--base main" in block
    # A person reads them at 120 columns (dvc's table is cut to the terminal's width).
    outputs = [run(["bash", "-c", command], project, {**env, "COLUMNS": "120"}).stdout
               for command in commands]
    assert "rmse" in outputs[1] and "train.model" in outputs[1]
    assert "rmse" in outputs[2]


def test_a_clone_of_a_project_reproduces_its_lock(projects, tmp_path):
    """What the project's CI does last: the data is in the clone, and `dvc repro` gives the
    committed dvc.lock and reports exactly."""
    project = projects["regression"]["project"]
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(project), str(clone)], tmp_path)
    reproduce(clone)

    assert run(["git", "status", "--porcelain", "--", "dvc.lock", "reports"],
               clone).stdout == ""


def test_copy_refuses_to_run_its_start_twice(projects):
    project = projects["binary"]["project"]
    before = (project / "README.md").read_bytes()
    result = run_failing([bin_path("python"), "-m", "lifecycle.commands.start_project",
                          "--name=again", "--data=x.csv", "--target=y"], project)

    assert "runs once" in result.stderr
    assert (project / "README.md").read_bytes() == before


def run_failing(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=project_environment(cwd),
                            capture_output=True, text=True)
    assert result.returncode != 0, result.stdout
    return result


# --- started from anywhere -----------------------------------------------------------------------


def python3_shim(folder: Path) -> Path:
    """A folder holding `python3` as a version manager has it (pyenv, asdf): a shell script that
    sets PWD to the folder it runs in, as a shell does, then runs the real interpreter; it
    leaves a mark so the test knows copier's task went through it."""
    folder.mkdir()
    shim = folder / "python3"
    shim.write_text(f'#!/bin/sh\ntouch "{folder}/used"\nPWD="$(pwd -P)"; export PWD\n'
                    f'exec "{sys.executable}" "$@"\n')
    shim.chmod(0o755)
    return folder


@pytest.mark.parametrize(("data", "destination"), [
    ("../tables/customers.csv", "my-project"),
    ("sqlite:///../tables/shop.db", "../projects/my-project"),
])
def test_a_relative_data_path_works_through_a_python3_shim_from_any_folder(template, tmp_path,
                                                                           data, destination):
    """copier copy from `caller/`, the table in `tables/`, the project where `destination`
    says (beside it, or in another folder): the start finds the table whatever PWD says."""
    caller, tables = tmp_path / "caller", tmp_path / "tables"
    caller.mkdir(), tables.mkdir()
    customers("binary", ROWS, seed=3).to_csv(tables / "customers.csv", index=False)
    with sqlite3.connect(tables / "shop.db") as connection:
        customers("binary", ROWS, seed=3).to_sql("customers", connection, index=False)
    shims = python3_shim(tmp_path / "shims")
    project = (caller / destination).resolve()
    env = {**project_environment(project), "PWD": str(caller)}
    env["PATH"] = f"{shims}{os.pathsep}{env['PATH']}"
    answers = {"project_name": "anywhere", "data": data, "target": "churned",
               **({"query": "select * from customers"} if "://" in data else {})}
    arguments = [item for key, value in answers.items() for item in ("--data", f"{key}={value}")]

    run([bin_path("copier"), "copy", "--trust", "--defaults", "--vcs-ref", "HEAD", *arguments,
         str(template), destination], caller, env)

    assert (shims / "used").exists()
    source = yaml.safe_load((project / "params.yaml").read_text())["source"]
    copied = project / (source.get("path") or source["url"].removeprefix("sqlite:///"))
    original = tables / Path(data.removeprefix("sqlite:///")).name
    assert copied.parent == project / "data/source"
    assert copied.read_bytes() == original.read_bytes()
    assert run(["git", "log", "--oneline"], project).stdout.count("\n") == 1


# --- receiving a later template version ---------------------------------------------------------


def library_environment(project: Path, template: Path) -> dict:
    """The project run on the template snapshot's library, as `pip install -r requirements.txt`
    would install it at the snapshot's commit."""
    env = project_environment(project)
    return {**env, "PYTHONPATH": f"{env['PYTHONPATH']}{os.pathsep}{template / 'src'}"}


def test_update_moves_the_library_pin_reruns_only_the_changed_stages_and_keeps_the_adopters_files(
        projects, shared_template, tmp_path):
    project = copy_repository(projects["binary"]["project"], tmp_path / "project")
    # The template's repository, cloned for this test to commit to; the project's answers
    # follow it, as they would a template that moved.
    template = tmp_path / "template"
    run(["git", "clone", "-q", str(shared_template), str(template)], tmp_path)
    answers = project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace(str(shared_template), str(template)))
    commit(project, "the template moved")
    env = library_environment(project, template)
    # The adopter's own work: a params change and a kept experiment.
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("  cv_folds: 3", "  cv_folds: 2"))
    commit(project, "two folds")
    run([bin_path("dvc"), "exp", "run", "-S", "evaluate.bootstrap_resamples=50"], project, env)
    commit(project, "keep the experiment with 50 resamples")
    own = {name: (project / name).read_bytes() for name in
           ("params.yaml", "data/contract.yaml", "README.md", "dvc.lock", "reports/gate.json",
            "data/source/customers.csv", "src/binary_project/__init__.py")}

    # The next version: a library module only the monitor stage runs, and a project workflow.
    module, workflow = "src/lifecycle/monitoring/drift.py", "template/.github/workflows/test.yml"
    (template / module).write_text((template / module).read_text() + "\nVERSION_MARK = 2\n")
    (template / workflow).write_text((template / workflow).read_text() + "# version 2\n")
    commit(template, "version 2")
    version_2 = run(["git", "rev-parse", "HEAD"], template).stdout.strip()

    run([bin_path("copier"), "update", "--trust", "--defaults", "--vcs-ref", "HEAD"],
        project, env)

    assert "# version 2" in (project / ".github/workflows/test.yml").read_text()
    assert (project / "requirements.txt").read_text().count(f"@{version_2}\n") == 1
    assert {name: (project / name).read_bytes() for name in own} == own
    changed = {line[3:] for line in run(["git", "status", "--porcelain"],
                                        project).stdout.splitlines()}
    assert changed == {".github/workflows/test.yml", ".copier-answers.yml", "requirements.txt"}
    # The new library runs no stage before its code is recorded...
    refused = subprocess.run([bin_path("dvc"), "repro"], cwd=project, env=env,
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "lifecycle code-deps" in refused.stdout + refused.stderr
    # ... then reruns the stage whose code changed, and only it.
    run([bin_path("lifecycle"), "code-deps"], project, env)
    output = run([bin_path("dvc"), "repro"], project, env).stdout
    ran = set(re.findall(r"Running stage '(\w+)'", output))
    assert ran == {"check", "monitor"}, output  # check always runs
    assert run(["git", "status", "--porcelain", "--", "reports"], project).stdout == ""


# --- the documentation's promise -----------------------------------------------------------------


def test_the_docs_name_the_questions_and_the_commands_these_tests_run():
    page = (ROOT / "docs/start-a-project.md").read_text()
    readme = (ROOT / "README.md").read_text().split("## Start your own project", 1)[1]
    # The questions copier asks: not the ones it never asks (`when: false`, a derived value).
    questions = {name for name, question in yaml.safe_load((ROOT / "copier.yml").read_text())
                 .items() if not name.startswith("_") and question.get("when") is not False}
    asked = set(re.findall(r"^\| `(\w+)` \|", page, flags=re.MULTILINE))

    assert asked == questions == {"project_name", "data", "query", "target", "task",
                                  "time_column"}
    assert "copier copy --trust --defaults --data project_name=" in page
    assert "copier update --trust --defaults" in page
    assert "copier copy --trust TEMPLATE my-project" in readme.split("\n## ", 1)[0]
