"""What /metadata tells about the model served: the runtime, the model file's identity, the
problem, the inputs with their rules, and the gate's verdict (reports/gate.json)."""

import hashlib
import subprocess
from pathlib import Path

from lifecycle.config import contract
from lifecycle.config.params import Problem
from lifecycle.core import files, paths


def describe_model(runtime: str, model_path: Path, problem: Problem,
                   rules: contract.Contract) -> dict:
    return {
        "runtime": runtime,
        "model": model_identity(model_path),
        "problem": {"name": problem.name, "task": problem.task, "target": problem.target},
        "inputs": describe_inputs(rules),
        "gate": gate_verdict(),
    }


def describe_inputs(rules: contract.Contract) -> list[dict]:
    return [{"name": name, "type": column.type, "required": not column.nullable,
             **({"min": column.min} if column.min is not None else {}),
             **({"max": column.max} if column.max is not None else {}),
             **({"bounds": "soft" if column.soft else "hard"}
                if column.min is not None or column.max is not None else {}),
             **({"categories": [str(c) for c in column.categories]} if column.categories else {})}
            for name, column in rules.columns.items()]


def model_identity(model_path: Path) -> dict:
    """The model file's MD5 (the hash DVC records for it) and the git revision checked out."""
    md5 = hashlib.md5(model_path.read_bytes()).hexdigest()
    try:
        revision = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                  check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        revision = None
    return {"path": model_path.as_posix(), "md5": md5, "git_revision": revision}


def gate_verdict() -> str | None:
    """The verdict in reports/gate.json, or None when the model has not been through the gate."""
    gate = Path(paths.GATE)
    return files.read_json(gate).get("verdict") if gate.exists() else None
