"""prepare on pandas in memory: a raw table in, the splits, the data-quality report and the
warnings out; and the checks of the columns it is given."""

import numpy as np
import pandas as pd
import pytest
import yaml

from lifecycle import config
from lifecycle.config import contract
from lifecycle.core.errors import ParamsError
from lifecycle.data import prepare

from ..conftest import example_file

RULES = contract.parse({"keys": ["id"], "columns": {
    "id": {"type": "categorical", "role": "identifier"},
    "city": {"type": "categorical", "role": "feature"},
    "x": {"type": "numeric", "role": "feature", "min": 0, "max": 100},
    "late": {"type": "numeric", "role": "target"},
}})


def params(**edits: object) -> config.Params:
    """The example's params for RULES' table: a random split, no calendar features."""
    raw = yaml.safe_load(example_file("params.yaml").read_text())
    raw["problem"].update(target="late")
    raw["split"].update(method="random", time_column=None, test_start=None, current_start=None,
                        test_fraction=0.25, current_fraction=0.0)
    raw["features"].update(datetime=None, age_from_year=[], min_category_count=2)
    for dotted, value in edits.items():
        section, key = dotted.split("__")
        raw[section][key] = value
    return config.parse(raw)


def raw_table(rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    table = pd.DataFrame({
        "id": [f"r{i}" for i in range(rows)],
        "city": rng.choice(["Oslo", " oslo ", "Rome"], rows),
        "x": rng.uniform(0, 100, rows).round(1),
        "late": rng.integers(0, 2, rows).astype(float),
    })
    table.loc[3, "late"] = np.nan       # no target: dropped
    table.loc[4, "x"] = 500.0           # out of range: dropped (validation.out_of_range drop)
    return pd.concat([table, table.iloc[[10, 11]]], ignore_index=True)  # two exact duplicates


def prepared(**edits: object) -> tuple[dict, dict, list[str]]:
    settings = params(**edits)
    return prepare.prepare(raw_table(), settings, RULES, ["city", "x"],
                           ["city", "x", "id", "late"], ["x"], ["city"])


def test_prepare_curates_splits_and_profiles_a_table_in_memory():
    parts, report, warnings = prepared()

    assert warnings == []
    assert set(parts) == {"train", "test", "current"} and parts["current"].empty
    assert sum(len(frame) for frame in parts.values()) == report["rows_out"] == 200 - 2
    assert list(parts["train"].columns) == ["city", "x", "id", "late"]
    assert report["rows_in"] == 202
    assert report["rows_dropped"]["missing_target"] == 1
    assert report["rows_dropped"]["duplicate_row"] == 2
    assert report["rows_dropped"]["out_of_range:x"] == 1
    assert report["decisions"]["duplicate_row"]["policy"] == "drop"
    # the model pipeline strips the whitespace of " oslo ", and keeps its case
    assert report["cleaning"]["categories_normalised_by_split"]["train"]["city"] > 0
    assert report["splits"]["test"]["rows"] == len(parts["test"])


def test_the_same_table_gives_the_same_splits():
    first, second = prepared()[0], prepared()[0]

    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name])


def test_duplicate_rows_kept_under_warn_are_counted_in_a_warning():
    report, warnings = prepared(validation__duplicate_row="warn")[1:]

    # kept as rows, but they repeat the key column too, which curation never keeps
    assert report["rows_dropped"]["duplicate_row"] == 0
    assert report["rows_dropped"]["duplicate_key"] == 2
    assert any("repeat an earlier row" in warning for warning in warnings)


def test_outlier_fences_and_case_folding_are_summarised_as_the_pipeline_will_apply_them():
    report = prepared(cleaning__outliers="clip", cleaning__category_case="lower")[1]

    low, high = report["cleaning"]["outlier_fences"]["x"]
    assert low < 0 < 100 < high  # uniform values: no fence cuts them
    assert report["cleaning"]["outliers_by_split"]["train"] == {"x": 0}
    changed = report["cleaning"]["categories_normalised_by_split"]
    assert changed["train"]["city"] > prepared()[1]["cleaning"][
        "categories_normalised_by_split"]["train"]["city"]  # "Oslo" and "Rome" too, now


def test_the_target_and_leakage_columns_may_not_be_inputs():
    with pytest.raises(ParamsError, match="features: id, late may not be features"):
        prepare.check_no_leakage(["x", "id", "late"], "late", ["id"])
    prepare.check_no_leakage(["x", "city"], "late", ["id"])


def test_the_contracts_target_must_be_the_params_target_and_numeric_for_regression():
    with pytest.raises(ParamsError, match=r"role target is 'late' but params\.yaml"):
        prepare.check_contract_target(RULES, "x", "binary")
    categorical = contract.parse({"columns": {"y": {"type": "categorical", "role": "target"}}})
    with pytest.raises(ParamsError, match="regression needs a numeric target"):
        prepare.check_contract_target(categorical, "y", "regression")


def test_an_infinite_input_is_refused_before_it_reaches_the_model():
    table = pd.DataFrame({"x": [1.0, np.inf], "late": [0, 1]})

    with pytest.raises(Exception, match="x"):
        prepare.check_finite_inputs(table, ["x"], "late", "binary")
    prepare.check_finite_inputs(table, [], "late", "binary")  # not an input: not checked
