"""Security rules the project keeps: no pickle is ever loaded, credentials stay out of git, and
the API tells a client nothing about its internals.

Covered elsewhere: a model file holding a type outside the trusted list is refused
(test_io.py), request size limits (test_deployment.py, test_catalogue.py), SQLite sources are
opened read-only (test_bad_input.py), and the API listens on loopback unless told otherwise
(test_load.py checks the server's socket).
"""

import ast
import subprocess

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from lifecycle import cli
from lifecycle.config import contract
from lifecycle.deployment.api import app as api_app

from ..conftest import ROOT

SCANNED = ("src", "tests", "benchmarks")
# Loading any of these runs code chosen by whoever wrote the file.
PICKLING_MODULES = {"pickle", "_pickle", "cPickle", "cloudpickle", "dill", "joblib", "shelve",
                    "marshal", "torch"}
LOADERS = {"load", "loads", "Unpickler", "open"}


def unsafe_loads(source: str) -> list[str]:
    """Calls in `source` that may unpickle: `<pickling module>.load(...)` however imported,
    `read_pickle`, and any call with `allow_pickle=True` or `trusted=True`."""
    tree = ast.parse(source)
    modules: dict[str, str] = {}  # local name -> module
    functions: dict[str, str] = {}  # local name -> module.function
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                modules[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                functions[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = called_name(node.func, modules, functions)
        module, _, function = name.rpartition(".")
        if (module.split(".")[0] in PICKLING_MODULES and function in LOADERS) \
                or function == "read_pickle" \
                or any(keyword.arg in ("allow_pickle", "trusted")
                       and isinstance(keyword.value, ast.Constant) and keyword.value.value is True
                       for keyword in node.keywords):
            found.append(f"line {node.lineno}: {name or ast.unparse(node.func)}")
    return found


def called_name(func: ast.expr, modules: dict[str, str], functions: dict[str, str]) -> str:
    """The dotted name a call resolves to through the file's imports ('' when unknown)."""
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return ".".join(reversed(parts))
    root = modules.get(func.id) or functions.get(func.id) or func.id
    return ".".join([root, *reversed(parts)])


@pytest.mark.parametrize("snippet", [
    "import pickle\npickle.load(open('m', 'rb'))",
    "import pickle as p\np.loads(b'')",
    "from pickle import loads\nloads(b'')",
    "from joblib import load as restore\nrestore('model.joblib')",
    "import cloudpickle\ncloudpickle.load(f)",
    "import dill\ndill.loads(b'')",
    "import pandas as pd\npd.read_pickle('frame.pkl')",
    "import numpy as np\nnp.load('a.npy', allow_pickle=True)",
    "import torch\ntorch.load('weights.pt')",
    "import skops.io\nskops.io.load('m.skops', trusted=True)",
    "import shelve\nshelve.open('db')",
])
def test_the_scanner_finds_each_kind_of_unsafe_load(snippet):
    assert unsafe_loads(snippet)


@pytest.mark.parametrize("snippet", [
    "import json\njson.load(f)",
    "import numpy as np\nnp.load('a.npy')",
    "import skops.io\nskops.io.load('m.skops', trusted=TRUSTED_TYPES)",
    "import yaml\nyaml.safe_load(text)",
])
def test_the_scanner_lets_safe_loads_pass(snippet):
    assert unsafe_loads(snippet) == []


def test_no_python_file_loads_a_pickle():
    files = [path for folder in SCANNED for path in sorted((ROOT / folder).rglob("*.py"))]
    assert len(files) > 40  # the scan saw the project

    found = {str(path.relative_to(ROOT)): unsafe_loads(path.read_text()) for path in files}

    assert {path: calls for path, calls in found.items() if calls} == {}


def test_local_dvc_settings_where_credentials_go_are_ignored_by_git():
    for name in (".dvc/config.local", ".dvc/tmp/x", ".dvc/cache/x", ".dvc/storage/x"):
        result = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT)
        assert result.returncode == 0, f"{name} is not ignored by git"
    tracked = subprocess.run(["git", "ls-files", ".dvc"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    assert ".dvc/config" in tracked and ".dvc/config.local" not in tracked


def test_the_api_listens_on_loopback_unless_told_otherwise():
    assert cli.build_parser().parse_args(["serve"]).host == "127.0.0.1"


class FailingModel:
    """A model whose prediction fails with a message that must not reach the client."""

    feature_names_in_ = np.array(["size"], dtype=object)
    classes_ = np.array([0, 1])

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        raise RuntimeError("secret: /srv/models/model.skops is corrupt")


def test_an_internal_error_is_a_500_without_a_stack_trace_or_the_error_message():
    rules = contract.parse({"columns": {
        "size": {"type": "numeric", "role": "feature", "nullable": False}}})
    app = api_app.build_app(FailingModel(), rules, 0.5, metadata={})

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/predict", json={"instances": [{"size": 1.0}]})

    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
    assert "secret" not in response.text and "Traceback" not in response.text
