import shutil
import subprocess

import pytest
import yaml

from ..conftest import bin_path, environment, example_file

pytestmark = pytest.mark.slow  # the installed command, each call a process of its own


def lifecycle(*arguments: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([bin_path("lifecycle"), *arguments], cwd=cwd, env=environment(),
                          capture_output=True, text=True)


def test_help_lists_every_stage(tmp_path):
    result = lifecycle("--help", cwd=tmp_path)

    assert result.returncode == 0
    for stage in ("ingest", "prepare", "featurize", "train", "evaluate"):
        assert stage in result.stdout


def test_version_prints_the_installed_package_version(tmp_path):
    from importlib.metadata import version

    result = lifecycle("--version", cwd=tmp_path)

    assert result.returncode == 0
    assert result.stdout == f"lifecycle {version('dvc-ml-lifecycle')}\n"


def test_a_params_typo_exits_2_with_one_line_and_no_traceback(tmp_path):
    params = yaml.safe_load(example_file("params.yaml").read_text())
    params["trian"] = params.pop("train")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))

    result = lifecycle("train", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "lifecycle train: error: params.yaml: trian: unknown key; allowed here: seed, problem, "
        "source, split, features, train, tuning, evaluate, criteria, cleaning, validation, "
        "monitor, engine, extensions (did you mean 'train'?)"
    )
    assert "Traceback" not in result.stderr


def test_a_missing_input_says_which_file_and_how_to_produce_it(tmp_path):
    shutil.copy(example_file("params.yaml"), tmp_path / "params.yaml")

    result = lifecycle("train", cwd=tmp_path)

    assert result.returncode == 1
    assert "models/features.skops: not found; run `dvc repro`" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "models" / "model.skops").exists()


def test_an_unknown_command_is_a_usage_error(tmp_path):
    result = lifecycle("trian", cwd=tmp_path)

    assert result.returncode == 2
    assert "invalid choice: 'trian'" in result.stderr
