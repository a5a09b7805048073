"""`lifecycle init` edits params.yaml in place: comments kept, and never a corrupted file."""


import yaml
from dvc.utils.hydra import apply_overrides

from lifecycle.commands.init import update_params

from .conftest import ROOT

SECTIONS = {"problem": {"target": "y"}, "source": {"name": "csv", "path": "t.csv"},
            "features": {"datetime": None, "age_from_year": []}}


def test_init_keeps_the_comments_of_the_template_params(tmp_path):
    params_file = tmp_path / "params.yaml"
    params_file.write_text((ROOT / "params.yaml").read_text())

    text = update_params(params_file, SECTIONS)

    assert "# Success criteria" in text
    data = yaml.safe_load(text)
    assert data["problem"]["target"] == "y" and data["features"]["age_from_year"] == []
    assert data["train"] == yaml.safe_load(params_file.read_text())["train"]


def test_init_on_params_rewritten_by_dvc_exp_run_gives_valid_yaml(tmp_path):
    # `dvc exp run -S` rewrites params.yaml in its own layout (block lists, other quoting);
    # keeping comments there once joined two keys onto one line.
    params_file = tmp_path / "params.yaml"
    params_file.write_text((ROOT / "params.yaml").read_text())
    apply_overrides(str(params_file), ["train.hyperparameters.hist_gradient_boosting.max_iter=50"])

    data = yaml.safe_load(update_params(params_file, SECTIONS))

    assert data["features"]["impute_numeric"] == "median"
    assert data["features"]["impute_categorical"] == "missing_level"
    assert data["features"]["age_from_year"] == []
    assert data["problem"]["target"] == "y"
    assert data["train"]["hyperparameters"]["hist_gradient_boosting"]["max_iter"] == 50
