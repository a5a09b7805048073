"""Atomic, deterministic reads and writes of the files stages exchange.

Every writer goes through `atomic_path` (or `atomic_directory`): the content lands in a temporary
that `tempfile` creates beside the target under a unique name, and is renamed over it only when
complete, so a killed process never leaves a half-written output. A write removes only the
temporary it created: nothing is ever deleted by a name pattern, which cannot tell a temporary
of another writer running now, or a user's file, from one a killed writer left. What SIGKILL
leaves (`.NAME.RANDOM.tmp`) is ignored by git and DVC and may be deleted by hand.
"""

import contextlib
import errno
import json
import math
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lifecycle.core import stage_trace
from lifecycle.core.errors import LifecycleError

# Write errors that mean the disk or the file system refused more bytes.
FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` if the block succeeds.

    Folders created for the target are removed again if the block fails, so a failed command
    leaves nothing behind."""
    target = Path(path)
    created = _make_parents(target.parent)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    os.close(handle)
    os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 would make outputs private
    try:
        yield Path(temporary)
        os.replace(temporary, target)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        _remove_empty(created)
        if isinstance(error, OSError) and error.errno in FULL:
            raise LifecycleError(f"{target}: could not write: {error.strerror}; free some "
                                 f"space or choose another path; nothing was written") from None
        raise
    stage_trace.record_write(target)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, *, recorded: bool = False) -> Iterator[Path]:
    """Yield a temporary directory beside `path`; it replaces `path` if the block succeeds.

    The old folder is moved aside, not deleted, until the new one is in place. Callers with a
    user-given path check it first with `check_output(..., folder=True)` and write it
    `recorded`: the folder then lists what was written in it (RECORD), and a later command
    replaces it only while it holds just those files, unchanged."""
    import shutil

    target = Path(path)
    created = _make_parents(target.parent)
    temporary = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        yield temporary
        if recorded:
            _record(temporary)
        _swap_in(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        _remove_empty(created)
        raise
    stage_trace.record_write(target)


def _swap_in(new: Path, target: Path) -> None:
    """Put folder `new` at `target`; the old target is removed only once the new one is there."""
    import shutil

    if not target.exists():
        os.replace(new, target)
        return
    # A unique empty folder, which the rename of the old target replaces (never another's).
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _make_parents(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; return those created, deepest first."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        try:
            created.mkdir()
        except OSError as error:
            _remove_empty(missing)
            raise LifecycleError(f"{created}: cannot create the folder: "
                                 f"{error.strerror or error}; choose another path") from None
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        with contextlib.suppress(OSError):
            folder.rmdir()


# --- outputs a user names ---------------------------------------------------------------------

# Folders of the project that git and DVC manage: nothing a command writes may land there.
MACHINERY = (".git", ".dvc")


def check_output(path: str | os.PathLike, *, inputs: tuple = (), overwrite: bool = False,
                 folder: bool = False, option: str = "--output", owned: str | None = None
                 ) -> Path:
    """Refuse, before any work is done, an output path whose writing could destroy data.

    Never the project folder or a folder holding it, nothing inside .git or .dvc, never an input
    of the command or a folder holding one, never a file of the project (tracked by git or
    declared by DVC) nor a folder holding or inside one. An existing file is replaced only with
    `overwrite`; an existing `folder` only while it holds nothing but the files an earlier
    command recorded writing there, unchanged (`atomic_directory(recorded=True)`), or while it
    holds the file `owned`, by which a folder that a command keeps adding to (a log's) marks
    itself. Symbolic links are followed before comparing.
    """
    target = Path(path)
    where = f"{option} {path}: refused:"
    resolved, root = _real(target), _real(Path.cwd())
    if root.is_relative_to(resolved):
        raise LifecycleError(f"{where} it is the project folder or holds it; give a new file or "
                             f"folder")
    for machinery in MACHINERY:
        if resolved.is_relative_to(root / machinery):
            raise LifecycleError(f"{where} it is inside {machinery}/, which DVC and git "
                                 f"manage; choose another path")
    for source in inputs:
        real = _real(Path(source))
        if real == resolved:
            raise LifecycleError(f"{where} it is {source}, an input of this command; choose "
                                 f"another path")
        if real.is_relative_to(resolved):
            raise LifecycleError(f"{where} it holds {source}, an input of this command; choose "
                                 f"another path")
    _check_not_project_file(resolved, root, where)
    if folder:
        if owned is None or not (target / owned).is_file():
            _check_folder_output(target, where)
    else:
        _check_file_output(target, where, overwrite)
    _check_writable(target, option)
    return target


def _check_not_project_file(resolved: Path, root: Path, where: str) -> None:
    tracked, declared = project_paths(root)
    if resolved in tracked or any(resolved.is_relative_to(path) for path in declared):
        raise LifecycleError(f"{where} it is a file of the project or inside an output of the "
                             f"pipeline (tracked by git or DVC); choose another path")
    held = next((path for path in sorted(tracked | declared) if path.is_relative_to(resolved)),
                None)
    if held is not None:
        raise LifecycleError(f"{where} it holds {held.relative_to(root)}, a file of the project "
                             f"(tracked by git or DVC); choose another path")


def _check_file_output(target: Path, where: str, overwrite: bool) -> None:
    if target.is_dir():
        raise LifecycleError(f"{where} it is a folder; give the path of a file")
    if target.exists() and not overwrite:
        raise LifecycleError(f"{where} the file exists; pass --overwrite to replace it, or "
                             f"choose another path")


def _check_folder_output(target: Path, where: str) -> None:
    if target.exists() and not target.is_dir():
        raise LifecycleError(f"{where} it is a file; give the path of a folder")
    if target.is_dir():
        others = unrecorded(target)
        if others:
            raise LifecycleError(f"{where} the folder holds files this command did not write "
                                 f"there ({', '.join(others[:3])}); give a new folder")


# The list of what a command wrote in a folder of a user's choosing: name -> SHA-256.
RECORD = ".lifecycle-record.json"


def _record(folder: Path) -> None:
    written = {entry.name: _sha256(entry) for entry in sorted(folder.iterdir())
               if entry.is_file()}
    (folder / RECORD).write_text(json_text(written))


def unrecorded(folder: Path) -> list[str]:
    """The entries of `folder` that its RECORD does not list with their current content; all
    of them when it has none. Replacing a folder where this is empty loses nothing."""
    try:
        recorded = json.loads((folder / RECORD).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        recorded = {}
    if not isinstance(recorded, dict):
        recorded = {}
    return sorted(entry.name for entry in folder.iterdir() if entry.name != RECORD and not (
        entry.is_file() and not entry.is_symlink()
        and recorded.get(entry.name) == _sha256(entry)))


def _sha256(path: Path) -> str:
    import hashlib

    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _check_writable(target: Path, option: str) -> None:
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise LifecycleError(f"{option} {target}: cannot write there: {folder} is not a "
                             f"writable folder; choose another path")


def check_distinct(**named: str | os.PathLike) -> None:
    """Refuse two outputs of one command that are the same file (one would hide the other)."""
    seen: dict[Path, str] = {}
    for option, path in named.items():
        real = _real(Path(path))
        if real in seen:
            raise LifecycleError(f"--{option} {path}: refused: it is the same file as "
                                 f"--{seen[real]}; give each its own path")
        seen[real] = option


def project_paths(root: Path) -> tuple[set[Path], set[Path]]:
    """Files git tracks, and the paths DVC declares (stage deps and outs, metrics, plots, `.dvc`
    files' outs, params.yaml, dvc.yaml, dvc.lock), under the project root `root`."""
    import subprocess

    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True)
    tracked = {root / name for name in listed.stdout.split("\0") if name} \
        if listed.returncode == 0 else set()
    declared = {root / name for name in ("params.yaml", "dvc.yaml", "dvc.lock")}
    dvc_files = [root / "dvc.yaml", *(path for path in tracked if path.suffix == ".dvc")]
    declared |= {root / name for name in _dvc_declared(root, dvc_files)}
    return tracked, declared


def _dvc_declared(root: Path, files: list[Path]) -> list[str]:
    import yaml

    found: list[str] = []
    for file in files:
        try:
            document = yaml.safe_load(file.read_text()) if file.is_file() else None
        except (yaml.YAMLError, OSError, UnicodeDecodeError):
            continue  # an unreadable file declares nothing; DVC itself will say why
        if not isinstance(document, dict):
            continue
        if file.suffix == ".dvc":
            found += [str(file.parent.relative_to(root) / name)
                      for name in _entries(document.get("outs"))]
            continue
        for stage in (document.get("stages") or {}).values():
            if isinstance(stage, dict):
                for key in ("deps", "outs", "metrics", "plots"):
                    found += _entries(stage.get(key))
        found += _entries(document.get("metrics"))
    return found


def _entries(items: Any) -> list[str]:
    """Paths of a DVC list whose items are strings or one-key mappings ({path: options})."""
    if not isinstance(items, list):
        return []
    paths = []
    for item in items:
        if isinstance(item, dict):
            item = item.get("path") or next(iter(item), None)
        if isinstance(item, str):
            paths.append(item)
    return paths


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))



def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(data: bytes, path: str | os.PathLike) -> None:
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


def json_text(data: Any) -> str:
    """Stable, valid JSON: sorted keys and a trailing newline, so files diff cleanly; NaN and
    infinities (which JSON cannot hold) become null."""
    return json.dumps(finite(data), indent=2, sort_keys=True, allow_nan=False) + "\n"


def finite(data: Any) -> Any:
    """`data` with every NaN or infinite float replaced by None, at any depth."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: finite(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [finite(value) for value in data]
    return data


def write_json(data: Any, path: str | os.PathLike) -> None:
    write_bytes(json_text(data).encode(), path)


def make_json_valid(folder: Path) -> None:
    """Rewrite the JSON files under `folder` that hold NaN or infinities (which JSON cannot)
    with null in their place; the others keep their bytes."""
    for path in sorted(folder.rglob("*.json")):
        found: list[str] = []
        data = json.loads(path.read_text(), parse_constant=found.append)  # each becomes None
        if found:
            path.write_text(json.dumps(data, indent=4, allow_nan=False))


def read_json(path: str | os.PathLike) -> Any:
    stage_trace.record_read(path)
    try:
        return json.loads(existing(path).read_text())
    except (ValueError, UnicodeDecodeError) as error:
        raise LifecycleError(f"{path}: not valid JSON ({error}); run `dvc repro` (or "
                             f"`dvc pull`) to write it again") from None


def existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise LifecycleError(
            f"{path}: not found; run `dvc repro` (or `dvc pull`) to produce it first"
        )
    return path


# --- files a user gives to be read --------------------------------------------------------------

# What a path that is not a regular file names, for the message refusing it.
FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
              (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a pipe"),
              (stat.S_ISSOCK, "a socket"))


def check_regular(path: str | os.PathLike, name: str | None = None) -> None:
    """Refuse a path that exists but is not a regular file (links followed): a device such as
    /dev/zero reads without end, a pipe blocks until someone writes, a folder has no bytes."""
    refuse_irregular(os.stat(path).st_mode, name or str(path))


def refuse_irregular(mode: int, name: str) -> None:
    if stat.S_ISREG(mode):
        return
    kind = next((kind for test, kind in FILE_KINDS if test(mode)), "not a file")
    raise LifecycleError(f"{name}: not a regular file ({kind}); give the path of a file")


def read_regular(path: str | os.PathLike, limit: int, name: str | None = None,
                 fix: str = "check the path") -> bytes:
    """The bytes of a regular file of at most `limit` bytes; anything else is refused before
    it is read. Opened without blocking, so a pipe cannot stall the check, and read to at most
    `limit` + 1 bytes, so a file that grows meanwhile cannot make memory grow with it."""
    name = name or str(path)
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(descriptor)
        refuse_irregular(info.st_mode, name)  # a folder cannot even be opened as a file
    except BaseException:
        os.close(descriptor)
        raise
    with open(descriptor, "rb") as file:
        data = b"" if info.st_size > limit else file.read(limit + 1)
    if max(info.st_size, len(data)) > limit:
        raise LifecycleError(f"{name}: more than {limit:,} bytes, the most read here; {fix}")
    return data
