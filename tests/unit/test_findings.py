"""What evaluate finds and plots, computed in memory from frames, scores and fitted models."""

import numpy as np
import pandas as pd
import pytest

from lifecycle.core.errors import ParamsError
from lifecycle.evaluation import findings, metrics, plots
from lifecycle.modeling import models

from ..stage.test_evaluation import table


def test_the_confusion_counts_hold_every_pair_of_labels_zeros_included():
    counts = plots.confusion_counts(pd.Series([0, 0, 1]), np.array([0, 1, 1]))

    assert counts == [{"actual": "0", "predicted": "0", "count": 1},
                      {"actual": "0", "predicted": "1", "count": 1},
                      {"actual": "1", "predicted": "0", "count": 0},
                      {"actual": "1", "predicted": "1", "count": 1}]


def test_a_slice_gap_is_negative_when_the_slice_is_worse_whichever_way_the_metric_points():
    records = [{"slice": "origin=EWR", "rows": 50, "rmse": 12.0, "roc_auc": 0.6}]

    assert plots.slice_gaps(records, "rmse", 10.0)[0]["gap"] == -2.0
    assert plots.slice_gaps(records, "roc_auc", 0.7)[0]["gap"] == pytest.approx(-0.1)
    assert plots.slice_plot([], "rmse", 10.0) == []


@pytest.mark.parametrize("task, names", [
    ("binary", ["roc", "precision_recall", "calibration", "confusion"]),
    ("multiclass", ["confusion"]),
    ("regression", ["predicted_vs_actual", "residuals"]),
])
def test_each_task_draws_its_plots(task, names):
    y = pd.Series({"binary": [0, 1] * 3, "multiclass": ["a", "b", "c"] * 2,
                   "regression": [1.0, 2.0, 3.0] * 2}[task])
    scores = {"binary": np.linspace(0.1, 0.9, 6), "multiclass": np.eye(3)[[0, 1, 2, 0, 1, 1]],
              "regression": np.arange(6, dtype=float)}[task]

    drawn = plots.evaluation_plots(task, y, scores, 0.5, np.array(["a", "b", "c"]), seed=0)

    assert [getattr(plot, "kind", getattr(plot, "name", None)) for plot in drawn] == names


def test_regression_plots_draw_a_seeded_sample_of_at_most_plot_rows():
    y = pd.Series(np.arange(3000, dtype=float))
    first, residuals = plots.evaluation_plots("regression", y, y.to_numpy() + 1, None, None, 7)

    assert len(first.points) == plots.PLOT_ROWS and first.points is residuals.points
    assert all(point["residual"] == -1.0 for point in first.points)
    assert plots.residual_points(y, y.to_numpy() + 1, 7) == first.points


def test_log_hands_each_plot_to_the_matching_dvclive_call():
    calls = []

    class Live:
        def log_sklearn_plot(self, kind, labels, scores, **options):
            calls.append(("sklearn", kind, options))

        def log_plot(self, name, points, **options):
            calls.append(("custom", name, options))

    y = pd.Series([0, 1, 0, 1])
    plots.log(Live(), plots.evaluation_plots("binary", y, np.array([.2, .8, .4, .6]), 0.5, None, 0))

    assert calls[0] == ("sklearn", "roc", {"drop_intermediate": True})
    assert calls[-1] == ("custom", "confusion", {"x": "actual", "y": "predicted"})


def test_the_cv_shortfall_is_in_fold_standard_deviations_or_the_test_interval_if_wider():
    cv = {"mean": 0.70, "std": 0.01}

    assert findings.cv_shortfall(cv, 0.67, None, "roc_auc") == pytest.approx(3.0)
    assert findings.cv_shortfall(cv, 0.67, [0.63, 0.71], "roc_auc") == pytest.approx(0.75)
    assert findings.cv_shortfall(cv, 0.72, None, "roc_auc") < 0  # test did better
    assert findings.cv_shortfall({"mean": 10.0, "std": 1.0}, 12.0, None, "rmse") == 2.0
    assert findings.cv_shortfall(None, 0.7, None, "roc_auc") is None


def test_the_baselines_are_scored_with_the_candidates_lift_and_its_paired_interval():
    X, y = table("binary")
    candidate = models.build_estimator("hist_gradient_boosting", {}, 0, ["carrier"], "binary")
    trivial = models.build_estimator("trivial", {}, 0, [], "binary")
    fit, test = slice(0, 400), slice(400, None)
    candidate.fit(X[fit], y[fit])
    trivial.fit(X[fit], y[fit])
    scored = findings.score_test(candidate, X[test], y[test], "binary", 0.5)

    intervals, found = findings.score_baselines(X[test], "binary", "roc_auc", scored,
                                                {"trivial": trivial}, resamples=20, seed=0)

    assert found["trivial"]["metrics"]["roc_auc"] == 0.5
    assert found["trivial"]["lift"] == pytest.approx(scored.metrics["roc_auc"] - 0.5)
    low, high = found["trivial"]["lift_interval"]
    assert 0 < low <= high
    # the same resamples give the candidate's own intervals
    assert intervals == metrics.bootstrap_intervals("binary", scored.y, scored.scores,
                                                    threshold=0.5, classes=scored.classes,
                                                    resamples=20, seed=0)


def details(**checks: object) -> dict:
    return {
        "cross_validation": {"summary": {"roc_auc": {"mean": 0.7, "std": 0.01}}},
        "baselines": {"trivial": {"lift": 0.2, "lift_interval": [0.18, 0.22],
                                  "metrics": {"roc_auc": 0.5}},
                      "linear": {"lift": 0.01, "lift_interval": [-0.01, 0.03],
                                 "metrics": {"roc_auc": 0.69}}},
        "slices": {"worst": {"slice": "origin=JFK", "gap": 0.05}},
        "checks": {"single_feature": [{"feature": "distance", "roc_auc": 0.6}],
                   "feature_groups": [{"features": ["a", "b"], "roc_auc": 0.65},
                                      {"features": ["c"], "roc_auc": float("nan")}],
                   "shared_test_rows": {"rows": 0, "fraction": 0.0},
                   "train_test_gap": 0.04, "cv_shortfall": 0.5, **checks},
    }


def test_the_headline_holds_the_cv_summary_the_lifts_and_the_worst_slice_gap():
    headline = findings.headline_metrics({"roc_auc": 0.7}, 1000, "roc_auc", details())

    assert headline == {"roc_auc": 0.7, "test_rows": 1000, "cv_roc_auc_mean": 0.7,
                        "cv_roc_auc_std": 0.01, "lift_over_trivial": 0.2,
                        "lift_over_linear": 0.01, "worst_slice_gap": 0.05}


def test_the_gate_findings_take_the_low_ends_the_best_group_and_the_plausible_score():
    found = findings.gate_findings(details(), "binary", {"roc_auc": 0.7})

    assert found["lift_low_over_linear"] == -0.01 and found["lift_low_over_trivial"] == 0.18
    assert found["feature_group"] == {"features": ["a", "b"], "score": 0.65}
    assert found["plausible"] == {"metric": "roc_auc", "score": 0.7}
    assert found["single_feature_score"] == 0.6 and found["slice_gap"] == 0.05
    assert (found["shared_test_rows"], found["cv_shortfall"]) == (0.0, 0.5)


def test_a_slice_column_missing_from_the_test_split_is_a_params_error():
    with pytest.raises(ParamsError, match=r"evaluate\.slice_columns: origin not in the test split"):
        findings.check_slice_columns(["origin"], pd.Index(["carrier"]))
