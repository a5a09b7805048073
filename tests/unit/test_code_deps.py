"""Code dependencies of the stages come from their imports (`lifecycle code-deps`)."""

import textwrap
from pathlib import Path

import pytest

from lifecycle.commands import code_deps as command
from lifecycle.core.errors import LifecycleError
from lifecycle.project import code_deps


def write_package(project: Path, modules: dict[str, str]) -> Path:
    for name, source in modules.items():
        path = project / "src" / f"{name.replace('.', '/')}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_package(tmp_path, {
        "lifecycle.__init__": "",
        "lifecycle.core.__init__": "",
        "lifecycle.core.errors": "",
        "lifecycle.core.tables": "from lifecycle.core.errors import LifecycleError\n",
        "lifecycle.modeling.artifacts": """
            def load():
                from lifecycle.modeling import features  # inside a function: still reachable
        """,
        "lifecycle.modeling.__init__": "",
        "lifecycle.modeling.features": "",
        "lifecycle.cli": "from lifecycle.stages import train\n",
        "lifecycle.stages.__init__": "from lifecycle.core import errors\n",
        "lifecycle.stages.train": "import numpy\nfrom lifecycle.core import tables\n"
                                  "from lifecycle.modeling import artifacts\n",
        "lifecycle.stages.ingest": "from lifecycle.core.tables import read_parquet\n",
    })


def test_a_stage_reaches_its_imports_their_imports_and_the_packages_holding_them(project):
    assert code_deps.stage_dependencies("lifecycle.stages.train", project) == [
        "src/lifecycle/__init__.py", "src/lifecycle/core/__init__.py",
        "src/lifecycle/core/errors.py", "src/lifecycle/core/tables.py",
        "src/lifecycle/modeling/__init__.py", "src/lifecycle/modeling/artifacts.py",
        "src/lifecycle/modeling/features.py", "src/lifecycle/stages/__init__.py",
        "src/lifecycle/stages/train.py",
    ]  # never cli.py, which imports the stage, nor numpy, which is not the project's


def test_rewrite_replaces_only_the_src_deps_and_keeps_every_other_line(project):
    dvc_text = textwrap.dedent("""\
        # a comment that stays
        stages:
          ingest:
            cmd: python -m lifecycle.stages.ingest
            deps:
              - data/source.csv
              - src/lifecycle/cli.py
            outs:
              - data/raw.parquet
          other:
            cmd: echo unchanged
            deps:
              - src/lifecycle/cli.py
        """)

    rewritten = code_deps.rewrite(dvc_text, project)

    assert rewritten == dvc_text.replace(
        "      - src/lifecycle/cli.py\n    outs:",
        "      - src/lifecycle/__init__.py\n      - src/lifecycle/core/__init__.py\n"
        "      - src/lifecycle/core/errors.py\n      - src/lifecycle/core/tables.py\n"
        "      - src/lifecycle/stages/__init__.py\n      - src/lifecycle/stages/ingest.py\n"
        "    outs:")
    assert code_deps.rewrite(rewritten, project) == rewritten  # stable


def test_check_fails_on_an_out_of_date_dvc_yaml_and_writes_nothing(project, monkeypatch):
    monkeypatch.chdir(project)
    stale = "stages:\n  ingest:\n    cmd: python -m lifecycle.stages.ingest\n    deps:\n" \
            "      - src/lifecycle/cli.py\n"
    Path("dvc.yaml").write_text(stale)

    with pytest.raises(LifecycleError, match="lifecycle code-deps"):
        command.run(check=True)
    assert Path("dvc.yaml").read_text() == stale

    assert command.run() == 0
    assert "src/lifecycle/cli.py" not in Path("dvc.yaml").read_text()
    assert command.run(check=True) == 0


def test_a_stage_naming_a_module_that_does_not_exist_is_one_clear_error(project):
    with pytest.raises(LifecycleError, match=r"lifecycle\.stages\.missing: no such module"):
        code_deps.stage_dependencies("lifecycle.stages.missing", project)
