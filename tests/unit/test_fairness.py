"""Group fairness in memory: fairlearn's measures per group of a sensitive column, their
intervals, gaps and ratios; the gate rows of criteria.fairness; the contract and params keys."""

import copy
import functools
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from lifecycle.config import contract, params
from lifecycle.config.params import Fairness
from lifecycle.core.errors import ParamsError
from lifecycle.evaluation import fairness, gate, metrics
from lifecycle.project import inference

from ..stage.test_evaluation import FINDINGS, TEST_METRICS, criteria

pytest.importorskip("fairlearn")


def two_groups() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """400 rows of group a, 400 of b and 10 of c, half positive in each. The model selects a's
    positives all and negatives one in four, b's positives one in two and no negative, and
    every row of c: selection rates 0.625 (a) and 0.25 (b) by construction."""
    def group(rows: int, positives_selected: float, negatives_selected: float):
        y = np.repeat([1, 0], rows // 2)
        half = rows // 2
        selected = np.r_[np.arange(half) < positives_selected * half,
                         np.arange(half) < negatives_selected * half]
        # scores ranked within the group: selected rows above the 0.5 threshold
        scores = np.where(selected, 0.9, 0.1) - np.linspace(0, 0.05, rows) * (1 - y)
        return y, scores

    parts = {"a": group(400, 1.0, 0.25), "b": group(400, 0.5, 0.0), "c": group(10, 1.0, 1.0)}
    sex = np.concatenate([[name] * len(y) for name, (y, _) in parts.items()])
    y = np.concatenate([y for y, _ in parts.values()])
    scores = np.concatenate([s for _, s in parts.values()])
    return pd.DataFrame({"sex": sex}), y, scores


def shared_details() -> dict:
    """A copy of `details()`, computed once in this process: each computation takes a few
    seconds of resampling."""
    return copy.deepcopy(_details_once())


@functools.cache
def _details_once() -> dict:
    return details()


def details() -> dict:
    test, y, scores = two_groups()
    return fairness.fairness_details(test, ["sex"], y, scores, "binary", "roc_auc",
                                     "selection_rate", 0.5, None, min_rows=50, resamples=50,
                                     seed=0)


def test_each_group_has_its_rates_known_by_construction_and_small_groups_are_flagged():
    found = shared_details()["columns"]["sex"]
    groups = {group["group"]: group for group in found["groups"]}

    assert groups["a"]["values"]["selection_rate"] == 0.625
    assert groups["b"]["values"]["selection_rate"] == 0.25
    assert groups["a"]["values"]["true_positive_rate"] == 1.0
    assert groups["b"]["values"]["true_positive_rate"] == 0.5
    assert groups["a"]["values"]["false_positive_rate"] == 0.25
    assert groups["b"]["values"]["false_positive_rate"] == 0.0
    assert [(g["rows"], g["small"]) for g in found["groups"]] == [(400, False), (400, False),
                                                                   (10, True)]


def test_the_gaps_leave_small_groups_out():
    found = shared_details()["columns"]["sex"]

    # c selects every row (rate 1.0) but has 10 rows, under min_rows: not in the gaps
    assert found["difference"]["selection_rate"] == pytest.approx(0.375)
    assert found["ratio"]["selection_rate"] == pytest.approx(0.4)
    assert found["difference"]["true_positive_rate"] == pytest.approx(0.5)
    assert found["ratio"]["false_positive_rate"] == pytest.approx(0.0)


def test_each_interval_holds_its_value_and_is_seeded():
    first, again = shared_details(), details()

    assert first == again
    for group in first["columns"]["sex"]["groups"]:
        for name, value in group["values"].items():
            low, high = group["intervals"][name]
            assert low <= value <= high, (group["group"], name)
    a = first["columns"]["sex"]["groups"][0]
    assert a["intervals"]["selection_rate"][0] < 0.625 < a["intervals"]["selection_rate"][1]


def test_the_gate_findings_are_the_judged_measures_gap_and_ratio():
    assert fairness.gate_findings(shared_details()) == {
        "sex": {"measure": "selection_rate", "difference": 0.375, "ratio": 0.4}}


def test_one_group_only_has_no_gap():
    test, y, scores = two_groups()
    only_a = test["sex"] == "a"
    found = fairness.fairness_details(test[only_a], ["sex"], y[only_a.to_numpy()],
                                      scores[only_a.to_numpy()], "binary", "roc_auc",
                                      "selection_rate", 0.5, None, 50, 20, 0)

    assert found["columns"]["sex"]["difference"]["selection_rate"] is None


def test_a_regression_reports_its_primary_metric_per_group():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    noise = np.r_[np.zeros(100), np.ones(100)]  # group b's predictions off by 1
    test = pd.DataFrame({"age_band": ["a"] * 100 + ["b"] * 100})
    found = fairness.fairness_details(test, ["age_band"], y, y + noise, "regression", "rmse",
                                      "rmse", None, None, 50, 20, 0)["columns"]["age_band"]

    assert [group["values"] for group in found["groups"]] == [{"rmse": 0.0}, {"rmse": 1.0}]
    assert found["difference"] == {"rmse": 1.0}


def fairness_criteria(**bounds: object) -> SimpleNamespace:
    return criteria(fairness=Fairness(**bounds))


def test_a_gap_beyond_criteria_fairness_rejects_naming_the_column_and_measure():
    found = {**FINDINGS, "fairness": fairness.gate_findings(shared_details())}
    rows = gate.criteria_rows(fairness_criteria(max_difference=0.2, min_ratio=0.3),
                              metrics.METRIC_NAMES["binary"], "roc_auc", TEST_METRICS, found)

    (failed,) = [row for row in rows if row["passed"] is False]
    assert failed == {"criterion": "fairness: largest selection_rate difference between groups "
                                   "of sex", "value": 0.375, "comparison": "<=",
                      "threshold": 0.2, "passed": False}
    assert gate.verdict(rows) == "REJECTED"
    assert "selection_rate difference between groups of sex" in gate.judged(rows)


def test_null_fairness_criteria_report_without_judging_and_no_sensitive_column_adds_no_row():
    found = {**FINDINGS, "fairness": fairness.gate_findings(shared_details())}
    rows = gate.criteria_rows(fairness_criteria(), metrics.METRIC_NAMES["binary"], "roc_auc",
                              TEST_METRICS, found)
    fair = [row for row in rows if row["criterion"].startswith("fairness:")]

    assert [(row["value"], row["passed"]) for row in fair] == [(0.375, None), (0.4, None)]
    assert gate.verdict(rows) == "VALIDATED"
    without = gate.criteria_rows(fairness_criteria(max_difference=0.0),
                                 metrics.METRIC_NAMES["binary"], "roc_auc", TEST_METRICS, FINDINGS)
    assert len(without) == len(rows) - 2


def params_with(fairness_block: object) -> dict:
    with open(params.PARAMS_FILE) as handle:
        data = yaml.safe_load(handle)
    data["criteria"]["fairness"] = fairness_block
    return data


@pytest.mark.parametrize("block, words", [
    ({"max_difference": "small"}, "criteria.fairness.max_difference: expected float"),
    ({"max_difference": -0.1}, "criteria.fairness.max_difference: found -0.1"),
    ({"min_ratio": 1.5}, "criteria.fairness.min_ratio: found 1.5"),
    ({"min_ratio": True}, "criteria.fairness.min_ratio: expected float"),
    ({"measure": "accuracy"}, "criteria.fairness.measure: not a binary measure per group"),
    ({"max_gap": 0.1}, "criteria.fairness.max_gap: unknown key"),
])
def test_bad_fairness_criteria_are_params_errors_naming_the_key(block, words):
    with pytest.raises(ParamsError, match=words):
        params.parse(params_with(block))


def test_fairness_criteria_default_to_report_only_and_measure_to_the_task():
    parsed = params.parse(params_with({"min_ratio": 0.8, "measure": "true_positive_rate"}))

    assert parsed.criteria.fairness == Fairness(None, 0.8, "true_positive_rate")
    assert Fairness().measure_for("binary", "roc_auc") == "selection_rate"
    assert Fairness().measure_for("regression", "rmse") == "rmse"


def test_the_contract_marks_sensitive_columns_with_a_boolean():
    rules = contract.parse({"columns": {
        "sex": {"type": "categorical", "role": "excluded", "sensitive": True},
        "age": {"type": "numeric", "role": "feature", "sensitive": False},
        "y": {"type": "categorical", "role": "target"}}})

    assert rules.sensitive_columns() == ["sex"]
    with pytest.raises(ParamsError, match=r"columns.sex.sensitive: expected true or false, "
                                          r"found 'yes'"):
        contract.parse({"columns": {"sex": {"type": "categorical", "role": "feature",
                                            "sensitive": "yes"}}})


def test_init_suggests_columns_whose_names_hold_a_sensitive_word():
    line = inference.sensitive_suggestion(["Gender", "customer_age", "page_views", "usage",
                                           "marital_status", "income"])

    assert line.startswith("note: Gender, customer_age, marital_status may be sensitive")
    assert "`sensitive: true`" in line and "data/contract.yaml" in line
    assert inference.sensitive_suggestion(["page_views", "usage", "carrier"]) is None


def test_a_multiclass_model_is_measured_per_group_on_its_score_columns():
    classes = np.array(["high", "low", "mid"])
    y = np.array(["high", "low", "mid"] * 40)
    right = np.eye(3)[[0, 1, 2] * 40]  # a column per class, in the order of `classes`
    wrong = np.roll(right, 1, axis=1)
    scores = np.r_[right[:60], wrong[60:]] * 0.9 + 0.1 / 3  # group b is always wrong
    test = pd.DataFrame({"region": ["a"] * 60 + ["b"] * 60})
    found = fairness.fairness_details(test, ["region"], y, scores, "multiclass", "macro_f1",
                                      "macro_f1", None, classes, 50, 20, 0)["columns"]["region"]

    assert [group["values"]["macro_f1"] for group in found["groups"]] == [1.0, 0.0]
    assert found["difference"] == {"macro_f1": 1.0}
    assert found["groups"][0]["intervals"]["macro_f1"] == [1.0, 1.0]
