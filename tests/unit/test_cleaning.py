"""Value cleaning transformers: fitted on train, applied the same way to new rows."""

import numpy as np
import pandas as pd
import pytest

from lifecycle.core import cleaning
from lifecycle.modeling import artifacts, features


def test_category_normaliser_strips_folds_case_and_maps_aliases_keeping_missing():
    normaliser = features.CategoryNormaliser("lower", True, {"n.y.": "new york"})
    frame = pd.DataFrame({"city": ["  New  York ", "N.Y.", "boston", None]})

    out = normaliser.fit(frame).transform(frame)

    assert out["city"].tolist()[:3] == ["new york", "new york", "boston"]
    assert pd.isna(out["city"].iloc[3])
    assert normaliser.count_changed(frame) == {"city": 2}


@pytest.mark.parametrize("text", [object, "str", "string"])
def test_each_distinct_category_normalised_once_is_each_row_normalised(text):
    values = {"city": [" N.Y.", "boston", None, "Boston ", "", "n.y.", np.nan, "boston", "\u00a0"],
              "blank": ["", None, " ", "", np.nan, "\t", None, "", ""]}  # missing once cleaned
    frame = pd.DataFrame({name: pd.Series(column, dtype=text, index=range(9, 0, -1))
                          for name, column in values.items()})
    aliases = {"n.y.": "new york"}

    out = cleaning.normalised_categories(frame, True, "lower", aliases)

    expected = frame["city"].map(
        lambda value: cleaning.normalised_category(value, True, "lower", aliases))
    pd.testing.assert_series_equal(out["city"], expected, check_exact=True)  # and its dtype
    assert out["city"].iloc[:2].tolist() == ["new york", "boston"]
    # All missing once cleaned, and still not numbers: the encoders fitted on text take it.
    assert out["blank"].isna().all() and not pd.api.types.is_numeric_dtype(out["blank"])


def test_outlier_fences_are_learned_on_train_and_clip_or_flag_new_rows():
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0]})  # Q1 2, Q3 4: fences 0 and 6
    new = pd.DataFrame({"x": [-10.0, 3.0, 100.0, np.nan]})

    clipped = features.OutlierFences("clip", 1.0).fit(train).transform(new)
    flagged = features.OutlierFences("flag", 1.0).fit(train).transform(new)

    assert clipped["x"].tolist()[:3] == [0.0, 3.0, 6.0] and np.isnan(clipped["x"].iloc[3])
    assert flagged["x_outlier"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert flagged["x"].tolist()[:3] == [-10.0, 3.0, 100.0]


def test_the_transformer_with_cleaning_survives_a_skops_round_trip(tmp_path):
    cleaning = {"outliers": "flag", "outlier_iqr_factor": 3.0, "category_case": "lower",
                "strip_whitespace": True, "category_aliases": {}}
    transformer = features.build_transformer(
        ["x"], ["city"], None, [], "median", 1, cleaning, impute_categorical="most_frequent")
    train = pd.DataFrame({"x": [1.0, 2.0, None, 50.0], "city": ["A", " a", None, "b"]})
    expected = transformer.fit_transform(train)

    artifacts.save_model(transformer, tmp_path / "t.skops")
    loaded = artifacts.load_model(tmp_path / "t.skops")

    pd.testing.assert_frame_equal(loaded.transform(train), expected)
    assert expected["city"].nunique() == 2  # "A" and " a" are one category; missing imputed


# --- the rules themselves (core.cleaning), which the data-quality report applies too ---------


def test_the_fences_skip_missing_values_and_a_column_with_none_leaves_values_alone():
    values = cleaning.float_values(pd.DataFrame({
        "x": pd.array([1, 2, 3, 4, 5, None], dtype="Int64"), "empty": [np.nan] * 6}))

    lower, upper = cleaning.iqr_fences(values, 1.0)

    assert values.dtype == np.float64 and lower[0] == 0.0 and upper[0] == 6.0
    assert np.isnan(lower[1]) and np.isnan(upper[1])
    beyond = cleaning.beyond_fences(np.array([[7.0, 1.0], [np.nan, 2.0]]), lower, upper)
    assert beyond.tolist() == [[True, False], [False, False]]


def test_the_report_counts_what_the_pipeline_normaliser_changes_by_the_same_rule():
    frame = pd.DataFrame({"city": ["  New  York ", "N.Y.", "boston", None, " "]})
    aliases = {"n.y.": "new york"}

    normalised = cleaning.normalised_categories(frame, True, "lower", aliases)
    pipeline = features.CategoryNormaliser("lower", True, aliases).fit(frame).transform(frame)

    pd.testing.assert_frame_equal(normalised, pipeline)
    assert cleaning.changed_counts(frame, normalised) == {"city": 3}  # the blank one: missing
    assert cleaning.normalised_category(3, True, "upper", None) == 3  # numbers stay
