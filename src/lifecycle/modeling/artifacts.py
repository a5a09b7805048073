"""Model artifacts: skops files saved canonically (same model, same bytes) and loaded through a
trusted-type list with bounded sizes."""

import io
import json
import os
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lifecycle.core import extensions, extras, stage_trace
from lifecycle.core.errors import LifecycleError
from lifecycle.core.files import check_regular, existing, write_bytes

# A fixed timestamp for zip entries (the earliest a zip can hold), so model bytes never carry
# the time they were written.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)

# Types a model file may contain beyond those skops trusts by default and those of the project's
# own packages named in params.yaml extensions (`load_model`). Loading refuses any other: a model
# file is data, never code to run.
TRUSTED_TYPES = [
    # HistGradientBoosting's internal preprocessor holds partial(check_array, ...).
    "functools.partial",
    # XGBoost models: the project's class, holding the booster as XGBoost's UBJ bytes
    "lifecycle.modeling.boosting.XGBoostClassifier",
    "lifecycle.modeling.boosting.XGBoostRegressor",
    "lifecycle.modeling.clipping.ClippedRegressor",  # a regression model within the target's bounds
    "lifecycle.modeling.features.CalendarFeatures",
    "lifecycle.modeling.features.CategoryNormaliser",
    "lifecycle.modeling.features.OutlierFences",
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

    record_one_fit_thread(model)
    write_bytes(canonical_skops(skops.io.dumps(model)), path)


def record_one_fit_thread(model: Any) -> None:
    """Histogram gradient boosting records how many OpenMP threads its fit used (its bin
    mapper's `n_threads`, which scikit-learn reads only while fitting): set to 1 in `model` and
    every estimator inside it, the file is the same whichever machine made it."""
    from sklearn.base import BaseEstimator

    seen, parts = set(), [model]
    while parts:
        part = parts.pop()
        if id(part) in seen:
            continue
        seen.add(id(part))
        if hasattr(getattr(part, "_bin_mapper", None), "n_threads"):
            part._bin_mapper.n_threads = 1
        if isinstance(part, list | tuple):
            parts.extend(part)
        elif isinstance(part, BaseEstimator):
            parts.extend(vars(part).values())


# Bounds on a model file before skops reads it: its schema is parsed as one JSON document, and a
# damaged or hostile file could declare entries far larger than any model of this project.
MAX_SCHEMA_BYTES = 256 * 2**20
MAX_MODEL_BYTES = 4 * 2**30


def load_model(path: str | os.PathLike, packages: Iterable[str] = (),
               project: Path = Path(".")) -> Any:
    """A fitted estimator from a skops file of this project: trusted types only, bounded sizes,
    and a file that is damaged or holds something else is one error naming it.

    `packages` are the project's own packages its models and transformers come from
    (params.yaml extensions, `Extensions.model_packages`): the types they define are trusted
    too, loaded from the src/ folder of `project`; nothing else is."""
    import skops.io

    from lifecycle.modeling import boosting, clipping, features  # noqa: F401  classes model files hold

    stage_trace.record_read(path)
    path = existing(path)
    check_regular(path)  # a pipe would block the zip reader, a device feed it without end
    fix = "run `dvc pull` to fetch it again, or `dvc repro` to rebuild it"
    try:
        _check_archive(path)
        untrusted = skops.io.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, zlib.error, KeyError, ValueError, OSError, EOFError,
            NotImplementedError) as error:  # NotImplementedError: zip features Python lacks
        raise LifecycleError(f"{path}: not a readable skops model file ({error}); {fix}") \
            from None
    packages = tuple(packages)
    for package in packages:  # the project's own, never a package installed elsewhere
        extensions.module_file(package, "params.yaml: extensions", project)
    prefixes = tuple(f"{package}." for package in packages)
    own = sorted(name for name in untrusted if name.startswith(prefixes)) if prefixes else []
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES) - set(own))
    if refused:
        own_code = (f" ({', '.join(packages)}, as params.yaml extensions names them)"
                    if packages else " (none: params.yaml extensions names no model nor "
                                     "transformer)")
        raise LifecycleError(
            f"{path}: refused to load: it holds types outside the trusted list: "
            f"{', '.join(refused)}. A model file may hold the library's types and those of "
            f"the packages of the project's own models and transformers{own_code}; only "
            f"load model files produced by this project"
        )
    if own:
        extensions.on_path(project)  # the project's classes, from its own src/
    if any(name.startswith("lifecycle.modeling.boosting.XGBoost") for name in untrusted):
        extras.require("xgboost", f"{path}: {boosting.PREDICTING}")  # before scoring starts
    try:
        model = skops.io.load(path, trusted=[*TRUSTED_TYPES, *own])
    except Exception as error:  # a damaged entry fails in numpy, zlib or skops, many ways
        if own and isinstance(error, ImportError):  # the project's module, which skops imports
            raise LifecycleError(f"{path}: holds {', '.join(own)} of the project's own code, "
                                 f"which does not import ({error}); run from the project's "
                                 f"folder, whose src/ holds it") from None
        raise LifecycleError(f"{path}: damaged model file ({type(error).__name__}: "
                             f"{str(error)[:200]}); {fix}") from None
    _check_fitted(model, path, fix)
    return model


def _check_archive(path: Path) -> None:
    """Refuse a zip whose entries would make loading read or inflate without bound."""
    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
        schema = next((entry for entry in entries if entry.filename == "schema.json"), None)
        if schema is None:
            raise ValueError("no schema.json entry")
        if schema.file_size > MAX_SCHEMA_BYTES:
            raise ValueError(f"its schema is {schema.file_size:,} bytes, more than "
                             f"{MAX_SCHEMA_BYTES:,}")
        total = sum(entry.file_size for entry in entries)
        if total > MAX_MODEL_BYTES:
            raise ValueError(f"it unpacks to {total:,} bytes, more than {MAX_MODEL_BYTES:,}")


def _check_fitted(model: Any, path: Path, fix: str) -> None:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(model)
        model.feature_names_in_  # noqa: B018  every artifact here is fitted on named columns
    except (NotFittedError, TypeError, AttributeError):
        raise LifecycleError(f"{path}: holds a {type(model).__name__}, not an estimator fitted "
                             f"by this project; {fix}") from None


def canonical_skops(data: bytes) -> bytes:
    """Rewrite a skops file so that the same model always gives the same bytes.

    skops names array entries and `__id__` fields after Python object ids, names bytes entries
    with random UUIDs and stamps entries with the current time. Renumbering ids and bytes
    entries in order of first appearance keeps the identity relations skops relies on, and a
    fixed timestamp removes the clock.
    """
    source = zipfile.ZipFile(io.BytesIO(data))
    schema = json.loads(source.read("schema.json"))
    new_ids: dict[int, int] = {}
    new_names: dict[str, str] = {}
    schema = _renumber(schema, new_ids, new_names)
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as target:
        _write_entry(target, "schema.json", json.dumps(schema, indent=2).encode())
        entries = set(source.namelist())  # a set: a model holds thousands of entries
        for old_id, new_id in new_ids.items():
            name = f"{old_id}.npy"
            if name in entries:
                _write_entry(target, f"{new_id}.npy", source.read(name))
        for old_name, new_name in new_names.items():
            _write_entry(target, new_name, source.read(old_name))
    return output.getvalue()


def _renumber(node: Any, new_ids: dict[int, int], new_names: dict[str, str]) -> Any:
    if isinstance(node, list):
        return [_renumber(item, new_ids, new_names) for item in node]
    if not isinstance(node, dict):
        return node
    renumbered = {}
    for key, value in node.items():
        if key == "__id__":
            value = new_ids.setdefault(value, len(new_ids))
        elif key == "file" and isinstance(value, str) and value.endswith(".npy"):
            old_id = int(value.removesuffix(".npy"))
            value = f"{new_ids.setdefault(old_id, len(new_ids))}.npy"
        elif key == "file" and isinstance(value, str) and value.endswith(".bin"):
            value = new_names.setdefault(value, f"{len(new_names)}.bin")  # bytes (BytesNode)
        renumbered[key] = _renumber(value, new_ids, new_names)
    return renumbered


def _write_entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)
