
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from lifecycle.modeling import artifacts, features

COLUMNS = dict(numeric=["distance"], categorical=["carrier"], datetime="departure",
               age_from_year=["plane_year"])


def frame(carriers: list, distances: list, years: list) -> pd.DataFrame:
    return pd.DataFrame({
        "departure": pd.to_datetime(["2013-03-04 05:30"] * len(carriers)),
        "plane_year": years, "distance": distances, "carrier": carriers,
    })


def test_calendar_features_give_hour_day_of_week_month_and_plane_age():
    calendar = features.CalendarFeatures("departure", ("plane_year",))
    data = frame(["UA"], [100.0], [2004.0])

    out = calendar.fit(data[["departure", "plane_year"]]).transform(data)

    assert out.iloc[0].to_dict() == {"departure_hour": 5.0, "departure_day_of_week": 0.0,
                                     "departure_month": 3.0, "plane_age": 9.0}
    assert list(calendar.get_feature_names_out()) == list(out.columns)


def test_transformer_is_fitted_on_train_only_and_handles_unseen_and_missing_values():
    train = frame(["UA"] * 30 + ["AA"] * 30, [100.0] * 30 + [300.0] * 29 + [np.nan],
                  [2000.0] * 60)
    transformer = features.build_transformer(**COLUMNS, impute_numeric="median",
                                             min_category_count=5)
    transformer.fit(train)
    new = frame(["UA", "ZZ", None], [np.nan, 50.0, 100.0], [np.nan, 2010.0, 2000.0])

    out = transformer.transform(new)

    assert out["distance"].tolist() == [100.0, 50.0, 100.0]  # median learned on train
    assert out["missingindicator_distance"].tolist() == [1.0, 0.0, 0.0]
    # Unseen and missing categories become -1, which the model treats as missing.
    assert out["carrier"].tolist()[1:] == [-1.0, -1.0]
    assert out["carrier"].iloc[0] >= 0
    assert out["plane_age"].tolist() == [13.0, 3.0, 13.0]  # imputed from train's median age
    assert features.categorical_output_columns(transformer) == ["carrier"]


def test_rare_categories_are_grouped():
    train = frame(["UA"] * 30 + ["AA"] * 30 + ["X1", "X2"], [1.0] * 62, [2000.0] * 62)
    transformer = features.build_transformer(**COLUMNS, impute_numeric="median",
                                             min_category_count=5).fit(train)

    codes = transformer.transform(train)["carrier"]

    assert codes.nunique() == 3  # AA, UA and one "infrequent" level
    assert codes.iloc[-1] == codes.iloc[-2]


@pytest.mark.parametrize("outliers, numeric_reads", [
    # Fences before the imputer: the numeric branch reads its columns together.
    ("clip", [["distance", "wind", "gaps", "seats"]]),
    # Median imputation alone: from each column's median, one column at a time.
    ("none", [["distance"], ["wind"], ["gaps"], ["seats"]]),
])
def test_fitting_branch_by_branch_gives_the_transformer_a_whole_fit_gives(
        tmp_path, outliers, numeric_reads):
    # The first rows, which lay out the output, have no missing value, no rare category and no
    # outlier: the branches fitted on every row must decide the columns all the same. An even
    # count of rows puts each median between two values; "gaps" has no value at all.
    rows = 200
    train = frame(["UA"] * 150 + ["AA"] * 45 + ["Q", "Q", "R", None, " ua"],
                  [100.0 + row for row in range(rows - 2)] + [np.nan, 90_000.0],
                  [2000.0] * (rows - 1) + [np.nan])
    train["wind"] = [np.nan if row % 7 == 6 else float(row % 13) for row in range(rows)]
    train["gaps"] = np.nan
    train["seats"] = np.arange(rows) % 17 * 11
    numeric = ["distance", "wind", "gaps", "seats"]
    settings = dict(numeric=numeric, categorical=["carrier"],
                    datetime="departure", age_from_year=["plane_year"],
                    impute_numeric="median", min_category_count=5,
                    cleaning={"outliers": outliers, "outlier_iqr_factor": 3.0,
                              "category_case": "upper", "strip_whitespace": True,
                              "category_aliases": {}})
    whole = features.build_transformer(**settings).fit(train)
    read = []

    def read_columns(columns: list[str]) -> pd.DataFrame:
        read.append(columns)
        return train[columns]

    by_branch = features.fit_by_branch(features.build_transformer(**settings), read_columns,
                                       train.head(5))

    assert read == [["departure", "plane_year"], *numeric_reads, ["carrier"]]
    pd.testing.assert_frame_equal(by_branch.transform(train), whole.transform(train))
    assert "gaps" not in by_branch.transform(train)
    assert by_branch.transform(train)["missingindicator_wind"].sum() == rows // 7
    for name, model in (("whole", whole), ("by_branch", by_branch)):
        artifacts.save_model(model, tmp_path / f"{name}.skops")
    assert (tmp_path / "whole.skops").read_bytes() == (tmp_path / "by_branch.skops").read_bytes()
    assert [type(step).__name__ for _, step, _ in by_branch.transformers] == ["Pipeline"] * 3


def test_a_median_branch_over_float32_and_float64_columns_is_fitted_on_them_together():
    # Together, the float32 column's median is computed in float64: no per-column summary.
    train = pd.DataFrame({"narrow": np.arange(10, dtype=np.float32) / 3,
                          "wide": np.arange(10, dtype=np.float64) / 7})
    branch = features.build_transformer(["narrow", "wide"], [], None, [], "median", 5)
    read = []

    def read_columns(columns: list[str]) -> pd.DataFrame:
        read.append(columns)
        return train[columns]

    fitted = features.fit_branch(branch.transformers[0][1], ["narrow", "wide"], read_columns)

    assert read[-1] == ["narrow", "wide"]
    whole = clone(branch.transformers[0][1]).fit(train)
    np.testing.assert_array_equal(fitted[0].statistics_, whole[0].statistics_)
