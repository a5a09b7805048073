"""Record what a stage reads and writes, so a test can compare it with dvc.yaml.

Set LIFECYCLE_TRACE_DIR and every stage run writes `<dir>/<stage>.json` with the
params keys it read, the project files it read and wrote, and the project modules it imported.
"""

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

TRACE_DIR_VARIABLE = "LIFECYCLE_TRACE_DIR"

_params: set[str] = set()
_reads: set[str] = set()
_writes: set[str] = set()
_paused = False


def record_param(key: str) -> None:
    if not _paused:
        _params.add(key)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Reads inside this block are bookkeeping (validation), not a stage using a value."""
    global _paused
    previous, _paused = _paused, True
    try:
        yield
    finally:
        _paused = previous


def record_read(path: str | os.PathLike) -> None:
    _reads.add(Path(path).as_posix())


def record_write(path: str | os.PathLike) -> None:
    _writes.add(Path(path).as_posix())


def project_modules() -> list[str]:
    """Source files of the `lifecycle` package loaded in this process, as `src/...` paths."""
    package_root = Path(__file__).resolve().parent.parent
    files = set()
    for module in list(sys.modules.values()):
        spec = getattr(module, "__spec__", None)  # a stage run with -m is named __main__
        name = spec.name if spec else ""
        if (name == "lifecycle" or name.startswith("lifecycle.")) and module.__file__:
            files.add(module.__file__)
    return sorted(f"src/{Path(f).resolve().relative_to(package_root).as_posix()}" for f in files)


def write_trace(stage: str) -> None:
    trace_dir = os.environ.get(TRACE_DIR_VARIABLE)
    if not trace_dir:
        return
    trace = {
        "params": sorted(_params),
        "reads": sorted(_reads),
        "writes": sorted(_writes),
        "modules": project_modules(),
    }
    Path(trace_dir).mkdir(parents=True, exist_ok=True)
    Path(trace_dir, f"{stage}.json").write_text(json.dumps(trace, indent=2) + "\n")
