"""The custom transformers follow scikit-learn's conventions, and their fitted state stays as is.

Fitted transformers are saved inside the model with skops, which stores every instance attribute:
a new or differently stored attribute changes the bytes of every model file, so the attribute
lists below are fixed on purpose.
"""


import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from lifecycle.modeling import features

# Every check below hands CalendarFeatures a NumPy array (or something array-like but not a
# DataFrame). It reads the datetime and year columns by name, so it refuses such input with a
# TypeError before the property a check is about could be looked at. The same properties are
# tested on DataFrames in this file.
NEEDS_NAMED_COLUMNS = ("fits on a NumPy array; CalendarFeatures reads columns by name from a "
                       "DataFrame")
CALENDAR_EXPECTED_FAILURES = {
    name: NEEDS_NAMED_COLUMNS
    for name in [
        "check_dict_unchanged",
        "check_dont_overwrite_parameters",
        "check_dtype_object",
        "check_estimators_dtypes",
        "check_estimators_fit_returns_self",
        "check_estimators_overwrite_params",
        "check_estimators_pickle",
        "check_f_contiguous_array_estimator",
        "check_fit2d_1feature",
        "check_fit2d_1sample",
        "check_fit2d_predict1d",
        "check_fit_check_is_fitted",
        "check_fit_idempotent",
        "check_fit_score_takes_y",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_n_features_in",
        "check_n_features_in_after_fitting",
        "check_pipeline_consistency",
        "check_readonly_memmap_input",
        "check_transformer_general",
        "check_transformer_preserve_dtypes",
    ]
} | {
    "check_transformer_data_not_an_array": "fits on an array-like that is not a DataFrame, "
                                           "which CalendarFeatures refuses (TypeError)",
    "check_positive_only_tag_during_fit": "wants fit on a negative NumPy array to succeed; "
                                          "it is refused for not being a DataFrame",
    "check_complex_data": "wants sklearn's ValueError for complex numbers; a NumPy array is "
                          "refused earlier with a TypeError for not being a DataFrame",
    "check_estimators_empty_data_messages": "wants a ValueError for an empty NumPy array; it is "
                                            "refused with a TypeError for not being a DataFrame",
    "check_fit1d": "wants a ValueError for a 1-D array; it is refused with a TypeError for not "
                   "being a DataFrame",
}
EXPECTED_FAILURES = {"CalendarFeatures": CALENDAR_EXPECTED_FAILURES}

ESTIMATORS = [
    features.OutlierFences(),
    features.OutlierFences(mode="flag", factor=1.5),
    features.CategoryNormaliser(),
    features.CategoryNormaliser("lower", False, {"n.y.": "new york"}),
    features.CalendarFeatures("departure", ("plane_year",)),
]


def expected_failures(estimator: object) -> dict[str, str]:
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


# xfail_strict: an expected failure that starts passing fails the test, so the list stays true.
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures, xfail_strict=True)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def departures() -> pd.DataFrame:
    return pd.DataFrame({
        "departure": pd.to_datetime(["2013-03-04 05:30", "2013-12-25 23:10", None, "bad"],
                                    errors="coerce"),
        "plane_year": [2004.0, np.nan, 1990.0, 2010.0],
    }, index=[10, 11, 12, 13])


BAD_PARAMETERS = [
    (features.OutlierFences(mode="flg"), "mode"),
    (features.OutlierFences(mode=None), "mode"),
    (features.OutlierFences(factor=0), "factor"),
    (features.OutlierFences(factor=-1.0), "factor"),
    (features.OutlierFences(factor="3"), "factor"),
    (features.OutlierFences(factor=np.nan), "factor"),
    (features.CategoryNormaliser(case="title"), "case"),
    (features.CategoryNormaliser(strip_whitespace="yes"), "strip_whitespace"),
    (features.CategoryNormaliser(aliases=[("a", "b")]), "aliases"),
    (features.CategoryNormaliser(aliases={"a": 1}), "aliases"),
    (features.CategoryNormaliser(aliases={1: "a"}), "aliases"),
    (features.CalendarFeatures(), "datetime_column"),
    (features.CalendarFeatures(3, ("plane_year",)), "datetime_column"),
    (features.CalendarFeatures("departure", "plane_year"), "age_from_year"),
    (features.CalendarFeatures("departure", (2004,)), "age_from_year"),
]


@pytest.mark.parametrize(("estimator", "parameter"), BAD_PARAMETERS,
                         ids=[f"{type(e).__name__}-{p}" for e, p in BAD_PARAMETERS])
def test_fit_refuses_a_bad_parameter_naming_it(estimator, parameter):
    with pytest.raises(InvalidParameterError, match=f"'{parameter}' parameter"):
        estimator.fit(departures())


def test_a_bad_parameter_is_a_value_error():
    with pytest.raises(ValueError, match="'mode' parameter of OutlierFences"):
        features.OutlierFences(mode="flg").fit(pd.DataFrame({"x": [1.0, 2.0]}))


@pytest.mark.parametrize("estimator", [features.OutlierFences(), features.CategoryNormaliser(),
                                       features.CalendarFeatures("departure", ("plane_year",))],
                         ids=lambda estimator: type(estimator).__name__)
def test_transform_before_fit_is_not_fitted_error(estimator):
    with pytest.raises(NotFittedError):
        estimator.transform(departures())


def test_outliers_before_fit_is_not_fitted_error():
    with pytest.raises(NotFittedError):
        features.OutlierFences().outside(pd.DataFrame({"x": [1.0]}))


def test_outlier_fences_give_a_frame_for_a_frame_and_an_array_for_an_array():
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [1, 1, 1, 1, 1]})
    new = pd.DataFrame({"x": [-10.0, np.nan, 100.0], "y": [0, 1, 2]}, index=[7, 8, 9])
    fences = features.OutlierFences("flag", 1.0).fit(train)

    frame = fences.transform(new)
    array = features.OutlierFences("flag", 1.0).fit(train.to_numpy()).transform(new.to_numpy())

    assert list(frame.columns) == ["x", "y", "x_outlier", "y_outlier"]
    assert list(frame.index) == [7, 8, 9]
    np.testing.assert_array_equal(frame.to_numpy(), array)
    assert fences.outside(new).to_numpy().tolist() == [[True, True], [False, False],
                                                        [True, True]]


def test_outlier_fences_clip_infinite_values_as_they_always_have():
    fences = features.OutlierFences(factor=1.0).fit(pd.DataFrame({"x": [1.0, 2.0, 3.0]}))

    assert fences.transform(pd.DataFrame({"x": [np.inf, -np.inf]}))["x"].tolist() == [3.5, 0.5]


def test_outlier_fences_learned_on_an_all_missing_column_leave_it_alone():
    fences = features.OutlierFences(factor=1.0).fit(pd.DataFrame({"x": [np.nan, np.nan]}))

    assert fences.transform(pd.DataFrame({"x": [-1e9, np.nan]}))["x"].tolist()[0] == -1e9


def test_category_normaliser_on_an_array_changes_text_only():
    values = np.array([[" N.Y. ", 1.5], [None, "boston"]], dtype=object)
    normaliser = features.CategoryNormaliser("lower", True, {"n.y.": "new york"}).fit(values)

    out = normaliser.transform(values)

    assert out.tolist() == [["new york", 1.5], [None, "boston"]]
    assert values[0, 0] == " N.Y. "  # the input is left as it was


def test_calendar_features_refuse_input_without_named_columns():
    calendar = features.CalendarFeatures("departure", ("plane_year",))

    with pytest.raises(TypeError, match="needs a pandas DataFrame"):
        calendar.fit(departures().to_numpy())
    with pytest.raises(ValueError, match="no column plane_year"):
        calendar.fit(departures()[["departure"]])


def test_calendar_features_behave_as_an_estimator_on_frames():
    """What the estimator checks expected to fail above would check, on a DataFrame."""
    calendar = features.CalendarFeatures("departure", ("plane_year",))
    params = calendar.get_params()
    data = departures()

    assert calendar.fit(data) is calendar
    assert calendar.get_params() == params
    fitted_state = dict(vars(calendar))
    out = calendar.transform(data)

    assert list(out.columns) == list(calendar.get_feature_names_out())
    assert list(out.index) == list(data.index) and (out.dtypes == "float64").all()
    assert out["plane_age"].tolist()[:1] == [9.0] and out.iloc[3].isna().all()
    assert vars(calendar).keys() == fitted_state.keys()  # transform keeps the fitted state
    reordered = calendar.transform(data.iloc[::-1])
    pd.testing.assert_frame_equal(reordered, out.iloc[::-1])
    pd.testing.assert_frame_equal(clone(calendar).fit(data).transform(data), out)
    saved = skops.io.dumps(calendar)  # as the model file stores it
    restored = skops.io.loads(saved, trusted=skops.io.get_untrusted_types(data=saved))
    pd.testing.assert_frame_equal(restored.transform(data), out)


# For the configurations the default pipeline uses (OutlierFences is off by default but saved
# the same way when on): the attributes skops writes, in the order it writes them.
FITTED_ATTRIBUTES = [
    (features.CalendarFeatures("scheduled_departure", ("plane_year",)),
     ["scheduled_departure", "plane_year"],
     ["datetime_column", "age_from_year", "feature_names_in_", "n_features_in_"]),
    (features.CategoryNormaliser("keep", True, {}), ["carrier"],
     ["case", "strip_whitespace", "aliases", "feature_names_in_", "n_features_in_"]),
    (features.OutlierFences("clip", 3.0), ["distance", "air_time"],
     ["mode", "factor", "feature_names_in_", "n_features_in_", "lower_", "upper_"]),
]


@pytest.mark.parametrize(("estimator", "columns", "attributes"), FITTED_ATTRIBUTES,
                         ids=[type(estimator).__name__ for estimator, _, _ in FITTED_ATTRIBUTES])
def test_fitted_state_is_the_one_model_files_were_saved_with(estimator, columns, attributes):
    train = pd.DataFrame({
        "scheduled_departure": pd.to_datetime(["2013-03-04 05:30", "2013-07-01 17:05"]),
        "plane_year": [2004.0, np.nan], "carrier": [" UA", None],
        "distance": [100.0, 2500.0], "air_time": [1, 300],
    })[columns]

    fitted = estimator.fit(train)

    assert list(vars(fitted)) == attributes
    assert isinstance(fitted.n_features_in_, int)
    assert fitted.feature_names_in_.dtype == object
    assert list(fitted.feature_names_in_) == columns
