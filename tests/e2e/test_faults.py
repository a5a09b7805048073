"""Faults: a stage killed while it writes its output, and a `dvc push` killed part-way.

Both run in copies of the reproduced project. SIGKILL gives a process no chance to clean up, so
what remains is what a power cut or an out-of-memory kill would leave; the next `dvc repro` or
`dvc push` must still end in exactly the state an uninterrupted run gives.
"""

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from ..conftest import bin_path, copy_repository, environment, run
from .test_pipeline import stages_run

pytestmark = pytest.mark.slow  # DVC as processes, killed on purpose


def wait_until(condition: Callable[[], object], process: subprocess.Popen,
               timeout: float = 600) -> object:
    """Poll `condition` until it gives something true, while `process` is still running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if process.poll() is not None:
            pytest.fail(f"finished before the fault could be injected:\n{process.stdout.read()}")
        time.sleep(0.002)
    pytest.fail("timed out waiting to inject the fault")


def stage_process(parent: int, stage: str) -> int:
    """The `python -m lifecycle.stages.<stage>` process DVC started (not the shell around it)."""
    for process in psutil.Process(parent).children(recursive=True):
        try:
            command = process.cmdline()
        except psutil.Error:
            continue
        if command[-2:] == ["-m", f"lifecycle.stages.{stage}"]:
            return process.pid
    pytest.fail(f"no `python -m lifecycle.stages.{stage}` process under {parent}")


def files_under(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def temporaries(repo: Path) -> list[str]:
    return sorted(str(p.relative_to(repo)) for p in repo.rglob("*.tmp")
                  if p.relative_to(repo).parts[0] not in (".git", ".dvc"))


def test_a_stage_killed_mid_write_leaves_no_partial_output_and_repro_recovers(reproduced,
                                                                              tmp_path):
    repo = copy_repository(reproduced["repo"], tmp_path / "project")
    env, dvc = environment(), bin_path("dvc")
    lock = (repo / "dvc.lock").read_text()
    evaluation = files_under(repo / "reports/evaluation")

    started = time.monotonic()
    repro = subprocess.Popen([dvc, "repro", "--force", "--single-item", "evaluate"], cwd=repo,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # evaluate writes reports/evaluation into a temporary folder beside it, then renames it.
    half_written = wait_until(lambda: next((folder for folder in repo.glob(
        "reports/.evaluation.*.tmp") if any(folder.iterdir())), None), repro)
    os.kill(stage_process(repro.pid, "evaluate"), signal.SIGKILL)
    output = repro.communicate(timeout=120)[0]
    killed_after = time.monotonic() - started

    assert repro.returncode != 0, output
    assert half_written.exists()  # the kill landed mid-write
    # The output is either gone (DVC removes outputs before a stage runs) or the old, whole one.
    assert files_under(repo / "reports/evaluation") in ({}, evaluation)

    output = run([dvc, "repro"], repo, env).stdout
    print(f"killed after {killed_after:.1f} s; recovery: {time.monotonic() - started:.1f} s")

    assert "evaluate" in stages_run(output)
    assert (repo / "dvc.lock").read_text() == lock
    assert files_under(repo / "reports/evaluation") == evaluation
    # What SIGKILL left is the killed write's own temporary, and nothing else: no later write
    # deletes by name (it could be another writer's). Git and DVC ignore it.
    assert temporaries(repo) == [half_written.relative_to(repo).as_posix()]
    assert json.loads(run([dvc, "status", "--json"], repo, env).stdout) == {}
    assert run(["git", "check-ignore", str(half_written)], repo).returncode == 0


def test_an_interrupted_push_then_a_push_gives_a_remote_a_fresh_clone_pulls_whole(reproduced,
                                                                                 tmp_path):
    origin = copy_repository(reproduced["repo"], tmp_path / "origin")
    env, dvc = environment(), bin_path("dvc")
    # Many small artifacts beside the pipeline's outputs, so the push lasts long enough to be
    # interrupted part-way.
    extra = origin / "data/extra"
    extra.mkdir()
    for number in range(400):
        (extra / f"part{number:03}.bin").write_bytes(os.urandom(1024))
    run([dvc, "add", "data/extra"], origin, env)
    run(["git", "add", "-A"], origin)
    run(["git", "commit", "-qm", "reproduced"], origin)
    remote = tmp_path / "remote"
    run([dvc, "remote", "add", "--local", "-d", "backup", str(remote)], origin, env)

    def pushed() -> int:
        return sum(1 for path in remote.rglob("*") if path.is_file())

    push = subprocess.Popen([dvc, "push", "--jobs", "1"], cwd=origin, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_until(lambda: pushed() >= 20, push)
    os.kill(push.pid, signal.SIGKILL)
    push.communicate(timeout=60)
    partial = pushed()
    run([dvc, "push"], origin, env)
    print(f"{partial} of {pushed()} files on the remote when the first push was killed")

    assert 0 < partial < pushed()
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(origin), str(clone)], tmp_path)
    run([dvc, "remote", "add", "--local", "-d", "backup", str(remote)], clone, env)
    run([dvc, "pull"], clone, env)
    assert json.loads(run([dvc, "status", "--json"], clone, env).stdout) == {}
    output = run([dvc, "repro"], clone, env).stdout
    assert stages_run(output) == []
    assert "Data and pipelines are up to date." in output
    assert files_under(clone / "data/extra") == files_under(extra)
    assert (clone / "models/model.skops").read_bytes() == (
        origin / "models/model.skops").read_bytes()
