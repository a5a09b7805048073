"""Hostile params.yaml, data contract and labels: each fails when the file is parsed, or in
seconds, with one line naming the file and the key; nothing crashes late or half-written.

Commands run through `lifecycle.cli.main` in this process, so a crash surfaces here as the
exception itself. Stage runs use a tiny own-data project (yes/no labels) built once per module.
"""

import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from lifecycle import cli, config
from lifecycle.config import contract
from lifecycle.core.errors import LifecycleError, ParamsError
from lifecycle.evaluation import metrics
from lifecycle.modeling import cross_validation, models

from ..conftest import ROOT, example_file
from .test_catalogue import snapshot

CONTRACT = "data/contract.yaml"


# --- helpers ------------------------------------------------------------------------------------


def template_project(folder: Path) -> Path:
    """params.yaml, dvc.yaml and the data contract of the template, nothing else."""
    for name in ("params.yaml", "dvc.yaml", CONTRACT):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(example_file(name), folder / name)
    return folder


def edit_params(project: Path, dotted: str, value: Any) -> None:
    data = yaml.safe_load((project / "params.yaml").read_text())
    *parents, leaf = dotted.split(".")
    section = data
    for key in parents:
        section = section[key]
    section[leaf] = value
    (project / "params.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def lifecycle(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_refused(capsys, project: Path, args: tuple[str, ...], code: int,
                   words: tuple[str, ...]) -> str:
    """The command exits `code` with one error line holding `words`, and changes no file."""
    before = snapshot(project)
    exit_code, _, errors = lifecycle(capsys, *args)
    assert exit_code == code, errors
    assert errors.startswith(f"lifecycle {args[0]}: error: "), errors
    assert errors.count("\n") == 1, errors
    assert "Traceback" not in errors
    for word in words:
        assert word in errors, errors
    assert snapshot(project) == before
    return errors


# --- A: params that parsed and then crashed late ------------------------------------------------

PARSE_CASES = {
    "criterion that is text": (
        "criteria.minimum", {"roc_auc": "high"},
        ("params.yaml: criteria.minimum.roc_auc: expected float, found 'high'",)),
    "criterion that is true": (
        "criteria.maximum", {"brier": True},
        ("params.yaml: criteria.maximum.brier: expected float, found True",)),
    "criterion that is not a number": (
        "criteria.minimum", {"roc_auc": float("nan")},
        ("params.yaml: criteria.minimum.roc_auc: expected a finite number, found nan",)),
    "criterion of a metric the task does not have": (
        "criteria.minimum", {"roc_aux": 0.6},
        ("params.yaml: criteria.minimum.roc_aux: not a binary metric; choose one of: roc_auc",
         "(did you mean 'roc_auc'?)")),
    "criterion of a regression metric on a binary task": (
        "criteria.maximum", {"rmse": 3},
        ("params.yaml: criteria.maximum.rmse: not a binary metric",)),
    "criteria that are a list": (
        "criteria.minimum", [0.5], ("params.yaml: criteria.minimum: expected a mapping",)),
    "other criterion that is text": (
        "criteria.max_slice_gap", "small",
        ("params.yaml: criteria.max_slice_gap: expected float, found 'small'",)),
    "primary metric of another task": (
        "problem.primary_metric", "rmse",
        ("params.yaml: problem.primary_metric: 'rmse' is not a binary metric; choose one of: "
         "roc_auc",)),
    "model not in the registry": (
        "train.model", "lightgbm",
        ("params.yaml: train.model: unknown model 'lightgbm'; choose one of: "
         "hist_gradient_boosting, random_forest, xgboost, linear, trivial",)),
    "negative seed": (
        "seed", -1, ("params.yaml: seed: found -1, expected an integer in [0, 4294967295]",)),
    "seed beyond numpy's range": ("seed", 2**32, ("params.yaml: seed: found 4294967296",)),
    "alias to a number": (
        "cleaning.category_aliases", {"N.Y.": 1},
        ("params.yaml: cleaning.category_aliases.N.Y.: found 'N.Y.': 1, expected text mapped "
         "to text",)),
    "alias to nothing": (
        "cleaning.category_aliases", {"N.Y.": None},
        ("params.yaml: cleaning.category_aliases.N.Y.:",)),
    "alias from a number": (
        "cleaning.category_aliases", {1: "one"}, ("params.yaml: cleaning.category_aliases.1:",)),
    "aliases that are a list": (
        "cleaning.category_aliases", ["NY"],
        ("params.yaml: cleaning.category_aliases: expected a mapping",)),
    # E: work that grows with a number, refused before it starts
    "a million bootstrap resamples": (
        "evaluate.bootstrap_resamples", 10**6,
        ("params.yaml: evaluate.bootstrap_resamples: found 1000000, expected an integer in "
         "[10, 10,000]",)),
    "a thousand importance repeats": (
        "evaluate.importance_repeats", 1000,
        ("params.yaml: evaluate.importance_repeats: found 1000, expected an integer in "
         "[1, 100]",)),
    "five hundred folds": (
        "train.cv_folds", 500,
        ("params.yaml: train.cv_folds: found 500, expected an integer in [2, 50]",)),
}


@pytest.mark.parametrize("name", PARSE_CASES)
@pytest.mark.parametrize("command", ["ingest", "evaluate"])
def test_params_that_used_to_crash_late_fail_when_parsed(name, command, tmp_path, monkeypatch,
                                                          capsys):
    """Every stage refuses them (ingest does no work), not only the stage that uses them."""
    key, value, words = PARSE_CASES[name]
    project = template_project(tmp_path)
    edit_params(project, key, value)
    monkeypatch.chdir(project)

    assert_refused(capsys, project, (command,), 2, words)


def test_the_names_params_may_choose_are_the_registries():
    assert tuple(models.ESTIMATORS) == config.MODEL_NAMES
    assert metrics.METRIC_NAMES == config.METRIC_NAMES
    assert set(metrics.SCORERS) == {m for names in config.METRIC_NAMES.values() for m in names}


def test_a_valid_primary_metric_criteria_and_seed_parse(tmp_path):
    data = yaml.safe_load(example_file("params.yaml").read_text())
    data.update(seed=0)
    data["problem"].update(task="regression", primary_metric="mae")
    data["criteria"].update(minimum={"r2": 0}, maximum={"rmse": 10})

    params = config.parse(data)

    assert params.criteria.maximum == {"rmse": 10.0}


# --- A: YAML that grows when read ---------------------------------------------------------------


def billion_laughs(levels: int = 9) -> str:
    """Ten lists of ten aliases of the level below: 10**levels values from a few lines."""
    lines = ['{l0: &a0 "lol"']
    for level in range(1, levels + 1):
        lines.append(f", l{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]")
    return "".join(lines) + "}"


def merge_bomb(levels: int = 20) -> str:
    """Mappings that merge the level below twice: copying while they are built doubles each."""
    lines = ["{m0: &m0 {a: 1, b: 2}"]
    for level in range(1, levels + 1):
        lines.append(f", m{level}: &m{level} {{<<: [*m{level - 1}, *m{level - 1}], "
                     f"k{level}: 1}}")
    return "".join(lines) + "}"


@pytest.mark.parametrize("bomb", [billion_laughs, merge_bomb])
def test_aliases_that_multiply_the_params_are_refused_in_a_moment(bomb, tmp_path, monkeypatch,
                                                                  capsys):
    project = template_project(tmp_path)
    text = (project / "params.yaml").read_text()
    assert "category_aliases: {}" in text
    (project / "params.yaml").write_text(
        text.replace("category_aliases: {}", f"category_aliases: {bomb()}"))
    monkeypatch.chdir(project)

    started = time.perf_counter()
    assert_refused(capsys, project, ("featurize",), 2,
                   ("params.yaml: more than 200,000 values once its aliases (*name) are "
                    "expanded",))
    assert time.perf_counter() - started < 10


def test_aliases_that_multiply_the_contract_are_refused(tmp_path, monkeypatch, capsys):
    project = template_project(tmp_path)
    text = (project / CONTRACT).read_text()
    (project / CONTRACT).write_text(text.replace(
        "dest: {type: categorical, role: feature, nullable: false}",
        f"dest: {{type: categorical, role: feature, nullable: false, categories: "
        f"{billion_laughs()}}}"))
    monkeypatch.chdir(project)

    assert_refused(capsys, project, ("prepare",), 2,
                   ("data/contract.yaml: more than 200,000 values once its aliases",))


@pytest.mark.parametrize("content, words", [
    (b"# " + b"x" * 6_000_000 + b"\nseed: 1\n", "params.yaml: 6,000,011 bytes, more than"),
    (b"seed: " + b"[" * 2000 + b"]" * 2000 + b"\n", "params.yaml: nested"),
    ("seed: 1\nproblem: {name: caf\u00e9}\n".encode("latin-1"), "params.yaml: not UTF-8 text"),
    (b"- seed\n- problem\n", "params.yaml: top level: expected a mapping"),
])
def test_params_files_that_cannot_be_read_safely_are_refused(content, words, tmp_path,
                                                             monkeypatch, capsys):
    project = template_project(tmp_path)
    (project / "params.yaml").write_bytes(content)
    monkeypatch.chdir(project)

    assert_refused(capsys, project, ("ingest",), 2, (words,))


def test_read_yaml_reads_what_safe_load_reads(tmp_path):
    for name in ("params.yaml", CONTRACT, "dvc.yaml"):
        assert config.read_yaml(ROOT / name) == yaml.safe_load((ROOT / name).read_text())
    shared = "a: &x {k: [1, 2]}\nb: *x\nc: {<<: *x, d: 3}\n"
    assert config.parse_yaml(shared, "t") == yaml.safe_load(shared)
    with pytest.raises(ParamsError, match=r"nope\.yaml: file not found; check the path"):
        config.read_yaml(tmp_path / "nope.yaml")


# --- A: calendar columns the contract does not have ---------------------------------------------

CALENDAR_CASES = {
    "datetime column absent": (
        "features.datetime", "departure",
        ("params.yaml: features.datetime: 'departure' is not a column of data/contract.yaml; "
         "give one of its datetime columns: scheduled_departure",)),
    "datetime column of another type": (
        "features.datetime", "carrier",
        ("params.yaml: features.datetime: 'carrier' is a categorical column of "
         "data/contract.yaml",)),
    "year column absent": (
        "features.age_from_year", ["plane_built"],
        ("params.yaml: features.age_from_year: 'plane_built' is not a column of "
         "data/contract.yaml; give one of its numeric columns: sched_arr_time, distance",)),
    "year column that is text": (
        "features.age_from_year", ["plane_manufacturer"],
        ("params.yaml: features.age_from_year: 'plane_manufacturer' is a categorical column",)),
    "years without a datetime": (
        "features.datetime", None,
        ("params.yaml: features.age_from_year: plane_year become ages at the moment in "
         "features.datetime, which is null",)),
}


@pytest.mark.parametrize("name", CALENDAR_CASES)
@pytest.mark.parametrize("command", ["prepare", "featurize"])
def test_calendar_columns_must_be_contract_columns_of_the_right_type(name, command, tmp_path,
                                                                     monkeypatch, capsys):
    """Both stages check before reading data (neither snapshot nor splits exist here)."""
    key, value, words = CALENDAR_CASES[name]
    project = template_project(tmp_path)
    edit_params(project, key, value)
    monkeypatch.chdir(project)

    assert_refused(capsys, project, (command,), 2, words)


def test_the_split_time_column_must_be_a_datetime_column_of_the_contract(tmp_path, monkeypatch,
                                                                         capsys):
    project = template_project(tmp_path)
    edit_params(project, "split.time_column", "departed")
    monkeypatch.chdir(project)

    assert_refused(capsys, project, ("prepare",), 2,
                   ("params.yaml: split.time_column: 'departed' is not a column of "
                    "data/contract.yaml",))


def test_the_calendar_check_accepts_the_template():
    rules = contract.load(example_file(CONTRACT))
    rules.check_calendar_params("scheduled_departure", ["plane_year"])
    rules.check_calendar_params(None, [])


# --- B: binary labels that are not 0/1 ----------------------------------------------------------


def test_binary_targets_are_one_for_the_second_sorted_class():
    labels = pd.Series(["no", "yes", "yes"], index=[5, 6, 7], name="churned")

    converted = metrics.binary_targets(labels, np.array(["no", "yes"], dtype=object))

    assert converted.tolist() == [0, 1, 1] and converted.index.tolist() == [5, 6, 7]
    assert converted.dtype == np.int64 and converted.name == "churned"
    assert metrics.binary_targets(np.array([2, 1]), [1, 2]).tolist() == [1, 0]
    zero_one = pd.Series([0, 1, 1, 0], dtype="Int8")
    assert metrics.binary_targets(zero_one, np.array([0, 1])).equals(zero_one.astype(int))
    with pytest.raises(LifecycleError, match=r"target label 'maybe' \(1 rows\) is not one"):
        metrics.binary_targets(pd.Series(["no", "maybe"]), ["no", "yes"])
    with pytest.raises(LifecycleError, match="exactly two classes"):
        metrics.binary_targets(pd.Series(["no"]), ["no"])


def test_threshold_metrics_score_importance_at_the_decision_threshold():
    class Model:
        classes_ = np.array(["no", "yes"])

        def predict_proba(self, X):
            return np.column_stack([1 - X["p"], X["p"]])

    X, y = pd.DataFrame({"p": [0.1, 0.35, 0.6, 0.9]}), pd.Series([0, 1, 1, 1])

    assert metrics.importance_scoring("r2", "regression", None) == "r2"
    assert metrics.importance_scoring("recall", "binary", 0.3)(Model(), X, y) == 1.0
    assert metrics.importance_scoring("recall", "binary", 0.5)(Model(), X, y) == \
        pytest.approx(2 / 3)
    assert metrics.importance_scoring("average_precision", "binary", 0.5)(Model(), X, y) == 1.0
    assert metrics.importance_scoring("brier", "binary", 0.5)(Model(), X, y) < 0


def tiny_table(rows: int = 240, labels: tuple = ("no", "yes"), seed: int = 0) -> pd.DataFrame:
    """One signal, one category, a date per row (oldest first) and a binary target."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=rows)
    return pd.DataFrame({
        "signal": signal.round(4),
        "colour": rng.choice(["red", "green", "blue"], rows),
        "when": (pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(rows), unit="D")
                 ).strftime("%Y-%m-%d"),
        "answer": np.where(signal + rng.normal(0, 0.7, rows) > 0, labels[1], labels[0]),
    })


@pytest.fixture(scope="module")
def featurized(tmp_path_factory) -> Path:
    """The template on a tiny yes/no table: init, ingest, prepare and featurize run."""
    project = template_project(tmp_path_factory.mktemp("yes-no"))
    (project / "data/source").mkdir(parents=True)
    tiny_table().to_csv(project / "data/source/answers.csv", index=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        assert cli.main(["init", "--data", "data/source/answers.csv", "--target", "answer",
                         "--time-column", "when"]) == 0
        # Small trees: the tiny table has 168 training rows.
        edit_params(project, "train.hyperparameters.hist_gradient_boosting.min_samples_leaf", 5)
        edit_params(project, "train.hyperparameters.hist_gradient_boosting.max_iter", 30)
        edit_params(project, "evaluate.slice_min_rows", 10)
        for stage in ("ingest", "prepare", "featurize"):
            assert cli.main([stage]) == 0, stage
    return project


@pytest.fixture
def project(featurized: Path, tmp_path: Path, monkeypatch) -> Path:
    """A copy of the featurized project to train in, as the working directory."""
    copy = tmp_path / "project"
    shutil.copytree(featurized, copy)
    monkeypatch.chdir(copy)
    return copy


@pytest.mark.slow  # train, evaluate and monitor end to end
def test_yes_no_labels_train_evaluate_and_monitor_to_valid_metrics(project, capsys):
    for stage in ("train", "evaluate", "monitor"):
        code, _, errors = lifecycle(capsys, stage)
        assert code == 0, errors

    trained = json.loads((project / "reports/train.json").read_text())
    assert all(0.5 < fold["roc_auc"] <= 1 for fold in trained["cross_validation"]["folds"])
    assert 0.5 < trained["train_metrics"]["roc_auc"] <= 1
    headline = json.loads((project / "reports/evaluation/metrics.json").read_text())
    for name in metrics.METRIC_NAMES["binary"]:
        assert 0 <= headline[name] <= 1 or name == "log_loss", name
        assert math.isfinite(headline[name]), name
    assert headline["roc_auc"] > 0.7
    details = json.loads((project / "reports/evaluation/details.json").read_text())
    assert details["baselines"]["trivial"]["metrics"]["roc_auc"] == 0.5
    assert details["slices"]["records"] and details["checks"]["single_feature"]
    assert all(low <= high for low, high in details["intervals"].values())
    # The prediction table scores "yes", the second label in sorted order, as 1.
    test = pd.read_parquet(project / "data/prepared/test.parquet")
    table = pd.read_parquet(project / "data/predictions/test.parquet")
    assert table["label"].tolist() == (test["answer"] == "yes").astype(int).tolist()
    assert json.loads((project / "reports/gate.json").read_text())["verdict"] in (
        "VALIDATED", "REJECTED")
    performance = json.loads((project / "reports/monitor/drift.json").read_text())["performance"]
    assert performance["metric"] == "roc_auc" and 0.5 < performance["current"] <= 1


def test_init_says_which_label_is_the_positive_class(tmp_path, monkeypatch, capsys):
    project = template_project(tmp_path)
    tiny_table(labels=("stayed", "left")).to_csv(project / "answers.csv", index=False)
    monkeypatch.chdir(project)

    code, printed, errors = lifecycle(capsys, "init", "--data", "answers.csv", "--target",
                                      "answer")

    assert code == 0, errors
    assert "positive class: 'stayed' (the second label in sorted order)" in printed


@pytest.mark.slow  # train and evaluate end to end, per metric
@pytest.mark.parametrize("primary", ["f1", "average_precision", "brier"])
def test_every_binary_primary_metric_evaluates_on_yes_no_labels(primary, project, capsys):
    edit_params(project, "problem.primary_metric", primary)
    for stage in ("train", "evaluate"):
        code, _, errors = lifecycle(capsys, stage)
        assert code == 0, errors

    ranking = json.loads((project / "reports/importance.json").read_text())
    assert {row["feature"] for row in ranking} >= {"signal", "colour"}
    assert all(math.isfinite(row["importance_mean"]) for row in ranking)


# --- A: hyperparameters scikit-learn refuses only when fitting ----------------------------------

FIT_CASES = {
    "class weight of a class that does not exist": (
        "hist_gradient_boosting", {"class_weight": {"x": 1}}, "class_weight"),
    "monotonic constraints of the wrong length": (
        "hist_gradient_boosting", {"monotonic_cst": [1, 0]}, "monotonic_cst has shape (2,)"),
    "interaction constraint on a column that does not exist": (
        "hist_gradient_boosting", {"interaction_cst": [[0, 99]]}, "invalid indices"),
    "baseline class weight of a class that does not exist": (
        "linear", {"class_weight": {"x": 1}}, "class_weight"),
    "random forest class weight that is not a weight": (
        "random_forest", {"class_weight": {"no": "heavy"}}, ""),
}


@pytest.mark.parametrize("name", FIT_CASES)
def test_hyperparameters_refused_at_fit_fail_before_the_cross_validation(name, project,
                                                                         monkeypatch, capsys):
    model, settings, reason = FIT_CASES[name]
    if model != "linear":
        edit_params(project, "train.model", model)
    edit_params(project, f"train.hyperparameters.{model}", settings)

    def too_late(*arguments: object) -> None:
        raise AssertionError("the cross-validation ran before the hyperparameters were tried")

    monkeypatch.setattr(cross_validation, "cross_validate", too_late)
    assert_refused(capsys, project, ("train",), 2,
                   (f"params.yaml: train.hyperparameters.{model}: scikit-learn refused them "
                    f"when fitting: ", reason))


def test_the_quick_fit_takes_a_few_rows_of_every_class():
    labels = pd.Series(["a"] * 500 + ["b"] * 3 + ["a"] * 10)

    rows = models.quick_fit_rows(labels, "binary")

    assert len(rows) == models.QUICK_FIT_ROWS + 3 and {500, 501, 502} <= set(rows)
    assert models.quick_fit_rows(pd.Series(np.arange(100.0)), "regression") == list(range(50))


# --- E: cross-validation folds that cannot be scored --------------------------------------------


def test_time_ordered_folds_that_miss_a_class_are_a_params_error():
    X = pd.DataFrame({"signal": np.arange(40.0)})
    y = pd.Series(["no"] * 20 + ["yes", "no"] * 10)
    estimator = models.build_estimator("trivial", {}, 0, [], "binary")

    with pytest.raises(ParamsError, match=r"train.cv_folds: fold 1 .* no row of class 'yes'"):
        cross_validation.cross_validate(estimator, X, y, pd.Series(np.arange(40)), 3,
                                        "binary", 0)
    with pytest.raises(ParamsError, match=r"train.cv_folds: 40 training rows cannot be cut "
                                          r"into 50 folds"):
        cross_validation.cross_validate(estimator, X, y, None, 50, "binary", 0)


# --- E: a task the target cannot have, a gate file that is not one -----------------------------


def test_a_regression_task_on_a_categorical_target_stops_prepare_before_reading_data(
        tmp_path, monkeypatch, capsys):
    project = template_project(tmp_path)
    edit_params(project, "problem.task", "regression")
    edit_params(project, "problem.primary_metric", "rmse")
    edit_params(project, "criteria.minimum", {})
    edit_params(project, "criteria.maximum", {})
    text = (project / CONTRACT).read_text()
    (project / CONTRACT).write_text(text.replace("late: {type: numeric, role: target",
                                                 "late: {type: categorical, role: target"))
    monkeypatch.chdir(project)

    assert_refused(capsys, project, ("prepare",), 2,
                   ("params.yaml: problem.task: regression needs a numeric target, but "
                    "data/contract.yaml says 'late' is categorical",))


@pytest.mark.parametrize("content, words", [
    ("{not json", "reports/gate.json: not valid JSON"),
    ("[]", "reports/gate.json: not a gate verdict of `lifecycle evaluate`"),
    ('{"verdict": "VALIDATED", "criteria": [{"criterion": "x"}]}', "not a gate verdict"),
])
def test_a_gate_file_that_is_not_a_verdict_is_a_clear_error(content, words, tmp_path,
                                                            monkeypatch, capsys):
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports/gate.json").write_text(content)
    monkeypatch.chdir(tmp_path)

    errors = assert_refused(capsys, tmp_path, ("gate",), 1, (words,))
    assert "run `dvc repro`" in errors


def test_a_slice_column_with_a_value_in_every_row_is_sliced_in_one_pass():
    rows = 50_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": np.arange(rows).astype(str), "colour": rng.choice(["a", "b"],
                                                                                  rows)})
    y, scores = rng.integers(0, 2, rows), rng.random(rows)

    started = time.perf_counter()
    records = slices_of(frame, y, scores)

    assert time.perf_counter() - started < 10
    assert [record["slice"] for record in records] == ["colour=a", "colour=b"]
    assert records[0]["rows"] == int((frame["colour"] == "a").sum())


def slices_of(frame: pd.DataFrame, y: np.ndarray, scores: np.ndarray) -> list[dict]:
    from lifecycle.evaluation import slices

    return slices.slice_metrics(frame, y, scores, ["id", "colour"], "binary", 200, 0.5)


def test_a_test_label_the_model_never_learned_is_a_clear_error():
    from lifecycle.evaluation import findings

    known = np.array(["high", "low", "mid"], dtype=object)
    test = pd.Series(["low", "new", "mid"], name="answer")

    assert findings.labels(test.iloc[[0, 2]], "multiclass", known, "t").tolist() == ["low", "mid"]
    with pytest.raises(LifecycleError, match=r"t: target label 'new' \(1 rows\) is not one of "
                                             r"the classes the model learned; every class must"):
        findings.labels(test, "multiclass", known, "t")
    with pytest.raises(LifecycleError, match=r"t: target label 'new' \(1 rows\)"):
        findings.labels(pd.Series(["no", "new"]), "binary", np.array(["no", "yes"]), "t")
