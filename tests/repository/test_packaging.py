"""The library as a distribution: pyproject.toml declares every package the code imports (the
heavy ones as extras, imported only where needed), the lock files pin them all with hashes, and
a wheel built from the source installs and runs."""

import ast
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from lifecycle.core import extras

from ..conftest import ROOT, project_file_names

# Import names whose distribution is named otherwise.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "yaml": "pyyaml", "ruamel": "ruamel.yaml",
                 "vl_convert": "vl-convert-python", "dvc_render": "dvc-render",
                 "xgboost": "xgboost-cpu"}  # XGBoost's build without the GPU libraries
TEST_TOOLS = {"copier", "pytest", "hypothesis", "moto", "ruff", "httpx", "psutil", "boto3",
              "zizmor", "mkdocs", "import-linter", "pytest-xdist", "pytest-randomly", "uv"}
LOCKS = ("requirements/runtime.txt", "requirements/dev.txt")


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def name_of(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~; ]", requirement)[0]).lower()


def imports(tree: ast.Module, top_only: bool = False) -> set[str]:
    """Top-level names of the modules imported anywhere in `tree`, or (`top_only`) by the
    module's own statements, which run on import (not a TYPE_CHECKING block)."""
    nodes = ast.walk(tree) if not top_only else [
        node for statement in tree.body
        if not (isinstance(statement, ast.If) and "TYPE_CHECKING" in ast.unparse(statement.test))
        for node in ast.walk(statement)
        if not isinstance(statement, ast.FunctionDef | ast.ClassDef)]
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names} - {"lifecycle"}


def imported_packages(folder: Path, top_only: bool = False) -> set[str]:
    return {name for path in folder.rglob("*.py")
            for name in imports(ast.parse(path.read_text()), top_only)}


def declared() -> tuple[set[str], set[str], set[str]]:
    """The base dependencies, the optional parts' (every extra but dev), and dev's."""
    optional = project()["optional-dependencies"]
    parts = {name_of(requirement) for extra in extras.EXTRAS for requirement in optional[extra]}
    return ({name_of(requirement) for requirement in project()["dependencies"]}, parts,
            {name_of(requirement) for requirement in optional["dev"]})


def distribution(module: str) -> str:
    return name_of(DISTRIBUTIONS.get(module, module))


def test_every_package_the_code_imports_is_a_declared_dependency():
    runtime, optional, dev = declared()
    needed = {distribution(name) for name in imported_packages(ROOT / "src")}

    assert needed <= runtime | optional, f"not declared: {sorted(needed - runtime - optional)}"
    assert not (runtime | optional) & TEST_TOOLS, "test tools belong in the dev extra"
    assert {distribution(name) for name in imported_packages(ROOT / "tests")} - {
        "tests", "benchmarks"} <= runtime | optional | dev


def test_no_module_imports_an_optional_package_when_it_is_imported():
    """The base install imports every module: the extras' packages load where they are used."""
    runtime = declared()[0]
    for path in (ROOT / "src").rglob("*.py"):
        loaded = {distribution(name) for name in imports(ast.parse(path.read_text()), True)}
        assert loaded <= runtime, f"{path.relative_to(ROOT)}: {sorted(loaded - runtime)}"


# --- the lock files ------------------------------------------------------------------------------


def pins(lock: str) -> dict[str, str]:
    """Normalised name -> version of every package a lock file pins."""
    text = (ROOT / lock).read_text()
    return {name_of(name): version for name, version in
            re.findall(r"^([A-Za-z0-9][\w.-]*)==([^\s;\\]+)", text, re.M)}


@pytest.mark.parametrize("lock", LOCKS)
def test_a_lock_pins_every_package_exactly_with_its_hashes(lock):
    entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text().split("\n", 2)[2])

    assert len(entries) == len(pins(lock)) > 50
    for entry in entries:
        assert re.match(r"[A-Za-z0-9][\w.-]*==\S+", entry), entry.splitlines()[0]
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), entry.splitlines()[0]
    assert "bash requirements/lock.sh" in (ROOT / lock).read_text()  # how to write it again


def test_the_runtime_lock_is_the_base_install_at_the_development_locks_versions():
    runtime, dev = pins("requirements/runtime.txt"), pins("requirements/dev.txt")
    base, optional, tools = declared()

    assert {name: dev.get(name) for name in runtime} == runtime
    assert base | {"setuptools"} <= set(runtime)
    unneeded = optional | tools - {"psutil", "filelock"}  # both DVC's own dependencies
    assert not unneeded & set(runtime), sorted(unneeded & set(runtime))
    assert base | optional | tools | {"setuptools"} <= set(dev)


def test_the_root_requirements_file_is_the_development_lock():
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]

    assert lines == ["-r requirements/dev.txt"]


# --- a wheel built from the source ---------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """`pip wheel --no-deps` of a copy of the project's source (a build writes into its tree)."""
    source = tmp_path_factory.mktemp("source")
    for name in ["pyproject.toml", "README.md", *(
            name for name in project_file_names() if name.startswith("src/"))]:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes((ROOT / name).read_bytes())
    folder = tmp_path_factory.mktemp("wheelhouse")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(folder), str(source)],
                   check=True, capture_output=True)
    (built,) = folder.glob("*.whl")
    return built


@pytest.mark.slow  # builds and installs
def test_the_wheel_holds_every_file_of_the_package_and_its_metadata(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    version = project()["version"]
    package_files = {name.removeprefix("src/") for name in project_file_names()
                     if name.startswith("src/lifecycle/")}

    assert wheel.name == f"dvc_ml_lifecycle-{version}-py3-none-any.whl"
    assert package_files <= names, sorted(package_files - names)
    metadata = zipfile.ZipFile(wheel).read(
        f"dvc_ml_lifecycle-{version}.dist-info/METADATA").decode()
    assert "Name: dvc-ml-lifecycle\n" in metadata
    assert set(re.findall(r"^Provides-Extra: (\S+)$", metadata, re.M)) == {
        *extras.EXTRAS, "all", "dev"}
    entry_points = zipfile.ZipFile(wheel).read(
        f"dvc_ml_lifecycle-{version}.dist-info/entry_points.txt").decode()
    assert "lifecycle = lifecycle.cli:main" in entry_points


@pytest.mark.slow  # builds and installs
def test_the_wheel_installs_into_a_new_environment_and_runs(wheel, tmp_path):
    """Installed with --no-deps into a new virtual environment, which borrows this one's
    packages for the dependencies: the command and the package come from the wheel."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin/python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", str(wheel)], check=True, capture_output=True)
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                                "['purelib'])"], capture_output=True, text=True,
                               check=True).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}

    version = subprocess.run([venv / "bin/lifecycle", "--version"], capture_output=True,
                             text=True, env=env, cwd=tmp_path)
    imported = subprocess.run([python, "-c", "import lifecycle.cli; print(lifecycle.__file__)"],
                              capture_output=True, text=True, env=env, cwd=tmp_path)

    assert version.stdout == f"lifecycle {project()['version']}\n", version.stderr
    assert imported.returncode == 0, imported.stderr
    assert Path(imported.stdout.strip()).is_relative_to(site)
