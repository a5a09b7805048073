"""Experiments and review: a queued sweep, and `lifecycle report` between two real commits.

One committed repository per module (`committed`, and `trivial` beside it, which always leave
the workspace at a clean `main`); a test that reruns stages, queues experiments, pushes, tags
or moves a cached file works in a private copy of it.
"""

import hashlib
import json
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from lifecycle.reporting import document

from ..conftest import (
    ROOT,
    bin_path,
    copy_repository,
    environment,
    experiment_data,
    metric_row,
    run,
    set_param,
)
from .test_shared_sweeps import learning_rate, named_experiments

pytestmark = pytest.mark.slow  # DVC, git and the pipeline as processes

LEARNING_RATE = "train.hyperparameters.hist_gradient_boosting.learning_rate"


@pytest.fixture(scope="module")
def committed(reproduced, tmp_path_factory) -> dict:
    """A git repository holding the reproduced sample project, committed on branch `main`."""
    repo = tmp_path_factory.mktemp("review") / "project"
    shutil.copytree(reproduced["repo"], repo, symlinks=True,
                    ignore=shutil.ignore_patterns("tmp"))
    env = environment()  # no trace folder: the shared one holds the reproduced copy's traces
    run([bin_path("dvc"), "repro"], repo, env)
    run(["git", "checkout", "-q", "-B", "main"], repo)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "reproduced sample"], repo)
    return {"repo": repo, "env": env}


@pytest.fixture
def clean(committed, tmp_path):
    """A private copy of the committed repository (history, branches and DVC cache), at a
    clean `main`, to change freely."""
    repo = copy_repository(committed["repo"], tmp_path / "project")
    return {**committed, "repo": repo}


def write_report(repo: Path, env: dict, *arguments: str) -> str:
    output = repo.parent / "report.md"
    run([bin_path("lifecycle"), "report", *arguments, "--output", str(output), "--overwrite"],
        repo, env)
    return output.read_text()


@pytest.fixture(scope="module")
def trivial(committed) -> dict:
    """A branch `trivial` beside `main`, differing in one parameter, reproduced and committed."""
    repo, env = committed["repo"], committed["env"]
    run(["git", "checkout", "-q", "-b", "trivial"], repo)
    set_param(repo, "train.model", "trivial")
    run([bin_path("dvc"), "repro"], repo, env)
    run(["git", "commit", "-qam", "trivial model"], repo)
    run(["git", "checkout", "-q", "main"], repo)
    run([bin_path("dvc"), "checkout", "--force"], repo, env)
    return committed


def read_json_at(repo: Path, rev: str, path: str) -> dict:
    return json.loads(run(["git", "show", f"{rev}:{path}"], repo).stdout)


def test_a_worse_model_is_reported_worse_with_both_gates_and_the_flipped_criterion(trivial):
    repo, env = trivial["repo"], trivial["env"]
    before = read_json_at(repo, "main", "reports/evaluation/metrics.json")
    after = read_json_at(repo, "trivial", "reports/evaluation/metrics.json")

    text = write_report(repo, env, "--base", "main", "--head", "trivial")

    assert text.startswith(document.MARKER)  # the pull-request workflow finds its comment by it
    assert "| params.yaml | `train.model` | `hist_gradient_boosting` | `trivial` |" in text
    assert text.count("| params.yaml |") == 1  # only the parameter that changed
    _, base, head, delta, verdict = metric_row(text, "roc_auc")
    assert (float(base), float(head)) == pytest.approx(
        (before["roc_auc"], after["roc_auc"]), abs=5e-5)
    assert float(delta) == pytest.approx(after["roc_auc"] - before["roc_auc"], abs=5e-5)
    assert verdict == "worse"
    assert metric_row(text, "log_loss")[4] == "worse"
    assert "paired bootstrap: both models scored on the same" in text
    base_gate = read_json_at(repo, "main", "reports/gate.json")
    assert f"Base: {base_gate['verdict']}. Head: REJECTED." in text
    assert "| test roc_auc | >= 0.65 |" in text
    flipped = next(line for line in text.splitlines() if line.startswith("Criteria that flipped"))
    assert "test roc_auc" in flipped
    assert "**pass → FAIL**" in text
    assert "reports/evaluation/plots/sklearn/roc.json" in text  # the ROC curve changed
    assert "`dvc plots diff main trivial`" in text


def test_a_change_inside_the_noise_is_reported_as_within_noise(clean):
    repo, env = clean["repo"], clean["env"]
    set_param(repo, LEARNING_RATE, 0.052)
    run([bin_path("dvc"), "repro"], repo, env)

    text = write_report(repo, env, "--base", "main")  # the workspace against main

    assert f"`{LEARNING_RATE}` | `0.05` | `0.052` |" in text
    _, base, head, _, verdict = metric_row(text, "roc_auc")
    assert base != head
    assert verdict == "within noise"
    gate = json.loads((repo / "reports/gate.json").read_text())["verdict"]
    assert f"Base: {gate}. Head: {gate}." in text
    assert "No criterion changed its result." in text
    assert "# Model report: workspace against main" in text


def test_without_the_base_predictions_verdicts_come_from_the_intervals(trivial, tmp_path):
    repo = copy_repository(trivial["repo"], tmp_path / "project")
    env = trivial["env"]
    lock = yaml.safe_load(run(["git", "show", "main:dvc.lock"], repo).stdout)
    digest = next(out["md5"] for out in lock["stages"]["evaluate"]["outs"]
                  if out["path"] == "data/predictions/test.parquet")
    cached = repo / ".dvc/cache/files/md5" / digest[:2] / digest[2:]
    cached.unlink()  # in neither the cache nor a remote

    text = write_report(repo, env, "--base", "main", "--head", "trivial")

    assert "from the two sides' bootstrap intervals" in text
    assert metric_row(text, "roc_auc")[4] == "worse"


def test_an_unknown_base_revision_is_refused_with_exit_2(committed):
    result = subprocess.run([bin_path("lifecycle"), "report", "--base", "no-such-branch"],
                            cwd=committed["repo"], env=committed["env"], capture_output=True,
                            text=True)

    assert result.returncode == 2
    assert "--base 'no-such-branch': not a commit, branch or tag" in result.stderr


def docs_compare_command() -> list[str]:
    """The `dvc exp show` line under "Compare" of docs/experiments.md, as arguments."""
    page = (ROOT / "docs/experiments.md").read_text()
    line = next(line for line in page.splitlines() if line.startswith("dvc exp show --only"))
    return [bin_path("dvc"), *shlex.split(line)[1:], "--no-pager"]


def test_a_queued_sweep_runs_each_experiment_in_isolation(clean):
    repo = clean["repo"]
    # One thread per worker: two workers with a thread per core each would oversubscribe a
    # two-core machine.
    env = {**clean["env"], "OMP_NUM_THREADS": "1"}
    params_before = (repo / "params.yaml").read_text()

    # The sweep of docs/experiments.md: two values queued, two workers.
    run([bin_path("dvc"), "exp", "run", "--queue", "-S", f"{LEARNING_RATE}=0.03,0.1"], repo, env)
    try:
        run([bin_path("dvc"), "queue", "start", "-j", "2"], repo, env)
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            status = run([bin_path("dvc"), "queue", "status"], repo, env).stdout
            if "Queued" not in status and "Running" not in status:
                break
            time.sleep(3)
    finally:  # the workers stop, and a still running experiment is killed, on failure too
        subprocess.run([bin_path("dvc"), "queue", "stop", "--kill"], cwd=repo, env=env,
                       capture_output=True)

    assert status.count("Success") == 2, status
    shown = json.loads(run([bin_path("dvc"), "exp", "show", "--json"], repo, env).stdout)
    scores = {}
    for data in experiment_data(shown):
        rate = data["params"]["params.yaml"]["data"]["train"]["hyperparameters"][
            "hist_gradient_boosting"]["learning_rate"]
        metrics = data["metrics"].get("reports/evaluation/metrics.json", {}).get("data", {})
        if "roc_auc" in metrics:
            scores[rate] = metrics["roc_auc"]
    assert {0.03, 0.1} <= scores.keys()
    assert scores[0.03] != scores[0.1]  # each experiment trained with its own value
    # The page's comparison, in a 120-column terminal: each swept value beside its roc_auc.
    table = run(docs_compare_command(), repo, {**env, "COLUMNS": "120"}).stdout
    rows = [line for line in table.splitlines() if "[" in line]  # one per experiment
    assert max(len(line.rstrip()) for line in table.splitlines()) <= 120
    for rate, score in ((0.03, scores[0.03]), (0.1, scores[0.1])):
        assert any(re.search(rf"\b{re.escape(str(rate))}\b", line) and f"{score:.5f}"[:6] in line
                   for line in rows), table
    # The workspace is untouched: experiments ran in their own temporary copies.
    assert (repo / "params.yaml").read_text() == params_before
    assert run(["git", "status", "--porcelain"], repo).stdout == ""

    # The page's other review commands, on the two experiments by name.
    names = {learning_rate(data): name for name, data in named_experiments(shown).items()
             if learning_rate(data) in (0.03, 0.1)}
    dvc = bin_path("dvc")
    every_column = run([dvc, "exp", "show", "--csv"], repo, env).stdout
    assert "roc_auc" in every_column.splitlines()[0]
    assert all(name in every_column for name in names.values()), every_column
    differs = run([dvc, "exp", "diff", names[0.03], names[0.1]], repo, env).stdout
    assert LEARNING_RATE.rsplit(".", 1)[1] in differs and "roc_auc" in differs, differs
    run([dvc, "plots", "diff", "main", names[0.1], "-o", str(repo.parent / "plots")], repo, env)
    assert (repo.parent / "plots/index.html").is_file()
    # Keep the winner: into the workspace (its metrics against main), or as a branch.
    run([dvc, "exp", "apply", names[0.1]], repo, env)
    assert yaml.safe_load((repo / "params.yaml").read_text())["train"]["hyperparameters"][
        "hist_gradient_boosting"]["learning_rate"] == 0.1
    assert "roc_auc" in run([dvc, "metrics", "diff", "main"], repo, env).stdout
    run([dvc, "exp", "branch", names[0.1], "better-lr"], repo, env)
    kept = yaml.safe_load(run(["git", "show", "better-lr:params.yaml"], repo).stdout)
    assert kept["train"]["hyperparameters"]["hist_gradient_boosting"]["learning_rate"] == 0.1


def test_a_tagged_and_promoted_model_version_is_fetched_with_dvc_artifacts_get(clean):
    repo, env = clean["repo"], clean["env"]
    run([bin_path("dvc"), "push"], repo, env)  # the default remote holds the model
    # GTO-style tags: a version, then a promotion of that version to a stage.
    run(["git", "tag", "-a", "flight-delay-model@v1.0.0", "-m", "first model"], repo)
    run(["git", "tag", "-a", "flight-delay-model#production#1", "-m", "promote v1.0.0"], repo)

    for selector in (["--rev", "v1.0.0"], ["--stage", "production"]):
        fetched = repo.parent / f"fetched-{selector[1]}.skops"
        run([bin_path("dvc"), "artifacts", "get", ".", "flight-delay-model", *selector,
             "-o", str(fetched)], repo, env)

        assert fetched.read_bytes() == (repo / "models/model.skops").read_bytes()


def compare(repo: Path, env: dict, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([bin_path("lifecycle"), "compare", *arguments, "--overwrite"],
                          cwd=repo, env=env, capture_output=True, text=True)


def test_the_champion_is_kept_against_a_worse_candidate_and_a_rollback_is_a_new_promotion(
        trivial, tmp_path):
    repo = copy_repository(trivial["repo"], tmp_path / "project")
    env = trivial["env"]
    artifact = "flight-delay-model"
    run([bin_path("dvc"), "push"], repo, env)  # the default remote holds both models
    run(["git", "checkout", "-q", "trivial"], repo)
    run([bin_path("dvc"), "checkout", "--force"], repo, env)

    refused = compare(repo, env)  # nothing promoted yet
    assert refused.returncode == 2
    assert f'git tag -a "{artifact}#production#1"' in refused.stderr

    # v1 (main) goes to production; the workspace's candidate is the clearly worse model.
    run(["git", "tag", "-a", f"{artifact}@v1.0.0", "-m", "v1", "main"], repo)
    run(["git", "tag", "-a", f"{artifact}#production#1", "-m", "promote v1.0.0", "main"], repo)
    kept = compare(repo, env)

    assert kept.returncode == 0, kept.stderr
    assert max(len(line) for line in kept.stdout.splitlines()) <= 120
    report = json.loads((repo / "reports/compare.json").read_text())
    assert report["recommendation"] == "KEEP CHAMPION"
    assert report["champion"].startswith(f"{artifact}#production#1 (")
    assert "the candidate's gate is REJECTED, not VALIDATED" in report["reasons"]
    test_rows = report["rows"]["test"]
    assert test_rows["interval"][1] < 0 and test_rows["verdict"] == "worse"
    assert test_rows["champion"] > test_rows["candidate"]  # roc_auc
    assert test_rows["rows"] == read_json_at(repo, "main", "reports/evaluation/metrics.json")[
        "test_rows"]
    assert 0 < test_rows["disagreement"] <= 1
    assert "**Recommendation: KEEP CHAMPION**" in (repo / "reports/compare.md").read_text()

    # v2 (trivial) is promoted anyway, then rolled back: v1 promoted again as event 3.
    run(["git", "tag", "-a", f"{artifact}@v2.0.0", "-m", "v2", "trivial"], repo)
    run(["git", "tag", "-a", f"{artifact}#production#2", "-m", "promote v2.0.0", "trivial"], repo)
    run(["git", "tag", "-a", f"{artifact}#production#3", "-m", "roll back to v1.0.0",
         f"{artifact}@v1.0.0"], repo)

    history = run(["git", "tag", "-l", f"{artifact}#production#*"], repo).stdout.split()
    assert history == [f"{artifact}#production#{n}" for n in (1, 2, 3)]  # nothing deleted
    v1_sha = report["models_sha256"]["champion"]
    # The serving host (this workspace, still at v2) fetches the production model; the loader
    # of `lifecycle serve` and `lifecycle predict` then scores with v1's trees.
    run([bin_path("dvc"), "artifacts", "get", ".", artifact, "--stage", "production",
         "-o", "models/model.skops", "--force"], repo, env)
    assert hashlib.sha256((repo / "models/model.skops").read_bytes()).hexdigest() == v1_sha
    scored = tmp_path / "scored.parquet"
    run([bin_path("lifecycle"), "predict", "--input", "data/prepared/current.parquet",
         "--output", str(scored)], repo, env)
    probabilities = pd.read_parquet(scored).filter(like="probability_").iloc[:, -1]
    assert probabilities.nunique() > 10  # v1's trees, not the trivial model's one prior
    # Or the production tag checked out: the same model.
    run(["git", "checkout", "-q", f"{artifact}#production#3"], repo)
    run([bin_path("dvc"), "checkout", "--force"], repo, env)
    assert hashlib.sha256((repo / "models/model.skops").read_bytes()).hexdigest() == v1_sha

    # Against v2 as the champion, v1 is better beyond the noise; promoted if its gate holds.
    better = compare(repo, env, "--champion", f"{artifact}@v2.0.0")
    assert better.returncode == 0, better.stderr
    report = json.loads((repo / "reports/compare.json").read_text())
    assert report["rows"]["test"]["interval"][0] > 0
    gate = read_json_at(repo, "main", "reports/gate.json")["verdict"]
    assert report["gate"] == gate
    assert report["recommendation"] == ("PROMOTE" if gate == "VALIDATED" else "KEEP CHAMPION")
