"""pyproject.toml declares every package the code imports; test tools only in the dev extra."""

import ast
import sys
import tomllib
from pathlib import Path

from .conftest import ROOT

# Import names whose distribution is named otherwise.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "yaml": "pyyaml", "ruamel": "ruamel.yaml",
                 "vl_convert": "vl-convert-python", "dvc_render": "dvc-render",
                 "xgboost": "xgboost-cpu"}  # XGBoost's build without the GPU libraries
TEST_TOOLS = {"copier", "pytest", "hypothesis", "moto", "ruff", "httpx", "psutil", "boto3"}


def imported_packages(folder: Path) -> set[str]:
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names} - {"lifecycle"}


def declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {name.split("[")[0].lower() for name in project["dependencies"]}
    dev = {name.split("[")[0].lower() for name in project["optional-dependencies"]["dev"]}
    return names, dev


def test_every_package_the_code_imports_is_a_declared_dependency():
    runtime, dev = declared()
    needed = {DISTRIBUTIONS.get(name, name).lower() for name in imported_packages(ROOT / "src")}

    assert needed <= runtime, f"imported but not declared: {sorted(needed - runtime)}"
    assert not runtime & TEST_TOOLS, "test tools belong in the dev extra"
    assert imported_packages(ROOT / "tests") - {"tests", "benchmarks"} <= (
        {name.replace("-", "_") for name in runtime | dev} | set(DISTRIBUTIONS) | {"dvc"})
