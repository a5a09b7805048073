"""Training in memory: the models params ask for, fitted on a frame, and what train reports."""

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.base import BaseEstimator, ClassifierMixin

from lifecycle import config
from lifecycle.core import tables
from lifecycle.modeling import clipping, models, training

from ..conftest import example_file
from ..unit.test_tuning import TRAIN_REPORT_KEYS, synthetic


def params(task: str = "binary", **tuning: object) -> config.Params:
    """The example's params, made small, for a table of this task."""
    raw = yaml.safe_load(example_file("params.yaml").read_text())
    raw["problem"].update(task=task, primary_metric="rmse" if task == "regression" else "roc_auc")
    raw["criteria"].update(minimum={}, maximum={})
    if task != "binary":
        raw["evaluate"].pop("decision_threshold")
    raw["train"]["cv_folds"] = 2
    raw["train"]["hyperparameters"]["hist_gradient_boosting"]["max_iter"] = 10
    raw["tuning"].update({"enabled": False, "candidates": 3, "max_rows": 500, **tuning})
    return config.parse(raw)


def test_whole_number_binary_labels_are_learned_as_integers_and_others_as_they_are():
    assert training.fit_labels(pd.Series([0.0, 1.0, 1.0]), "binary").tolist() == [0, 1, 1]
    assert training.fit_labels(pd.Series([0.0, 1.0]), "binary").dtype == int
    assert training.fit_labels(pd.Series(["no", "yes"]), "binary").tolist() == ["no", "yes"]
    assert training.fit_labels(pd.Series([0.5, 1.0]), "binary").tolist() == [0.5, 1.0]
    assert training.fit_labels(pd.Series([1.0, 2.0]), "regression").dtype == float


def test_train_fits_the_candidate_through_the_given_fit_and_every_baseline_here():
    X, y = synthetic("binary", rows=400)
    fitted_by_caller = []

    def fit_candidate(candidate: object) -> None:
        fitted_by_caller.append(candidate)
        candidate.fit(X, y)

    trained = training.train(params(), [], X, y, None, (None, None), fit_candidate)

    assert fitted_by_caller == [trained.candidate] and trained.search is None
    assert len(trained.fold_scores) == 2 and "roc_auc" in trained.fold_scores[0]
    assert set(trained.baselines) == set(models.BASELINES)
    for baseline in trained.baselines.values():
        assert baseline.predict_proba(X).shape == (len(X), 2)
    # scored in a thread beside the baselines' fits: the fitted candidate's own scores
    np.testing.assert_array_equal(trained.training_scores,
                                  trained.candidate.predict_proba(X)[:, 1])
    report = training.train_report(trained, "hist_gradient_boosting",
                                   training.Rows(y, None, X, y), "binary")
    assert set(report) == TRAIN_REPORT_KEYS
    assert report["rows"] == report["evidence_rows"] == 400
    assert report["features"] == ["a", "b", "c"]
    assert report["cross_validation"]["folds"] == trained.fold_scores


def test_a_regression_model_and_its_baselines_predict_within_the_target_bounds():
    X, y = synthetic("regression", rows=300)
    trained = training.train(params("regression"), [], X, y, None, (0.0, 2.0),
                             lambda candidate: candidate.fit(X, y))

    for model in (trained.candidate, *trained.baselines.values()):
        predicted = model.predict(X)
        assert predicted.min() >= 0.0 and predicted.max() <= 2.0


def test_tuning_on_searches_and_refits_the_candidate_with_the_choice():
    X, y = synthetic("regression", rows=600)
    trained = training.train(params("regression", enabled=True), [], X, y, None, (None, None),
                             lambda candidate: candidate.fit(X, y))

    chosen = trained.search["hyperparameters"]
    estimator = clipping.unwrapped(trained.candidate)
    assert {key: estimator.get_params()[key] for key in chosen} == chosen
    report = training.train_report(trained, "hist_gradient_boosting",
                                   training.Rows(y, None, X, y), "regression")
    assert report["tuning"] == trained.search


def test_the_evidence_reads_a_seeded_sample_of_the_rows_beyond_its_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "ROW_GROUP_ROWS", 7)  # the sample spans many row groups
    X, y = synthetic("binary", rows=50)
    path = tmp_path / "encoded.parquet"
    tables.write_parquet(X.assign(late=y.astype(float)), path)

    every = training.read_rows(path, "late", "binary", max_rows=50, seed=1)
    sampled = training.read_rows(path, "late", "binary", max_rows=20, seed=1)

    assert every.sample is None and every.whole is every.encoded and every.y.dtype == int
    pd.testing.assert_frame_equal(every.encoded, X)
    assert sampled.whole is None and len(sampled.labels) == 50 and len(sampled.sample) == 20
    assert list(sampled.sample) == sorted(set(sampled.sample))
    expected = X.iloc[sampled.sample].reset_index(drop=True)
    pd.testing.assert_frame_equal(sampled.encoded, expected)
    assert sampled.y.tolist() == y.iloc[sampled.sample].tolist()
    again = training.read_rows(path, "late", "binary", max_rows=20, seed=1)
    assert list(again.sample) == list(sampled.sample)
    other = training.read_rows(path, "late", "binary", max_rows=20, seed=2)
    assert list(other.sample) != list(sampled.sample)


@pytest.mark.parametrize("labels, classes", [
    (pd.Series([0, 1, 1]), [0, 1]), (pd.Series(["no", "yes", "no"]), ["no", "yes"])])
def test_the_fit_on_the_engine_gets_labels_of_this_process_type_and_classes(labels, classes):
    calls = []

    class Candidate(ClassifierMixin, BaseEstimator):
        def fit_dask(self, client, frame, target, classes=None):
            calls.append((frame[target].dtype, list(classes)))

    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": labels.astype(object)})
    training.fit_on_engine(Candidate(), "client", frame, labels, "y")

    assert calls == [(labels.dtype, classes)]
    assert np.array_equal(np.unique(labels), classes)
