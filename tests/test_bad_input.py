"""Bad input: one clear line naming the file, column or key, a non-zero exit, nothing written."""

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from .conftest import ROOT, bin_path, environment


def lifecycle(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([bin_path("lifecycle"), *arguments], cwd=cwd, env=environment(),
                          capture_output=True, text=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def good_table() -> pd.DataFrame:
    return pd.DataFrame({"x": range(20), "c": ["a", "b"] * 10, "y": [0, 1] * 10})


def write_bytes(project: Path, name: str, data: bytes) -> str:
    (project / name).write_bytes(data)
    return name


CASES = {
    "missing file": (lambda p: "nope.csv", "source nope.csv: file not found"),
    "empty file": (lambda p: write_bytes(p, "e.csv", b""), "source e.csv: the file is empty"),
    "wrong delimiter": (lambda p: write_bytes(p, "s.csv", b"x;c;y\n1;a;0\n2;b;1\n"),
                        "the delimiter looks wrong; save the file comma-separated"),
    "wrong encoding": (lambda p: write_bytes(p, "l.csv", "x,c,y\n1,café,0\n2,b,1\n".encode(
                       "latin-1")), "source l.csv: not UTF-8 text"),
    "target absent": (lambda p: write_bytes(p, "t.csv", b"x,c,Y\n1,a,0\n2,b,1\n"),
                      "target column 'y' not found (did you mean 'Y'?)"),
    "target all missing": (lambda p: write_bytes(p, "m.csv", b"x,c,y\n1,a,\n2,b,\n"),
                           "target column 'y' is missing in every row"),
    "single class": (lambda p: write_bytes(p, "o.csv", b"x,c,y\n1,a,1\n2,b,1\n"),
                     "target column 'y' has a single class"),
}


@pytest.mark.parametrize("case", CASES)
def test_init_refuses_bad_input_with_a_clear_message_and_writes_nothing(project, case):
    make, words = CASES[case]
    params_before = (project / "params.yaml").read_text()

    result = lifecycle("init", "--data", make(project), "--target", "y", cwd=project)

    assert result.returncode == 1
    assert words in result.stderr
    assert result.stderr.startswith("lifecycle init: error: ")
    assert "Traceback" not in result.stderr
    assert not (project / "data/contract.yaml").exists()
    assert (project / "params.yaml").read_text() == params_before


def test_a_failing_sql_query_names_the_database_and_the_error(project):
    with sqlite3.connect(project / "shop.db") as connection:
        good_table().to_sql("customers", connection, index=False)

    result = lifecycle("init", "--sql-url", "sqlite:///shop.db", "--query",
                       "select * from customer", "--target", "y", cwd=project)

    assert result.returncode == 1
    assert "source sqlite:///shop.db: the query failed: no such table: customer" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "data/contract.yaml").exists()


def test_a_column_contradicting_the_contract_stops_prepare_and_names_it(project):
    table = good_table()
    assert lifecycle("init", "--data", write_csv(project, table), "--target", "y",
                     cwd=project).returncode == 0
    table["x"] = table["x"].astype(str)
    table.loc[3, "x"] = "n/a"  # the export changed: text in a numeric column
    (project / "data/raw").mkdir(parents=True)
    table.to_parquet(project / "data/raw/dataset.parquet")

    result = lifecycle("prepare", cwd=project)

    assert result.returncode == 1
    assert ("data/raw/dataset.parquet: 1 data contract rule(s) failed:\n"
            "  column 'x': wrong_type: 1 values are not numeric (e.g. 'n/a')") in result.stderr
    assert "edit data/contract.yaml" in result.stderr
    assert not (project / "data/prepared").exists()
    assert not (project / "reports").exists()


def write_csv(project: Path, table: pd.DataFrame) -> str:
    table.to_csv(project / "good.csv", index=False)
    return "good.csv"


def test_sqlite_is_opened_read_only(tmp_path, monkeypatch):
    from lifecycle import sources
    from lifecycle.errors import LifecycleError

    monkeypatch.chdir(tmp_path)
    with sqlite3.connect("shop.db") as connection:
        good_table().to_sql("customers", connection, index=False)

    assert len(sources.read_sql("sqlite:///shop.db", "select * from customers")) == 20
    with pytest.raises(LifecycleError, match="readonly database"):
        sources.read_sql("sqlite:///shop.db", "delete from customers returning x")
    with pytest.raises(LifecycleError, match=r"database file missing\.db not found"):
        sources.read_sql("sqlite:///missing.db", "select 1")
    assert not Path("missing.db").exists()


def test_init_copies_a_file_from_outside_the_project_into_data_source(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "table.csv"
    good_table().to_csv(outside, index=False)

    result = lifecycle("init", "--data", str(outside), "--target", "y", cwd=project)

    assert result.returncode == 0, result.stderr
    assert (project / "data/source/table.csv").read_bytes() == outside.read_bytes()
    assert "path: data/source/table.csv" in (project / "params.yaml").read_text()
    assert "- data/source/table.csv" in (project / "dvc.yaml").read_text()
