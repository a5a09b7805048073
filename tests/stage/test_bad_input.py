"""Own-data sources: SQLite opened read-only, a file from outside the project copied in.

The catalogue of bad inputs, with their messages, is test_catalogue.py."""

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from ..conftest import bin_path, environment, example_file


def lifecycle(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([bin_path("lifecycle"), *arguments], cwd=cwd, env=environment(),
                          capture_output=True, text=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("params.yaml", "dvc.yaml"):
        shutil.copy(example_file(name), tmp_path / name)
    return tmp_path


def good_table() -> pd.DataFrame:
    return pd.DataFrame({"x": range(20), "c": ["a", "b"] * 10, "y": [0, 1] * 10})


def test_sqlite_is_opened_read_only(tmp_path, monkeypatch):
    from lifecycle.core.errors import LifecycleError
    from lifecycle.data import sources

    monkeypatch.chdir(tmp_path)
    with sqlite3.connect("shop.db") as connection:
        good_table().to_sql("customers", connection, index=False)

    assert len(sources.read_sql("sqlite:///shop.db", "select * from customers")) == 20
    with pytest.raises(LifecycleError, match="refused: not a single read statement"):
        sources.read_sql("sqlite:///shop.db", "delete from customers returning x")
    assert len(sources.read_sql("sqlite:///shop.db", "select * from customers")) == 20
    with pytest.raises(LifecycleError, match=r"database file missing\.db not found"):
        sources.read_sql("sqlite:///missing.db", "select 1")
    assert not Path("missing.db").exists()


@pytest.mark.slow  # the installed command in a process of its own
def test_init_copies_a_file_from_outside_the_project_into_data_source(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "table.csv"
    good_table().to_csv(outside, index=False)

    result = lifecycle("init", "--data", str(outside), "--target", "y", cwd=project)

    assert result.returncode == 0, result.stderr
    assert (project / "data/source/table.csv").read_bytes() == outside.read_bytes()
    assert "path: data/source/table.csv" in (project / "params.yaml").read_text()
    assert "- data/source/table.csv" in (project / "dvc.yaml").read_text()
