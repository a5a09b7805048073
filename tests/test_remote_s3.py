"""Shared S3-compatible remote: push from one clone, pull into a fresh one, nothing to rerun.

The S3 server is moto's, started in this process on 127.0.0.1 at a free port. Credentials are
dummies set only in the environment of the commands the test runs, as a real setup keeps them
out of git (environment variables or `.dvc/config.local`).
"""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import SAMPLE_FRACTION, bin_path, copy_project, environment, run, set_param

pytestmark = pytest.mark.slow  # DVC, the pipeline and an S3 server

BUCKET = "lifecycle-test"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    """An empty bucket on a moto S3 server on loopback; yields the endpoint URL."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                     aws_secret_access_key="testing", region_name="us-east-1"
                     ).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


def add_s3_remote(repo: Path, endpoint: str, env: dict) -> None:
    """The README's commands; machine-specific settings go to the git-ignored config.local."""
    dvc = bin_path("dvc")
    run([dvc, "remote", "add", "--local", "shared", f"s3://{BUCKET}/lifecycle"], repo, env)
    run([dvc, "remote", "modify", "--local", "shared", "endpointurl", endpoint], repo, env)


def test_push_to_s3_then_pull_into_a_fresh_clone_leaves_nothing_to_rerun(tmp_path, s3_endpoint):
    # Credentials only in the environment; no shared AWS config of the machine is read.
    env = environment(**CREDENTIALS, AWS_CONFIG_FILE=str(tmp_path / "none"),
                      AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
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
