"""Feature engineering as scikit-learn transformers, fitted on the training split only.

The fitted transformer becomes the first step of the deployable model, so training, batch
scoring and the API transform rows the same way.
"""

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

# Histogram gradient boosting handles at most 255 bins per categorical feature; rarer levels
# beyond this many are grouped as "infrequent".
MAX_CATEGORIES = 250
CALENDAR_PARTS = ("hour", "day_of_week", "month")


class CalendarFeatures(TransformerMixin, BaseEstimator):
    """Calendar parts of one datetime column, and ages in years of `*_year` columns.

    `plane_year` becomes `plane_age`: the year of the datetime column minus the plane's year.
    """

    def __init__(self, datetime_column: str | None = None, age_from_year: tuple = ()):
        self.datetime_column = datetime_column
        self.age_from_year = age_from_year

    def fit(self, X: pd.DataFrame, y: object = None) -> "CalendarFeatures":
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        moment = pd.to_datetime(X[self.datetime_column], errors="coerce")
        parts = {
            f"{self.datetime_column}_hour": moment.dt.hour,
            f"{self.datetime_column}_day_of_week": moment.dt.day_of_week,
            f"{self.datetime_column}_month": moment.dt.month,
        }
        for column in self.age_from_year:
            year = pd.to_numeric(X[column], errors="coerce")
            parts[age_column_name(column)] = moment.dt.year - year
        return pd.DataFrame(parts, index=X.index).astype("float64")

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        names = [f"{self.datetime_column}_{part}" for part in CALENDAR_PARTS]
        names += [age_column_name(column) for column in self.age_from_year]
        return np.asarray(names, dtype=object)


class CategoryNormaliser(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Make spellings of one category agree: strip whitespace, fold case, map aliases.

    Applied before the encoder, in the model pipeline, so new rows are normalised the same way.
    Only string values change; missing values stay missing.
    """

    def __init__(self, case: str = "keep", strip_whitespace: bool = True,
                 aliases: dict | None = None):
        self.case = case
        self.strip_whitespace = strip_whitespace
        self.aliases = aliases

    def fit(self, X: pd.DataFrame, y: object = None) -> "CategoryNormaliser":
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({name: X[name].map(self._normalise) for name in X.columns},
                            index=X.index)

    def _normalise(self, value: object) -> object:
        if not isinstance(value, str):
            return value
        if self.strip_whitespace:
            value = " ".join(value.split())
        value = {"lower": str.lower, "upper": str.upper}.get(self.case, str)(value)
        return (self.aliases or {}).get(value, value)

    def count_changed(self, X: pd.DataFrame) -> dict[str, int]:
        """Values per column that normalisation rewrites, for the data-quality report."""
        out = self.transform(X)
        return {name: int((X[name].notna() & (X[name].astype(object) != out[name])).sum())
                for name in X.columns}


class OutlierFences(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Clip (or flag) numeric values beyond fences learned on train: Q1 - k*IQR, Q3 + k*IQR.

    With `mode="flag"` the values are kept and a 0/1 column `<name>_outlier` is added.
    """

    def __init__(self, mode: str = "clip", factor: float = 3.0):
        self.mode = mode
        self.factor = factor

    def fit(self, X: pd.DataFrame, y: object = None) -> "OutlierFences":
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        low, high = X.quantile(0.25), X.quantile(0.75)
        spread = (high - low) * self.factor
        self.lower_ = (low - spread).to_numpy(dtype=float)
        self.upper_ = (high + spread).to_numpy(dtype=float)
        return self

    def outside(self, X: pd.DataFrame) -> pd.DataFrame:
        values = X.astype("float64")
        return (values < self.lower_) | (values > self.upper_)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        values = X.astype("float64")
        if self.mode == "flag":
            flags = self.outside(X).astype("float64").add_suffix("_outlier")
            return pd.concat([values, flags], axis=1)
        return values.clip(self.lower_, self.upper_, axis=1)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        names = list(self.feature_names_in_)
        if self.mode == "flag":
            names += [f"{name}_outlier" for name in names]
        return np.asarray(names, dtype=object)


def age_column_name(year_column: str) -> str:
    return f"{year_column.removesuffix('_year')}_age"


def input_columns(numeric: list[str], categorical: list[str], datetime: str | None,
                  age_from_year: list[str]) -> list[str]:
    """The raw columns the feature transformer consumes, in a stable order."""
    calendar = [datetime, *age_from_year] if datetime else []
    return list(dict.fromkeys([*calendar, *numeric, *categorical]))


def build_transformer(numeric: list[str], categorical: list[str], datetime: str | None,
                      age_from_year: list[str], impute_numeric: str,
                      min_category_count: int, cleaning: dict | None = None,
                      impute_categorical: str = "missing_level") -> ColumnTransformer:
    """Numeric imputation with missing indicators, calendar parts and ordinal categories.

    `cleaning` (params.yaml `cleaning:`) adds outlier fences before numeric imputation and
    category normalisation before the encoder; all are fitted on train with the rest.
    """
    cleaning = cleaning or {}
    numeric_steps = [("impute", SimpleImputer(strategy=impute_numeric, add_indicator=True))]
    outlier_steps = []
    if cleaning.get("outliers", "none") != "none":
        fences = OutlierFences(cleaning["outliers"], cleaning["outlier_iqr_factor"])
        outlier_steps = [("outliers", fences)]
    parts = []
    if datetime:
        calendar = Pipeline([
            ("calendar", CalendarFeatures(datetime, tuple(age_from_year))),
            *numeric_steps,
        ])
        parts.append(("calendar", calendar, [datetime, *age_from_year]))
    if numeric:
        parts.append(("numeric", Pipeline([*outlier_steps, *numeric_steps]), numeric))
    if categorical:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=-1,
            encoded_missing_value=-1,
            min_frequency=min_category_count,
            max_categories=MAX_CATEGORIES,
            dtype=np.float64,
        )
        steps = []
        if cleaning:
            steps.append(("normalise", category_normaliser(cleaning)))
        if impute_categorical == "most_frequent":
            steps.append(("impute", SimpleImputer(strategy="most_frequent")))
        categorical_step = Pipeline([*steps, ("encode", encoder)]) if steps else encoder
        parts.append(("categorical", categorical_step, categorical))
    transformer = ColumnTransformer(parts, verbose_feature_names_out=False)
    return transformer.set_output(transform="pandas")


def category_normaliser(cleaning: dict) -> CategoryNormaliser:
    return CategoryNormaliser(cleaning["category_case"], cleaning["strip_whitespace"],
                              dict(cleaning["category_aliases"]))


def categorical_output_columns(transformer: ColumnTransformer) -> list[str]:
    """Names of the encoded categorical columns in the transformer's output."""
    for name, _, columns in transformer.transformers_:
        if name == "categorical":
            return list(columns)
    return []
