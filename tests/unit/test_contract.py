"""The data contract, its validation, inference and the quality profile, on in-memory frames."""

import numpy as np
import pandas as pd
import pytest

from lifecycle.config import contract
from lifecycle.core.errors import LifecycleError, ParamsError
from lifecycle.data import contract_checks, curation, quality, splits
from lifecycle.project import inference

from ..conftest import example_file

POLICIES = {"missing_column": "fail", "wrong_type": "fail", "missing_value": "drop",
            "out_of_range": "drop", "unknown_category": "warn"}


def rules() -> contract.Contract:
    return contract.parse({"keys": ["id"], "columns": {
        "id": {"type": "categorical", "role": "identifier", "nullable": False},
        "age": {"type": "numeric", "role": "feature", "nullable": False, "min": 0, "max": 120},
        "city": {"type": "categorical", "role": "feature", "categories": ["Oslo", "Rome"]},
        "seen": {"type": "datetime", "role": "timestamp"},
        "y": {"type": "numeric", "role": "target"},
    }})


def people() -> pd.DataFrame:
    return pd.DataFrame({
        "id": ["a", "b", "c", "d", "e"],
        "age": ["34", "x", None, "150", "20"],
        "city": ["Oslo", "Rome", "Paris", "Oslo", None],
        "seen": ["2024-01-01", "2024-01-02", "soon", "2024-01-04", "2024-01-05"],
        "y": [1, 0, 1, 0, 1],
    })


def test_the_default_contract_lists_the_features_and_leakage_of_the_example():
    default = contract.load(example_file("data/contract.yaml"))

    numeric, categorical = default.feature_lists(["plane_year"])
    assert numeric[:2] == ["sched_arr_time", "distance"] and len(numeric) == 28
    assert categorical == ["carrier", "origin", "dest", "plane_manufacturer"]
    assert default.with_role("leakage") == ["dep_time", "dep_delay", "arr_time", "arr_delay",
                                            "air_time"]
    assert default.target() == "late"


@pytest.mark.parametrize("edit, words", [
    (lambda c: c["columns"]["age"].update(typ="numeric"), r"columns.age.typ: unknown key.*'type'"),
    (lambda c: c["columns"]["age"].update(role="featur"), r"'featur' is not allowed.*'feature'"),
    (lambda c: c.update(keys=["nope"]), r"keys: 'nope' is not a column"),
])
def test_a_broken_contract_names_the_key_and_what_is_allowed(edit, words):
    data = {"keys": [], "columns": {"age": {"type": "numeric", "role": "feature"}}}
    edit(data)

    with pytest.raises(ParamsError, match=words):
        contract.parse(data)


def test_dump_reads_back_to_the_same_contract_with_comments():
    text = contract.dump(rules(), {"id": "looks like an identifier"})

    assert "  # looks like an identifier\n  id: {type: categorical" in text
    assert contract.parse(__import__("yaml").safe_load(text)) == rules()


def test_validation_collects_every_failure_before_deciding():
    typed, failures = contract_checks.coerce_types(people(), rules())
    failures += contract_checks.check_rules(typed, rules())

    found = {(f.rule, f.column): int(f.rows.sum()) for f in failures}
    assert found == {("wrong_type", "age"): 1, ("wrong_type", "seen"): 1,
                     ("missing_value", "age"): 2, ("out_of_range", "age"): 1,
                     ("unknown_category", "city"): 1}
    with pytest.raises(LifecycleError) as error:
        contract_checks.apply_policies(typed, failures, POLICIES, "data/raw/dataset.parquet")
    message = str(error.value)
    assert message.startswith("data/raw/dataset.parquet: 2 data contract rule(s) failed")
    assert "column 'age': wrong_type: 1 values are not numeric (e.g. 'x')" in message
    assert "column 'seen': wrong_type" in message


def test_drop_policy_counts_each_dropped_row_once_by_its_first_reason():
    typed, failures = contract_checks.coerce_types(people(), rules())
    failures += contract_checks.check_rules(typed, rules())
    policies = {**POLICIES, "wrong_type": "drop"}

    outcome = contract_checks.apply_policies(typed, failures, policies, "raw")

    # b: age 'x' (wrong type, then missing); c: seen 'soon' (and age missing); d: age 150
    assert outcome.dropped == {"wrong_type:age": 1, "wrong_type:seen": 1,
                               "missing_value:age": 0, "out_of_range:age": 1}
    assert outcome.table["id"].tolist() == ["a", "e"]
    assert outcome.warnings == [
        "column 'city': unknown_category: 1 values outside the contract's categories "
        "(e.g. 'Paris')"]
    assert sum(outcome.dropped.values()) == len(people()) - len(outcome.table)


def test_a_missing_column_fails_or_becomes_empty_when_tolerated():
    table = people().drop(columns="city")
    failures = contract_checks.check_rules(table, rules())

    with pytest.raises(LifecycleError, match="column 'city': missing_column"):
        contract_checks.apply_policies(table, failures, POLICIES, "raw")
    tolerant = {**POLICIES, "missing_column": "warn", "missing_value": "warn",
                "out_of_range": "warn"}
    outcome = contract_checks.apply_policies(table, failures, tolerant, "raw")
    assert outcome.table["city"].isna().all()


def test_curate_drops_key_duplicates_after_exact_duplicates():
    table = pd.DataFrame({"id": [1, 1, 2, 2, 3], "x": [5, 5, 6, 7, 8], "y": [0, 0, 1, 1, None]})

    curated, dropped = curation.curate(table, "y", ["id"])

    assert dropped == {"missing_target": 1, "duplicate_row": 1, "duplicate_key": 1}
    assert curated["id"].tolist() == [1, 2]


@pytest.mark.parametrize("values, task, words", [
    ([None, None], "binary", "missing in every row"),
    ([1, 1, None], "binary", "single class"),
    ([1, 2, 3], "binary", "set problem.task to multiclass"),
])
def test_check_target_refuses_what_a_task_cannot_learn(values, task, words):
    with pytest.raises(LifecycleError, match=words):
        curation.check_target(pd.DataFrame({"y": values}), "y", task, "t.csv")


def test_check_target_names_a_missing_target_and_a_near_match():
    with pytest.raises(LifecycleError, match=r"t.csv: target column 'y' not found \(did you "
                                             r"mean 'Y'\?\)"):
        curation.check_target(pd.DataFrame({"Y": [1, 0]}), "y", "binary", "t.csv")


def test_random_split_is_stratified_seeded_and_puts_each_row_in_one_split():
    table = pd.DataFrame({"id": range(200), "y": [0] * 150 + [1] * 50})

    parts = splits.split_random(table, "y", 0.2, 0.1, seed=3, stratify=True)

    ids = [set(frame["id"]) for frame in parts.values()]
    assert sum(map(len, ids)) == 200 and set.union(*ids) == set(range(200))
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert [len(frame) for frame in parts.values()] == [140, 40, 20]
    assert parts["test"]["y"].mean() == 0.25  # the class balance of the whole table
    again = splits.split_random(table, "y", 0.2, 0.1, seed=3, stratify=True)
    assert all(again[name].equals(frame) for name, frame in parts.items())


def test_out_of_time_split_without_current_start_has_an_empty_current_batch():
    table = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=10, tz="UTC"), "y": 1})

    parts = splits.split_out_of_time(table, "when", pd.Timestamp("2024-01-08").date(), None)

    assert [len(frame) for frame in parts.values()] == [7, 3, 0]


def test_profile_counts_equal_pandas():
    table = pd.DataFrame({"x": [1.0, None, 3.0, 3.0], "c": ["a", "a", None, "b"],
                          "d": pd.to_datetime(["2024-01-01", None, "2024-03-01", "2024-02-01"])})
    rules = contract.parse({"columns": {"x": {"type": "numeric", "role": "feature"},
                                        "c": {"type": "categorical", "role": "feature"},
                                        "d": {"type": "datetime", "role": "timestamp"}}})

    profile = quality.profile_columns(table, rules)

    assert profile["x"] == {"type": "numeric", "role": "feature", "missing": 1,
                            "missing_share": 0.25, "distinct": 2, "min": 1.0, "q25": 2.0,
                            "median": 3.0, "q75": 3.0, "max": 3.0}
    assert profile["c"]["top"] == {"a": 2, "b": 1}
    assert profile["d"]["min"] == "2024-01-01 00:00:00"
    assert quality.target_distribution(table, "c", "binary") == {
        "rows": 3, "classes": {"a": 2, "b": 1}}


# --- the decisions about rows and columns, where people read them ------------------------------

CONTRACT_WITH_REASONS = """\
keys: [id]
columns:
  y: {type: numeric, role: target}
  # looks like an identifier: a different value in every row
  id: {type: numeric, role: identifier}
  # Known only afterwards, so never features.
  refund: {type: numeric, role: leakage}
  paid: {type: numeric, role: leakage,
         note: the target is derived from it}
  returned: {type: numeric, role: leakage}
  shop: {type: categorical, role: excluded}

  city: {type: categorical, role: excluded}
  "a|b": {type: numeric, role: excluded, note: a pipe in the name}
"""


def test_a_columns_reason_is_its_note_or_the_comment_above_its_run_of_one_role(tmp_path):
    path = tmp_path / "contract.yaml"
    path.write_text(CONTRACT_WITH_REASONS)
    rules = contract.load(path)

    reasons = contract.column_reasons(rules, path)

    assert reasons == {
        "id": "looks like an identifier: a different value in every row",
        "refund": "Known only afterwards, so never features.",
        "paid": "the target is derived from it",  # its own note comes first
        "returned": "Known only afterwards, so never features.",  # over a two-line entry
        "a|b": "a pipe in the name",
    }  # shop: another role ends the run; city: a blank line does


def test_the_examples_contract_gives_a_reason_for_every_column_the_model_never_sees():
    rules = contract.load(example_file("data/contract.yaml"))
    reasons = contract.column_reasons(rules, example_file("data/contract.yaml"))

    assert set(rules.with_role(*quality.LEFT_OUT_ROLES)) <= set(reasons)
    assert reasons["dep_delay"].startswith("Leakage: known only after the flight")
    assert reasons["tailnum"].startswith("Identifiers: they name a flight or a plane")
    assert reasons["plane_engine"].startswith("Excluded: parts of scheduled_departure")


def test_the_data_quality_report_says_what_became_of_duplicates_and_which_columns_left(tmp_path):
    path = tmp_path / "contract.yaml"
    path.write_text(CONTRACT_WITH_REASONS)
    rules = contract.load(path)
    decisions = {"duplicate_row": curation.duplicate_decision("warn", 602, 5840),
                 **quality.contract_decisions(rules, contract.column_reasons(rules, path))}
    report = {"rows_in": 6000, "rows_out": 5840, "validation": [], "cleaning": {},
              "splits": {}, "columns": {}, "decisions": decisions,
              "rows_dropped": {"duplicate_row": 0, "missing_target": 160, "duplicate_key": 3}}

    text = quality.markdown(report)

    section = text.split("## Data decisions\n", 1)[1].split("\n## ", 1)[0]
    assert ("- Exact duplicate rows: 602 of the 5,840 rows with a target (10.3%) repeat an "
            "earlier row in every column; kept, every copy counted "
            "(`validation.duplicate_row: warn`).") in section
    assert "- Key `id`: 3 rows repeating an earlier row's key dropped, the first kept." in section
    assert ("| refund, returned | leakage | Known only afterwards, so never features. |"
            in section)
    assert "| paid | leakage | the target is derived from it |" in section
    assert "| shop, city | excluded | no reason given in the contract |" in section
    assert "| a\\|b | excluded | a pipe in the name |" in section
    assert "duplicate_row | 0 |" in text  # the drops stay as they were: none


@pytest.mark.parametrize(("policy", "repeated", "words"), [
    ("drop", 12, "12 of the 300 rows with a target (4.0%) repeat an earlier row in every "
                 "column; dropped, the first copy kept (`validation.duplicate_row: drop`)."),
    ("drop", 0, "none among the 300 rows with a target (`validation.duplicate_row: drop`)."),
    ("fail", 0, "none among the 300 rows with a target (`validation.duplicate_row: fail`)."),
])
def test_the_duplicate_decision_reads_as_what_the_policy_did(policy, repeated, words):
    decision = curation.duplicate_decision(policy, repeated, 300)

    assert quality.decision_lines({"duplicate_row": decision}, {})[0] == (
        f"- Exact duplicate rows: {words}")


def test_infer_task_type_identifier_and_leakage():
    rng = np.random.default_rng(0)
    y = pd.Series(rng.integers(0, 2, 300), name="y")
    table = pd.DataFrame({
        "id": [f"u{i}" for i in range(300)], "copy": y.map({0: "no", 1: "yes"}),
        "noise": rng.normal(size=300), "when": [f"2024-01-0{i % 9 + 1}" for i in range(300)],
        "y": y,
    })

    assert inference.infer_task(y) == "binary"
    assert inference.infer_task(pd.Series(rng.normal(size=50))) == "regression"
    assert inference.infer_task(pd.Series(list("abcab")), "classification") == "multiclass"
    rules, comments = inference.infer_contract(table, "y", "binary", None)
    roles = {name: column.role for name, column in rules.columns.items()}
    assert roles == {"id": "identifier", "copy": "leakage", "noise": "feature",
                     "when": "feature", "y": "target"}
    assert rules.columns["when"].type == "datetime"
    assert rules.keys == ["id"]
    assert "looks like leakage" in comments["copy"] and "identifier" in comments["id"]


# --- params.yaml and the contract, checked against each other ----------------------------------


def template_params():
    from lifecycle import config

    return config.load(example_file("params.yaml"), with_contract=False)


def with_params(**changes):
    """The template's params with `section__key=value` changes."""
    import dataclasses

    params = template_params()
    for dotted, value in changes.items():
        section, key = dotted.split("__")
        params = dataclasses.replace(params, **{section: dataclasses.replace(
            getattr(params, section), **{key: value})})
    return params


def test_the_template_params_and_contract_agree():
    default = contract.load(example_file("data/contract.yaml"))
    default.check_params(template_params())
    assert contract.validate(template_params(), example_file("data/contract.yaml")) == default


@pytest.mark.parametrize("changes, words", [
    ({"problem__target": "delayed"},
     r"^data/contract.yaml: the column with role target is 'late' but params.yaml "
     r"problem.target is 'delayed'; make them agree$"),
    ({"features__datetime": "departure"},
     r"features.datetime: 'departure' is not a column of data/contract.yaml"),
    ({"features__age_from_year": ["arr_delay"]},
     r"^params.yaml: features: arr_delay may not be features"),
    ({"split__time_column": "dep_time"},
     r"split.time_column: 'dep_time' is a numeric column of data/contract.yaml"),
    ({"evaluate__slice_columns": ["carrier", "orign"]},
     r"^params.yaml: evaluate.slice_columns: 'orign' is not a column of data/contract.yaml; "
     r"choose from: .*carrier.*\(did you mean 'origin'\?\)$"),
    ({"evaluate__slice_columns": ["dep_delay"]},
     r"evaluate.slice_columns: 'dep_delay' is a column with role leakage, not kept for "
     r"evaluation, of data/contract.yaml"),
])
def test_params_that_disagree_with_the_contract_name_the_key(changes, words):
    default = contract.load(example_file("data/contract.yaml"))

    with pytest.raises(ParamsError, match=words):
        default.check_params(with_params(**changes), "data/contract.yaml")


def test_a_regression_needs_a_numeric_target_in_the_contract():
    rules = contract.parse({"columns": {"y": {"type": "categorical", "role": "target"},
                                        "x": {"type": "numeric", "role": "feature"}}})
    params = with_params(problem__target="y", problem__task="regression",
                         features__datetime=None, features__age_from_year=[],
                         split__time_column=None, evaluate__slice_columns=["x"])

    with pytest.raises(ParamsError, match=r"problem.task: regression needs a numeric target"):
        rules.check_params(params)


def test_validate_requires_the_contract_unless_told_and_records_the_read_when_asked(tmp_path):
    from lifecycle.core import stage_trace

    missing = tmp_path / "contract.yaml"
    assert contract.validate(template_params(), missing, required=False) is None
    with pytest.raises(ParamsError, match=r"contract.yaml: not found; write one with"):
        contract.validate(template_params(), missing)

    stage_trace._reads.clear()
    contract.validate(template_params(), example_file("data/contract.yaml"), record=False)
    assert stage_trace._reads == set()
    contract.validate(template_params(), example_file("data/contract.yaml"))
    assert stage_trace._reads == {example_file("data/contract.yaml").as_posix()}
    stage_trace._reads.clear()


def test_an_unknown_top_level_key_of_the_contract_is_named_without_a_prefix():
    with pytest.raises(ParamsError, match=r"^key: unknown key; allowed here: columns, keys "
                                          r"\(did you mean 'keys'\?\)$"):
        contract.parse({"key": [], "columns": {"x": {"type": "numeric", "role": "feature"}}})


def test_input_columns_lists_each_raw_column_once():
    columns = contract.input_columns(["distance", "plane_year"], ["carrier"], "departure",
                                     ["plane_year"])

    assert columns == ["departure", "plane_year", "distance", "carrier"]
