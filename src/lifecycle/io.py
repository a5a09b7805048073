"""Atomic, deterministic reads and writes of the files stages exchange.

Every writer goes through `atomic_path`: the content lands in a temporary file beside the target
and is renamed over it only when complete, so a killed process never leaves a half-written file;
the next write of the same file removes the temporary a killed one left behind.
"""

import contextlib
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lifecycle import tracking
from lifecycle.errors import LifecycleError

# A fixed timestamp for zip entries (the earliest a zip can hold), so model bytes never carry
# the time they were written.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    os.close(handle)
    os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 would make outputs private
    try:
        yield Path(temporary)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    tracking.record_write(target)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory beside `path`; it replaces `path` if the block succeeds."""
    import shutil

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(target)
    temporary = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        yield temporary
        shutil.rmtree(target, ignore_errors=True)
        os.replace(temporary, target)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    tracking.record_write(target)


def _remove_leftovers(target: Path) -> None:
    """Remove temporaries of an earlier write of `target` that was killed before it could clean
    up (SIGKILL runs no handler). A target has one writer at a time: DVC locks the workspace
    while a stage runs."""
    import glob
    import shutil

    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(data: bytes, path: str | os.PathLike) -> None:
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


def json_text(data: Any) -> str:
    """Stable JSON: sorted keys and a trailing newline, so files diff cleanly."""
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write_json(data: Any, path: str | os.PathLike) -> None:
    write_bytes(json_text(data).encode(), path)


def read_json(path: str | os.PathLike) -> Any:
    tracking.record_read(path)
    return json.loads(_existing(path).read_text())


def write_parquet(frame: Any, path: str | os.PathLike) -> None:
    with atomic_path(path) as temporary:
        frame.to_parquet(temporary, index=False)


def read_parquet(path: str | os.PathLike, columns: list[str] | None = None) -> Any:
    import pandas as pd

    tracking.record_read(path)
    return pd.read_parquet(_existing(path), columns=columns)


def read_table(path: str | os.PathLike, kind: str | None = None, name: str | None = None
               ) -> Any:
    """A CSV or parquet file a user brings, as one frame (see `table_chunks`)."""
    import pandas as pd

    chunks = list(table_chunks(path, kind=kind, name=name))
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def table_chunks(path: str | os.PathLike, rows: int | None = None, kind: str | None = None,
                 name: str | None = None) -> Iterator[Any]:
    """A CSV or parquet file in frames of at most `rows` rows (None: one frame), by `kind` or
    else the extension. Every way the file can fail to read is one LifecycleError that starts
    with `name` (default: the path) and says how to fix it."""
    import pandas as pd

    path = Path(path)
    name = name or str(path)
    kind = kind or path.suffix.lower().removeprefix(".")
    tracking.record_read(path)
    if kind not in ("csv", "parquet"):
        raise LifecycleError(f"{name}: unsupported file type {path.suffix!r}; use .csv or "
                             f".parquet")
    if not path.is_file():
        raise LifecycleError(f"{name}: file not found")
    if path.stat().st_size == 0:
        raise LifecycleError(f"{name}: the file is empty; export the table again")
    try:
        if kind == "csv":
            frames = pd.read_csv(path, chunksize=rows) if rows else [pd.read_csv(path)]
        else:
            import pyarrow.parquet as pq

            parquet = pq.ParquetFile(path)
            batches = parquet.iter_batches(rows) if rows else [parquet.read()]
            frames = (batch.to_pandas() for batch in batches)
        for frame in frames:
            if frame.shape[1] == 1 and any(sep in str(frame.columns[0]) for sep in ";\t|"):
                raise LifecycleError(f"{name}: one column {frame.columns[0]!r}: the delimiter "
                                     f"looks wrong; save the file comma-separated")
            yield frame
    except UnicodeDecodeError as error:
        raise LifecycleError(
            f"{name}: not UTF-8 text ({error.reason} at byte {error.start}); save the file as "
            f"UTF-8 (e.g. `iconv -f latin1 -t utf-8`)") from None
    except pd.errors.EmptyDataError:
        raise LifecycleError(f"{name}: the file has no columns; export the table again with a "
                             f"header row") from None
    except (pd.errors.ParserError, ValueError, OSError) as error:
        raise LifecycleError(f"{name}: could not be read as {kind}: {error}") from None


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise LifecycleError(
            f"{path}: not found; run `dvc repro` (or `dvc pull`) to produce it first"
        )
    return path


# --- models -------------------------------------------------------------------------------------

# Types a model file may contain beyond those skops trusts by default. Loading refuses any other:
# a model file is data, never code to run.
TRUSTED_TYPES = [
    # HistGradientBoosting's internal preprocessor holds partial(check_array, ...).
    "functools.partial",
    "lifecycle.features.CalendarFeatures",
    "lifecycle.features.CategoryNormaliser",
    "lifecycle.features.OutlierFences",
    "numpy.dtype",
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",  # the trees of random_forest
    "sklearn.utils._bunch.Bunch",
    "sklearn.utils.validation.check_array",
]


def save_model(model: Any, path: str | os.PathLike) -> None:
    import skops.io

    write_bytes(canonical_skops(skops.io.dumps(model)), path)


def load_model(path: str | os.PathLike) -> Any:
    import skops.io

    tracking.record_read(path)
    path = _existing(path)
    try:
        untrusted = skops.io.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise LifecycleError(f"{path}: not a readable skops model file ({error})") from None
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise LifecycleError(
            f"{path}: refused to load: it holds types outside the trusted list: "
            f"{', '.join(refused)}. Only load model files produced by this project; if you "
            f"added a model type on purpose, add its types to TRUSTED_TYPES in lifecycle/io.py"
        )
    return skops.io.load(path, trusted=TRUSTED_TYPES)


def canonical_skops(data: bytes) -> bytes:
    """Rewrite a skops file so that the same model always gives the same bytes.

    skops names array entries and `__id__` fields after Python object ids and stamps entries with
    the current time. Renumbering ids in order of first appearance keeps the identity relations
    skops relies on, and a fixed timestamp removes the clock.
    """
    source = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(source.read("schema.json"))
    new_ids: dict[int, int] = {}
    schema = _renumber(schema, new_ids)
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as target:
        _write_entry(target, "schema.json", json.dumps(schema, indent=2).encode())
        for old_id, new_id in new_ids.items():
            name = f"{old_id}.npy"
            if name in source.namelist():
                _write_entry(target, f"{new_id}.npy", source.read(name))
    return output.getvalue()


def _renumber(node: Any, new_ids: dict[int, int]) -> Any:
    if isinstance(node, list):
        return [_renumber(item, new_ids) for item in node]
    if not isinstance(node, dict):
        return node
    renumbered = {}
    for key, value in node.items():
        if key == "__id__":
            value = new_ids.setdefault(value, len(new_ids))
        elif key == "file" and isinstance(value, str) and value.endswith(".npy"):
            old_id = int(value.removesuffix(".npy"))
            value = f"{new_ids.setdefault(old_id, len(new_ids))}.npy"
        renumbered[key] = _renumber(value, new_ids)
    return renumbered


def _write_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)
