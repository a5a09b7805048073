"""The table `lifecycle init` reads (a CSV or parquet file, or a SQL query), the params.yaml
`source:` section that reads it again in ingest, and the copy of a file from outside the project
into data/source/ (DVC tracks a stage's dependencies inside the project): made last, atomically,
and never over a different file of the same name.
"""

import filecmp
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from lifecycle.core import files, paths
from lifecycle.core.errors import LifecycleError
from lifecycle.data import sources

SOURCE_DIR = Path("data/source")
WRITES = ("params.yaml", "dvc.yaml", paths.CONTRACT)  # never the source it reads


# A file from outside the project and where init copies it: (original, copy in data/source/).
Copy = tuple[Path, Path] | None


def read_source(data: str | None, sql_url: str | None,
                query: str | None) -> tuple[pd.DataFrame, dict[str, Any], Copy]:
    """The table, the params.yaml `source:` section that reads it again in ingest, and the copy
    into the project that section needs (made last, once everything else has succeeded)."""
    base = {"sample_fraction": 1.0}
    if sql_url:
        if not query:
            raise LifecycleError("init: --sql-url needs --query \"select ...\"")
        database = sources.sqlite_file(sql_url, f"--sql-url {sql_url}")
        copy, url = None, sql_url
        if database:
            location, copy = project_location(Path(database))
            url = sources.sqlite_url(location)
        return sources.read_sql(sql_url, query, ("--sql-url", "--query")), {
            "name": "sql", **base, "url": url, "query": query}, copy
    if not data:
        raise LifecycleError("init: give --data PATH (csv or parquet) or --sql-url and --query")
    path = Path(data)
    kind = "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"
    table = sources.read_file(path, kind, "--data")
    location, copy = project_location(path)
    return table, {"name": kind, **base, "path": location.as_posix()}, copy


def project_location(path: Path) -> tuple[Path, Copy]:
    """The path relative to the project, and for a file outside it the copy to make in
    data/source/: DVC tracks a stage's dependencies inside the project. Refuses a copy that
    would replace a different file."""
    resolved, root = path.resolve(), Path.cwd().resolve()
    if resolved in {(root / name).resolve() for name in WRITES}:
        raise LifecycleError(f"init: {path} is a file init writes; nothing was written; give "
                             f"the table's own file")
    if resolved.is_relative_to(root):
        return resolved.relative_to(root), None
    if not path.is_file():
        raise LifecycleError(f"init: {path}: file not found")
    copy = SOURCE_DIR / path.name
    check_copy(path, copy)
    return copy, (path, copy)


def check_copy(original: Path, copy: Path) -> None:
    """A file already at `copy` is reused when it holds the same bytes, never replaced."""
    if copy.is_symlink() or (copy.exists() and not copy.is_file()):
        raise LifecycleError(f"init: {copy} exists and is not a plain file; remove or rename "
                             f"it, or give --data a file inside the project")
    if copy.exists() and not filecmp.cmp(original, copy, shallow=False):
        raise LifecycleError(f"init: {copy} already exists and differs from {original}; "
                             f"nothing was written; remove or rename one of them (or give "
                             f"--data {copy} to use the one in the project)")


def make_copy(copy: Copy) -> None:
    """Copy the source into the project, atomically (a temporary beside it, then renamed)."""
    if copy is None:
        return
    original, destination = copy
    check_copy(original, destination)  # again: the file may have appeared meanwhile
    if destination.exists():
        print(f"{destination} already holds {original}; using it (a dependency of ingest)")
        return
    try:
        with files.atomic_path(destination) as temporary:
            shutil.copyfile(original, temporary)
    except OSError as error:
        raise LifecycleError(f"init: could not copy {original} to {destination}: "
                             f"{error.strerror or error}") from None
    print(f"copied {original} to {destination} (a dependency of ingest)")
