"""Shared S3-compatible remote: push from one clone, pull into a fresh one, nothing to rerun.

The S3 server is moto's, started in this process on 127.0.0.1 at a free port. Credentials are
dummies set only in the environment of the commands the test runs, as a real setup keeps them
out of git (environment variables or `.dvc/config.local`).
"""

import json

import pytest

from ..conftest import (
    SAMPLE_FRACTION,
    add_s3_remote,
    bin_path,
    copy_project,
    run,
    s3_environment,
    set_param,
)

pytestmark = pytest.mark.slow  # DVC, the pipeline and an S3 server


def test_push_to_s3_then_pull_into_a_fresh_clone_leaves_nothing_to_rerun(tmp_path, s3_endpoint):
    # Credentials only in the environment; no shared AWS config of the machine is read.
    env = s3_environment(tmp_path)
    dvc = bin_path("dvc")
    origin = copy_project(tmp_path / "origin")
    set_param(origin, "source.sample_fraction", SAMPLE_FRACTION)
    run([dvc, "repro"], origin, env)
    run(["git", "add", "-A"], origin)
    run(["git", "commit", "-qm", "reproduced"], origin)
    add_s3_remote(origin, s3_endpoint, env)
    run([dvc, "push", "-r", "shared"], origin, env)

    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(origin), str(clone)], tmp_path)
    add_s3_remote(clone, s3_endpoint, env)
    run([dvc, "pull", "-r", "shared"], clone, env)

    assert (clone / "models/model.skops").read_bytes() == (
        origin / "models/model.skops").read_bytes()
    output = run([dvc, "repro"], clone, env).stdout
    assert "Running stage" not in output
    assert "Data and pipelines are up to date." in output
    assert json.loads(run([dvc, "status", "--json"], clone, env).stdout) == {}
    assert "testing" not in (clone / ".dvc/config").read_text()
