import copy

import pytest
import yaml

from lifecycle import config, stage_trace
from lifecycle.errors import ParamsError

from .conftest import ROOT


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def test_the_shipped_params_file_is_valid():
    params = config.load(ROOT / "params.yaml")

    assert params.problem.target == "late"
    assert params.split.test_start < params.split.current_start


@pytest.mark.parametrize("edit, words", [
    (lambda p: p.update(trian=p.pop("train")), r"trian: unknown key.*did you mean 'train'"),
    (lambda p: p["train"].update(modle="x"), r"train.modle: unknown key.*did you mean 'model'"),
    (lambda p: p["evaluate"].update(importance_rows="many"),
     r"evaluate.importance_rows: expected int, found 'many'"),
    (lambda p: p["source"].update(sample_fraction=0), r"source.sample_fraction: found 0"),
    (lambda p: p["source"].update(sample_fraction=500), r"source.sample_fraction: found 500"),
    (lambda p: p["split"].update(test_start="September"), r"split.test_start: expected a date"),
    (lambda p: p["split"].update(current_start="2013-01-01"),
     r"split.current_start.*after split.test_start"),
    (lambda p: p["features"].update(impute_numeric="medain"),
     r"features.impute_numeric: 'medain' is not allowed.*did you mean 'median'"),
    (lambda p: p.pop("seed"), r"seed: missing"),
    (lambda p: p["features"].update(age_from_year="plane_year"),
     r"features.age_from_year: expected a list"),
    (lambda p: p["evaluate"].update(decision_threshold=True),
     r"evaluate.decision_threshold: expected float, found True"),
])
def test_invalid_params_name_the_file_key_and_what_is_allowed(raw, edit, words):
    broken = copy.deepcopy(raw)
    edit(broken)

    with pytest.raises(ParamsError, match=words) as error:
        config.parse(broken, source="params.yaml")

    assert str(error.value).startswith("params.yaml: ")
    assert error.value.exit_code == 2


def test_integers_are_accepted_where_floats_are_expected(raw):
    raw["evaluate"]["decision_threshold"] = 1 - 1  # 0 is out of range, checked after typing
    with pytest.raises(ParamsError, match=r"decision_threshold: found 0\.0"):
        config.parse(raw)


def test_reading_a_leaf_records_its_dotted_key_and_validation_records_nothing(raw):
    stage_trace._params.clear()
    params = config.parse(raw)
    assert stage_trace._params == set()

    _ = params.train.hyperparameters, params.seed, params.train

    assert stage_trace._params == {"train.hyperparameters", "seed"}
    stage_trace._params.clear()


def test_one_models_hyperparameters_record_that_models_block_only(raw):
    params = config.parse(raw)
    stage_trace._params.clear()

    block = params.train.hyperparameters_for("random_forest")

    assert block == raw["train"]["hyperparameters"]["random_forest"]
    assert stage_trace._params == {"train.hyperparameters.random_forest"}
    stage_trace._params.clear()


def test_missing_params_file_is_a_clear_error(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        config.load(tmp_path / "params.yaml")
