"""The hyperparameter search of the train stage: successive halving over params' space, on the
stage's own folds, seeded; off, the stage is what it was before the search existed."""

import json
import re
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.base import BaseEstimator, RegressorMixin

from lifecycle import cli, config
from lifecycle.core import stage_trace
from lifecycle.core.errors import ParamsError
from lifecycle.modeling import models, tuning

from ..conftest import example_file, run_stages
from ..stage.test_hostile_params import edit_params, template_project

SPACE = {"learning_rate": [0.05, 0.1, 0.3], "max_leaf_nodes": [7, 31], "max_iter": [20, 50]}
# The report keys of reports/train.json before the search existed.
TRAIN_REPORT_KEYS = {"rows", "evidence_rows", "features", "model", "train_metrics",
                     "cross_validation", "iterations"}


def synthetic(task: str, rows: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows),
                      "c": rng.integers(0, 4, rows).astype(float)})
    signal = X["a"] * 2 + np.sin(3 * X["b"]) + X["c"] + rng.normal(0, 0.5, rows)
    y = signal if task == "regression" else (signal > signal.median()).astype(int)
    return X, pd.Series(y, name="y")


def search(task: str = "regression", order: pd.Series | None = None, count: int = 8,
           seed: int = 7) -> dict:
    """The search's report for a fresh HistGradientBoosting on the synthetic table."""
    X, y = synthetic(task, rows=3000)
    estimator = models.build_estimator("hist_gradient_boosting", {"max_iter": 20}, seed, [],
                                       task)
    keys = sorted(SPACE)
    settings = tuning.candidate_settings(
        SPACE, tuning.defaults_of(estimator, keys),
        {key: estimator.get_params()[key] for key in keys}, count, seed)
    metric = "rmse" if task == "regression" else "roc_auc"
    fitted = tuning.halving_search(estimator, X, y, order, [s for _, s in settings], folds=3,
                                   task=task, metric=metric, seed=seed, max_rows=10_000)
    return tuning.search_report(fitted, settings, metric)


# --- the candidates and the rounds (pure) ------------------------------------------------------


def test_the_candidates_start_with_the_defaults_and_the_params_then_distinct_seeded_draws():
    defaults = {"learning_rate": 0.1, "max_leaf_nodes": 31, "max_iter": 100}
    configured = {"learning_rate": 0.05, "max_leaf_nodes": 15, "max_iter": 400}

    settings = tuning.candidate_settings(SPACE, defaults, configured, 6, seed=3)

    assert [source for source, _ in settings[:3]] == list(tuning.SOURCES)
    assert settings[0][1] == defaults and settings[1][1] == configured
    drawn = [each for _, each in settings[2:]]
    assert len(settings) == 6 and len({json.dumps(d, sort_keys=True) for d in drawn}) == 4
    assert all(value in SPACE[key] for each in drawn for key, value in each.items())
    assert settings == tuning.candidate_settings(SPACE, defaults, configured, 6, seed=3)
    assert settings != tuning.candidate_settings(SPACE, defaults, configured, 6, seed=4)


def test_a_setting_drawn_twice_or_equal_to_the_defaults_is_tried_once():
    space = {"max_iter": [100, 200]}  # two settings in all, one of them the defaults'

    settings = tuning.candidate_settings(space, {"max_iter": 100}, {"max_iter": 100}, 10, 0)

    assert [each for _, each in settings] == [{"max_iter": 100}, {"max_iter": 200}]


@pytest.mark.parametrize("rows, candidates, first", [
    (100_000, 16, 100_000 // 9),  # 16 -> 6 -> 2 settings, the last round on every row
    (100_000, 27, 100_000 // 27),
    (6_916, 16, 768),
    (3_000, 16, 1_000),           # 333 rows would be too few: two rounds
    (400, 16, 400),               # one round on every row: a plain search
    (100_000, 2, 100_000),
])
def test_the_first_round_is_a_power_of_three_below_every_row_and_never_tiny(rows, candidates,
                                                                            first):
    assert tuning.first_round_rows(rows, candidates) == first


def test_a_threshold_metric_is_searched_by_the_log_loss():
    assert tuning.search_metric("f1") == "log_loss"
    assert tuning.search_metric("roc_auc") == "roc_auc"
    assert tuning.search_metric("rmse") == "rmse"


# --- the search ----------------------------------------------------------------------------------


@pytest.mark.slow  # two whole searches, dozens of fits
@pytest.mark.parametrize("task", ["regression", "binary"])
def test_the_search_chooses_one_of_its_settings_the_same_way_twice(task):
    report = search(task)

    assert report == search(task)
    chosen = report["candidates"][report["chosen"]]
    assert report["hyperparameters"] == chosen["hyperparameters"]
    assert all(value in SPACE[key] for key, value in chosen["hyperparameters"].items())
    # The chosen setting reached the last round and scored best there.
    last = len(report["rounds"])
    finalists = [each for each in report["candidates"] if len(each["mean_scores"]) == last]
    best = (min if task == "regression" else max)(each["mean_scores"][-1] for each in finalists)
    assert chosen in finalists and chosen["mean_scores"][-1] == best
    assert report["rounds"][0]["settings"] == len(report["candidates"]) == 8
    assert report["rounds"] == [{"rows": 1000, "settings": 8}, {"rows": 3000, "settings": 3}]


class Spy(BaseEstimator, RegressorMixin):
    """Predicts the mean; records the times of the rows it fits on and predicts."""

    log: ClassVar[list] = []

    def __init__(self, shift: float = 0.0) -> None:
        self.shift = shift

    def fit(self, X, y):
        Spy.log.append(("fit", X["time"].min(), X["time"].max()))
        self.mean_ = float(np.mean(y)) + self.shift
        return self

    def predict(self, X):
        Spy.log.append(("predict", X["time"].min(), X["time"].max()))
        return np.full(len(X), self.mean_)


def test_out_of_time_the_search_never_scores_a_row_older_than_one_it_fitted_on():
    rng = np.random.default_rng(0)
    rows = 900
    times = pd.Series(rng.permutation(rows), name="time")  # the table in no particular order
    X = pd.DataFrame({"time": times})
    y = pd.Series(rng.normal(size=rows))
    Spy.log.clear()

    tuning.halving_search(Spy(), X, y, times, [{"shift": 0.0}, {"shift": 1.0}, {"shift": 2.0}],
                          folds=3, task="regression", metric="rmse", seed=0, max_rows=rows)

    fits = [(event, low, high) for event, low, high in Spy.log]
    pairs = list(zip(fits[::2], fits[1::2], strict=True))
    assert len(pairs) >= 6 and all(f[0] == "fit" and p[0] == "predict" for f, p in pairs)
    assert all(predicted[1] > fitted[2] for fitted, predicted in pairs)


# --- the space in params.yaml: clear errors ------------------------------------------------------


def hist_gradient_boosting() -> object:
    return models.build_estimator("hist_gradient_boosting", {"max_iter": 20}, 0, [])


@pytest.mark.parametrize("space, words", [
    ({"learning_rat": [0.1]}, r"tuning.space.hist_gradient_boosting.learning_rat: not a "
                              r"hyperparameter .*did you mean 'learning_rate'"),
    ({"learning_rate": [0.1, "fast"]}, r"tuning.space.hist_gradient_boosting.learning_rate: The "
                                       r"'learning_rate' parameter .* Got 'fast' instead"),
    ({"max_iter": [True]}, r"tuning.space.hist_gradient_boosting.max_iter: .*True"),
    ({"random_state": [1, 2]}, r"tuning.space.hist_gradient_boosting.random_state: not a "
                               r"hyperparameter the search can set"),
])
def test_a_bad_space_is_one_params_error_naming_the_key(space, words):
    with pytest.raises(ParamsError, match=words) as raised:
        models.check_space("hist_gradient_boosting", space, hist_gradient_boosting())
    assert "\n" not in str(raised.value)


def test_the_linear_pipeline_has_no_space_to_search():
    linear = models.build_estimator("linear", {}, 0, ["c"])
    assert models.check_space("linear", {}, linear) == {}
    with pytest.raises(ParamsError, match=r"tuning.space.linear: .*leave its space empty"):
        models.check_space("linear", {"C": [0.1, 1.0]}, linear)


@pytest.fixture
def raw() -> dict:
    return yaml.safe_load(example_file("params.yaml").read_text())


@pytest.mark.parametrize("edit, words", [
    (lambda t: t["space"].update(hist_gradiant_boosting={}),
     r"tuning.space.hist_gradiant_boosting: not a model .*did you mean 'hist_gradient_boosting'"),
    (lambda t: t["space"]["hist_gradient_boosting"].update(max_iter=100),
     r"tuning.space.hist_gradient_boosting.max_iter: expected a list of the values to try"),
    (lambda t: t["space"]["hist_gradient_boosting"].update(max_iter=[]),
     r"tuning.space.hist_gradient_boosting.max_iter: expected a list"),
    (lambda t: t["space"].pop("hist_gradient_boosting"),
     r"tuning.space.hist_gradient_boosting: found None, expected the search space of "
     r"train.model"),
    (lambda t: t.update(candidates=1), r"tuning.candidates: found 1, expected an integer in"),
    (lambda t: t.update(enabled="yes"), r"tuning.enabled: expected bool, found 'yes'"),
])
def test_parsing_refuses_a_malformed_tuning_section(raw, edit, words):
    edit(raw["tuning"])
    with pytest.raises(ParamsError, match=words):
        config.parse(raw)


# --- the train stage, on a small table made the way a user would ---------------------------------


@pytest.fixture(scope="module")
def featurized(tmp_path_factory) -> Path:
    """`lifecycle init` on a small regression table, then ingest, prepare and featurize, in
    this process. Read only: copy it."""
    project = template_project(tmp_path_factory.mktemp("tuning"))
    X, y = synthetic("regression", rows=700)
    X.assign(y=y.round(4)).to_csv(project / "table.csv", index=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        assert cli.main(["init", "--data", "table.csv", "--target", "y"]) == 0
    edit_params(project, "tuning.candidates", 5)
    edit_params(project, "train.cv_folds", 2)
    run_stages(project, ("ingest", "prepare", "featurize"))
    return project


def copy_of(project: Path, folder: Path) -> Path:
    import shutil

    return Path(shutil.copytree(project, folder / "project"))


def train(project: Path) -> tuple[dict, bytes, bytes]:
    """Run the train stage; its report, and the bytes of the report and the model."""
    stage_trace._params.clear()
    run_stages(project, ("train",))
    report = project / "reports/train.json"
    return json.loads(report.read_text()), report.read_bytes(), (
        project / "models/model.skops").read_bytes()


def test_init_turns_the_search_on_and_says_why(tmp_path, monkeypatch, capsys):
    project = template_project(tmp_path)
    monkeypatch.chdir(project)
    X, y = synthetic("binary", rows=100)
    X.assign(y=y).to_csv("table.csv", index=False)
    capsys.readouterr()

    assert cli.main(["init", "--data", "table.csv", "--target", "y"]) == 0

    printed = capsys.readouterr().out
    assert "tuning.enabled: true (the template's hyperparameters were tuned for" in printed
    text = (project / "params.yaml").read_text()
    assert re.search(r"^  enabled: true +# on: train searches tuning.space for this table's",
                     text, re.MULTILINE)
    assert yaml.safe_load(text)["tuning"]["enabled"] is True


@pytest.mark.slow  # the train stage twice, each with a search
def test_tuning_on_records_the_choice_and_fits_it_the_same_twice(featurized, tmp_path):
    project = copy_of(featurized, tmp_path)

    report, report_bytes, model_bytes = train(project)

    search = report["tuning"]
    assert search["metric"] == "rmse" and len(search["candidates"]) == 5
    assert search["candidates"][0]["source"] == "scikit-learn's defaults"
    chosen = search["candidates"][search["chosen"]]["hyperparameters"]
    assert search["hyperparameters"] == chosen
    from lifecycle.modeling import artifacts

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        estimator = artifacts.load_model("models/model.skops").named_steps["estimator"]
    assert {key: estimator.get_params()[key] for key in chosen} == chosen
    assert {"tuning.enabled", "tuning.candidates", "tuning.max_rows",
            "tuning.space.hist_gradient_boosting", "problem.primary_metric"} <= stage_trace._params

    assert train(project)[1:] == (report_bytes, model_bytes)  # byte for byte


def test_tuning_off_is_the_train_stage_as_before(featurized, tmp_path, monkeypatch):
    """Off, the stage reads tuning.enabled and nothing else of the search, never searches, and
    its outputs hold the params' hyperparameters and no trace of the search, whatever the
    space says."""
    project = copy_of(featurized, tmp_path)
    edit_params(project, "tuning.enabled", False)

    def refuse(*args, **kwargs):
        raise AssertionError("searched with tuning off")

    monkeypatch.setattr(tuning, "halving_search", refuse)
    report, report_bytes, model_bytes = train(project)

    assert set(report) == TRAIN_REPORT_KEYS
    assert {key for key in stage_trace._params if key.startswith("tuning")} == {"tuning.enabled"}
    edit_params(project, "tuning.space.hist_gradient_boosting", {"max_iter": [5]})
    edit_params(project, "tuning.candidates", 50)
    assert train(project)[1:] == (report_bytes, model_bytes)
