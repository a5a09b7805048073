"""Edits that cannot change a stage's result rerun nothing: dvc.yaml's dependencies are narrow."""

import pytest
import yaml

from ..conftest import bin_path, run, set_param

pytestmark = pytest.mark.slow


@pytest.fixture
def project(reproduced_copy):
    """A private copy of the reproduced project, to edit freely."""
    return reproduced_copy["repo"]


def changed_stages(project, env) -> set[str]:
    status = run([bin_path("dvc"), "status", "--json"], project, env).stdout
    return set(yaml.safe_load(status) or {})


def test_editing_a_help_text_or_another_models_hyperparameters_or_space_reruns_only_check(
        project, reproduced_copy):
    env = reproduced_copy["env"]
    assert changed_stages(project, env) == set()

    cli = project / "src/lifecycle/cli.py"
    cli.write_text(cli.read_text().replace("snapshot the configured source", "snapshot the source"))
    params = project / "params.yaml"
    text = params.read_text()
    assert "    random_forest:\n      n_estimators: 100\n" in text  # the unused model's block
    params.write_text(text.replace("    random_forest:\n      n_estimators: 100\n",
                                   "    random_forest:\n      n_estimators: 300\n"))
    set_param(project, "tuning.space.random_forest.n_estimators", [100, 500])  # its search space

    # Only check, which validates the whole params file and computes nothing.
    assert changed_stages(project, env) == {"check"}


def test_editing_the_chosen_models_hyperparameters_or_a_module_it_imports_reruns_train(
        project, reproduced_copy):
    env = reproduced_copy["env"]
    params = project / "params.yaml"
    params.write_text(params.read_text().replace("learning_rate: 0.05", "learning_rate: 0.1"))
    assert "train" in changed_stages(project, env)

    params.write_text(params.read_text().replace("learning_rate: 0.1", "learning_rate: 0.05"))
    models = project / "src/lifecycle/modeling/models.py"
    models.write_text(models.read_text() + "\n# an edit\n")
    assert {"train"} <= changed_stages(project, env) and "ingest" not in changed_stages(
        project, env)
