"""`lifecycle check` and the `check` stage: params.yaml and the data contract validated, alone,
before any stage runs; the DVC stage that reruns on any edit of either and reruns nothing else."""

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from lifecycle import cli, config
from lifecycle.config import schema
from lifecycle.core import stage_trace
from lifecycle.stages import check

from ..conftest import ROOT, bin_path, copy_project, environment, example_file, run, set_param

CONTRACT = "data/contract.yaml"


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """params.yaml and the contract of the template, as the working directory."""
    for name in ("params.yaml", CONTRACT):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(example_file(name), tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_check_passes_the_template_and_says_what_it_checked(project, capsys):
    assert cli.main(["check"]) == 0

    assert capsys.readouterr().out == (
        "params.yaml and data/contract.yaml: valid and in agreement (binary target 'late', "
        "model hist_gradient_boosting, 33 feature columns)\n")
    assert sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()) \
        == ["data/contract.yaml", "params.yaml"]  # it writes nothing


@pytest.mark.parametrize("name, old, new, words", [
    ("params.yaml", "\ntrain:", "\ntrian:",
     "params.yaml: trian: unknown key; allowed here: seed, problem, source, split, features, "
     "train, tuning, evaluate, criteria, cleaning, validation, monitor, engine, extensions "
     "(did you mean 'train'?)"),
    ("params.yaml", "slice_columns: [carrier, origin]", "slice_columns: [carrier, orign]",
     "params.yaml: evaluate.slice_columns: 'orign' is not a column of data/contract.yaml"),
    (CONTRACT, "origin: {type: categorical, role: feature", "origin: {type: categorical, "
                                                             "rol: feature",
     "data/contract.yaml: columns.origin.rol: unknown key; allowed here: type, role"),
])
def test_check_names_the_first_error_of_either_file_with_exit_2(project, capsys, name, old,
                                                                 new, words):
    text = (project / name).read_text()
    assert old in text
    (project / name).write_text(text.replace(old, new, 1))

    assert cli.main(["check"]) == 2

    errors = capsys.readouterr().err
    assert errors.startswith(f"lifecycle check: error: {words}")
    assert errors.count("\n") == 1  # one line


def test_check_needs_the_contract_which_stages_that_do_not_read_it_leave_to_it(project, capsys):
    (project / CONTRACT).unlink()

    assert cli.main(["check"]) == 2
    assert "data/contract.yaml: not found; write one with `lifecycle init`" in \
        capsys.readouterr().err
    config.load()  # a stage that does not read the contract is not stopped by its absence


def test_the_stage_validates_without_using_any_param_and_reads_only_the_contract(project):
    stage_trace._params.clear()
    stage_trace._reads.clear()

    check.run()

    assert stage_trace._params == set()
    assert stage_trace._reads == {CONTRACT}


def test_every_stage_validates_the_contract_when_it_loads_params(project):
    """A stage that never reads the contract still refuses a broken one (see config.load)."""
    text = (project / CONTRACT).read_text()
    (project / CONTRACT).write_text(text.replace("role: target", "role: targt", 1))

    assert cli.main(["train"]) == 2  # before it looks for its inputs (exit 1)
    assert cli.main(["ingest"]) == 2


def test_write_schema_writes_the_generated_schema(project, capsys):
    assert cli.main(["check", "--write-schema"]) == 0

    assert (project / schema.SCHEMA_FILE).read_text() == schema.schema_text() \
        == (ROOT / schema.SCHEMA_FILE).read_text()
    assert "params.schema.json: written" in capsys.readouterr().out


def test_the_check_stage_comes_first_depends_on_both_files_whole_and_outputs_nothing():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]

    assert next(iter(stages)) == "check"
    spec = stages["check"]
    assert spec["cmd"] == "python -m lifecycle.stages.check"
    assert {"params.yaml", CONTRACT} <= set(spec["deps"])
    assert "outs" not in spec and "params" not in spec  # nothing can depend on it
    assert "src/lifecycle/stages/check.py" in spec["deps"]


# --- with DVC ----------------------------------------------------------------------------------


def stages_run(output: str) -> list[str]:
    return re.findall(r"Running stage '(\w+)'", output)


@pytest.mark.slow
def test_dvc_repro_stops_in_seconds_on_an_unknown_key_and_a_valid_edit_reruns_only_check(
        tmp_path):
    repo = copy_project(tmp_path / "project")
    set_param(repo, "source.sample_fraction", 0.05)
    env = environment()
    dvc = bin_path("dvc")
    first = run([dvc, "repro"], repo, env).stdout
    assert stages_run(first)[0] == "check"  # listed first, run first when all are out of date
    valid = (repo / "params.yaml").read_text()

    # (1) an unknown key no stage declares: `dvc repro` fails on it, naming it
    (repo / "params.yaml").write_text(valid + "trian: {lerning_rate: 0.1}\n")
    started = time.monotonic()
    result = subprocess.run([dvc, "repro"], cwd=repo, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "params.yaml: trian: unknown key" in output
    assert "(did you mean 'train'?)" in output
    assert stages_run(output) == ["check"]
    assert elapsed < 30, elapsed  # about 1 s alone; a busy shared machine is slower

    # (2) a valid edit of a key no stage declares: only check reruns
    (repo / "params.yaml").write_text(valid)
    set_param(repo, "train.hyperparameters.random_forest.n_estimators", 200)
    output = run([dvc, "repro"], repo, env).stdout
    assert stages_run(output) == ["check"]
    assert "Data and pipelines are up to date." in run([dvc, "status"], repo, env).stdout
