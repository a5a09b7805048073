"""SQL sources are read, never written: whatever the URL's spelling and the file's name, no
query changes the database or creates a file, and a query that is not one read statement is
refused before it runs."""

import hashlib
import re
import sqlite3
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest

from lifecycle.core.errors import LifecycleError
from lifecycle.data import sources

FILE_NAMES = ["shop.db", "shop#2024.db", "shop?v=2.db", "100% shop.db", "my shop.db"]
DRIVERS = ["sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"]
WRITING_QUERIES = [
    "drop table customers",
    "create table copy as select * from customers",
    "attach database 'other.db' as other",
    "select * from customers; drop table customers",
    "select 1 -- a comment; \n; delete from customers",
    "with gone as (delete from customers returning *) select * from gone",
    "select * into copy from customers",
    "insert into customers values (4, 'x')",
    "pragma journal_mode = delete",
    "vacuum",
]


def database(folder: Path, name: str) -> Path:
    path = folder / name
    with sqlite3.connect(path) as connection:
        pd.DataFrame({"id": [1, 2, 3], "city": ["a", "b", "c"]}).to_sql(
            "customers", connection, index=False)
    connection.close()
    return path


def url(driver: str, path: Path) -> str:
    return f"{driver}:///{urllib.parse.quote(path.as_posix())}"


def digests(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.iterdir())}


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("name", FILE_NAMES)
def test_every_spelling_reads_the_named_file(tmp_path, driver, name):
    path = database(tmp_path, name)
    before = digests(tmp_path)

    table = sources.read_sql(url(driver, path), "select * from customers order by id")

    assert table["city"].tolist() == ["a", "b", "c"]
    assert sources.sqlite_file(url(driver, path)) == str(path)
    assert digests(tmp_path) == before  # nothing changed, no neighbour ("shop") created


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("name", ["shop.db", "shop#2024.db"])
@pytest.mark.parametrize("query", WRITING_QUERIES)
def test_no_query_changes_the_database_or_makes_a_file(tmp_path, monkeypatch, driver, name,
                                                       query):
    monkeypatch.chdir(tmp_path)
    path = database(tmp_path, name)
    before = digests(tmp_path)

    with pytest.raises(LifecycleError, match="refused: not a single read statement"):
        sources.read_sql(url(driver, path), query)

    assert digests(tmp_path) == before


@pytest.mark.parametrize("query", WRITING_QUERIES)
def test_the_connection_itself_refuses_every_change_when_the_check_is_bypassed(
        tmp_path, monkeypatch, query):
    """The query check gives the clear message; the read-only connection is what keeps the
    file safe, whatever the check lets through."""
    monkeypatch.chdir(tmp_path)
    path = database(tmp_path, "shop#2024.db")
    before = digests(tmp_path)
    connection = sources.open_sqlite_read_only(path)

    with pytest.raises(sqlite3.Error):
        connection.executescript(query)
    connection.close()

    assert digests(tmp_path) == before


def test_a_missing_file_is_an_error_not_a_new_empty_database(tmp_path):
    missing = tmp_path / "shop#2024.db"

    with pytest.raises(LifecycleError, match="not found"):
        sources.read_sql(url("sqlite", missing), "select 1")

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("query", [
    "select * from customers",
    "SELECT city FROM customers WHERE city <> 'drop table; delete'",
    'select "update" from (select 1 as "update")',
    "with recent as (select * from customers) select * from recent;",
    "-- the customers\nselect * from customers /* all; of them */",
    "values (1, 2)",
])
def test_read_statements_pass_the_check(query):
    sources.check_read_query(query)


@pytest.mark.parametrize("given, message", [
    ("sqlite://", "not the path of a database file"),
    ("sqlite:///:memory:", "not the path of a database file"),
    ("sqlite:///file:shop.db", "not the path of a database file"),
    ("sqlite:///shop.db?mode=rw", "options after `?` are not used"),
    ("not a url", "not a SQLAlchemy URL"),
])
def test_urls_that_name_no_file_to_read_are_refused(given, message):
    with pytest.raises(LifecycleError, match=re.escape(message)):
        sources.sqlite_file(given)


def test_sqlite_url_escapes_the_names_sqlite_file_reads_back():
    for name in FILE_NAMES:
        assert sources.sqlite_file(sources.sqlite_url(f"data/source/{name}")) == \
            f"data/source/{name}"


def test_the_read_only_session_statements_are_set_per_dialect():
    """PostgreSQL and MySQL run the query in a read-only transaction (no server here to run
    them against: the statements are the dialects' documented ones)."""
    for dialect in ("postgresql", "mysql", "mariadb"):
        assert sources.READ_ONLY_SESSION[dialect] == ("SET TRANSACTION READ ONLY",)
    assert "sqlite" not in sources.READ_ONLY_SESSION  # read-only by the connection itself
