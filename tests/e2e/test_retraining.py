"""The retraining loop of docs/monitoring.md, in order, on a CSV source: new data arrives, the
monitor looks at it, `dvc repro` retrains, the gate decides, and the version is tagged and
fetched."""

import json

import pandas as pd
import pytest

from ..conftest import bin_path, copy_project, environment, run, set_param
from ..tables import customers
from .test_pipeline import STAGES, stages_run

pytestmark = pytest.mark.slow  # DVC and the pipeline as processes


def newer_customers() -> pd.DataFrame:
    """A later batch: signed up a year later, spending three times as much."""
    batch = customers("binary", rows=200, seed=7)
    batch["customer_id"] = "N" + batch["customer_id"].str[1:]
    batch["signup_date"] = (pd.to_datetime(batch["signup_date"])
                            + pd.Timedelta(days=365)).dt.strftime("%Y-%m-%d")
    batch["monthly_spend"] *= 3
    return batch.drop_duplicates("customer_id")


def test_new_data_monitor_repro_gate_and_promotion(tmp_path):
    repo = copy_project(tmp_path / "project")
    env = environment()
    source = repo / "data/source/customers.csv"
    source.parent.mkdir(parents=True)
    customers("binary").to_csv(source, index=False)
    run([bin_path("lifecycle"), "init", "--data", "data/source/customers.csv", "--target",
         "churned", "--time-column", "signup_date"], repo, env)
    run([bin_path("dvc"), "repro"], repo, env)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "first model"], repo)

    # 1-2. New rows arrive; the monitor compares them with the training data.
    new = newer_customers()
    new.drop(columns="churned").to_csv(tmp_path / "new.csv", index=False)
    run([bin_path("lifecycle"), "monitor", "--current", str(tmp_path / "new.csv"), "--output",
         str(tmp_path / "drift")], repo, env)
    report = json.loads((tmp_path / "drift/drift.json").read_text())
    assert "monthly_spend" in report["decision"]["drifted_features"]
    pd.concat([pd.read_csv(source), new]).to_csv(source, index=False)
    # An out-of-time split trains on the new months only once its dates move forward.
    set_param(repo, "split.test_start", "2025-05-01")
    set_param(repo, "split.current_start", "2025-09-01")

    # 3. `dvc repro` reruns everything that depends on the source and the split.
    output = run([bin_path("dvc"), "repro"], repo, env).stdout
    assert stages_run(output) == STAGES

    # 4. The gate's exit code follows the verdict written by evaluate.
    verdict = json.loads((repo / "reports/gate.json").read_text())["verdict"]
    gate = run(["bash", "-c", "lifecycle gate; echo exit=$?"], repo, env).stdout
    assert f"exit={0 if verdict == 'VALIDATED' else 1}" in gate

    # 5. Promote: commit, push, tag; the tagged version of the model can be fetched.
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-qm", "retrained on new customers"], repo)
    run([bin_path("dvc"), "push"], repo, env)
    run(["git", "tag", "-a", "flight-delay-model@v1.1.0", "-m", "retrained"], repo)
    run([bin_path("dvc"), "get", ".", "models/model.skops", "--rev", "flight-delay-model@v1.1.0",
         "-o", str(tmp_path / "fetched.skops")], repo, env)
    assert (tmp_path / "fetched.skops").read_bytes() == (repo / "models/model.skops").read_bytes()
