"""Feature engineering as scikit-learn transformers, fitted on the training split only.

The fitted transformer becomes the first step of the deployable model, so training, batch
scoring and the API transform rows the same way.
"""

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
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


def age_column_name(year_column: str) -> str:
    return f"{year_column.removesuffix('_year')}_age"


def input_columns(numeric: list[str], categorical: list[str], datetime: str | None,
                  age_from_year: list[str]) -> list[str]:
    """The raw columns the feature transformer consumes, in a stable order."""
    calendar = [datetime, *age_from_year] if datetime else []
    return list(dict.fromkeys([*calendar, *numeric, *categorical]))


def build_transformer(numeric: list[str], categorical: list[str], datetime: str | None,
                      age_from_year: list[str], impute_numeric: str,
                      min_category_count: int) -> ColumnTransformer:
    """Numeric imputation with missing indicators, calendar parts and ordinal categories."""
    numeric_steps = [("impute", SimpleImputer(strategy=impute_numeric, add_indicator=True))]
    parts = []
    if datetime:
        calendar = Pipeline([
            ("calendar", CalendarFeatures(datetime, tuple(age_from_year))),
            *numeric_steps,
        ])
        parts.append(("calendar", calendar, [datetime, *age_from_year]))
    if numeric:
        parts.append(("numeric", Pipeline(numeric_steps), numeric))
    if categorical:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=-1,
            encoded_missing_value=-1,
            min_frequency=min_category_count,
            max_categories=MAX_CATEGORIES,
            dtype=np.float64,
        )
        parts.append(("categorical", encoder, categorical))
    transformer = ColumnTransformer(parts, verbose_feature_names_out=False)
    return transformer.set_output(transform="pandas")


def categorical_output_columns(transformer: ColumnTransformer) -> list[str]:
    """Names of the encoded categorical columns in the transformer's output."""
    for name, _, columns in transformer.transformers_:
        if name == "categorical":
            return list(columns)
    return []
