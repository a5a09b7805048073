"""End to end on your own data: `lifecycle init` + `dvc repro` on small generated tables.

Each table is realistic in the ways that break pipelines: numeric, categorical and datetime
columns, missing values, exact duplicate rows, messy category spellings, an identifier, a free
text column and (binary) a column that leaks the target.
"""

import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from lifecycle.config import contract

from ..conftest import ROOT, bin_path, copy_project, copy_repository, environment, run
from ..tables import customers
from .test_pipeline import STAGES, assert_declares_what_it_traced, declared, stages_run
from .test_plots_offline import CHROMIUM, assert_every_chart_drew, rendered, vega_plots

pytestmark = pytest.mark.slow  # `lifecycle init` and DVC as processes



def own_data_page() -> str:
    return (ROOT / "docs/own-data.md").read_text()


def docs_commands() -> list[str]:
    """The commands of docs/own-data.md's bash blocks, in order."""
    blocks = re.findall(r"```bash\n(.*?)```", own_data_page(), flags=re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def reproduce(repo: Path, tmp_path: Path, *targets: str) -> tuple[str, Path]:
    trace_dir = tmp_path / "trace"
    env = environment(LIFECYCLE_TRACE_DIR=str(trace_dir))
    output = run([bin_path("dvc"), "repro", *targets], repo, env).stdout
    return output, trace_dir


def assert_declarations_match_traces(repo: Path, trace_dir: Path, stages: list[str]) -> None:
    for stage in stages:
        assert_declares_what_it_traced(repo, trace_dir, stage)


def norm(value: object) -> object:
    return " ".join(value.split()).lower() if isinstance(value, str) else value


# --- binary, CSV: the commands of docs/own-data.md -----------------------------------------------


def test_the_own_data_page_commands_run_init_and_repro_on_a_binary_csv(tmp_path):
    repo = copy_project(tmp_path / "project")
    table = customers("binary")
    (repo / "data/source").mkdir(parents=True)
    table.to_csv(repo / "data/source/customers.csv", index=False)
    env = environment(LIFECYCLE_TRACE_DIR=str(tmp_path / "trace"))

    outputs = [run(["bash", "-c", command], repo, env).stdout for command in docs_commands()]

    assert any("init" in c for c in docs_commands())
    printed = "\n".join(outputs)
    assert "flagged customer_id: looks like an identifier" in printed
    assert "flagged last_comment: looks like an identifier" in printed
    assert "flagged refund_issued: looks like leakage" in printed
    assert stages_run(outputs[1]) == STAGES  # init, then `dvc repro`
    assert_declarations_match_traces(repo, tmp_path / "trace", STAGES)
    rules = contract.load(repo / "data/contract.yaml")
    assert rules.with_role("leakage") == ["refund_issued"]
    assert rules.keys == ["customer_id"]
    metrics = json.loads((repo / "reports/evaluation/metrics.json").read_text())
    assert 0.5 < metrics["roc_auc"] <= 1

    report = json.loads((repo / "reports/data_quality.json").read_text())
    assert_report_counts_equal_pandas(report, table, "churned")
    assert (repo / "reports/data_quality.md").read_text().startswith("# Data quality")
    assert_no_key_in_two_splits(repo, "customer_id")
    # cleaning.category_case=lower (the page's experiment) rewrote the messy spellings
    curated = table.drop_duplicates().dropna(subset=["churned"])
    rewritten = int((curated["region"].map(norm) != curated["region"]).sum())
    changed = report["cleaning"]["categories_normalised_by_split"]
    assert sum(split["region"] for split in changed.values()) == rewritten > 0
    clipped = report["cleaning"]["outliers_by_split"]
    assert sum(split["monthly_spend"] for split in clipped.values()) >= 4


def assert_report_counts_equal_pandas(report: dict, table: pd.DataFrame, target: str) -> None:
    assert report["rows_in"] == len(table)
    assert report["duplicates_found"]["rows"] == table.duplicated().sum() == 6
    labelled = table.dropna(subset=[target])
    assert report["rows_dropped"]["missing_target"] == len(table) - len(labelled)
    assert report["rows_dropped"]["duplicate_row"] == labelled.duplicated().sum()
    assert report["rows_out"] == len(labelled.drop_duplicates())
    for name in table.columns:
        column = report["columns"][name]
        assert column["missing"] == table[name].isna().sum(), name
        assert column["distinct"] == table[name].nunique(), name
    spend = report["columns"]["monthly_spend"]
    assert spend["median"] == pytest.approx(table["monthly_spend"].median())
    assert spend["max"] == pytest.approx(table["monthly_spend"].max())
    assert report["columns"]["plan"]["top"] == table["plan"].value_counts().head(5).to_dict()
    rows_per_split = sum(split["rows"] for split in report["splits"].values())
    assert rows_per_split == report["rows_out"]


def assert_no_key_in_two_splits(repo: Path, key: str) -> None:
    keys = {name: set(pd.read_parquet(repo / f"data/prepared/{name}.parquet")[key])
            for name in ("train", "test", "current")}
    assert not (keys["train"] & keys["test"] or keys["train"] & keys["current"]
                or keys["test"] & keys["current"])


# --- multiclass from parquet, regression from SQLite --------------------------------------------


@pytest.fixture(scope="module")
def multiclass_repo(tmp_path_factory) -> dict:
    def save(table: pd.DataFrame, folder: Path) -> None:
        table.to_parquet(folder / "customers.parquet", index=False)

    return init_and_featurize(tmp_path_factory.mktemp("multiclass"),
                              customers("multiclass", seed=1), save,
                              "--data", "data/source/customers.parquet", "--target", "segment",
                              "--time-column", "signup_date")


def init_and_featurize(tmp_path: Path, table: pd.DataFrame,
                       save: Callable[[pd.DataFrame, Path], None],
                       *init_arguments: str) -> dict:
    """A copy of the project on `table` (saved under data/source/ by `save`), after
    `lifecycle init` and a traced `dvc repro featurize`."""
    repo = copy_project(tmp_path / "project")
    (repo / "data/source").mkdir(parents=True)
    save(table, repo / "data/source")
    init = run([bin_path("lifecycle"), "init", *init_arguments], repo, environment())
    output, trace_dir = reproduce(repo, tmp_path, "featurize")
    return {"repo": repo, "table": table, "init": init.stdout, "output": output,
            "trace_dir": trace_dir, "tmp_path": tmp_path}


def test_init_on_multiclass_parquet_splits_out_of_time_and_featurizes(multiclass_repo):
    repo, table = multiclass_repo["repo"], multiclass_repo["table"]

    assert "task multiclass on 'segment', primary metric macro_f1" in multiclass_repo["init"]
    assert stages_run(multiclass_repo["output"]) == ["ingest", "prepare", "featurize"]
    assert_declarations_match_traces(repo, multiclass_repo["trace_dir"],
                                     ["ingest", "prepare", "featurize"])
    report = json.loads((repo / "reports/data_quality.json").read_text())
    assert_report_counts_equal_pandas(report, table, "segment")
    train = pd.read_parquet(repo / "data/prepared/train.parquet")
    test = pd.read_parquet(repo / "data/prepared/test.parquet")
    assert train["signup_date"].max() < test["signup_date"].min()
    assert set(report["splits"]["train"]["classes"]) == {"leaving", "loyal", "wavering"}


def test_multiclass_parquet_runs_to_evaluation(multiclass_repo, tmp_path):
    repo = copy_repository(multiclass_repo["repo"], tmp_path / "project")  # repro changes it
    output, trace_dir = reproduce(repo, tmp_path)

    assert_trained_and_evaluated(repo, output, trace_dir, {"macro_f1", "balanced_accuracy",
                                                           "log_loss"})


def assert_trained_and_evaluated(repo: Path, output: str, trace_dir: Path,
                                 headline: set[str]) -> None:
    """train, evaluate and monitor ran as declared, with the task's metrics and a verdict."""
    # check too: nothing depends on it, so `dvc repro featurize` left it out
    assert stages_run(output) == ["check", "train", "evaluate", "monitor", "export"]
    assert_declarations_match_traces(repo, trace_dir, ["train", "evaluate", "monitor", "export"])
    metrics = json.loads((repo / "reports/evaluation/metrics.json").read_text())
    assert headline <= set(metrics)
    gate = json.loads((repo / "reports/gate.json").read_text())
    assert gate["verdict"] in ("VALIDATED", "REJECTED")
    assert_every_chart_of_the_task_draws(repo)


def assert_every_chart_of_the_task_draws(repo: Path) -> None:
    """The plots init registered for the task are the files the stages wrote, and each one
    draws in a browser with no network."""
    if CHROMIUM is None:
        pytest.skip("needs Debian's chromium (.ci/run installs it)")
    run([bin_path("dvc"), "plots", "show", "-o", str(repo.parent / "plots")], repo,
        environment())
    assert_every_chart_drew(rendered(repo.parent / "plots/index.html"), vega_plots(repo))


@pytest.fixture(scope="module")
def regression_repo(tmp_path_factory) -> dict:
    def save(table: pd.DataFrame, folder: Path) -> None:
        with sqlite3.connect(folder / "shop.db") as connection:
            table.to_sql("customers", connection, index=False)

    return init_and_featurize(tmp_path_factory.mktemp("regression"),
                              customers("regression", seed=2), save,
                              "--sql-url", "sqlite:///data/source/shop.db",
                              "--query", "select * from customers", "--target", "lifetime_value")


def test_init_on_a_sqlite_query_infers_regression_and_featurizes(regression_repo):
    repo, table = regression_repo["repo"], regression_repo["table"]

    assert "task regression on 'lifetime_value', primary metric rmse" in regression_repo["init"]
    assert stages_run(regression_repo["output"]) == ["ingest", "prepare", "featurize"]
    assert_declarations_match_traces(repo, regression_repo["trace_dir"],
                                     ["ingest", "prepare", "featurize"])
    assert "data/source/shop.db" in declared(repo)["ingest"]["deps"]
    report = json.loads((repo / "reports/data_quality.json").read_text())
    assert_report_counts_equal_pandas(report, table, "lifetime_value")
    assert report["splits"]["train"]["mean"] > 0
    assert_no_key_in_two_splits(repo, "customer_id")


def test_regression_from_sqlite_runs_to_evaluation(regression_repo, tmp_path):
    repo = copy_repository(regression_repo["repo"], tmp_path / "project")  # repro changes it
    output, trace_dir = reproduce(repo, tmp_path)

    assert_trained_and_evaluated(repo, output, trace_dir, {"rmse", "mae", "r2"})
    details = json.loads((repo / "reports/evaluation/details.json").read_text())
    assert set(details["baselines"]) == {"trivial", "linear"}
