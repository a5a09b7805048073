"""This project's own tests: its data keeps its contract, its pipeline runs end to end on a
sample of its data, and its model loads and scores. `pytest` runs them (.ci/run does, before
`dvc repro`); tests of your own code in src/ go beside them. The helpers come with the lifecycle
library (lifecycle.project.testing)."""

from pathlib import Path

import pytest
from lifecycle.project import testing

PROJECT = Path(__file__).resolve().parent.parent


def test_the_data_keeps_its_contract():
    # Rows that break a rule on purpose (validation: drop in params.yaml) would be listed here:
    # then assert on contract_failures(PROJECT, fatal_only=True) instead.
    assert testing.contract_failures(PROJECT) == []


@pytest.fixture(scope="session")
def sample(tmp_path_factory) -> Path:
    """`dvc repro` on a sample of the data (about 1,000 rows), in a temporary copy."""
    return testing.run_on_sample(PROJECT, tmp_path_factory.mktemp("sample"))


@pytest.mark.slow
def test_the_pipeline_runs_on_a_sample(sample):
    assert testing.verdict(sample) in {"VALIDATED", "REJECTED"}


@pytest.mark.slow
def test_the_model_trained_on_the_sample_loads_and_scores(sample):
    predictions = testing.score_test_rows(sample)

    assert len(predictions) > 0
    assert predictions["prediction"].notna().all()


def test_the_projects_own_model_loads_and_scores():
    if not (PROJECT / "models/model.skops").is_file():
        pytest.skip("no trained model here yet: `dvc repro` (or `dvc pull`) makes it")
    assert testing.score_test_rows(PROJECT)["prediction"].notna().all()
