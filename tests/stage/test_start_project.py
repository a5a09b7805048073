"""What `copier copy` runs once in a new project, piece by piece: where a relative data path
points (.ci/start_project.py), which folders it refuses, and how the source is versioned.
tests/e2e/test_template.py runs it whole, through copier."""

import importlib.util
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from lifecycle.commands import start_project
from lifecycle.core.errors import LifecycleError

from ..conftest import ROOT, bin_path, environment, run
from .test_init_params import survey


@pytest.fixture
def bootstrap():
    """template/.ci/start_project.py as a module (a script copier runs, not part of the
    package)."""
    spec = importlib.util.spec_from_file_location("start_bootstrap",
                                                  ROOT / "template/.ci/start_project.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def new_project(tmp_path, monkeypatch):
    """A folder copier has just made: its answers file, nothing else, as the working directory."""
    project = tmp_path / "caller" / "my-project"
    project.mkdir(parents=True)
    (project / ".copier-answers.yml").write_text("_commit: v1\n")
    monkeypatch.chdir(project)
    return project


def test_a_relative_data_path_is_read_from_the_folder_copier_started_in(bootstrap, new_project,
                                                                        monkeypatch):
    caller = str(new_project.parent)
    monkeypatch.setenv("PWD", "/somewhere/else")  # a python3 shim's doing: never read

    assert bootstrap.located("customers.csv", caller) == f"{caller}/customers.csv"
    assert bootstrap.located("../t/c.csv", caller) == f"{caller}/../t/c.csv"
    assert bootstrap.located("sqlite:///shop.db", caller) == f"sqlite:///{caller}/shop.db"
    assert bootstrap.located("/data/t.parquet", caller) == "/data/t.parquet"
    assert bootstrap.located("postgresql://db/x", caller) == "postgresql://db/x"


@pytest.mark.parametrize("caller", ["", "my-project"])
def test_a_relative_path_is_refused_when_the_starting_folder_is_unknown(bootstrap, new_project,
                                                                        caller):
    with pytest.raises(SystemExit, match="absolute path"):
        bootstrap.located("customers.csv", caller)
    assert bootstrap.located("/data/t.csv", caller) == "/data/t.csv"


def test_copier_renders_the_starting_folder_into_the_task_not_a_guess():
    """The task's command carries the folder copier runs in, resolved while copier renders it."""
    task = yaml.safe_load((ROOT / "copier.yml").read_text())["_tasks"][0]["command"]

    assert "--caller-folder={{ '.' | realpath }}" in task
    assert not any("PWD" in part for part in task)


def test_the_pins_check_passes_here_and_fails_on_a_pin_nobody_installed(bootstrap, tmp_path):
    (tmp_path / "requirements.txt").write_text((ROOT / "requirements.txt").read_text())
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")  # the lock it includes
    check = [sys.executable, "-c", bootstrap.CHECK_PINS]

    assert subprocess.run(check, cwd=tmp_path).returncode == 0
    (tmp_path / "requirements.txt").write_text("pandas==0.0.1\n")
    assert subprocess.run(check, cwd=tmp_path).returncode == 1
    (tmp_path / "requirements/dev.txt").write_text("pandas==0.0.1 \\\n    --hash=sha256:0\n")
    (tmp_path / "requirements.txt").write_text("-r requirements/dev.txt\n")
    assert subprocess.run(check, cwd=tmp_path).returncode == 1


@pytest.mark.parametrize("leftover", [".git", "dvc.lock"])
def test_it_runs_only_in_a_fresh_copy(new_project, leftover):
    (new_project / leftover).mkdir()

    with pytest.raises(LifecycleError, match="runs once"):
        start_project.check_fresh_copy()


def test_without_an_answers_file_it_refuses(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    with pytest.raises(LifecycleError, match="copier copy"):
        start_project.check_fresh_copy()


@pytest.mark.parametrize("data", ["README.md", "params.yaml", "sqlite:///{project}/dvc.yaml"])
def test_data_inside_the_new_project_is_refused_before_anything_is_written(new_project, data):
    """Inside a fresh copy the data could only be a template file the start writes over."""
    for name in ("README.md", "params.yaml", "dvc.yaml"):
        (new_project / name).write_text("a,b\n1,2\n")
    before = {path: path.read_bytes() for path in new_project.rglob("*")}
    data = data.format(project=new_project)
    absolute = data if "://" in data else str(new_project / data)

    with pytest.raises(LifecycleError, match="inside the new project"):
        start_project.start("p", absolute, "select * from t", "b", "", "")
    assert {path: path.read_bytes() for path in new_project.rglob("*")} == before


def test_a_small_source_goes_to_git_and_a_large_one_to_dvc(new_project, monkeypatch):
    run(["git", "init", "-q"], new_project)
    run([bin_path("dvc"), "init", "-q"], new_project, environment())
    source = new_project / "data/source/table.csv"
    source.parent.mkdir(parents=True)
    source.write_text("a,b\n1,2\n")
    relative = source.relative_to(new_project)

    assert "committed to git" in start_project.version_source(relative)
    assert not (new_project / "data/source/table.csv.dvc").exists()

    monkeypatch.setattr(start_project, "GIT_SOURCE_LIMIT", 4)
    note = start_project.version_source(relative)

    assert "versioned by DVC" in note and "dvc remote add" in note
    assert (new_project / "data/source/table.csv.dvc").is_file()
    assert "/table.csv" in (new_project / "data/source/.gitignore").read_text()


@pytest.mark.parametrize(("primary", "order"), [("roc_auc", "desc"), ("macro_f1", "desc"),
                                                ("rmse", "asc")])
def test_the_readme_sorts_experiments_by_the_projects_primary_metric(primary, order):
    commands = "\n".join(start_project.experiment_commands(primary))

    assert f"--sort-by {primary} --sort-order {order}" in commands
    assert f"--base {start_project.BRANCH}" in commands


def test_the_readme_shows_the_data_decisions_and_no_key_of_the_example(tmp_path, monkeypatch):
    """The whole start in this process on a regression table with exact duplicate rows: the
    README names what prepare will do with them and the columns the model never sees, and
    params.yaml keeps no key of the example's problem."""
    project = tmp_path / "caller" / "my-project"
    shutil.copytree(ROOT / "template", project)  # what copier writes, before it renders
    (project / ".copier-answers.yml").write_text("_commit: v1\n")
    table = survey("regression")
    table["score_given"] = table["satisfaction"] * 10  # known only after the answer
    table = pd.concat([table, table.head(30)], ignore_index=True)
    table.to_csv(tmp_path / "caller/answers.csv", index=False)
    monkeypatch.chdir(project)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))  # no identity

    start_project.start("survey", str(tmp_path / "caller/answers.csv"), "", "satisfaction", "",
                        "")

    readme = (project / "README.md").read_text()
    section = readme.split("## Data decisions\n", 1)[1].split("\n## ", 1)[0]
    assert ("- Exact duplicate rows: 30 of the 330 rows with a target (9.1%) repeat an earlier "
            "row in every column; kept, every copy counted (`validation.duplicate_row: warn`)."
            ) in section
    assert "| score_given | leakage | looks like leakage: alone it predicts" in section
    assert "--sort-by rmse --sort-order asc" in readme and "--base main" in readme
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert "decision_threshold" not in params["evaluate"]
    assert "late_threshold_minutes" not in params["source"]
    assert run(["git", "symbolic-ref", "--short", "HEAD"], project).stdout.strip() == "main"
