"""One sweep on several machines that share the git remote and the DVC remote.

A bare git repository stands for the team's git host and moto's S3 server on loopback for the
DVC remote. Two clones ("machines") each pull the data, run one experiment of the sweep and push
it (`dvc exp push origin NAME`: the experiment's commit to git, its outputs to S3); a third,
fresh clone pulls both (`dvc exp pull origin`), lists them with their metrics, compares them
with `lifecycle report` and applies one, whose model arrives from S3. docs/scale.md ("Sweeps
across machines") shows the same commands; .github/workflows/sweep.yml runs them as a job
matrix.
"""

import json
from pathlib import Path

import pytest

from lifecycle.core import paths

from ..conftest import (
    TINY_PARAMS,
    add_s3_remote,
    bin_path,
    copy_project,
    metric_row,
    run,
    s3_environment,
    set_param,
    set_s3_endpoint,
)

pytestmark = pytest.mark.slow  # DVC, the pipeline, git remotes and an S3 server

LEARNING_RATE = "train.hyperparameters.hist_gradient_boosting.learning_rate"
# One experiment per machine, as the workflow's matrix runs one job per value.
SWEEP = {"learning_rate-0.03": 0.03, "learning_rate-0.1": 0.1}


def clone(shared: Path, folder: Path, endpoint: str, env: dict) -> Path:
    """A machine's clone: the shared repository, and the settings each machine makes itself."""
    run(["git", "clone", "-q", str(shared), str(folder)], folder.parent)
    # Experiments are commits, and a fresh machine may have no git identity.
    run(["git", "config", "user.name", "test"], folder)
    run(["git", "config", "user.email", "test@example.com"], folder)
    set_s3_endpoint(folder, endpoint, env)  # the bucket is in the committed .dvc/config
    return folder


def named_experiments(node: object) -> dict[str, dict]:
    """Each named experiment's `data` record in `dvc exp show --json` output, by name."""
    if isinstance(node, list):
        return {name: data for item in node for name, data in named_experiments(item).items()}
    if not isinstance(node, dict):
        return {}
    found = {node["name"]: node["data"]} if node.get("name") and node.get("data") else {}
    for value in node.values():
        found.update(named_experiments(value))
    return found


def learning_rate(data: dict) -> float:
    return data["params"]["params.yaml"]["data"]["train"]["hyperparameters"][
        "hist_gradient_boosting"]["learning_rate"]


def test_experiments_pushed_from_two_machines_arrive_in_a_third_clone(tmp_path, s3_endpoint):
    env = s3_environment(tmp_path)  # credentials only in the environment, as CI sets them
    dvc = bin_path("dvc")
    shared = tmp_path / "shared.git"
    run(["git", "init", "-q", "--bare", "--initial-branch=main", str(shared)], tmp_path)

    # The team's project: reproduced once (a small sample, small models), committed with the
    # S3 bucket as its default remote, pushed to git and its outputs to S3.
    origin = copy_project(tmp_path / "origin")
    for dotted, value in TINY_PARAMS.items():
        set_param(origin, dotted, value)
    add_s3_remote(origin, s3_endpoint, env, committed=True)
    run([dvc, "repro"], origin, env)
    run(["git", "add", "-A"], origin)
    run(["git", "commit", "-qm", "reproduced"], origin)
    run(["git", "push", "-q", str(shared), "HEAD:refs/heads/main"], origin)
    run([dvc, "push"], origin, env)

    # Each machine: clone, pull the data, run its experiment, push it.
    measured = {}
    for name, rate in SWEEP.items():
        machine = clone(shared, tmp_path / name, s3_endpoint, env)
        run([dvc, "pull"], machine, env)
        output = run([dvc, "exp", "run", "-n", name, "-S", f"{LEARNING_RATE}={rate}"],
                     machine, env).stdout
        # Only the stages that read the swept key ran; the data came from S3.
        assert "Running stage 'train'" in output
        assert not any(f"Running stage '{stage}'" in output
                       for stage in ("ingest", "prepare", "featurize"))
        pushed = run([dvc, "exp", "push", "origin", name], machine, env).stdout
        assert name in pushed
        measured[name] = {
            "metrics": json.loads((machine / paths.EVALUATION_METRICS).read_text()),
            "model": (machine / paths.MODEL).read_bytes(),
        }
    assert measured["learning_rate-0.03"]["metrics"]["roc_auc"] != \
        measured["learning_rate-0.1"]["metrics"]["roc_auc"]

    # A reviewer's fresh clone pulls the sweep's experiments by name, commits only, as the
    # workflow's last job does: metrics and params live in git.
    reviewer = clone(shared, tmp_path / "reviewer", s3_endpoint, env)
    for name in SWEEP:
        run([dvc, "exp", "pull", "--no-cache", "origin", name], reviewer, env)
    shown = named_experiments(json.loads(run([dvc, "exp", "show", "--json"], reviewer,
                                             env).stdout))
    assert SWEEP.keys() <= shown.keys(), shown.keys()
    for name, rate in SWEEP.items():
        assert learning_rate(shown[name]) == rate
        assert shown[name]["metrics"][paths.EVALUATION_METRICS]["data"] == \
            measured[name]["metrics"]
    # The table the workflow writes to its summary: a row per experiment, its rate, its score.
    table = run([dvc, "exp", "show", "--md", "--only-changed"], reviewer, env).stdout
    for name, rate in SWEEP.items():
        row = next(line for line in table.splitlines() if f"[{name}]" in line)
        cells = [cell.strip() for cell in row.split("|")]
        # DVC shows numbers with 5 significant digits.
        assert str(rate) in cells and f"{measured[name]['metrics']['roc_auc']:.5g}" in cells, row

    # The report compares the two experiments by name.
    report = tmp_path / "report.md"
    run([bin_path("lifecycle"), "report", "--base", "learning_rate-0.03", "--head",
         "learning_rate-0.1", "--output", str(report)], reviewer, env)
    text = report.read_text()
    assert "# Model report: learning_rate-0.1 (" in text
    assert f"| params.yaml | `{LEARNING_RATE}` | `0.03` | `0.1` |" in text
    _, base, head, _, _ = metric_row(text, "roc_auc")
    assert (float(base), float(head)) == pytest.approx(
        (measured["learning_rate-0.03"]["metrics"]["roc_auc"],
         measured["learning_rate-0.1"]["metrics"]["roc_auc"]), abs=5e-5)
    # Paired: both experiments' test predictions, read from S3, where each machine pushed them.
    assert "paired bootstrap" in text

    # Keeping one: `dvc exp pull` (with the outputs, this time) and apply; its model is the one
    # its machine trained, from S3.
    run([dvc, "exp", "pull", "origin"], reviewer, env)
    run([dvc, "exp", "apply", "learning_rate-0.1"], reviewer, env)
    assert (reviewer / paths.MODEL).read_bytes() == measured["learning_rate-0.1"]["model"]
    assert json.loads(run([dvc, "status", "--json"], reviewer, env).stdout) == {}
