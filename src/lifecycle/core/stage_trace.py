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
    """Source files of the `lifecycle` package, and of the project's own src/ (its code named in
    params.yaml extensions), loaded in this process, as `src/...` paths."""
    # The folder that holds the lifecycle package (this file is lifecycle/core/stage_trace.py),
    # and the project's src/.
    roots = [Path(__file__).resolve().parents[2], (Path.cwd() / "src").resolve()]
    files = set()
    for module in list(sys.modules.values()):
        spec = getattr(module, "__spec__", None)  # a stage run with -m is named __main__
        name, file = spec.name if spec else "", getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        if name == "lifecycle" or name.startswith("lifecycle."):
            files.add(f"src/{path.relative_to(roots[0]).as_posix()}")
        elif path.is_relative_to(roots[1]):
            files.add(f"src/{path.relative_to(roots[1]).as_posix()}")
    return sorted(files)


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
