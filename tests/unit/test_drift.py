import numpy as np
import pandas as pd
import pytest

from lifecycle.monitoring import drift

THRESHOLDS = drift.Thresholds()


def sample(rows: int, seed: int, shift: float = 0.0, levels=("a", "b", "c")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "x": rng.normal(10 + shift, 2, rows),
        "y": rng.exponential(3, rows),
        "kind": rng.choice(list(levels), rows, p=[0.5, 0.3, 0.2]),
    })


@pytest.mark.parametrize("rows", [300, 20_000])  # significance tests, then distances
def test_a_fresh_sample_of_the_reference_does_not_drift(rows):
    report = drift.feature_drift(sample(20_000, 1), sample(rows, 2), ["x", "y"], ["kind"],
                                 THRESHOLDS)

    assert [record["drift"] for record in report.values()] == [False, False, False]
    assert all(record["psi"] < 0.05 for record in report.values())
    decision = drift.retrain_decision(report, prediction_psi=0.01, decay=None, rows=1000,
                                      thresholds=THRESHOLDS)
    assert decision["retrain"] is False and decision["reasons"] == []


@pytest.mark.parametrize("rows, test", [(300, "kolmogorov_smirnov"),
                                        (20_000, "wasserstein_normed")])
def test_a_shifted_numeric_feature_drifts_and_is_named(rows, test):
    report = drift.feature_drift(sample(20_000, 1), sample(rows, 2, shift=1.5), ["x", "y"],
                                 ["kind"], THRESHOLDS)

    assert report["x"]["test"] == test
    assert report["x"]["drift"] is True
    assert report["y"]["drift"] is False
    assert report["x"]["psi"] > 0.2


@pytest.mark.parametrize("rows, test", [(300, "chi_square"), (20_000, "jensen_shannon")])
def test_a_changed_category_mix_drifts(rows, test):
    current = sample(rows, 2)
    current["kind"] = np.where(np.arange(rows) % 2 == 0, "c", "new")

    report = drift.feature_drift(sample(20_000, 1), current, ["x"], ["kind"], THRESHOLDS)

    assert report["kind"]["test"] == test
    assert report["kind"]["drift"] is True


def test_psi_is_zero_for_identical_distributions_and_grows_with_the_shift():
    reference = np.random.default_rng(0).normal(size=50_000)

    assert drift.psi(reference, reference) == pytest.approx(0.0)
    assert drift.psi(reference, reference + 0.2) < drift.psi(reference, reference + 1.0)


def test_missing_share_change_is_a_warning_not_a_reason():
    reference, current = sample(5000, 1), sample(5000, 2)
    current.loc[: 999, "y"] = np.nan

    report = drift.feature_drift(reference, current, ["x", "y"], ["kind"], THRESHOLDS)
    decision = drift.retrain_decision(report, 0.0, None, THRESHOLDS, 1000)

    assert report["y"]["missing_share_change"] == pytest.approx(0.2)
    assert decision["retrain"] is False
    assert decision["warnings"] == ["missing-value share moved by >= 0.05 in: y"]


def record(drifted: bool) -> dict:
    return {"drift": drifted, "missing_drift": False}


@pytest.mark.parametrize("drifted, prediction_psi, decay, expected", [
    (1, 0.0, None, False),    # 1 of 4 features: below half
    (2, 0.0, None, True),     # 2 of 4: the share reaches 0.5
    (0, 0.25, None, True),    # prediction PSI >= 0.2
    (0, 0.0, 0.04, False),    # decay within tolerance
    (0, 0.0, 0.06, True),     # decay beyond 0.05
])
def test_retrain_follows_the_thresholds(drifted, prediction_psi, decay, expected):
    features = {f"f{i}": record(i < drifted) for i in range(4)}

    decision = drift.retrain_decision(features, prediction_psi, decay, THRESHOLDS, 1000)

    assert decision["retrain"] is expected
    assert len(decision["reasons"]) == int(expected)
    assert decision["drifted_features"] == [f"f{i}" for i in range(drifted)]
