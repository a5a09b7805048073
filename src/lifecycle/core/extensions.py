"""A project's own code, named in params.yaml `extensions:` by import path, and loaded from the
project's `src/` folder.

An import path is `package.module:name`. The module must be a file of a package in the
project's own `src/` (never the lifecycle library, never code found only elsewhere on the path):
that is the code `lifecycle code-deps` lists as the stages' file dependencies, so editing it
reruns them, and the code the packages named here hold is the only code beyond the library's a
model file may name (see `lifecycle.modeling.artifacts`). Loading puts the project's `src/`
first on the path, so a copy of the project runs its own files, not those of another install.
"""

import importlib
import inspect
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lifecycle.core import code_versions
from lifecycle.core.errors import LifecycleError, ParamsError

# The sections of `extensions:`, each a mapping of a name to an import path.
KINDS = ("models", "transformers", "metrics")
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
NAME = re.compile(rf"^{IDENTIFIER}$")
IMPORT_PATH = re.compile(rf"^({IDENTIFIER}(?:\.{IDENTIFIER})*):({IDENTIFIER})$")
EXAMPLE = "my_project.models:build"


def split(spec: Any, where: str) -> tuple[str, str]:
    """An import path's module and attribute; a ParamsError for anything else, and for a path
    into the lifecycle library (its own models and metrics have names of their own) or into
    Python's standard library (never a package of the project's src/)."""
    match = IMPORT_PATH.match(spec) if isinstance(spec, str) else None
    if not match:
        raise ParamsError(f"{where}: {spec!r} is not an import path; write package.module:name, "
                          f"e.g. {EXAMPLE!r}, for a module of the project's src/ folder")
    module, attribute = match.groups()
    package = package_of(module)
    if package == code_versions.PACKAGE or package in sys.stdlib_module_names:
        where_it_is = ("the lifecycle library" if package == code_versions.PACKAGE
                       else "Python's standard library")
        raise ParamsError(f"{where}: {spec!r} is in {where_it_is}; an extension is the "
                          f"project's own code, in a package of its src/ folder")
    return module, attribute


def package_of(module: str) -> str:
    """The top-level package of a module (or of an import path)."""
    return module.split(":")[0].split(".")[0]


def packages(specs: Iterable[str]) -> tuple[str, ...]:
    """The top-level packages of import paths, sorted, each once."""
    return tuple(sorted({package_of(spec) for spec in specs}))


def source_root(project: Path = Path(".")) -> Path:
    return (project / code_versions.SOURCE_ROOT).resolve()


def module_file(module: str, where: str, project: Path = Path(".")) -> Path:
    """The file of one of the project's modules under its src/; a LifecycleError when there is
    none, which is also the answer for code installed elsewhere (site-packages)."""
    found = code_versions.module_file(module, source_root(project))
    if found is None:
        relative = code_versions.SOURCE_ROOT / module.replace(".", "/")
        raise LifecycleError(f"{where}: {module} is not a module of the project's src/ folder "
                             f"(no {relative}.py nor {relative}/__init__.py); an extension is "
                             f"the project's own code, never another installed package's")
    return found


def on_path(project: Path = Path(".")) -> None:
    """The project's src/ first on the import path (once), so its own files are the ones that
    load, as dvc.yaml lists them; model files naming its classes load from there too."""
    folder = str(source_root(project))
    if folder not in sys.path:
        sys.path.insert(0, folder)
        importlib.invalidate_caches()


def load(spec: str, where: str, arguments: tuple = (), takes: str = "no argument",
         project: Path = Path(".")) -> Callable:
    """The callable an import path names, imported from the project's src/ and able to take
    `arguments` (`takes` says which); one line naming `where` (e.g. `params.yaml:
    extensions.models.mine`) when it is not."""
    found = imported(spec, where, project)
    try:
        inspect.signature(found).bind(*arguments)
    except TypeError:
        raise LifecycleError(f"{where}: {spec!r} must take {takes}") from None
    except ValueError:  # no signature to inspect (some builtins): calling it will tell
        pass
    return found


def imported(spec: str, where: str, project: Path = Path(".")) -> Callable:
    """The callable an import path names, imported from the project's src/."""
    module_name, attribute = split(spec, where)
    expected = module_file(module_name, where, project)
    on_path(project)
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # the project's code: any error of its import is the answer
        reason = " ".join(str(error).split())
        raise LifecycleError(f"{where}: {spec!r} does not import: {type(error).__name__}: "
                             f"{reason}") from None
    loaded = Path(getattr(module, "__file__", None) or "")
    if not loaded.is_file() or loaded.resolve() != expected.resolve():
        raise LifecycleError(f"{where}: {module_name} was imported from {loaded}, not from "
                             f"{expected}; another package of that name comes first on the "
                             f"path: rename the project's package")
    if not hasattr(module, attribute):
        shown = expected.relative_to(source_root(project).parent).as_posix()
        raise LifecycleError(f"{where}: {spec!r}: {module_name} ({shown}) has no "
                             f"{attribute!r}")
    found = getattr(module, attribute)
    if not callable(found):
        raise LifecycleError(f"{where}: {spec!r} is a {type(found).__name__}, not callable; "
                             f"name a function or a class")
    return found
