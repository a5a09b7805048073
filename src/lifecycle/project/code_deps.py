"""Each stage's code dependencies, from the import graph (`lifecycle code-deps`).

A stage runs as `python -m lifecycle.stages.<name>`; the modules it can load are that module
and, transitively, every lifecycle module it imports, at the top of a file or inside a function,
with the packages that hold them (`lifecycle.core.code_versions`). dvc.yaml lists those under the
project's src/ as files, so editing one reruns the stages that can run its code and no other;
those of the installed library are hashed per stage into code_versions.yaml, a params file of
the stages, so a library upgrade does the same.

The project's own code that params.yaml `extensions` names is imported by name, which no import
statement shows: a stage that declares an `extensions` key among its params (or params.yaml
whole among its deps) lists the modules named under that key, and every module of the
project's src/ they import.
"""

import re
from pathlib import Path
from typing import Any

from lifecycle.config import PARAMS_FILE, read_yaml
from lifecycle.core import code_versions, extensions
from lifecycle.core.errors import LifecycleError

SOURCE_ROOT = code_versions.SOURCE_ROOT
DVC_FILE = Path("dvc.yaml")
VERSIONS = code_versions.VERSIONS_FILE.name
STAGE_COMMAND = re.compile(r"^\s*cmd: python -m (lifecycle\.stages\.\w+)\s*$")
EXTENSIONS = "extensions"


def module_file(module: str, root: Path = SOURCE_ROOT) -> Path | None:
    """The source file of a module under `root`, or None when it is not there."""
    return code_versions.module_file(module, root)


def stage_dependencies(entry: str, project: Path = Path("."),
                       extra: tuple[str, ...] = ()) -> list[str]:
    """The files dvc.yaml should list for a stage run as `python -m entry` (which also imports
    the project's `extra` modules by name), relative to the project folder: its modules under
    the project's src/ (the installed ones are hashed)."""
    own, _ = code_versions.split_files(entry, project, extra)
    return sorted(path.relative_to(project).as_posix() for path in own.values())


def extension_kinds(stage: dict) -> set[str]:
    """The sections of params.yaml `extensions` a stage of dvc.yaml declares it reads: those
    its params name (all for `extensions` itself), all when it depends on params.yaml whole."""
    whole = set(extensions.KINDS)
    if PARAMS_FILE in (stage.get("deps") or []):
        return whole
    kinds: set[str] = set()
    for item in stage.get("params") or []:
        keys = [item]
        if isinstance(item, dict):  # `- other.yaml: [keys]`, or `- params.yaml:` (all keys)
            if PARAMS_FILE in item and not item[PARAMS_FILE]:
                return whole
            keys = item.get(PARAMS_FILE) or []
        for key in keys:
            parts = str(key).split(".")
            if parts[0] == EXTENSIONS:
                kinds |= whole if len(parts) == 1 else whole & {parts[1]}
    return kinds


def extension_modules(kinds: set[str], project: Path = Path(".")) -> tuple[str, ...]:
    """The modules params.yaml `extensions` names under `kinds`, each a file of the project's
    src/ (a clear error for one that is not)."""
    path = project / PARAMS_FILE
    if not kinds or not path.is_file():
        return ()
    section = _mapping(read_yaml(path)).get(EXTENSIONS)
    modules = set()
    for kind in sorted(kinds):
        for name, spec in _mapping(_mapping(section).get(kind)).items():
            where = f"{PARAMS_FILE}: {EXTENSIONS}.{kind}.{name}"
            module, _ = extensions.split(spec, where)
            extensions.module_file(module, where, project)
            modules.add(module)
    return tuple(sorted(modules))


def _mapping(value: Any) -> dict:
    """A mapping of params.yaml, or none (`lifecycle check` says what is wrong with it)."""
    return value if isinstance(value, dict) else {}


def stage_specs(dvc_text: str) -> dict[str, dict]:
    """The stages of dvc.yaml that run a lifecycle stage, by the module they run."""
    import yaml

    stages = _mapping(_mapping(yaml.safe_load(dvc_text)).get("stages"))
    found = {}
    for stage in stages.values():
        match = STAGE_COMMAND.match(f"cmd: {_mapping(stage).get('cmd', '')}")
        if match:
            found[match.group(1)] = stage
    return found


def rewrite(dvc_text: str, project: Path = Path(".")) -> str:
    """dvc.yaml with each stage's `src/` deps replaced by the generated list (after the stage's
    other deps, in their order); every other line is kept as it is."""
    specs = stage_specs(dvc_text)
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
            extra = extension_modules(extension_kinds(specs.get(entry, {})), project)
            output.extend(f"{indent}- {path}\n"
                          for path in stage_dependencies(entry, project, extra))
            entry = None
            continue
        output.append(line)
        index += 1
    return "".join(output)


def declared_versions(dvc_text: str) -> dict[str, bool]:
    """The lifecycle stages of dvc.yaml (by module name), each with whether its params list
    `code_versions.yaml: [<name>]`."""
    import yaml

    stages = (yaml.safe_load(dvc_text) or {}).get("stages") or {}
    found = {}
    for stage in stages.values():
        match = STAGE_COMMAND.match(f"cmd: {stage.get('cmd', '')}")
        if match:
            name = match.group(1).rsplit(".", 1)[1]
            found[name] = any(name in (item.get(VERSIONS) or []) for item in
                              stage.get("params") or [] if isinstance(item, dict))
    return found


def stage_hashes(dvc_text: str, project: Path = Path(".")) -> dict[str, str]:
    """code_versions.yaml's content: a hash for each stage that imports installed modules or
    declares the file (the hash of nothing when all its modules are the project's)."""
    hashes = {}
    for name, declared in declared_versions(dvc_text).items():
        found = code_versions.stage_hash(f"lifecycle.stages.{name}", project)
        if found is None and not declared:
            continue  # the library's own repository: every module is a file dependency
        if not declared:
            raise LifecycleError(f"{DVC_FILE}: stage {name} imports installed lifecycle "
                                 f"modules, but its params do not list `{VERSIONS}: "
                                 f"[{name}]`; add it, so a library upgrade reruns it")
        hashes[name] = found or code_versions.files_hash({})
    return hashes
