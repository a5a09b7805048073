"""`lifecycle init` registers the charts of the task it infers."""

import re

import pytest
import yaml

from lifecycle.project import inference, writing

from ..conftest import ROOT, example_file

BUILT_IN = {"simple", "scatter", "linear", "confusion", "bar_horizontal"}


def chart_entries(plots: list) -> dict:
    """file -> (template, x, y field) for every chart, titles and labels aside."""
    found = {}
    for entry in plots:
        if isinstance(entry, dict):
            (spec,) = entry.values()
            (file, y), = spec["y"].items()
            found[file] = (spec["template"], spec["x"], y)
    return found


def chart_ids(plots: list) -> dict:
    """id -> title of every chart."""
    return {name: spec["title"] for entry in plots if isinstance(entry, dict)
            for name, spec in entry.items()}


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_every_chart_has_an_id_dvc_plots_show_takes_and_a_title(task):
    ids = chart_ids(writing.plots_for(task, inference.PRIMARY_METRIC[task]))

    # `dvc plots show "Calibration (...)"` drew nothing: DVC takes a short id, not a sentence.
    assert all(re.fullmatch(r"[a-z][a-z0-9-]*", name) for name in ids), ids
    assert all(title.strip() for title in ids.values())


def test_the_binary_charts_are_the_committed_examples_charts():
    committed = yaml.safe_load(example_file("dvc.yaml").read_text())["plots"]

    assert chart_entries(writing.plots_for("binary", "roc_auc")) == chart_entries(committed)
    assert chart_ids(writing.plots_for("binary", "roc_auc")) == chart_ids(committed)
    assert [entry for entry in committed if isinstance(entry, str)] == [
        entry for entry in writing.plots_for("binary", "roc_auc") if isinstance(entry, str)]


@pytest.mark.parametrize(("task", "primary", "expected"), [
    ("binary", "roc_auc", {"roc.json", "precision_recall.json", "calibration.json",
                           "confusion.json"}),
    ("multiclass", "macro_f1", {"confusion.json"}),
    ("regression", "rmse", {"predicted_vs_actual.json", "residuals.json"}),
])
def test_each_task_gets_its_own_evaluation_charts_and_the_shared_ones(task, primary, expected):
    files = chart_entries(writing.plots_for(task, primary))

    evaluation = {path.rsplit("/", 1)[1] for path in files if "/evaluation/" in path}
    assert evaluation == expected | {"slices.json"}
    assert f"reports/cv/plots/metrics/{primary}.tsv" in files
    assert "reports/monitor/psi.json" in files
    for template, _, _ in files.values():
        assert template in BUILT_IN or (ROOT / f".dvc/plots/{template}.json").is_file()


def test_init_writes_the_tasks_plots_into_dvc_yaml(tmp_path):
    (tmp_path / "dvc.yaml").write_text(example_file("dvc.yaml").read_text())

    text = writing.update_dvc_file(tmp_path / "dvc.yaml", {"name": "csv", "path": "data/x.csv"},
                                {"name": "x", "task": "regression", "target": "y",
                                 "primary_metric": "rmse"})

    plots = yaml.safe_load(text)["plots"]
    assert chart_entries(plots) == chart_entries(writing.plots_for("regression", "rmse"))
    assert "roc.json" not in text


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_no_chart_label_speaks_of_the_examples_target(task):
    primary = inference.PRIMARY_METRIC[task]
    text = yaml.safe_dump(writing.plots_for(task, primary))

    assert not re.search(r"\blate\b", text, re.IGNORECASE) and "(1 = " not in text
