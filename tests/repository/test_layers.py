"""The library's shape: phases as layers (core at the bottom, the commands and stages on top), no
import circles, no module over 500 lines and no stage shell over 90 (import-linter reads the
contracts from pyproject.toml)."""

import shutil
import subprocess
from pathlib import Path

import pytest

from ..conftest import ROOT, bin_path

SOURCE = ROOT / "src/lifecycle"


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    """import-linter on the `lifecycle` package under `project`/src."""
    return subprocess.run([bin_path("lint-imports"), "--no-cache"], cwd=project,
                          capture_output=True, text=True,
                          env={"PYTHONPATH": str(project / "src"), "PATH": "/usr/bin:/bin"})


def copy_of_the_library(folder: Path) -> Path:
    shutil.copytree(SOURCE, folder / "src/lifecycle",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", folder)
    return folder


def test_the_library_keeps_its_layers_and_has_no_circles():
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "broken"), [
    # core imports a phase above it
    ("core/formatting.py", "from lifecycle.modeling import models", "below it"),
    # two modules of one package import each other
    ("data/splits.py", "from lifecycle.data import sources", "of a package"),
])
def test_an_upward_import_or_a_circle_breaks_a_contract(tmp_path, module, line, broken):
    project = copy_of_the_library(tmp_path)
    path = project / "src/lifecycle" / module
    if broken == "of a package":  # sources must import splits too, for a circle
        other = project / "src/lifecycle/data/sources.py"
        other.write_text(f"from lifecycle.data import splits  # noqa\n{other.read_text()}")
    path.write_text(f"{line}  # noqa\n{path.read_text()}")

    result = lint_imports(project)

    assert result.returncode == 1
    assert f"{broken} BROKEN" in result.stdout  # the contract's name ends so


def test_no_module_is_over_500_lines_and_no_stage_shell_over_90():
    lengths = {path.relative_to(SOURCE).as_posix(): len(path.read_text().splitlines())
               for path in SOURCE.rglob("*.py")}

    assert {name: n for name, n in lengths.items() if n > 500} == {}
    assert {name: n for name, n in lengths.items()
            if name.startswith("stages/") and n > 90} == {}
