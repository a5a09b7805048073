"""End to end: `dvc repro` on a sample, and the promises about what it declares and produces.

Read-only checks share one reproduced copy of the project; every test that runs DVC in a
project, changes params or writes into it works in a private copy (`reproduced_copy`), so the
tests pass in any order and alone. Every test here that needs the reproduced copy is slow (see
conftest.py); the stages themselves are also run in-process on a tiny sample elsewhere.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from lifecycle import cli
from lifecycle.config import contract
from lifecycle.core import tables
from lifecycle.modeling import artifacts

from ..conftest import ROOT, bin_path, environment, experiment_data, run, set_param

# `check` comes first and reruns on any edit of params.yaml or the contract (it outputs nothing).
STAGES = ["check", "ingest", "prepare", "featurize", "train", "evaluate", "monitor", "export"]
# Every test here that needs the reproduced copy is marked slow by conftest.py.


def declared(repo: Path) -> dict:
    return yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]


def out_paths(stage: dict) -> set[str]:
    return {next(iter(out)) if isinstance(out, dict) else out for out in stage.get("outs", [])}


def stages_run(output: str) -> list[str]:
    return re.findall(r"Running stage '(\w+)'", output)


def test_repro_runs_every_stage_and_produces_every_declared_output(reproduced):
    assert stages_run(reproduced["output"]) == STAGES
    assert_every_declared_output_is_produced(reproduced["repo"])


def test_the_stages_run_in_process_produce_every_declared_output(trained_project):
    """The same promise on the tiny sample, every stage's `run()` called in this process."""
    assert_every_declared_output_is_produced(trained_project)


def assert_every_declared_output_is_produced(repo: Path) -> None:
    for name, stage in declared(repo).items():
        for path in out_paths(stage):
            assert (repo / path).exists(), f"{name} did not produce {path}"
    metrics = json.loads((repo / "reports/evaluation/metrics.json").read_text())
    assert 0.5 < metrics["roc_auc"] <= 1
    plots = repo / "reports/evaluation/plots"
    assert {p.name for p in (plots / "sklearn").iterdir()} == {
        "roc.json", "precision_recall.json", "calibration.json"}
    confusion = json.loads((plots / "custom/confusion.json").read_text())
    assert len(confusion) == 4  # counts per (actual, predicted), not one record per test row
    assert sum(cell["count"] for cell in confusion) == metrics["test_rows"]
    assert (plots / "images/importance.png").read_bytes().startswith(b"\x89PNG")


def resolved_params(repo: Path, spec: dict) -> set[str]:
    """A stage's declared params keys with `${key}` replaced by that key's value."""
    values = yaml.safe_load((repo / "params.yaml").read_text())

    def value(dotted: str) -> str:
        node = values
        for key in dotted.split("."):
            node = node[key]
        return str(node)

    return {re.sub(r"\$\{([\w.]+)\}", lambda match: value(match.group(1)), key)
            for key in spec.get("params", [])}


def covered(key: str, declared_keys: set[str]) -> bool:
    """A key read is declared when it or a section holding it is."""
    parts = key.split(".")
    return any(".".join(parts[:end]) in declared_keys for end in range(1, len(parts) + 1))


def assert_declares_what_it_traced(repo: Path, trace_dir: Path, stage: str) -> None:
    """Everything the stage imported, read and used is declared; it wrote exactly its outs."""
    trace = json.loads((trace_dir / f"{stage}.json").read_text())
    spec = declared(repo)[stage]
    deps = set(spec["deps"])
    declared_keys = resolved_params(repo, spec)

    assert set(trace["modules"]) <= {d for d in deps if d.startswith("src/")}, stage
    assert set(trace["reads"]) <= {d for d in deps if not d.startswith("src/")}, stage
    assert [key for key in trace["params"] if not covered(key, declared_keys)] == [], stage
    assert set(trace["writes"]) == out_paths(spec), stage


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_declares_everything_it_imports_reads_uses_and_writes(reproduced, stage):
    assert_declares_what_it_traced(reproduced["repo"], reproduced["trace_dir"], stage)


def test_each_stages_code_dependencies_are_what_its_imports_reach():
    from lifecycle.project import code_deps

    dvc_text = (ROOT / "dvc.yaml").read_text()
    assert code_deps.rewrite(dvc_text, ROOT) == dvc_text  # `lifecycle code-deps`
    for stage, spec in yaml.safe_load(dvc_text)["stages"].items():
        assert "src/lifecycle/cli.py" not in spec["deps"], stage


def test_the_model_never_sees_a_leaking_column(reproduced):
    assert_the_model_sees_no_leaking_column(reproduced["repo"])


def test_the_model_trained_in_process_never_sees_a_leaking_column(trained_project):
    assert_the_model_sees_no_leaking_column(trained_project)


def assert_the_model_sees_no_leaking_column(repo: Path) -> None:
    model = artifacts.load_model(repo / "models/model.skops")
    rules = contract.load(repo / "data/contract.yaml")

    inputs = set(model.feature_names_in_)
    assert rules.with_role("leakage") == ["dep_time", "dep_delay", "arr_time", "arr_delay",
                                          "air_time"]
    assert inputs.isdisjoint(rules.with_role("leakage", "identifier", "excluded", "target"))
    assert {"scheduled_departure", "carrier", "temp", "plane_year"} <= inputs


def test_metrics_and_plots_commands_read_the_outputs(reproduced_copy):
    repo, env = reproduced_copy["repo"], reproduced_copy["env"]

    shown = run([bin_path("dvc"), "metrics", "show", "--json"], repo, env).stdout
    assert "roc_auc" in shown
    # Against the last commit, which has no metrics yet: every metric is new.
    assert "roc_auc" in run([bin_path("dvc"), "metrics", "diff"], repo, env).stdout
    run([bin_path("dvc"), "plots", "show", "-o", "plots-html"], repo, env)
    page = (repo / "plots-html/index.html").read_text()
    drawn = {spec["title"]["text"]: drawn_values(spec) for spec in vega_specs(page)}
    for plot in yaml.safe_load((repo / "dvc.yaml").read_text())["plots"]:
        if isinstance(plot, dict):  # a titled vega plot: drawn, with data
            (name, spec), = plot.items()
            assert drawn.get(spec["title"]), f"{name} missing or empty"
        else:  # a folder of images
            for image in (repo / plot).iterdir():
                assert image.name in page
    assert {"ROC", "Calibration (dashed line: perfectly calibrated)", "CV fold scores",
            "Slices against the whole test split"} <= set(drawn)  # dvc.yaml's titles


def test_dvc_plots_show_draws_each_chart_named_by_its_id(reproduced_copy, tmp_path):
    repo, env = reproduced_copy["repo"], reproduced_copy["env"]

    for plot in yaml.safe_load((repo / "dvc.yaml").read_text())["plots"]:
        name, spec = next(iter(plot.items())) if isinstance(plot, dict) else (plot, None)
        run([bin_path("dvc"), "plots", "show", name, "-o", str(tmp_path / name)], repo, env)
        page = (tmp_path / name / "index.html").read_text()  # DVC writes none for an unknown id
        if spec is None:  # a folder of images
            assert all(image.name in page for image in (repo / plot).iterdir())
        else:
            (drawn,) = vega_specs(page)
            assert drawn["title"]["text"] == spec["title"] and drawn_values(drawn), name


def drawn_values(spec: dict) -> list:
    """A spec's data rows: its own, or (a layered spec, such as a curve over a reference line)
    those of every layer."""
    if "data" in spec:
        return spec["data"]["values"]
    return [row for layer in spec.get("layer", [])
            for row in layer.get("data", {}).get("values", [])]


def vega_specs(page: str) -> list[dict]:
    """The vega-lite specs `dvc plots show` embeds in its HTML page."""
    return [json.loads(spec) for spec in re.findall(r"var spec = (\{.*\});", page)]


def test_a_second_repro_has_nothing_to_do(reproduced_copy):
    output = run([bin_path("dvc"), "repro"], reproduced_copy["repo"],
                 reproduced_copy["env"]).stdout

    assert stages_run(output) == []
    assert "Data and pipelines are up to date." in output


def test_a_forced_rerun_gives_an_identical_lock_file(reproduced_copy):
    repo, env = reproduced_copy["repo"], reproduced_copy["env"]
    before = (repo / "dvc.lock").read_text()

    output = run([bin_path("dvc"), "repro", "--force"], repo, env).stdout

    assert stages_run(output) == STAGES
    assert (repo / "dvc.lock").read_text() == before


def test_changing_a_train_parameter_reruns_only_train_and_what_follows(reproduced_copy):
    repo, env = reproduced_copy["repo"], reproduced_copy["env"]

    # The command of docs/experiments.md.
    output = run([bin_path("dvc"), "exp", "run", "-S",
                  "train.hyperparameters.hist_gradient_boosting.learning_rate=0.1"],
                 repo, env).stdout

    assert stages_run(output) == ["check", "train", "evaluate", "monitor", "export"]
    shown = json.loads(run([bin_path("dvc"), "exp", "show", "--json"], repo, env).stdout)
    scored = {
        data["params"]["params.yaml"]["data"]["train"]["hyperparameters"][
            "hist_gradient_boosting"]["learning_rate"]
        for data in experiment_data(shown)
        if "roc_auc" in data["metrics"].get("reports/evaluation/metrics.json", {}).get("data", {})
    }
    assert 0.1 in scored  # the experiment is listed with its parameter and its metrics


def test_push_then_pull_restores_the_outputs_from_the_default_remote(reproduced_copy):
    repo, env = reproduced_copy["repo"], reproduced_copy["env"]
    run([bin_path("dvc"), "push"], repo, env)
    for output in ("models/model.skops", "data/raw/dataset.parquet"):
        (repo / output).unlink()
    shutil.rmtree(repo / ".dvc/cache")

    run([bin_path("dvc"), "pull"], repo, env)

    assert (repo / "models/model.skops").exists()
    status = run([bin_path("dvc"), "status", "--json"], repo, env).stdout
    assert json.loads(status) == {}


def test_the_gate_exits_1_above_what_the_model_reaches_and_0_below(reproduced_copy):
    repo, env = reproduced_copy["repo"], reproduced_copy["env"]
    reached = json.loads((repo / "reports/evaluation/metrics.json").read_text())["roc_auc"]
    for name in ("min_lift_over_baselines", "max_single_feature_score", "max_shared_test_rows",
                 "max_feature_group_score", "max_plausible_score", "max_cv_shortfall"):
        set_param(repo, f"criteria.{name}", None)
    set_param(repo, "criteria.maximum", {})

    verdicts = {}
    for threshold in (round(reached + 0.01, 3), round(reached - 0.01, 3)):
        set_param(repo, "criteria.minimum", {"roc_auc": threshold})
        output = run([bin_path("dvc"), "repro"], repo, env).stdout
        assert stages_run(output) == ["check", "evaluate"]  # criteria never retrain
        # The command of docs/evaluation.md.
        gate = subprocess.run([bin_path("lifecycle"), "gate"], cwd=repo, env=environment(),
                              capture_output=True, text=True)
        verdicts[threshold] = (gate.returncode,
                               gate.stdout.strip().splitlines()[-1].split(":")[0])
        assert re.search(rf"test roc_auc +{reached:g} +>= {threshold:g} ", gate.stdout)

    assert list(verdicts.values()) == [(1, "REJECTED"), (0, "VALIDATED")]


def test_the_monitor_stage_ends_its_report_with_the_retrain_verdict(reproduced):
    assert_the_monitor_report_ends_with_the_verdict(reproduced["repo"])


def test_the_monitor_stage_run_in_process_ends_its_report_with_the_retrain_verdict(
        trained_project):
    assert_the_monitor_report_ends_with_the_verdict(trained_project)


def assert_the_monitor_report_ends_with_the_verdict(repo: Path) -> None:
    report = json.loads((repo / "reports/monitor/drift.json").read_text())

    assert report["current"]["rows"] > 0
    assert set(report["features"]) >= {"temp", "carrier", "plane_year"}
    assert isinstance(report["decision"]["retrain"], bool)
    markdown = (repo / "reports/monitor/drift.md").read_text()
    assert re.search(r"## Decision\n\nretrain: (true|false)\n\n- ", markdown)


def write_fresh_and_shifted_batches(repo: Path, folder: Path) -> None:
    """800 training rows without labels (fresh.csv), and the same rows with three weather
    columns moved (shifted.csv)."""
    batch = tables.read_parquet(repo / "data/prepared/train.parquet").sample(800, random_state=0)
    batch.drop(columns="late").to_csv(folder / "fresh.csv", index=False)
    shifted = batch.assign(temp=batch["temp"] + 40, humid=batch["humid"] / 3,
                           pressure=batch["pressure"] + 30)
    shifted.drop(columns="late").to_csv(folder / "shifted.csv", index=False)


def test_monitor_on_a_new_batch_flags_the_shifted_features_only(reproduced_copy, tmp_path):
    repo, env = reproduced_copy["repo"], reproduced_copy["env"]
    write_fresh_and_shifted_batches(repo, tmp_path)

    for name in ("fresh", "shifted"):
        run([bin_path("lifecycle"), "monitor", "--current", str(tmp_path / f"{name}.csv"),
             "--output", f"adhoc/{name}"], repo, env)

    assert_only_the_shifted_features_drift(repo)


def test_monitor_run_in_process_on_a_new_batch_flags_the_shifted_features_only(
        trained_project, tmp_path, monkeypatch):
    repo = shutil.copytree(trained_project, tmp_path / "project")
    write_fresh_and_shifted_batches(repo, tmp_path)
    monkeypatch.chdir(repo)

    for name in ("fresh", "shifted"):
        assert cli.main(["monitor", "--current", str(tmp_path / f"{name}.csv"),
                         "--output", f"adhoc/{name}"]) == 0

    assert_only_the_shifted_features_drift(repo)


def assert_only_the_shifted_features_drift(repo: Path) -> None:
    fresh = json.loads((repo / "adhoc/fresh/drift.json").read_text())
    moved = json.loads((repo / "adhoc/shifted/drift.json").read_text())

    assert fresh["performance"] is None  # no labels in the batch
    assert fresh["decision"]["drifted_features"] == []
    assert fresh["decision"]["retrain"] is False
    assert set(moved["decision"]["drifted_features"]) == {"temp", "humid", "pressure"}
