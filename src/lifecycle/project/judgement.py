"""The judgement the example's params carry, derived for the user's table by `lifecycle init`:
each value (decision threshold, slices, duplicate rows, criteria, shared test rows, tuning) with
the reason printed beside it and, where the template's comment speaks of its own data, the
comment that replaces it. Pure functions of the table: nothing is inherited from the example.
"""

import dataclasses
import datetime
from typing import Any

import pandas as pd

from lifecycle import config
from lifecycle.config.contract import Contract, input_columns
from lifecycle.core import formatting
from lifecycle.core.errors import LifecycleError
from lifecycle.data import curation, splits
from lifecycle.evaluation import leakage
from lifecycle.project.inference import moments

# The template's criterion: a test row whose inputs all occur in train is scored on what was
# learned, and more than 1% of them would flatter the metrics.
MAX_SHARED_TEST_ROWS = 0.01
# Above this share of exact duplicate rows, keeping or dropping them moves the metrics: say so.
NOTABLE_DUPLICATE_SHARE = 0.05


@dataclasses.dataclass(frozen=True)
class Derived:
    """A params.yaml value init chose for this table, why (printed in the summary) and, where
    the template's comment on the key speaks of its own data, the comment that replaces it."""

    key: str  # dotted, e.g. evaluate.decision_threshold
    value: Any
    reason: str
    comment: str | None = None


def derive_judgement(table: pd.DataFrame, rules: Contract, problem: dict[str, Any],
                     split: dict[str, Any], seed: int, datetime_feature: str | None,
                     positive: Any) -> dict[str, Derived]:
    """Every value of the example's judgement that init derives for this table, by key."""
    target, task = problem["target"], problem["task"]
    duplicate_row = derive_duplicate_row(rules)
    try:
        share = natural_shared_share(table, rules, target, task, split=split, seed=seed,
                                     duplicate_row=duplicate_row.value,
                                     datetime_feature=datetime_feature)
    except LifecycleError:  # a split prepare cannot make either: it says why, with the fix
        share = None
    derived = [
        *([derive_decision_threshold(table[target], positive)] if task == "binary" else []),
        derive_slice_columns(rules),
        duplicate_row,
        *derive_criteria(problem["primary_metric"]),
        derive_max_shared_test_rows(share, split["method"]),
        derive_tuning(),
    ]
    return {item.key: item for item in derived}


def derive_decision_threshold(target: pd.Series, positive: Any) -> Derived:
    """The positive class's share: a classifier that scores a row above the base rate flags
    it (the example's 0.3 fits the flights' 22% late, nothing else)."""
    share = float((target.dropna() == positive).mean())
    value = min(max(round(share, 2), 0.01), 0.99)  # a probability strictly inside (0, 1)
    return Derived("evaluate.decision_threshold", value,
                   f"the share of {positive!r} in the table ({formatting.percent(share)}): a "
                   f"row scored above the base rate is predicted {positive!r}",
                   f"the base rate of {positive!r} in the table")


def derive_slice_columns(rules: Contract) -> Derived:
    columns = slice_columns(rules)
    reason = ("the first categorical features with at most 20 levels" if columns
              else "no categorical feature with at most 20 levels: no slices")
    return Derived("evaluate.slice_columns", columns, reason)


def slice_columns(rules: Contract, most: int = 2) -> list[str]:
    """Categorical features to report metrics per value of: the first few with few levels."""
    few = [name for name in rules.features("categorical")
           if rules.columns[name].categories is None or len(rules.columns[name].categories) <= 20]
    return few[:most]


def derive_duplicate_row(rules: Contract) -> Derived:
    """drop with a key column (a row repeating another with its key is a true duplicate); warn
    without one (rows sharing every value may be distinct observations)."""
    if rules.keys:
        return Derived(curation.DUPLICATE_ROW_KEY, "drop",
                       f"key column {rules.keys[0]}: a row repeating another, key included, is "
                       f"a true duplicate")
    return Derived(curation.DUPLICATE_ROW_KEY, "warn",
                   "no key column: identical rows may be distinct observations, so they are "
                   "kept, with a warning from prepare")


def duplicate_warning(effect: dict, policy: str) -> str | None:
    """One line when exact duplicate rows are common enough that the policy moves the
    metrics: how many, their share, what dropping them does to the target, how to change it."""
    if effect["share"] <= NOTABLE_DUPLICATE_SHARE:
        return None
    fate = "drops" if policy == "drop" else "keeps"
    return (f"warning: {effect['rows']:,} rows ({formatting.percent(effect['share'])}) repeat an "
            f"earlier row in every column; dropping them moves the target "
            f"({effect['target_shift']}); {curation.DUPLICATE_ROW_KEY}: {policy} {fate} them; "
            f"set it to drop, warn or fail in params.yaml to change that")


def derive_criteria(primary: str) -> list[Derived]:
    """The criteria every table is judged by, whatever the problem: a model that does not beat
    its baselines beyond noise, that looks too good to be true, or whose test score falls far
    below what cross-validation foresaw is rejected. Those that need the problem's own numbers
    stay null, and say so."""
    return [
        Derived("criteria.min_lift_over_baselines", 0.0,
                "the candidate must beat each baseline beyond noise: the low end of the paired "
                "95% bootstrap interval of its primary-metric lift must be at least 0",
                "low end of the lift's paired 95% interval; raise it for a margin"),
        Derived("criteria.max_single_feature_score", 0.95,
                "no single column may give the target away (leakage)"),
        Derived("criteria.max_feature_group_score", 0.95,
                "no group of up to 3 columns may give the target away together (a total and "
                "its parts, a ratio)"),
        Derived("criteria.max_plausible_score", 0.99,
                "a near-perfect test score of the candidate or of the linear baseline is "
                "suspected leakage until you mark the columns (--leakage) or set this to null",
                "too good to be true: suspected leakage; null once confirmed"),
        Derived("criteria.max_cv_shortfall", 3.0,
                "the test primary metric may fall below the cross-validation mean by at most "
                "3 fold standard deviations: a larger train-test gap than cross-validation "
                "shows means the test rows differ from the training rows (or CV leaks)",
                "in fold standard deviations"),
        Derived("criteria.max_train_test_gap", None,
                "not judged on its own: a flexible model fits its training rows closely, and "
                "max_cv_shortfall judges the gap against cross-validation",
                "null: max_cv_shortfall judges the gap"),
        Derived("criteria.max_slice_gap", None,
                "not judged: how much worse a slice may be depends on the problem; read the "
                "slice gaps in reports/gate.json after a first run and set it",
                "null: set it from the slice gaps after a first run"),
        Derived("criteria.minimum", {},
                f"not judged: the problem's success threshold on {primary}, under "
                f"criteria.minimum or criteria.maximum, is yours to set once you know what is "
                f"good enough"),
    ]


def derive_tuning() -> Derived:
    """On: the template's hyperparameters were tuned by hand for its example's data."""
    return Derived("tuning.enabled", True,
                   "the template's hyperparameters were tuned for its example's data; train "
                   "searches tuning.space for this table's, with scikit-learn's defaults among "
                   "the candidates, and reports/train.json shows what it chose and why",
                   "on: train searches tuning.space for this table's hyperparameters")


def natural_shared_share(table: pd.DataFrame, rules: Contract, target: str, task: str, *,
                         split: dict[str, Any], seed: int, duplicate_row: str,
                         datetime_feature: str | None) -> float:
    """The share of test rows whose model inputs all occur in a training row, on the rows
    prepare keeps and under the split it will make: what evaluate's check (leakage.shared_rows
    on the model's inputs) will find for any model, before a model exists."""
    curated, _ = curation.curate(table, target, rules.keys,
                                 drop_duplicate_rows=duplicate_row == "drop")
    parts = split_as_prepare(curated, target, task, split, seed)
    numeric, categorical = rules.feature_lists([])
    inputs = input_columns(numeric, categorical, datetime_feature, [])
    if not inputs or parts["test"].empty:
        return 0.0
    return leakage.shared_rows(leakage.row_hashes(parts["train"][inputs]),
                               parts["test"][inputs])["fraction"]


def split_as_prepare(table: pd.DataFrame, target: str, task: str, split: dict[str, Any],
                     seed: int) -> dict[str, pd.DataFrame]:
    """prepare's split (`splits.split_rows`) with the settings init writes, the time column
    typed as prepare types it."""
    def date(text: str | None) -> datetime.date | None:
        return datetime.date.fromisoformat(text) if text else None

    settings = config.Split(**{**split, "test_start": date(split["test_start"]),
                               "current_start": date(split["current_start"])})
    if settings.method == "out_of_time":
        table = table.assign(**{settings.time_column: moments(table[settings.time_column])})
    return splits.split_rows(table, settings, target, task, seed)


def derive_max_shared_test_rows(share: float | None, method: str) -> Derived:
    """The template's 1%, unless the split shares more test rows with train by nature (inputs
    of few distinct values): then the check would reject any model, so it is not judged."""
    key = "criteria.max_shared_test_rows"
    split = "random split" if method == "random" else "out-of-time split"
    if share is None:
        return Derived(key, MAX_SHARED_TEST_ROWS,
                       f"the template's {MAX_SHARED_TEST_ROWS}: the {split} could not be made "
                       f"here to measure it (prepare will say why)")
    shown = formatting.percent(share)
    if share <= MAX_SHARED_TEST_ROWS:
        return Derived(key, MAX_SHARED_TEST_ROWS,
                       f"the template's {MAX_SHARED_TEST_ROWS}: under the {split} {shown} of "
                       f"test rows share their inputs with train")
    return Derived(key, None,
                   f"{shown} of test rows share their inputs with train by nature "
                   f"(low-cardinality inputs, {split}); the check would reject any model",
                   f"null: {shown} of test rows share inputs with train by nature")
