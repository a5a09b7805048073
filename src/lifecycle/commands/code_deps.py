"""`lifecycle code-deps`: each stage's code dependencies in dvc.yaml, from the import graph.

A stage runs as `python -m lifecycle.stages.<name>`; the project modules it can load are that
module and, transitively, every project module it imports, at the top of a file or inside a
function, with the packages that hold them. dvc.yaml lists exactly those files, so editing a
module reruns the stages that can run its code and no other. `--check` changes nothing and fails
when dvc.yaml is out of date (CI and the tests run it).
"""

import ast
import re
from pathlib import Path

from lifecycle import files
from lifecycle.errors import LifecycleError

PACKAGE = "lifecycle"
SOURCE_ROOT = Path("src")
DVC_FILE = Path("dvc.yaml")
STAGE_COMMAND = re.compile(r"^\s*cmd: python -m (lifecycle\.stages\.\w+)\s*$")


def module_file(module: str, root: Path = SOURCE_ROOT) -> Path | None:
    """The source file of a project module, or None when it is not one."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(source: str, root: Path = SOURCE_ROOT) -> set[str]:
    """Project modules a file imports anywhere in it: `import lifecycle.x`,
    `from lifecycle import x` (x a module, else the package) and `from lifecycle.x import y`."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(name for alias in node.names
                         if module_file(name := f"{node.module}.{alias.name}", root))
    return {name for name in found
            if (name == PACKAGE or name.startswith(f"{PACKAGE}.")) and module_file(name, root)}


def with_packages(module: str) -> set[str]:
    """A module and the packages Python imports before it."""
    parts = module.split(".")
    return {".".join(parts[:end]) for end in range(1, len(parts) + 1)}


def reachable_modules(entry: str, root: Path = SOURCE_ROOT) -> set[str]:
    """Every project module that running `entry` can import."""
    seen: set[str] = set()
    pending = [entry]
    while pending:
        for module in with_packages(pending.pop()) - seen:
            seen.add(module)
            path = module_file(module, root)
            if path is None:
                raise LifecycleError(f"{module}: no such module under {root}/")
            pending.extend(imported_modules(path.read_text(), root) - seen)
    return seen


def stage_dependencies(entry: str, project: Path = Path(".")) -> list[str]:
    """The files dvc.yaml should list for a stage run as `python -m entry`, relative to the
    project folder."""
    root = project / SOURCE_ROOT
    return sorted(module_file(module, root).relative_to(project).as_posix()
                  for module in reachable_modules(entry, root))


def rewrite(dvc_text: str, project: Path = Path(".")) -> str:
    """dvc.yaml with each stage's `src/` deps replaced by the generated list (after the stage's
    other deps, in their order); every other line is kept as it is."""
    lines = dvc_text.splitlines(keepends=True)
    output: list[str] = []
    entry = None
    index = 0
    while index < len(lines):
        line = lines[index]
        if match := STAGE_COMMAND.match(line):
            entry = match.group(1)
        if entry and line.strip() == "deps:":
            output.append(line)
            index += 1
            items = []
            while index < len(lines) and lines[index].lstrip().startswith("- "):
                items.append(lines[index])
                index += 1
            indent = line[:len(line) - len(line.lstrip())] + "  "
            kept = [item for item in items
                    if not item.strip().removeprefix("- ").startswith(f"{SOURCE_ROOT}/")]
            output.extend(kept)
            output.extend(f"{indent}- {path}\n" for path in stage_dependencies(entry, project))
            entry = None
            continue
        output.append(line)
        index += 1
    return "".join(output)


def run(check: bool = False) -> int:
    current = DVC_FILE.read_text()
    wanted = rewrite(current)
    if wanted == current:
        print(f"{DVC_FILE}: every stage's code dependencies match its imports")
        return 0
    if check:
        raise LifecycleError(f"{DVC_FILE}: the stages' code dependencies differ from their "
                             f"imports; run `lifecycle code-deps` and commit dvc.yaml")
    files.write_bytes(wanted.encode(), DVC_FILE)
    print(f"{DVC_FILE}: code dependencies rewritten from the stages' imports")
    return 0
