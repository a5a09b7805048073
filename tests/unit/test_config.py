import copy
import re

import pytest
import yaml

from lifecycle import config
from lifecycle.config import schema
from lifecycle.core import stage_trace
from lifecycle.core.errors import ParamsError

from ..conftest import ROOT, example_file


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(example_file("params.yaml").read_text())


def test_the_shipped_params_file_is_valid():
    params = config.load(example_file("params.yaml"))

    assert params.problem.target == "late"
    assert params.split.test_start < params.split.current_start
    assert params.validation.duplicate_row == "drop"  # the flights' outputs as before the key


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
    (lambda p: p["validation"].update(duplicate_row="warning"),
     r"validation.duplicate_row: 'warning' is not allowed; choose one of: fail, drop, warn "
     r"\(did you mean 'warn'\?\)"),
    (lambda p: p["validation"].pop("duplicate_row"), r"validation.duplicate_row: missing"),
])
def test_invalid_params_name_the_file_key_and_what_is_allowed(raw, edit, words):
    broken = copy.deepcopy(raw)
    edit(broken)

    with pytest.raises(ParamsError, match=words) as error:
        config.parse(broken, source="params.yaml")

    assert str(error.value).startswith("params.yaml: ")
    assert error.value.exit_code == 2


def test_the_keys_of_one_problem_are_optional_for_the_others(raw):
    """decision_threshold is a binary task's, late_threshold_minutes the flights source's."""
    raw["evaluate"].pop("decision_threshold")
    raw["source"].pop("late_threshold_minutes")
    for section, key in (("evaluate", "decision_threshold"), ("source", "late_threshold_minutes")):
        assert key not in schema.json_schema()["properties"][section]["required"]

    with pytest.raises(ParamsError, match=r"source.late_threshold_minutes: found None"):
        config.parse(copy.deepcopy(raw))
    with pytest.raises(ParamsError, match=r"evaluate.decision_threshold: found None, expected a "
                                          r"probability in \(0, 1\): a binary task"):
        config.parse({**raw, "source": {**raw["source"], "late_threshold_minutes": 15}})
    raw["problem"].update(task="regression", primary_metric="rmse")
    raw["criteria"].update(minimum={}, maximum={})
    raw["source"] = {"name": "csv", "sample_fraction": 1.0, "path": "data/t.csv"}
    params = config.parse(raw)
    assert params.evaluate.decision_threshold is None
    assert params.source.late_threshold_minutes is None


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


# --- one wording for a name that is not allowed ------------------------------------------------


def test_did_you_mean_names_the_closest_allowed_name_or_nothing():
    assert config.did_you_mean("trian", ["train", "split"]) == " (did you mean 'train'?)"
    assert config.did_you_mean("zzz", ["train", "split"]) == ""
    assert config.did_you_mean(3, [1, 2]) == ""  # any value, compared as text


def test_unknown_key_and_not_allowed_errors_name_the_key_path():
    error = config.unknown_key_error("train", "modle", ["model", "cv_folds"])
    assert isinstance(error, ParamsError) and error.exit_code == 2
    assert str(error) == ("train.modle: unknown key; allowed here: model, cv_folds "
                          "(did you mean 'model'?)")
    assert str(config.unknown_key_error("", "trian", ["train"])).startswith("trian: unknown key")
    assert str(config.not_allowed_error("a.b", "medain", ["mean", "median"])) == (
        "a.b: 'medain' is not allowed; choose one of: mean, median (did you mean 'median'?)")


# --- checks across keys -----------------------------------------------------------------------


@pytest.mark.parametrize("edit, words", [
    (lambda p: p["criteria"].update(minimum={"roc_auc": 1.5}),
     r"criteria.minimum.roc_auc: found 1.5, expected a value roc_auc can take: in \[0, 1\]"),
    (lambda p: p["criteria"].update(maximum={"brier": -0.1}),
     r"criteria.maximum.brier: found -0.1, expected a value brier can take"),
    (lambda p: p["criteria"].update(max_shared_test_rows=2),
     r"criteria.max_shared_test_rows: found 2.0, expected a fraction of the test rows"),
    (lambda p: p["criteria"].update(max_slice_gap=-0.1), r"criteria.max_slice_gap: found -0.1"),
    (lambda p: p["train"]["hyperparameters"].update(hist_gradiant_boosting={"max_iter": 9}),
     r"train.hyperparameters.hist_gradiant_boosting: not a model of the registry.*"
     r"did you mean 'hist_gradient_boosting'"),
    (lambda p: p["problem"].update(primary_metric="rmse"),
     r"problem.primary_metric: 'rmse' is not a binary metric"),
    (lambda p: p["train"].update(model="random_forrest"),
     r"train.model: unknown model.*did you mean 'random_forest'"),
])
def test_checks_across_keys_name_the_key(raw, edit, words):
    edit(raw)

    with pytest.raises(ParamsError, match=words):
        config.parse(raw)


def test_a_regression_criterion_may_be_any_error_and_any_r2_up_to_one(raw):
    raw["problem"].update(task="regression", primary_metric="rmse")
    raw["criteria"].update(minimum={"r2": -3}, maximum={"rmse": 1e6, "mae": 0})

    assert config.parse(raw).criteria.minimum == {"r2": -3.0}
    raw["criteria"]["minimum"] = {"r2": 1.01}
    with pytest.raises(ParamsError, match=r"criteria.minimum.r2: found 1.01.*<= 1"):
        config.parse(raw)


def test_load_validates_the_contract_beside_params_and_records_neither(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "params.yaml").write_text(example_file("params.yaml").read_text())
    contract_text = example_file("data/contract.yaml").read_text()
    (tmp_path / "data/contract.yaml").write_text(
        contract_text.replace("late: {type: numeric, role: target", "late: {type: numeric, "
                                                                    "role: targt"))
    stage_trace._reads.clear()
    stage_trace._params.clear()

    with pytest.raises(ParamsError, match=r"contract.yaml: columns.late.role: 'targt'.*"
                                          r"did you mean 'target'"):
        config.load(tmp_path / "params.yaml")
    params = config.load(tmp_path / "params.yaml", with_contract=False)  # params alone: valid

    (tmp_path / "data/contract.yaml").write_text(contract_text)
    valid = config.load(tmp_path / "params.yaml")
    assert stage_trace._reads == set() and stage_trace._params == set()
    (tmp_path / "data/contract.yaml").unlink()  # left to the stages that read it
    without = config.load(tmp_path / "params.yaml")
    with stage_trace.paused():
        assert valid == params == without


# --- the JSON Schema of params.yaml ------------------------------------------------------------

SCHEMA_FILE = ROOT / schema.SCHEMA_FILE


def test_the_shipped_schema_is_the_one_generated_from_the_dataclasses():
    """Regenerate it with `lifecycle check --write-schema`."""
    assert SCHEMA_FILE.read_text() == schema.schema_text()


def test_every_section_of_the_schema_refuses_keys_it_does_not_know():
    def objects(node):
        if isinstance(node, dict):
            if "properties" in node:
                yield node
            for value in node.values():
                yield from objects(value)
        elif isinstance(node, list):
            for value in node:
                yield from objects(value)

    found = list(objects(schema.json_schema()))
    assert len(found) >= 12  # the top level, 11 sections, criteria bounds, hyperparameters
    assert all(node["additionalProperties"] is False for node in found)


def test_the_committed_params_validate_against_the_schema_and_typos_do_not(raw):
    jsonschema = pytest.importorskip("jsonschema")
    generated = schema.json_schema()
    jsonschema.validate(raw, generated)  # dates are quoted in params.yaml: text, as editors see

    for edit in (lambda p: p.update(trian=p.pop("train")),
                 lambda p: p["train"].update(modle="x"),
                 lambda p: p["train"].update(model="lightgbm"),
                 lambda p: p["train"]["hyperparameters"].update(hist_gradiant_boosting={}),
                 lambda p: p["evaluate"].update(decision_threshold=1.5),
                 lambda p: p["criteria"].update(minimum={"roc_aux": 0.5}),
                 lambda p: p["validation"].update(duplicate_row="keep")):
        broken = copy.deepcopy(raw)
        edit(broken)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, generated)


def bounds(node: dict, path: str = ""):
    """(dotted key, JSON Schema keyword, bound, type) for every numeric bound in the schema."""
    for name, child in node.get("properties", {}).items():
        dotted = f"{path}.{name}" if path else name
        for option in child.get("anyOf", [child]):
            for keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                if keyword in option:
                    yield dotted, keyword, option[keyword], option["type"]
            yield from bounds(option, dotted)


@pytest.mark.parametrize("key, keyword, bound, kind", list(bounds(schema.json_schema())))
def test_every_bound_of_the_schema_is_one_that_parsing_enforces(raw, key, keyword, bound, kind):
    step = 1 if kind == "integer" else 0.5
    beyond = {"minimum": bound - step, "maximum": bound + step,
              "exclusiveMinimum": bound, "exclusiveMaximum": bound}[keyword]
    *parents, leaf = key.split(".")
    if parents[:1] == ["criteria"] and parents[1:] in (["minimum"], ["maximum"]):
        task = next(t for t, names in config.METRIC_NAMES.items() if leaf in names)
        raw["problem"].update(task=task, primary_metric=leaf)
        raw["criteria"].update(minimum={}, maximum={})
    section = raw
    for name in parents:
        section = section[name]
    section[leaf] = beyond

    with pytest.raises(ParamsError, match=re.escape(key)):
        config.parse(raw)
