"""Drift between a reference sample and a current batch: per feature, of predictions, of quality.

Statistical tests come from scipy. The population stability index (PSI) is a few lines of
numpy written here: scipy has no PSI, and pulling in a monitoring framework for it is not worth
the dependency.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from lifecycle.core.formatting import markdown_table, rounded, shown

# Floor for empty bins in PSI, so that a bin seen on one side only gives a large, finite value.
PSI_EPSILON = 1e-4
# Below this many rows a batch says nothing reliable about drift or decay (one row gives a PSI
# of 8), so no retraining is decided on it.
MIN_BATCH_ROWS = 30


@dataclass(frozen=True)
class Thresholds:
    """When a statistic counts as drift; the defaults mirror common monitoring practice."""

    small_sample_rows: int = 1000  # below this, use significance tests (KS, chi-square)
    p_value: float = 0.05
    wasserstein: float = 0.1  # Wasserstein distance in units of the reference std
    jensen_shannon: float = 0.1
    psi: float = 0.2
    missing_share: float = 0.05  # absolute change in the share of missing values
    drifted_feature_share: float = 0.5  # retrain when at least this share of features drift
    decay: float = 0.05  # retrain when the primary metric loses more than this


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """PSI of a numeric column over deciles of the reference."""
    reference, current = _finite(reference), _finite(current)
    if len(reference) == 0 or len(current) == 0:
        return 0.0
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    expected = np.histogram(reference, edges)[0] / len(reference)
    actual = np.histogram(current, edges)[0] / len(current)
    return _psi_from_shares(expected, actual)


def prediction_psi(reference: np.ndarray, current: np.ndarray) -> float:
    """PSI of the model's scores; with a probability per class, the largest over the classes."""
    if reference.ndim == 1:
        return psi(reference, current)
    return max(psi(reference[:, k], current[:, k]) for k in range(reference.shape[1]))


def _psi_from_shares(expected: np.ndarray, actual: np.ndarray) -> float:
    expected = np.clip(expected, PSI_EPSILON, None)
    actual = np.clip(actual, PSI_EPSILON, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def _category_shares(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    expected = reference.dropna().astype(str).value_counts(normalize=True)
    actual = current.dropna().astype(str).value_counts(normalize=True)
    levels = sorted(set(expected.index) | set(actual.index))  # the counts' levels: no row loop
    return (expected.reindex(levels, fill_value=0).to_numpy(),
            actual.reindex(levels, fill_value=0).to_numpy())


def numeric_drift(reference: pd.Series, current: pd.Series,
                  thresholds: Thresholds) -> dict:
    """KS test for small batches, normalised Wasserstein distance otherwise, plus PSI."""
    ref, cur = _finite(reference), _finite(current)
    result = {"type": "numeric", "psi": rounded(psi(ref, cur))}
    if len(ref) == 0 or len(cur) == 0:
        return {**result, "test": "none", "statistic": 0.0, "drift": False}
    if min(len(ref), len(cur)) < thresholds.small_sample_rows:
        p_value = float(stats.ks_2samp(ref, cur).pvalue)
        return {**result, "test": "kolmogorov_smirnov", "statistic": rounded(p_value),
                "threshold": thresholds.p_value, "drift": p_value < thresholds.p_value}
    scale = float(np.std(ref)) or 1.0
    distance = float(stats.wasserstein_distance(ref, cur)) / scale
    return {**result, "test": "wasserstein_normed", "statistic": rounded(distance),
            "threshold": thresholds.wasserstein, "drift": distance >= thresholds.wasserstein}


def categorical_drift(reference: pd.Series, current: pd.Series,
                      thresholds: Thresholds) -> dict:
    """Chi-square test for small batches, Jensen-Shannon distance otherwise, plus PSI."""
    expected, actual = _category_shares(reference, current)
    result = {"type": "categorical", "psi": rounded(_psi_from_shares(expected, actual))}
    n_ref, n_cur = reference.notna().sum(), current.notna().sum()
    if n_ref == 0 or n_cur == 0:
        return {**result, "test": "none", "statistic": 0.0, "drift": False}
    if min(n_ref, n_cur) < thresholds.small_sample_rows:
        counts = np.vstack([expected * n_ref, actual * n_cur])
        counts = counts[:, counts.sum(axis=0) > 0]
        p_value = 1.0 if counts.shape[1] < 2 else float(stats.chi2_contingency(counts).pvalue)
        return {**result, "test": "chi_square", "statistic": rounded(p_value),
                "threshold": thresholds.p_value, "drift": p_value < thresholds.p_value}
    distance = float(jensenshannon(expected, actual, base=2))
    return {**result, "test": "jensen_shannon", "statistic": rounded(distance),
            "threshold": thresholds.jensen_shannon,
            "drift": distance >= thresholds.jensen_shannon}


def missing_share_change(reference: pd.Series, current: pd.Series) -> float:
    return rounded(float(current.isna().mean() - reference.isna().mean()))


def feature_drift(reference: pd.DataFrame, current: pd.DataFrame, numeric: list[str],
                  categorical: list[str], thresholds: Thresholds) -> dict[str, dict]:
    """A drift record per feature column, in the order given."""
    report = {}
    for column in [*numeric, *categorical]:
        test = numeric_drift if column in numeric else categorical_drift
        record = test(reference[column], current[column], thresholds)
        change = missing_share_change(reference[column], current[column])
        record["missing_share_change"] = change
        record["missing_drift"] = abs(change) >= thresholds.missing_share
        report[column] = record
    return report


def retrain_decision(features: dict[str, dict], prediction_psi: float,
                     decay: float | None, thresholds: Thresholds, rows: int) -> dict:
    """`retrain` and the reasons, from feature drift, prediction drift and performance decay.

    A batch of fewer than MIN_BATCH_ROWS rows decides nothing and says so."""
    drifted = sorted(name for name, record in features.items() if record["drift"])
    share = len(drifted) / len(features) if features else 0.0
    if rows < MIN_BATCH_ROWS:
        return {"drifted_features": drifted, "drifted_share": rounded(share),
                "retrain": False, "reasons": [],
                "warnings": [f"the batch holds {rows} rows, fewer than {MIN_BATCH_ROWS}: too "
                             f"few to judge drift or decay; no retraining decided"]}
    reasons = []
    if features and share >= thresholds.drifted_feature_share:
        reasons.append(f"{len(drifted)} of {len(features)} features drifted "
                       f"(share {share:.2f} >= {thresholds.drifted_feature_share})")
    if prediction_psi >= thresholds.psi:
        reasons.append(f"prediction PSI {prediction_psi:.3f} >= {thresholds.psi}")
    if decay is not None and decay > thresholds.decay:
        reasons.append(f"primary metric fell by {decay:.3f} (> {thresholds.decay})")
    # A moved share of missing values usually means a broken feed, not a changed world: it is
    # a warning to look at the data, not a reason to retrain on it.
    missing = sorted(name for name, record in features.items() if record["missing_drift"])
    warnings = [f"missing-value share moved by >= {thresholds.missing_share} in: "
                f"{', '.join(missing)}"] if missing else []
    return {"drifted_features": drifted, "drifted_share": rounded(share),
            "retrain": bool(reasons), "reasons": reasons, "warnings": warnings}


def render_markdown(report: dict) -> str:
    """The drift report for people: one row per feature, then the verdict and its reasons."""
    decision, predictions = report["decision"], report["predictions"]
    lines = [
        "# Drift report",
        "",
        f"Reference: {report['reference']['name']} ({report['reference']['rows']} rows). "
        f"Current: {report['current']['name']} ({report['current']['rows']} rows).",
        "",
        *markdown_table(
            ("feature", "type", "test", "statistic", "threshold", "drift", "PSI",
             "missing share change"),
            [(name, record["type"], record["test"], f"{record['statistic']:.4f}",
              record.get("threshold", ""), "yes" if record["drift"] else "no",
              f"{record['psi']:.4f}", f"{record['missing_share_change']:+.4f}")
             for name, record in report["features"].items()],
            align="lllrrlrr"),
    ]
    lines += ["", f"Drifted features: {', '.join(decision['drifted_features']) or 'none'} "
                  f"(share {decision['drifted_share']:.2f}).",
              f"Prediction drift: PSI {predictions['psi']:.3f}."]
    performance = report.get("performance")
    if performance:
        lines.append(f"Performance ({performance['metric']}): test "
                     f"{shown(performance['test'], '.4f')}, current "
                     f"{shown(performance['current'], '.4f')}, decay "
                     f"{shown(performance['decay'], '.4f')}.")
    lines += ["", "## Decision", "", f"retrain: {'true' if decision['retrain'] else 'false'}", ""]
    lines += [f"- {reason}" for reason in decision["reasons"]] or ["- no threshold crossed"]
    lines += [f"- warning: {warning}" for warning in decision["warnings"]]
    return "\n".join(lines) + "\n"
