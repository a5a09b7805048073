"""Baselines, cross-validation, slices, leakage checks, the gate and the card, in memory."""

import json
import subprocess
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lifecycle.core import tables
from lifecycle.core.errors import ParamsError
from lifecycle.evaluation import gate, leakage, metrics, model_card, slices
from lifecycle.modeling import artifacts, cross_validation, models

from ..conftest import bin_path, environment


def table(task: str, rows: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Encoded features: a signal, noise and an ordinal-coded category."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"signal": rng.normal(size=rows), "noise": rng.normal(size=rows),
                      "carrier": rng.integers(0, 4, rows).astype(float)})
    value = X["signal"] + 0.5 * (X["carrier"] == 2) + rng.normal(scale=0.8, size=rows)
    if task == "regression":
        return X, value
    if task == "binary":
        return X, (value > 0).astype(int)
    return X, pd.cut(value, [-np.inf, -0.5, 0.5, np.inf], labels=["low", "mid", "high"]
                     ).astype(str)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_every_registered_model_fits_and_the_baselines_are_reported_for_each_task(task):
    X, y = table(task)
    fit, held_out = slice(0, 400), slice(400, None)
    scored = {}
    for name in models.ESTIMATORS:
        estimator = models.build_estimator(name, {}, 0, ["carrier"], task)
        estimator.fit(X[fit], y[fit])
        predicted = metrics.predict_scores(estimator, X[held_out], task)
        scored[name] = metrics.task_metrics(task, y[held_out], predicted, 0.5,
                                            getattr(estimator, "classes_", None))
    primary = metrics.METRIC_NAMES[task][0]
    for candidate in ("hist_gradient_boosting", "random_forest", "xgboost", "linear"):
        # every model learns the signal, so each beats the trivial baseline
        assert metrics.lift(primary, scored[candidate][primary], scored["trivial"][primary]) > 0
    assert set(models.BASELINES) <= set(models.ESTIMATORS)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_every_registered_model_saves_and_loads_with_the_trusted_types(tmp_path, task):
    X, y = table(task, rows=200)
    for name in models.ESTIMATORS:
        small = {"n_estimators": 3} if name == "random_forest" else {}
        estimator = models.build_estimator(name, small, 0, ["carrier"], task).fit(X, y)
        artifacts.save_model(estimator, tmp_path / f"{name}.skops")

        loaded = artifacts.load_model(tmp_path / f"{name}.skops")

        assert np.allclose(metrics.predict_scores(loaded, X, task),
                           metrics.predict_scores(estimator, X, task))


def test_the_linear_model_one_hot_encodes_the_ordinal_categories():
    X, y = table("binary")
    linear = models.build_estimator("linear", {"C": 0.5}, 0, ["carrier"]).fit(X, y)

    assert linear.named_steps["model"].C == 0.5
    assert linear.named_steps["encode"].transform(X).shape[1] == 4 + 2  # 4 codes + 2 numbers


def test_hyperparameters_come_per_model_from_params():
    given = {"random_forest": {"n_estimators": 5}, "trivial": {}}

    assert models.hyperparameters_of("random_forest", given["random_forest"]) == {"n_estimators": 5}
    assert models.hyperparameters_of("linear", given.get("linear")) == {}
    with pytest.raises(ParamsError, match=r"train.hyperparameters.trivial"):
        models.hyperparameters_of("trivial", 3)


def test_cross_validation_scores_time_ordered_folds_and_summarizes_them():
    X, y = table("binary")
    order = pd.Series(np.arange(len(X))[::-1])  # the rows are stored newest first
    estimator = models.build_estimator("linear", {}, 0, ["carrier"])

    folds = cross_validation.cross_validate(estimator, X, y, order, 3, "binary", 0)
    summary = cross_validation.summarize_folds(folds)

    assert len(folds) == 3 and "roc_auc" in folds[0] and "f1" not in folds[0]
    assert summary["roc_auc"]["mean"] == pytest.approx(np.mean([f["roc_auc"] for f in folds]),
                                                       abs=1e-6)
    assert summary["roc_auc"]["std"] > 0


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_cross_validation_without_a_time_order_uses_seeded_shuffled_folds(task):
    X, y = table(task)
    estimator = models.build_estimator("linear", {}, 0, ["carrier"], task)

    first = cross_validation.cross_validate(estimator, X, y, None, 3, task, seed=1)
    again = cross_validation.cross_validate(estimator, X, y, None, 3, task, seed=1)

    assert len(first) == 3 and first == again


def test_slices_find_the_worst_value_and_its_gap():
    frame = pd.DataFrame({"origin": ["EWR"] * 100 + ["JFK"] * 100 + ["LGA"] * 5})
    y = np.tile([0, 1], 103)[:205]
    good = np.where(y == 1, 0.9, 0.1)
    scores = np.concatenate([good[:100], 0.5 - 0.01 * y[100:200], good[200:]])  # JFK: reversed

    records = slices.slice_metrics(frame, y, scores, ["origin"], "binary", min_rows=20)
    worst = slices.worst_slice(records, "roc_auc", overall=0.9)

    assert [r["slice"] for r in records] == ["origin=EWR", "origin=JFK"]  # LGA is too small
    assert worst["slice"] == "origin=JFK"
    assert worst["gap"] == pytest.approx(0.9 - worst["roc_auc"])


def test_a_leaking_column_is_flagged_by_its_single_feature_score():
    X, y = table("binary", rows=2000)
    X["arrival_delay"] = np.where(y == 1, 30.0, 0.0) + np.random.default_rng(1).uniform(0, 10, 2000)
    X["carrier_name"] = X["carrier"].map({0: "AA", 1: "B6", 2: "DL", 3: "UA"})
    fit, held_out = slice(0, 1500), slice(1500, None)

    scores = leakage.single_feature_scores(X[fit], y[fit], X[held_out], y[held_out], "binary", 0)

    assert scores[0]["feature"] == "arrival_delay" and scores[0]["roc_auc"] > 0.99
    assert all(record["roc_auc"] < 0.95 for record in scores[1:])  # a real signal is no leak


def test_shared_rows_counts_test_rows_that_also_occur_in_train():
    train = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    test = pd.DataFrame({"a": [1, 2, 9, 9], "b": ["x", "q", "z", "z"]})

    assert leakage.shared_rows(leakage.row_hashes(train), test) == {"rows": 1,
                                                                    "fraction": 0.25}


def test_the_checks_read_the_same_training_rows_a_group_at_a_time_as_whole(tmp_path,
                                                                            monkeypatch):
    monkeypatch.setattr(leakage, "SINGLE_FEATURE_ROWS", 30)
    monkeypatch.setattr(tables, "ROW_GROUP_ROWS", 16)  # 100 rows in 7 groups
    rng = np.random.default_rng(3)
    train = pd.DataFrame({"a": rng.integers(0, 5, 100).astype(float),
                          "b": rng.choice(["x", "y", None], 100), "late": rng.integers(0, 2, 100)})
    path = tmp_path / "train.parquet"
    tables.write_parquet(train, path)

    read = leakage.read_training_rows(path, ["a", "b"], "late", seed=5)

    whole = tables.read_parquet(path)
    expected, expected_y = leakage._sample(whole[["a", "b"]], whole["late"], "binary", 5)
    pd.testing.assert_frame_equal(read.sample, expected.reset_index(drop=True))
    assert read.target.tolist() == expected_y.tolist()
    assert list(read.hashes) == list(leakage.row_hashes(whole[["a", "b"]]))
    test = whole[["a", "b"]].iloc[[0, 1]]
    assert leakage.shared_rows(read.hashes, test)["rows"] == 2


def criteria(**overrides: object) -> SimpleNamespace:
    values = dict(minimum={"roc_auc": 0.6}, maximum={"brier": 0.2}, min_lift_over_baselines=0.0,
                  max_slice_gap=None, max_single_feature_score=0.95, max_shared_test_rows=None,
                  max_train_test_gap=None, max_feature_group_score=0.95,
                  max_plausible_score=0.99, max_cv_shortfall=3.0)
    return SimpleNamespace(**{**values, **overrides})


FINDINGS = {"lift_low_over_trivial": 0.18, "lift_low_over_linear": 0.004, "slice_gap": 0.1,
            "single_feature_score": 0.6,
            "feature_group": {"features": ["distance", "hour"], "score": 0.64},
            "plausible": {"metric": "roc_auc", "score": 0.7}, "shared_test_rows": 0.0,
            "train_test_gap": 0.05, "cv_shortfall": 0.5}
TEST_METRICS = {"roc_auc": 0.7, "brier": 0.13}


@pytest.mark.parametrize("threshold, verdict", [(0.65, "VALIDATED"), (0.75, "REJECTED")])
def test_the_verdict_follows_the_thresholds(threshold, verdict):
    rows = gate.criteria_rows(criteria(minimum={"roc_auc": threshold}),
                              metrics.METRIC_NAMES["binary"], "roc_auc", TEST_METRICS, FINDINGS)

    assert gate.verdict(rows) == verdict
    assert rows[0] == {"criterion": "test roc_auc", "value": 0.7, "comparison": ">=",
                       "threshold": threshold, "passed": verdict == "VALIDATED"}
    unjudged = [row for row in rows if row["threshold"] is None]
    assert unjudged and all(row["passed"] is None for row in unjudged)


@pytest.mark.parametrize("finding, value, words", [
    ("single_feature_score", 0.99, "best single-feature score (leakage)"),
    ("feature_group", {"features": ["casual", "registered"], "score": 0.998},
     "leakage across columns: casual, registered"),
    ("plausible", {"metric": "roc_auc", "score": 0.995},
     "best test roc_auc of the candidate and the linear baseline (too good to be true)"),
    ("lift_low_over_linear", -0.003, "roc_auc lift over the linear baseline (low end"),
    ("cv_shortfall", 4.2, "below the cross-validation mean, in fold standard deviations"),
])
def test_a_leak_a_lift_within_noise_or_a_test_far_below_cv_rejects(finding, value, words):
    rows = gate.criteria_rows(criteria(), metrics.METRIC_NAMES["binary"], "roc_auc",
                              TEST_METRICS, {**FINDINGS, finding: value})

    assert gate.verdict(rows) == "REJECTED"
    (failed,) = [row for row in rows if row["passed"] is False]
    assert words in failed["criterion"]
    line = gate.judged(rows)
    assert line.startswith(f"{len(rows) - 3} criteria judged, 1 failed (")
    assert words in line.split("; not judged")[0]


def test_every_criterion_left_unjudged_is_named_and_no_minimum_is_a_row():
    rows = gate.criteria_rows(criteria(minimum={}, maximum={}, max_cv_shortfall=None),
                              metrics.METRIC_NAMES["binary"], "roc_auc", TEST_METRICS, FINDINGS)

    line = gate.judged(rows)
    assert gate.verdict(rows) == "VALIDATED"
    assert line.startswith(f"{len(rows) - 5} criteria judged, 0 failed; not judged: ")
    for words in ("test roc_auc against a minimum (criteria.minimum)", "worst slice",
                  "fraction of test rows", "train minus test", "cross-validation mean"):
        assert words in line.split("not judged: ")[1]


def test_a_criterion_on_a_metric_the_task_lacks_is_a_params_error():
    with pytest.raises(ParamsError, match=r"criteria.minimum.roc_aux.*did you mean 'roc_auc'"):
        gate.criteria_rows(criteria(minimum={"roc_aux": 0.5}), metrics.METRIC_NAMES["binary"],
                           "roc_auc", TEST_METRICS, FINDINGS)


@pytest.mark.slow  # the installed command: its exit code is what CI reads
@pytest.mark.parametrize("verdict, code", [("VALIDATED", 0), ("REJECTED", 1)])
def test_lifecycle_gate_prints_the_table_and_exits_by_the_verdict(tmp_path, verdict, code):
    rows = gate.criteria_rows(criteria(), metrics.METRIC_NAMES["binary"], "roc_auc",
                              TEST_METRICS, FINDINGS)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports/gate.json").write_text(json.dumps({"verdict": verdict,
                                                             "criteria": rows}))

    result = subprocess.run([bin_path("lifecycle"), "gate"], cwd=tmp_path, env=environment(),
                            capture_output=True, text=True)

    assert result.returncode == code
    assert "test roc_auc" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith(f"{verdict}: ")


@pytest.mark.slow  # the installed command: its exit code is what CI reads
def test_lifecycle_gate_without_a_gate_file_says_how_to_produce_it(tmp_path):
    result = subprocess.run([bin_path("lifecycle"), "gate"], cwd=tmp_path, env=environment(),
                            capture_output=True, text=True)

    assert result.returncode == 1
    assert "reports/gate.json: not found; run `dvc repro`" in result.stderr


def card_details() -> dict:
    return {
        "model": "hist_gradient_boosting",
        "intervals": {"roc_auc": [0.68, 0.72], "brier": [0.12, 0.14]},
        "cross_validation": {"summary": {"roc_auc": {"mean": 0.7, "std": 0.01}}},
        "baselines": {"trivial": {"metrics": {"roc_auc": 0.5}, "lift": 0.2,
                                  "lift_interval": [0.18, 0.22]}},
        "slices": {"records": [{}], "worst": {"slice": "origin=JFK", "rows": 50, "roc_auc": 0.6,
                                             "gap": 0.1}},
        "checks": {"single_feature": [{"feature": "distance", "roc_auc": 0.55}],
                   "feature_groups": [{"features": ["distance", "hour"], "roc_auc": 0.58}],
                   "shared_test_rows": {"rows": 0, "fraction": 0.0}, "train_test_gap": 0.05,
                   "cv_shortfall": 0.4},
    }


def render_card(task: str = "binary", split_method: str = "out_of_time") -> str:
    rows = gate.criteria_rows(criteria(), metrics.METRIC_NAMES["binary"], "roc_auc",
                              TEST_METRICS, FINDINGS)
    problem = {"name": "flight-delay", "description": "Will it be late?", "task": task,
               "target": "late", "primary_metric": "roc_auc"}
    data = {"splits": {"train": {"rows": 10, "positive_rate": 0.2}}}
    return model_card.render_model_card(problem, data, TEST_METRICS, card_details(),
                                        {"verdict": gate.verdict(rows), "criteria": rows},
                                        split_method)


def test_the_model_card_holds_every_section_and_the_verdict():
    text = render_card()

    for heading in ("Intended use", "Data and split", "Test metrics", "Baselines", "Slices",
                    "Checks", "Criteria", "Limitations"):
        assert f"## {heading}" in text
    assert "Will it be late?" in text and "Gate verdict: VALIDATED**: " in text
    assert "not judged: " in text.split("\n\n")[1]  # the headline says what was not judged
    assert "| trivial | 0.5 | 0.2 | 0.18 to 0.22 |" in text
    assert "distance, hour: roc_auc 0.58" in text
    assert "| roc_auc | 0.7 | 0.68 to 0.72 |" in text and "origin=JFK" in text


def test_the_model_card_shows_the_data_decisions_of_the_quality_report():
    decisions = {"duplicate_row": {"policy": "warn", "repeated": 602, "rows": 5840,
                                   "outcome": "kept"},
                 "keys": [], "columns_left_out": [
                     {"columns": ["dep_time", "arr_delay"], "role": "leakage",
                      "reason": "known only after the flight"}]}
    data = {"splits": {}, "rows_in": 6000, "rows_dropped": {"duplicate_row": 0},
            "decisions": decisions}

    text = model_card.render_model_card(
        {"name": "p", "description": "d", "task": "binary", "target": "late",
         "primary_metric": "roc_auc"}, data, TEST_METRICS, card_details(),
        {"verdict": "VALIDATED", "criteria": []}, "out_of_time")

    section = text.split("## Data decisions\n", 1)[1].split("\n## ", 1)[0]
    assert "602 of the 5,840 rows with a target (10.3%) repeat an earlier row" in section
    assert "kept, every copy counted (`validation.duplicate_row: warn`)" in section
    assert "| dep_time, arr_delay | leakage | known only after the flight |" in section
    assert text.index("## Data and split") < text.index("## Data decisions") < text.index(
        "## Test metrics")
    assert "## Data decisions" not in render_card()  # a report from before the decisions


def test_the_pipeline_writes_its_data_decisions_where_people_read_them(trained_project):
    report = json.loads((trained_project / "reports/data_quality.json").read_text())
    written = [(trained_project / name).read_text()
               for name in ("reports/data_quality.md", "reports/model_card.md")]

    assert report["decisions"]["duplicate_row"]["policy"] == "drop"
    assert report["decisions"]["duplicate_row"]["repeated"] == (
        report["rows_dropped"]["duplicate_row"])
    for text in written:
        section = text.split("## Data decisions\n", 1)[1].split("\n## ", 1)[0]
        assert "- Exact duplicate rows: " in section and "duplicate_row: drop" in section
        assert "| dep_time, dep_delay, arr_time, air_time | leakage | Leakage: known only " \
               "after the flight" in section
        assert "| flight, tailnum | identifier | Identifiers:" in section


def test_the_model_card_of_an_out_of_time_split_speaks_of_time():
    text = render_card("binary", "out_of_time")

    assert "(time-ordered folds, mean ± std)" in text
    assert "- Measured on one out-of-time test period;" in text
    assert "random" not in text and "shuffled" not in text


@pytest.mark.parametrize(("task", "folds"), [
    ("binary", "shuffled folds, stratified by class"),
    ("multiclass", "shuffled folds, stratified by class"),
    ("regression", "shuffled folds"),
])
def test_the_model_card_of_a_random_split_describes_it_and_its_folds(task, folds):
    text = render_card(task, "random")

    assert f"Cross-validation on the training split ({folds}, mean ± std)" in text
    assert "- Measured on one random test split" in text
    assert "time-ordered" not in text and "out-of-time" not in text
