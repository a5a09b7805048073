"""`lifecycle init` on what it cannot use: one clear line and nothing written, and never a
file of the project replaced; a copy from outside the project is made last, atomically.

Each test runs `lifecycle.cli.main` in a project folder beside an `outside` folder, and compares
every file under both before and after.
"""

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from lifecycle import cli
from lifecycle.config import contract

from .test_catalogue import snapshot
from .test_hostile_params import template_project, tiny_table


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    """The template's params.yaml, dvc.yaml and contract in tmp_path/project, the working
    directory; tmp_path/outside is a folder beside it."""
    (tmp_path / "outside").mkdir()
    folder = template_project(tmp_path / "project")
    monkeypatch.chdir(folder)
    return folder


def init(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["init", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_refused_and_nothing_changed(capsys, project: Path, args: tuple[str, ...], code: int,
                                       *words: str) -> None:
    everything = project.parent
    before = snapshot(everything)
    exit_code, _, errors = init(capsys, *args)
    assert exit_code == code, errors
    assert errors.startswith("lifecycle init: error: ") and errors.count("\n") == 1, errors
    assert "Traceback" not in errors
    for word in words:
        assert word in errors, errors
    assert snapshot(everything) == before


# --- C: tables and flags init cannot use ----------------------------------------------------


def test_an_infinite_regression_target_is_refused(project, capsys):
    table = tiny_table().assign(answer=np.linspace(0, 100, 240))
    table.loc[7, "answer"] = np.inf
    table.to_csv(project / "t.csv", index=False)

    assert_refused_and_nothing_changed(capsys, project, ("--data", "t.csv", "--target",
                                                         "answer"), 1,
                                       "t.csv: column 'answer' holds 1 infinite value(s)")


@pytest.mark.parametrize("column, words", [
    ("colour", "--time-column 'colour' of t.csv does not hold dates: 240 of 240 values are not "
               "dates or times (e.g. '"),
    ("signal", "--time-column 'signal' of t.csv holds numbers, not dates"),
    ("answer", "--time-column 'answer' is the target"),
    ("same_day", "--time-column 'same_day' has too few distinct times to split out of time"),
    ("nothing", "--time-column 'nothing' of t.csv is empty in every row"),
    ("absent", "--time-column 'absent' is not a column of t.csv"),
])
def test_a_time_column_that_cannot_split_out_of_time_is_refused(column, words, project, capsys):
    table = tiny_table().assign(same_day="2024-05-01", nothing=None)
    table.to_csv(project / "t.csv", index=False)

    assert_refused_and_nothing_changed(capsys, project, ("--data", "t.csv", "--target", "answer",
                                                         "--time-column", column), 1, words)


def test_a_time_column_with_one_value_that_is_not_a_date_is_refused(project, capsys):
    table = tiny_table()
    table.loc[3, "when"] = "soon"
    table.to_csv(project / "t.csv", index=False)

    assert_refused_and_nothing_changed(
        capsys, project, ("--data", "t.csv", "--target", "answer", "--time-column", "when"), 1,
        "--time-column 'when' of t.csv does not hold dates: 1 of 240 values", "(e.g. 'soon')")


def test_time_columns_with_offsets_split_out_of_time(project, capsys):
    table = tiny_table()
    table["when"] = table["when"] + np.where(np.arange(240) % 2, "T10:00:00+02:00",
                                             "T10:00:00-05:00")
    table.to_csv(project / "t.csv", index=False)

    code, _, errors = init(capsys, "--data", "t.csv", "--target", "answer", "--time-column",
                           "when")

    assert code == 0, errors
    split = yaml.safe_load((project / "params.yaml").read_text())["split"]
    assert split["method"] == "out_of_time" and split["test_start"] < split["current_start"]


@pytest.mark.parametrize("params_text, code, words", [
    ("- problem\n- source\n", 2, "params.yaml: top level: expected a mapping"),
    (None, 2, "params.yaml: source: missing; add it"),
    ("seed: 1\nproblem: &p [*p]\n", 2, "params.yaml: nested more than 50 levels deep"),
    ("".join(f"k{i}: &k{i} [{', '.join([f'*k{i - 1}'] * 10)}]\n" if i else "k0: &k0 lol\n"
             for i in range(9)), 2, "params.yaml: more than 200,000 values once its aliases"),
])
def test_a_params_file_init_cannot_edit_is_refused_before_any_work(params_text, code, words,
                                                                    project, capsys):
    if params_text is None:
        data = yaml.safe_load((project / "params.yaml").read_text())
        del data["source"]
        params_text = yaml.safe_dump(data)
    (project / "params.yaml").write_text(params_text)
    tiny_table().to_csv(project / "t.csv", index=False)

    assert_refused_and_nothing_changed(capsys, project, ("--data", "t.csv", "--target",
                                                         "answer"), code, words)


@pytest.mark.parametrize("answers, task, words", [
    ([f"c{i % 120}" for i in range(240)], None, "target 'answer' has 120 classes, more than the "
                                                "100 a classifier here learns"),
    (list(np.linspace(0, 1, 240)), "classification", "or use --task regression"),
])
def test_a_target_with_too_many_classes_is_refused(answers, task, words, project, capsys):
    tiny_table().assign(answer=answers).to_csv(project / "t.csv", index=False)
    extra = ("--task", task) if task else ()

    assert_refused_and_nothing_changed(capsys, project, ("--data", "t.csv", "--target",
                                                         "answer", *extra), 1, "t.csv: ", words)


@pytest.mark.parametrize("name", ["Survey", "my_survey", "survey-", "sur--vey", "survey.v2",
                                  "survey 2024", ""])
def test_a_name_that_is_not_a_slug_is_refused_before_the_table_is_read(name, project, capsys):
    assert_refused_and_nothing_changed(capsys, project, ("--data", "absent.csv", "--target",
                                                         "answer", "--name", name), 1,
                                       f"--name {name!r} is not a slug", "lowercase letters")


def test_a_dvc_file_without_the_ingest_stage_is_refused(project, capsys):
    (project / "dvc.yaml").write_text("stages:\n  train: {cmd: lifecycle train}\n")
    tiny_table().to_csv(project / "t.csv", index=False)

    assert_refused_and_nothing_changed(capsys, project, ("--data", "t.csv", "--target",
                                                         "answer"), 1,
                                       "dvc.yaml: no `stages: ingest:` with a `deps:` list")


# --- C/E: infinite feature values -------------------------------------------------------------


def test_infinite_feature_values_fall_outside_the_inferred_range_and_are_dropped(project,
                                                                                capsys):
    table = tiny_table()
    table.loc[[5, 9], "signal"] = [np.inf, -np.inf]
    (project / "data/source").mkdir(parents=True)
    table.to_csv(project / "data/source/t.csv", index=False)
    assert init(capsys, "--data", "data/source/t.csv", "--target", "answer")[0] == 0
    rules = contract.load(project / "data/contract.yaml").columns["signal"]
    finite = table["signal"][np.isfinite(table["signal"])]
    assert (rules.min, rules.max) == contract.inferred_range(finite.min(), finite.max())
    assert rules.bounds == "soft"  # and still, an infinity is outside it

    for stage in ("ingest", "prepare", "featurize"):
        assert cli.main([stage]) == 0, stage

    report = json.loads((project / "reports/data_quality.json").read_text())
    assert report["rows_dropped"]["out_of_range:signal"] == 2


def test_infinite_feature_values_without_a_range_stop_prepare(project, capsys):
    table = tiny_table()
    table.loc[5, "signal"] = np.inf
    (project / "data/source").mkdir(parents=True)
    table.to_csv(project / "data/source/t.csv", index=False)
    assert init(capsys, "--data", "data/source/t.csv", "--target", "answer")[0] == 0
    text = (project / "data/contract.yaml").read_text()
    rule = next(line for line in text.splitlines() if line.strip().startswith("signal:"))
    (project / "data/contract.yaml").write_text(
        text.replace(rule, "  signal: {type: numeric, role: feature, nullable: false}"))
    assert cli.main(["ingest"]) == 0
    before = snapshot(project)
    capsys.readouterr()

    assert cli.main(["prepare"]) == 1

    errors = capsys.readouterr().err
    assert "data/raw/dataset.parquet: column 'signal' holds 1 infinite value(s)" in errors
    assert "give the column a min and max in data/contract.yaml" in errors
    assert snapshot(project) == before


# --- D: init never loses data -------------------------------------------------------------------


def test_a_different_file_of_the_same_name_in_data_source_is_never_replaced(project, capsys):
    (project / "data/source").mkdir(parents=True)
    tiny_table(seed=1).to_csv(project / "data/source/answers.csv", index=False)
    tiny_table().to_csv(project.parent / "outside/answers.csv", index=False)

    assert_refused_and_nothing_changed(
        capsys, project, ("--data", "../outside/answers.csv", "--target", "answer"), 1,
        "data/source/answers.csv already exists and differs from ../outside/answers.csv",
        "remove or rename one of them")


def test_a_failed_init_keeps_the_file_of_the_same_name_and_copies_nothing(project, capsys):
    (project / "data/source").mkdir(parents=True)
    tiny_table(seed=1).to_csv(project / "data/source/answers.csv", index=False)
    tiny_table().assign(answer="yes").to_csv(project.parent / "outside/answers.csv",
                                             index=False)

    assert_refused_and_nothing_changed(
        capsys, project, ("--data", "../outside/answers.csv", "--target", "answer"), 1,
        "data/source/answers.csv")


@pytest.mark.parametrize("table, words", [
    (tiny_table().assign(answer="yes"), "target column 'answer' has a single class"),
    (tiny_table().assign(answer=np.nan), "target column 'answer' is missing in every row"),
    (tiny_table(), "--time-column 'colour' of ../outside/answers.csv does not hold dates"),
])
def test_a_failed_init_of_a_file_outside_leaves_no_copy(table, words, project, capsys):
    table.to_csv(project.parent / "outside/answers.csv", index=False)

    assert_refused_and_nothing_changed(
        capsys, project, ("--data", "../outside/answers.csv", "--target", "answer",
                          "--time-column", "colour" if "colour" in words else "when"), 1,
        "../outside/answers.csv", words)
    assert not (project / "data/source").exists()


# params.yaml and dvc.yaml must hold the template's sections (refused before any work); the
# contract is the output a table could stand in for.
def test_a_table_at_the_path_of_the_contract_init_writes_is_refused(project, capsys):
    """A readable table under the name of init's output would be written over by the command
    that read it; it is refused, and every file keeps its bytes."""
    tiny_table().to_csv(project / "data/contract.yaml", index=False)

    assert_refused_and_nothing_changed(
        capsys, project, ("--data", "data/contract.yaml", "--target", "answer"), 1,
        "data/contract.yaml is a file init writes")


def test_a_sqlite_database_at_the_path_of_the_contract_is_refused(project, capsys):
    (project / "data/contract.yaml").unlink()
    with sqlite3.connect(project / "data/contract.yaml") as connection:
        tiny_table().to_sql("answers", connection, index=False)

    assert_refused_and_nothing_changed(
        capsys, project, ("--sql-url", "sqlite:///data/contract.yaml", "--query",
                          "select * from answers", "--target", "answer"), 1,
        "is a file init writes")


def test_a_file_outside_is_copied_last_and_whole(project, capsys):
    outside = project.parent / "outside/answers.csv"
    tiny_table().to_csv(outside, index=False)

    code, printed, errors = init(capsys, "--data", str(outside), "--target", "answer")

    assert code == 0, errors
    assert (project / "data/source/answers.csv").read_bytes() == outside.read_bytes()
    assert f"copied {outside} to data/source/answers.csv" in printed
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["source"]["path"] == "data/source/answers.csv"
    assert str(project.parent) not in (project / "params.yaml").read_text()
    assert [p.name for p in project.rglob("*.tmp")] == []


def test_a_copy_with_the_same_bytes_is_reused(project, capsys):
    outside = project.parent / "outside/answers.csv"
    tiny_table().to_csv(outside, index=False)
    (project / "data/source").mkdir(parents=True)
    (project / "data/source/answers.csv").write_bytes(outside.read_bytes())
    stamp = (project / "data/source/answers.csv").stat().st_mtime_ns

    code, printed, errors = init(capsys, "--data", str(outside), "--target", "answer")

    assert code == 0, errors
    assert "data/source/answers.csv already holds" in printed
    assert (project / "data/source/answers.csv").stat().st_mtime_ns == stamp


def test_a_sqlite_database_outside_is_copied_only_when_init_succeeds(project, capsys):
    database = project.parent / "outside/shop.db"
    with sqlite3.connect(database) as connection:
        tiny_table().to_sql("answers", connection, index=False)
    url = f"sqlite:///{database}"

    assert_refused_and_nothing_changed(
        capsys, project, ("--sql-url", url, "--query", "select * from answers",
                          "--target", "missing"), 1, "target column 'missing' not found")
    code, _, errors = init(capsys, "--sql-url", url, "--query", "select * from answers",
                           "--target", "answer")

    assert code == 0, errors
    assert (project / "data/source/shop.db").read_bytes() == database.read_bytes()
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["source"]["url"] == "sqlite:///data/source/shop.db"


def test_text_labels_pass_init_with_their_positive_class(project, capsys):
    tiny_table(labels=("no", "yes")).to_csv(project / "t.csv", index=False)

    code, printed, _ = init(capsys, "--data", "t.csv", "--target", "answer")

    assert code == 0
    assert "positive class: 'yes'" in printed
    rules = contract.load(project / "data/contract.yaml")
    assert rules.columns["answer"].categories == ["no", "yes"]
    assert pd.read_csv(project / "t.csv")["answer"].nunique() == 2


@pytest.mark.parametrize("driver", ["sqlite", "sqlite+pysqlite"])
def test_a_query_that_writes_is_refused_and_the_database_keeps_its_tables(project, capsys,
                                                                          driver):
    database = project.parent / "outside/shop#2024.db"
    with sqlite3.connect(database) as connection:
        tiny_table().to_sql("answers", connection, index=False)
    connection.close()
    url = f"{driver}:///{str(database).replace('#', '%23')}"

    assert_refused_and_nothing_changed(
        capsys, project, ("--sql-url", url, "--query", "drop table answers", "--target",
                          "answer"), 1, "refused: not a single read statement",
        "(it starts with DROP)")


@pytest.mark.parametrize("name", ["sig\nnal", "sig\r\nnal", "sig\u2028nal", "sig: 'nal' #x"])
def test_a_column_name_holding_a_line_break_or_yaml_syntax_stays_one_column(project, capsys,
                                                                             name):
    tiny_table().rename(columns={"signal": name}).to_csv(project / "t.csv", index=False)

    code, _, errors = init(capsys, "--data", "t.csv", "--target", "answer")

    assert code == 0, errors
    rules = contract.load(project / "data/contract.yaml")
    assert name in rules.columns and rules.columns[name].type == "numeric"
    assert cli.main(["check"]) == 0, capsys.readouterr().err
