"""The code a stage can run, and a hash of it for the code that is not the project's.

A stage runs as `python -m lifecycle.stages.<name>`; the modules it can load are that module
and, transitively, every `lifecycle` module it imports (at the top of a file or inside a
function), with the packages that hold them. A module found under the project's `src/` is a
file dependency of the stage in dvc.yaml (`lifecycle code-deps`). One found only in the
installed library (site-packages, or any folder on the path) cannot be: DVC tracks files inside
the project. Those are hashed instead, one hash per stage, into `code_versions.yaml`, which
dvc.yaml declares as a params file of each stage: a library upgrade reruns exactly the stages
whose code changed, and a stage refuses to run when the installed code is not the code its hash
records (a stale file would otherwise skip a rerun in silence).

The hash is sha256 over the modules sorted by their path in the package, each path and its
bytes: the same on every machine, wherever the library is installed.
"""

import ast
import hashlib
from pathlib import Path

import lifecycle
from lifecycle.core.errors import LifecycleError

PACKAGE = "lifecycle"
SOURCE_ROOT = Path("src")
VERSIONS_FILE = Path("code_versions.yaml")
# The folder that holds the running `lifecycle` package: the one the stages import, since they
# run with this interpreter and this path.
INSTALLED_ROOT = Path(lifecycle.__file__).resolve().parent.parent
HEADER = """\
# Written by `lifecycle code-deps`; do not edit, commit it. For each stage, a hash of the
# installed lifecycle modules it imports (sha256 over their paths in the package and bytes).
# dvc.yaml declares each as a param of its stage, so a library upgrade reruns exactly the stages
# whose code changed; a stage refuses to run when the installed code differs from its hash.
"""


def module_file(module: str, root: Path) -> Path | None:
    """The source file of a module under `root` (a folder on the path), or None."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def locate(module: str, roots: tuple[Path, ...]) -> Path | None:
    """The file of a module in the first root that holds it."""
    for root in roots:
        if found := module_file(module, root):
            return found
    return None


def imported_modules(source: str, roots: tuple[Path, ...],
                     packages: frozenset[str] = frozenset({PACKAGE})) -> set[str]:
    """Modules of `packages` (`lifecycle`'s) a file imports anywhere in it: `import
    lifecycle.x`, `from lifecycle import x` (x a module, else the package) and
    `from lifecycle.x import y`."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(name for alias in node.names
                         if locate(name := f"{node.module}.{alias.name}", roots))
    return {name for name in found
            if name.split(".")[0] in packages and locate(name, roots)}


def with_packages(module: str) -> set[str]:
    """A module and the packages Python imports before it."""
    parts = module.split(".")
    return {".".join(parts[:end]) for end in range(1, len(parts) + 1)}


def search_roots(project: Path) -> tuple[Path, ...]:
    """Where a stage finds its modules: the project's src/ first, then the installed library."""
    return project / SOURCE_ROOT, INSTALLED_ROOT


def own_packages(project: Path) -> set[str]:
    """The top-level packages and modules of the project's src/ folder."""
    source = project / SOURCE_ROOT
    if not source.is_dir():
        return set()
    return {path.stem if path.suffix == ".py" else path.name for path in source.iterdir()
            if (path / "__init__.py").is_file() or path.suffix == ".py"}


def reachable_files(entry: str, project: Path = Path("."),
                    extra: tuple[str, ...] = ()) -> dict[str, Path]:
    """Every module running `entry` can import, with its file; with `extra` modules (the
    project's own code a stage imports by name, see lifecycle.core.extensions), those and every
    module of the project's src/ they import too."""
    roots = search_roots(project)
    packages = frozenset({PACKAGE, *(own_packages(project) if extra else ())})
    seen: dict[str, Path] = {}
    pending = [entry, *extra]
    while pending:
        for module in with_packages(pending.pop()) - seen.keys():
            path = locate(module, roots)
            if path is None:
                where = (f"nor in the installed {PACKAGE}" if module.split(".")[0] == PACKAGE
                         else "(a package needs its __init__.py)")
                raise LifecycleError(f"{module}: no such module under {roots[0]}/ {where}")
            seen[module] = path
            pending.extend(imported_modules(path.read_text(), roots, packages) - seen.keys())
    return seen


def split_files(entry: str, project: Path = Path("."),
                extra: tuple[str, ...] = ()) -> tuple[dict, dict]:
    """A stage's modules and their files (with `extra`, as `reachable_files`): the project's
    (under its src/) and the installed."""
    own, installed = {}, {}
    source = (project / SOURCE_ROOT).resolve()
    for module, path in reachable_files(entry, project, extra).items():
        (own if path.resolve().is_relative_to(source) else installed)[module] = path
    return own, installed


def files_hash(modules: dict[str, Path]) -> str:
    """sha256 over (path in the package, bytes) of each module, sorted by that path."""
    digest = hashlib.sha256()
    for name, path in sorted((package_path(module, path), path)
                             for module, path in modules.items()):
        data = path.read_bytes()
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def package_path(module: str, path: Path) -> str:
    """A module's path inside the package (monitoring/drift.py), wherever it is installed."""
    parts = module.split(".")[1:]
    if path.name == "__init__.py":
        return "/".join([*parts, "__init__.py"])
    return "/".join(parts) + ".py"


def stage_hash(entry: str, project: Path = Path(".")) -> str | None:
    """The hash of a stage's installed modules; None when all of them are the project's."""
    _, installed = split_files(entry, project)
    return files_hash(installed) if installed else None


def recorded(project: Path = Path(".")) -> dict[str, str]:
    """code_versions.yaml as {stage: hash}; empty when there is none."""
    import yaml

    path = project / VERSIONS_FILE
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise LifecycleError(f"{VERSIONS_FILE}: not a mapping of stage to hash; run "
                             f"`lifecycle code-deps`")
    return {str(stage): str(value) for stage, value in data.items()}


def text(hashes: dict[str, str]) -> str:
    return HEADER + "".join(f"{stage}: {value}\n" for stage, value in sorted(hashes.items()))


def stale_stages(stages: list[str], project: Path = Path(".")) -> list[str]:
    """The stages among `stages` whose recorded hash is not the installed code's."""
    hashes = recorded(project)
    return [stage for stage in stages if stage in hashes
            and hashes[stage] != stage_hash(f"{PACKAGE}.stages.{stage}", project)]


def check_stages(stages: list[str] | None = None) -> None:
    """Refuse to run on installed code other than the code code_versions.yaml records (all its
    stages when `stages` is None). Nothing to check without the file (the library's own
    repository, where every module is the project's)."""
    hashes = recorded()
    stale = stale_stages(list(hashes) if stages is None else stages)
    if stale:
        raise LifecycleError(f"the installed {PACKAGE} code of stage {', '.join(stale)} differs "
                             f"from {VERSIONS_FILE}; run `lifecycle code-deps` (after "
                             f"`pip install -r requirements.txt`) and commit it")
