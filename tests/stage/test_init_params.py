"""`lifecycle init` edits params.yaml and dvc.yaml in place: only the lines it means to change,
comments kept, never a corrupted file, no word of the example left, and the example's judgement
(threshold, criteria, duplicate rows) derived from the table instead of inherited."""


import difflib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from dvc.utils.hydra import apply_overrides

from lifecycle import cli
from lifecycle.config import contract
from lifecycle.core import formatting
from lifecycle.data import curation, splits
from lifecycle.evaluation import leakage
from lifecycle.project.inference import infer_contract, infer_type
from lifecycle.project.judgement import (
    derive_criteria,
    derive_decision_threshold,
    derive_max_shared_test_rows,
    natural_shared_share,
)
from lifecycle.project.writing import model_name, update_params

from ..conftest import example_file
from .test_hostile_params import template_project

SECTIONS = {"problem": {"target": "y"}, "source": {"name": "csv", "path": "t.csv"},
            "features": {"datetime": None, "age_from_year": []}}


def test_init_keeps_the_comments_of_the_template_params(tmp_path):
    params_file = tmp_path / "params.yaml"
    params_file.write_text(example_file("params.yaml").read_text())

    text = update_params(params_file, SECTIONS)

    assert "# Success criteria" in text
    data = yaml.safe_load(text)
    assert data["problem"]["target"] == "y" and data["features"]["age_from_year"] == []
    assert data["train"] == yaml.safe_load(params_file.read_text())["train"]


def test_init_on_params_rewritten_by_dvc_exp_run_gives_valid_yaml(tmp_path):
    # `dvc exp run -S` rewrites params.yaml in its own layout (block lists, other quoting);
    # keeping comments there once joined two keys onto one line.
    params_file = tmp_path / "params.yaml"
    params_file.write_text(example_file("params.yaml").read_text())
    apply_overrides(str(params_file), ["train.hyperparameters.hist_gradient_boosting.max_iter=50"])

    data = yaml.safe_load(update_params(params_file, SECTIONS))

    assert data["features"]["impute_numeric"] == "median"
    assert data["features"]["impute_categorical"] == "missing_level"
    assert data["features"]["age_from_year"] == []
    assert data["problem"]["target"] == "y"
    assert data["train"]["hyperparameters"]["hist_gradient_boosting"]["max_iter"] == 50


# --- init on a survey table: minimal edits, no example wording, judgement derived --------------

# What the example's own data put in the template's files; nothing of it may survive init (word
# boundaries: "template:" and "late_threshold_minutes" are not the word "late").
EXAMPLE_WORDING = re.compile(r"flight|\blate\b|nycflights|New York|January|December|carrier",
                             re.IGNORECASE)
# The params keys init sets; every other line of params.yaml, comments included, stays.
INIT_KEYS = {"problem", "source", "split", "features.datetime", "features.age_from_year",
             "evaluate.decision_threshold", "evaluate.slice_columns", "validation.duplicate_row",
             "criteria.minimum", "criteria.maximum", "criteria.min_lift_over_baselines",
             "criteria.max_shared_test_rows", "criteria.max_single_feature_score",
             "criteria.max_feature_group_score", "criteria.max_plausible_score",
             "criteria.max_cv_shortfall", "criteria.max_train_test_gap",
             "criteria.max_slice_gap", "tuning.enabled"}
TARGETS = {"binary": "recommend", "multiclass": "rating", "regression": "satisfaction"}


def survey(task: str, rows: int = 300, seed: int = 0, continuous: bool = True) -> pd.DataFrame:
    """Answers to a survey, with no word of the example's data in it. Without the continuous
    column every answer is one of 3 x 5 x 2 input combinations."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"age_group": rng.choice(["18-29", "30-49", "50+"], rows),
                          "household": rng.integers(1, 6, rows),
                          "owner": rng.choice(["no", "yes"], rows)})
    if continuous:
        table["income"] = rng.normal(50, 15, rows).round(4)
    signal = table["household"] + rng.normal(0, 1, rows)
    table[TARGETS[task]] = {
        "binary": np.where(signal > 4, "yes", "no"),
        "multiclass": pd.cut(signal, 3, labels=["low", "mid", "high"]).astype(str),
        "regression": (signal * 1.7).round(3),
    }[task]
    return table


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    folder = template_project(tmp_path / "project")
    monkeypatch.chdir(folder)
    return folder


def init(capsys, table: pd.DataFrame, target: str, *options: str, file: str = "answers.csv"
         ) -> str:
    table.to_csv(file, index=False)
    capsys.readouterr()
    code = cli.main(["init", "--data", file, "--target", target, *options])
    printed, errors = capsys.readouterr()
    assert code == 0, errors
    return printed


def changed_lines(before: str, after: str) -> list[int]:
    """Positions of the lines of `before` that `after` replaces or deletes, and of the lines
    before which it inserts."""
    matcher = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines(),
                                      autojunk=False)
    changed = []
    for tag, start, end, _, _ in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            changed += range(start, end)
        elif tag == "insert":
            changed.append(start)
    return changed


def blank_lines(text: str) -> int:
    """Blank lines separate the sections; a replaced value must not take one with it."""
    return sum(not line.strip() for line in text.splitlines())


def line_owners(text: str) -> list[str | None]:
    """The params key each line belongs to (`section.key`, or `section` for its header and the
    top-level keys): a key's own line, its value's lines and the comment lines above it."""
    owners: list[str | None] = []
    section = key = None
    for line in text.splitlines():
        stripped, indent = line.strip(), len(line) - len(line.lstrip())
        if not stripped or stripped.startswith("#"):
            owners.append("comment" if stripped else None)
            continue
        if indent == 0:
            section = key = line.split(":")[0]
        elif indent == 2:
            key = f"{section}.{line.split(':')[0].strip()}"
        owners.append(key)
    following = None  # a comment line belongs to the key below it
    for position in reversed(range(len(owners))):
        if owners[position] == "comment":
            owners[position] = following
        elif owners[position] is not None:
            following = owners[position]
    return owners


def block(lines: list[str], start: str, end: str | None, after: str | None = None) -> range:
    """Line positions from the line `start` (the first after the line `after`) up to, without,
    the next line `end` (or the end)."""
    first = lines.index(start, lines.index(after) if after else 0)
    return range(first, lines.index(end, first) if end else len(lines) + 1)


def test_init_changes_in_dvc_yaml_only_ingest_the_plots_and_the_artifacts(project, capsys):
    template = (project / "dvc.yaml").read_text()

    init(capsys, survey("binary"), "recommend")

    lines = template.splitlines()
    allowed = [block(lines, "    deps:", "    outs:", after="  ingest:"),  # deps and params
               block(lines, "plots:", "artifacts:"), block(lines, "artifacts:", None)]
    changed = changed_lines(template, (project / "dvc.yaml").read_text())
    outside = [lines[line] for line in changed if not any(line in part for part in allowed)]
    assert changed and outside == []
    assert any(line in allowed[2] for line in changed)  # the artifacts were renamed
    assert blank_lines((project / "dvc.yaml").read_text()) == blank_lines(template)


def test_init_changes_in_params_yaml_only_the_keys_it_sets(project, capsys):
    template = (project / "params.yaml").read_text()

    init(capsys, survey("binary"), "recommend")

    changed = changed_lines(template, (project / "params.yaml").read_text())
    owners = line_owners(template)
    outside = [template.splitlines()[line] for line in changed
               if not (owners[line] or "").startswith(tuple(INIT_KEYS))]
    assert outside == []  # every comment line of another key, every blank line stays
    assert 10 <= len(changed) <= 32  # a re-indented or re-quoted file changes far more
    assert blank_lines((project / "params.yaml").read_text()) == blank_lines(template)


@pytest.mark.parametrize(("task", "options"), [("binary", ()), ("multiclass", ()),
                                               ("regression", ()),
                                               ("binary", ("--time-column", "answered_on"))])
def test_no_word_of_the_example_survives_init(task, options, project, capsys):
    table = survey(task).assign(answered_on=pd.date_range("2024-01-01", periods=300,
                                                          freq="D").strftime("%Y-%m-%d"))

    init(capsys, table, TARGETS[task], *options)

    for name in ("params.yaml", "dvc.yaml", "data/contract.yaml"):
        found = [line for line in (project / name).read_text().splitlines()
                 if EXAMPLE_WORDING.search(line)]
        assert found == [], name
    artifacts = yaml.safe_load((project / "dvc.yaml").read_text())["artifacts"]
    label = {"binary": "binary-classification", "multiclass": "multiclass-classification",
             "regression": "regression"}[task]
    assert list(artifacts) == ["answers-model", "answers-model-onnx"]
    assert all(label in entry["labels"] for entry in artifacts.values())
    assert f"`{TARGETS[task]}`" in artifacts["answers-model"]["desc"]
    assert [entry["path"] for entry in artifacts.values()] == ["models/model.skops",
                                                                "models/model.onnx"]
    if options:  # a date replaces a date in the quotes it had
        assert 'test_start: "' in (project / "params.yaml").read_text()


def test_the_name_option_names_the_problem_and_the_artifacts(project, capsys):
    init(capsys, survey("binary"), "recommend", "--name", "survey-2024")

    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["problem"]["name"] == "survey-2024"
    artifacts = yaml.safe_load((project / "dvc.yaml").read_text())["artifacts"]
    assert list(artifacts) == ["survey-2024-model", "survey-2024-model-onnx"]


def test_a_name_that_says_model_is_not_said_twice():
    assert model_name("churn-model") == "churn-model"
    assert model_name("churn") == "churn-model"


def test_the_default_name_is_a_slug_of_the_file_name(project, capsys):
    init(capsys, survey("binary"), "recommend", file="Survey Answers_2024.csv")

    assert yaml.safe_load((project / "params.yaml").read_text())["problem"]["name"] == (
        "survey-answers-2024")


def test_a_binary_decision_threshold_is_the_positive_class_share(project, capsys):
    table = survey("binary")

    printed = init(capsys, table, "recommend")

    share = (table["recommend"] == "yes").mean()
    assert 0.05 < share < 0.6 and round(share, 2) != 0.3  # not the example's value by chance
    evaluate = yaml.safe_load((project / "params.yaml").read_text())["evaluate"]
    assert evaluate["decision_threshold"] == round(share, 2)
    assert f"evaluate.decision_threshold: {round(share, 2)} (the share of 'yes'" in printed
    assert "evaluate.slice_columns: [\"age_group\", \"owner\"]" in printed
    assert evaluate["slice_columns"] == ["age_group", "owner"]
    assert "  slice_columns: [age_group, owner]\n" in (project / "params.yaml").read_text()


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_no_key_of_the_examples_problem_is_left_without_two_classes(task, project, capsys):
    """No decision threshold (params.yaml and the stages' params in dvc.yaml) and no lateness
    of a flight; init run again on a binary table brings the threshold back to both."""
    printed = init(capsys, survey(task), TARGETS[task])

    params = yaml.safe_load((project / "params.yaml").read_text())
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    assert "decision_threshold" not in params["evaluate"] and "decision_threshold" not in printed
    assert "late_threshold_minutes" not in params["source"]
    assert not [name for name, spec in stages.items()
                if "evaluate.decision_threshold" in spec.get("params", [])]

    init(capsys, survey("binary"), "recommend")

    params = yaml.safe_load((project / "params.yaml").read_text())
    stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
    assert 0 < params["evaluate"]["decision_threshold"] < 1
    declared = [name for name, spec in stages.items()
                if "evaluate.decision_threshold" in spec.get("params", [])]
    assert declared == ["evaluate", "monitor", "export"]
    assert stages["monitor"]["params"] == sorted(stages["monitor"]["params"])


@pytest.mark.parametrize(("continuous", "options", "expected"), [
    (True, (), 0.01),                               # a continuous input: no test row repeats
    (False, (), None),                              # 30 input combinations: every one repeats
    (False, ("--time-column", "answered_on"), 0.01),  # the date is an input: none repeats
])
def test_the_shared_rows_criterion_is_judged_only_where_the_split_allows(
        continuous, options, expected, project, capsys):
    table = survey("regression", continuous=continuous)
    if options:
        table["answered_on"] = pd.date_range("2024-01-01", periods=300, freq="D").strftime(
            "%Y-%m-%d")

    printed = init(capsys, table, "satisfaction", *options)

    criteria = yaml.safe_load((project / "params.yaml").read_text())["criteria"]
    assert criteria["max_shared_test_rows"] == expected
    assert criteria["min_lift_over_baselines"] == 0.0
    assert "criteria.min_lift_over_baselines: 0.0 (the candidate must beat each baseline " \
           "beyond noise" in printed
    if expected is None:
        assert "criteria.max_shared_test_rows: null (100.0% of test rows share their inputs " \
               "with train by nature (low-cardinality inputs" in printed
        assert "the check would reject any model" in printed


def test_the_natural_share_is_what_evaluates_check_finds_on_prepares_split():
    table = survey("binary", continuous=False, rows=200)
    rules, _ = infer_contract(table, "recommend", "binary", None)
    split = {"method": "random", "time_column": None, "test_start": None, "current_start": None,
             "test_fraction": 0.25, "current_fraction": 0.0}  # the keys init writes

    share = natural_shared_share(table, rules, "recommend", "binary", split=split, seed=7,
                                 duplicate_row="warn", datetime_feature=None)

    parts = splits.split_random(table, "recommend", 0.25, 0.0, 7, stratify=True)
    inputs = ["household", "age_group", "owner"]
    assert share == leakage.shared_rows(leakage.row_hashes(parts["train"][inputs]),
                                        parts["test"][inputs])["fraction"]
    assert 0.9 < share <= 1


@pytest.mark.parametrize(("share", "expected"), [(None, 0.01), (0.0, 0.01), (0.01, 0.01),
                                                 (0.0101, None), (0.4, None)])
def test_the_template_shared_rows_threshold_is_kept_unless_the_split_exceeds_it(share,
                                                                                expected):
    derived = derive_max_shared_test_rows(share, "random")

    assert derived.value == expected
    assert (derived.comment is None) == (expected is not None)


def test_without_a_key_duplicate_rows_are_kept_with_a_warning_saying_what_is_at_stake(project,
                                                                                      capsys):
    table = survey("regression")
    table = pd.concat([table, table[table["satisfaction"] > 8].head(30)], ignore_index=True)

    printed = init(capsys, table, "satisfaction")

    effect = curation.duplicate_effect(table, "satisfaction", "regression")
    assert effect["share"] > 0.05
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["validation"]["duplicate_row"] == "warn"
    warning = next(line for line in printed.splitlines() if line.startswith("warning:"))
    assert f"{effect['rows']} rows ({formatting.percent(effect['share'])})" in warning
    assert effect["target_shift"] in warning and "validation.duplicate_row" in warning


def test_with_a_key_duplicate_rows_are_dropped_and_few_of_them_go_unremarked(project, capsys):
    table = survey("binary").assign(respondent=[f"R{i:04d}" for i in range(300)])
    table = pd.concat([table, table.head(6)], ignore_index=True)

    printed = init(capsys, table, "recommend")

    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["validation"]["duplicate_row"] == "drop"
    assert "validation.duplicate_row: \"drop\" (key column respondent" in printed
    assert "warning:" not in printed


def test_derived_values_replace_the_comments_of_the_template():
    judged = {item.key: item for item in derive_criteria("roc_auc")}
    assert judged["criteria.min_lift_over_baselines"].value == 0.0
    assert judged["criteria.max_plausible_score"].value == 0.99
    assert judged["criteria.max_feature_group_score"].value == 0.95
    assert judged["criteria.max_cv_shortfall"].value == 3.0
    for unjudged in ("criteria.max_slice_gap", "criteria.max_train_test_gap"):
        assert judged[unjudged].value is None and "not judged" in judged[unjudged].reason
    threshold = derive_decision_threshold(pd.Series([1, 0, 0, 0, None]), 1)
    assert threshold.value == 0.25 and "1" in threshold.comment
    assert derive_decision_threshold(pd.Series([1] + [0] * 999), 1).value == 0.01


# --- leakage spread over columns: warned of, excluded on the user's word -------------------------

def rentals(rows: int = 1500, seed: int = 0) -> pd.DataFrame:
    """Hourly bike rentals where the target is the total of two columns (its parts)."""
    rng = np.random.default_rng(seed)
    hour = rng.integers(0, 24, rows)
    table = pd.DataFrame({"hour": hour, "temp": rng.normal(0.5, 0.2, rows).round(3),
                          "season": rng.choice(["winter", "spring", "summer", "fall"], rows)})
    busy = 1 + np.exp(-((hour - 17) ** 2) / 8)
    table["casual"] = rng.gamma(2.0, 12 * busy).round()
    table["registered"] = rng.gamma(3.0, 20 * busy * (1 + table["temp"])).round()
    table["bikers"] = table["casual"] + table["registered"]
    return table


def test_init_warns_of_columns_that_give_the_target_away_together(project, capsys):
    printed = init(capsys, rentals(), "bikers")

    warning = next(line for line in printed.splitlines() if "together predict" in line)
    assert warning.startswith("warning: columns casual, registered together predict 'bikers' "
                              "with r2 1.000")
    assert "run init again with --leakage casual,registered" in warning
    rules = contract.load(project / "data/contract.yaml")
    assert rules.columns["casual"].role == rules.columns["registered"].role == "feature"


def test_init_excludes_the_columns_the_user_names_as_leakage(project, capsys):
    printed = init(capsys, rentals(), "bikers", "--leakage", "casual, registered")

    assert "together predict" not in printed
    rules = contract.load(project / "data/contract.yaml")
    assert rules.columns["casual"].role == rules.columns["registered"].role == "leakage"
    assert "  leakage: casual, registered" in printed


@pytest.mark.parametrize("given, words", [
    ("casul", "'casul' is not a column of the table; give the columns known only after the "
              "outcome (did you mean 'casual'?)"),
    ("bikers", "'bikers' is the target"),
])
def test_leakage_naming_no_column_of_the_table_is_refused(project, capsys, given, words):
    rentals().to_csv("answers.csv", index=False)

    code = cli.main(["init", "--data", "answers.csv", "--target", "bikers", "--leakage", given])

    errors = capsys.readouterr().err
    assert code == 1 and words in errors and errors.count("\n") == 1


@pytest.mark.parametrize("values, expected", [
    (["Jan", "Feb", "Mar", "Dec"], "categorical"),     # month names are categories, not dates
    (["Monday", "Tuesday", "Sunday"], "categorical"),
    (["2024-01-31", "2024-02-29", "2023-12-01"], "datetime"),
    (["Jan 2024", "Feb 2024", "Dec 2023"], "datetime"),
    (["3 March 2021", "14 July 2022", "1 May 2020"], "datetime"),
])
def test_text_is_a_date_only_when_it_names_one(values, expected):
    assert infer_type(pd.Series(values * 10)) == expected
