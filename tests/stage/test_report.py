"""The report's pure parts: verdicts, flattening and the data-quality comparison."""

import pytest

from lifecycle.reporting import comparison


@pytest.mark.parametrize(("interval", "expected"), [
    ([0.001, 0.004], "improved"), ([-0.004, -0.001], "worse"), ([-0.002, 0.003], "within noise"),
])
def test_a_paired_interval_decides_by_where_zero_falls(interval, expected):
    assert comparison.verdict_from_interval(interval) == expected


@pytest.mark.parametrize(("delta", "direction", "expected"), [
    (0.02, 1, "improved"),     # roc_auc up beyond both intervals
    (0.02, -1, "worse"),       # log loss up: worse
    (-0.02, -1, "improved"),
    (0.005, 1, "within noise"),
    (0.0, 1, "unchanged"),
])
def test_without_pairs_a_difference_must_exceed_the_combined_half_widths(delta, direction,
                                                                         expected):
    # half-widths 0.006 and 0.008 combine to 0.01
    assert comparison.verdict_without_pairs(delta, direction, [0.684, 0.696], [0.682, 0.698]) == \
        expected


def test_metrics_without_an_interval_say_only_which_way_they_moved():
    assert comparison.verdict_without_pairs(0.01, 1, None, None) == "higher (no interval)"
    assert comparison.verdict_without_pairs(-3.0, 0, None, None) == "lower"


@pytest.mark.parametrize(("name", "direction"), [
    ("roc_auc", 1), ("log_loss", -1), ("cv_roc_auc_mean", 1), ("cv_rmse_mean", -1),
    ("cv_roc_auc_std", -1), ("lift_over_linear", 1), ("worst_slice_gap", -1), ("test_rows", 0),
])
def test_each_headline_metric_knows_which_way_is_better(name, direction):
    assert comparison._direction(name, "roc_auc") == direction


def test_flatten_gives_dotted_keys_down_to_the_leaves():
    nested = {"train": {"model": "linear", "hyperparameters": {"linear": {"C": 1.0}},
                        "trivial": {}}, "seed": 0}

    assert comparison.flatten(nested) == {"train.model": "linear",
                                      "train.hyperparameters.linear.C": 1.0,
                                      "train.trivial": {}, "seed": 0}


def test_data_quality_changes_list_counts_schema_and_missing_shares():
    before = {"rows_in": 100, "rows_out": 90, "rows_dropped": {"missing_target": 10},
              "splits": {"train": {"rows": 60}, "test": {"rows": 30}}, "validation": [],
              "columns": {"a": {"type": "numeric", "role": "feature", "missing_share": 0.0},
                          "b": {"type": "categorical", "role": "feature", "missing_share": 0.1}}}
    after = {"rows_in": 120, "rows_out": 90, "rows_dropped": {"missing_target": 30},
             "splits": {"train": {"rows": 60}, "test": {"rows": 30}}, "validation": [{}],
             "columns": {"a": {"type": "numeric", "role": "excluded", "missing_share": 0.25},
                         "c": {"type": "numeric", "role": "feature", "missing_share": 0.0}}}

    text = "\n".join(comparison.data_quality_section(before, after))

    assert "| rows_in | 100 | 120 |" in text
    assert "| rows dropped: missing_target | 10 | 30 |" in text
    assert "| contract rule failures | 0 | 1 |" in text
    assert "rows_out" not in text and "train rows" not in text  # unchanged counts are left out
    assert "column `c` added (numeric, feature)" in text
    assert "column `b` removed" in text
    assert "column `a`: role feature → excluded" in text
    assert "column `a`: missing share 0.0% → 25.0%" in text


def test_unchanged_data_quality_says_so_in_one_line():
    same = {"rows_in": 10, "rows_out": 10, "columns": {"a": {"missing_share": 0.0}}}

    assert comparison.data_quality_section(same, same)[2].startswith("Unchanged: 10 rows")
