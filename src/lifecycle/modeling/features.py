"""Feature engineering as scikit-learn transformers, fitted on the training split only.

The fitted transformer becomes the first step of the deployable model, so training, batch
scoring and the API transform rows the same way.
"""

from collections.abc import Callable
from numbers import Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils import Tags
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from lifecycle.config.contract import input_columns
from lifecycle.core import cleaning, extensions
from lifecycle.core.errors import LifecycleError

# Histogram gradient boosting handles at most 255 bins per categorical feature; rarer levels
# beyond this many are grouped as "infrequent".
MAX_CATEGORIES = 250
CALENDAR_PARTS = ("hour", "day_of_week", "month")


class CalendarFeatures(TransformerMixin, BaseEstimator):
    """Calendar parts of one datetime column, and ages in years of `*_year` columns.

    `plane_year` becomes `plane_age`: the year of the datetime column minus the plane's year.
    Columns are found by name, so X must be a pandas DataFrame.
    """

    _parameter_constraints: ClassVar[dict] = {
        "datetime_column": [str],
        "age_from_year": [tuple, list],
    }

    def __init__(self, datetime_column: str | None = None, age_from_year: tuple = ()):
        self.datetime_column = datetime_column
        self.age_from_year = age_from_year

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True  # datetimes may arrive as text; unparsable ones are NaN
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X: pd.DataFrame, y: object = None) -> "CalendarFeatures":
        self._validate_params()
        require_items_of_type(self, "age_from_year", str, "a tuple or list of column names")
        require_frame(self, X)
        require_columns(self, X, [self.datetime_column, *self.age_from_year])
        validate_data(self, X, skip_check_array=True)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        require_frame(self, X)
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
        check_is_fitted(self)
        names = [f"{self.datetime_column}_{part}" for part in CALENDAR_PARTS]
        names += [age_column_name(column) for column in self.age_from_year]
        return np.asarray(names, dtype=object)


class CategoryNormaliser(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Make spellings of one category agree: strip whitespace, fold case, map aliases.

    Applied before the encoder, in the model pipeline, so new rows are normalised the same way.
    Only string values change; missing values and numbers stay as they are, and a value left
    empty is missing (the ONNX file receives a missing category as "", so an empty category of
    its own would score differently there). Takes a DataFrame (and returns one) or a 2-D array.
    """

    _parameter_constraints: ClassVar[dict] = {
        "case": [StrOptions({"keep", "lower", "upper"})],
        "strip_whitespace": ["boolean"],
        "aliases": [dict, None],
    }

    def __init__(self, case: str = "keep", strip_whitespace: bool = True,
                 aliases: dict | None = None):
        self.case = case
        self.strip_whitespace = strip_whitespace
        self.aliases = aliases

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X: pd.DataFrame, y: object = None) -> "CategoryNormaliser":
        self._validate_params()
        require_text_mapping(self, "aliases")
        validate_data(self, frame_or_checked_array(X), skip_check_array=True)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self)
        X = frame_or_checked_array(X)
        validate_data(self, X, reset=False, skip_check_array=True)
        if not isinstance(X, pd.DataFrame):
            return self._normalise_array(X)
        return cleaning.normalised_categories(X, self.strip_whitespace, self.case, self.aliases)

    def _normalise_array(self, values: np.ndarray) -> np.ndarray:
        if values.dtype.kind not in "OU":  # no text in it: nothing to normalise
            return values.copy()
        return np.frompyfunc(self._normalise, 1, 1)(values)

    def _normalise(self, value: object) -> object:
        return cleaning.normalised_category(value, self.strip_whitespace, self.case, self.aliases)

    def count_changed(self, X: pd.DataFrame) -> dict[str, int]:
        """Values per column that normalisation rewrites."""
        return cleaning.changed_counts(X, self.transform(X))


class OutlierFences(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Clip (or flag) numeric values beyond fences learned on train: Q1 - k*IQR, Q3 + k*IQR.

    With `mode="flag"` the values are kept and a 0/1 column `<name>_outlier` is added. Missing
    values stay missing and are never outliers. A DataFrame in gives a DataFrame out.
    """

    _parameter_constraints: ClassVar[dict] = {
        "mode": [StrOptions({"clip", "flag"})],
        "factor": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, mode: str = "clip", factor: float = 3.0):
        self.mode = mode
        self.factor = factor

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X: pd.DataFrame, y: object = None) -> "OutlierFences":
        self._validate_params()
        # Infinite values are allowed: they are the outliers clipping is for.
        values = validate_data(self, X, dtype=np.float64, ensure_all_finite=False)
        self.lower_, self.upper_ = cleaning.iqr_fences(values, self.factor)
        return self

    def outside(self, X: pd.DataFrame) -> pd.DataFrame:
        """True where a value lies beyond its column's fences."""
        beyond = self._beyond_fences(self._checked_values(X))
        if isinstance(X, pd.DataFrame):
            return pd.DataFrame(beyond, index=X.index, columns=X.columns)
        return beyond

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        values = self._checked_values(X)
        if self.mode == "flag":
            out = np.hstack([values, self._beyond_fences(values).astype(np.float64)])
        else:
            # Compared rather than np.clip: a fence learned on an all-missing column is NaN
            # and must leave values alone.
            out = np.where(values < self.lower_, self.lower_, values)
            out = np.where(out > self.upper_, self.upper_, out)
        if isinstance(X, pd.DataFrame):
            return pd.DataFrame(out, index=X.index, columns=self._output_names(X.columns))
        return out

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        names = super().get_feature_names_out(input_features)
        return np.asarray(self._output_names(names), dtype=object)

    def _checked_values(self, X: object) -> np.ndarray:
        check_is_fitted(self)
        # No rows is a valid batch to transform (an empty "current" split), not an error.
        return validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite=False,
                             ensure_min_samples=0)

    def _beyond_fences(self, values: np.ndarray) -> np.ndarray:
        return cleaning.beyond_fences(values, self.lower_, self.upper_)

    def _output_names(self, names: object) -> list:
        names = list(names)
        if self.mode == "flag":
            names += [f"{name}_outlier" for name in names]
        return names


def require_frame(estimator: BaseEstimator, X: object) -> None:
    """Refuse anything but a DataFrame: the estimator finds its columns by name."""
    if isinstance(X, pd.DataFrame):
        return
    # Said outright, as scikit-learn's own estimators do, so nobody tries to densify first.
    sparse = "; sparse input is not supported" if scipy.sparse.issparse(X) else ""
    raise TypeError(f"{type(estimator).__name__} needs a pandas DataFrame with named columns, "
                    f"got {type(X).__name__}{sparse}")


def require_columns(estimator: BaseEstimator, X: pd.DataFrame, columns: list[str]) -> None:
    missing = [column for column in columns if column not in X.columns]
    if missing:
        raise ValueError(f"{type(estimator).__name__}: X has no column {', '.join(missing)}")


def require_items_of_type(estimator: BaseEstimator, parameter: str, item_type: type,
                          expected: str) -> None:
    """The item check scikit-learn's container constraints (tuple, list) leave out."""
    items = getattr(estimator, parameter)
    if not all(isinstance(item, item_type) for item in items):
        raise InvalidParameterError(
            f"The {parameter!r} parameter of {type(estimator).__name__} must be {expected} "
            f"({item_type.__name__}). Got {items!r} instead.")


def require_text_mapping(estimator: BaseEstimator, parameter: str) -> None:
    """Categories are looked up by their text, so keys or values of other types never match."""
    mapping = getattr(estimator, parameter) or {}
    if not all(isinstance(key, str) and isinstance(value, str)
               for key, value in mapping.items()):
        raise InvalidParameterError(
            f"The {parameter!r} parameter of {type(estimator).__name__} must map text to text "
            f"(str to str), or be None. Got {mapping!r} instead.")


def frame_or_checked_array(X: object) -> object:
    """A DataFrame as it is; anything else as a 2-D array, refusing sparse and complex data."""
    if isinstance(X, pd.DataFrame):
        return X
    return check_array(X, dtype=None, ensure_all_finite=False)


def age_column_name(year_column: str) -> str:
    return f"{year_column.removesuffix('_year')}_age"


def build_transformer(numeric: list[str], categorical: list[str], datetime: str | None,
                      age_from_year: list[str], impute_numeric: str,
                      min_category_count: int, cleaning: dict | None = None,
                      impute_categorical: str = "missing_level",
                      own: dict[str, Any] | None = None) -> ColumnTransformer:
    """Numeric imputation with missing indicators, calendar parts and ordinal categories.

    `cleaning` (params.yaml `cleaning:`) adds outlier fences before numeric imputation and
    category normalisation before the encoder; all are fitted on train with the rest. `own`
    (`own_transformers`) are the project's: each takes every input column and its numeric
    output is imputed as the calendar parts are, then joins the features.
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
    inputs = input_columns(numeric, categorical, datetime, age_from_year)
    for name, step in (own or {}).items():
        parts.append((f"{OWN_PREFIX}{name}", Pipeline([("transform", step), *numeric_steps]),
                      inputs))
    transformer = ColumnTransformer(parts, verbose_feature_names_out=False)
    return transformer.set_output(transform="pandas")


def fit_by_branch(transformer: ColumnTransformer, read_columns: Callable[[list[str]], Any],
                  first_rows: pd.DataFrame) -> ColumnTransformer:
    """`transformer` fitted as `transformer.fit` would fit it on every training row, holding
    only one branch's columns at a time: each branch (numeric, categorical, ...) is fitted on
    its columns alone (`read_columns(columns)` gives every row of them), then the transformer
    lays out its output around the fitted branches on `first_rows`, a few rows of every input
    column. Memory grows with the widest branch, not with the whole table and its output."""
    fitted = {name: fit_branch(step, list(columns), read_columns)
              for name, step, columns in transformer.transformers}
    steps = dict((name, step) for name, step, _ in transformer.transformers)
    transformer.set_params(**{name: _Fitted(_Held(branch)) for name, branch in fitted.items()})
    try:
        transformer.fit(first_rows)
    finally:
        transformer.set_params(**steps)
    transformer.transformers_ = [(name, fitted.get(name, step), columns)
                                 for name, step, columns in transformer.transformers_]
    return transformer


def fit_branch(branch: Any, columns: list[str],
               read_columns: Callable[[list[str]], Any]) -> Any:
    """`branch` fitted on every row of `columns`. A branch that only imputes medians is fitted
    from its columns' medians and gaps, read one column at a time (`median_summary`): sorting
    every numeric column together for their medians takes several copies of them all."""
    imputer = branch.steps[0][1] if isinstance(branch, Pipeline) and len(branch) == 1 else None
    if _imputes_medians(imputer):
        summary = median_summary(imputer, columns, read_columns)
        if summary is not None:
            return clone(branch).fit(summary)
    return clone(branch).fit(read_columns(columns))


def _imputes_medians(step: Any) -> bool:
    missing = getattr(step, "missing_values", None)
    return (isinstance(step, SimpleImputer) and step.strategy == "median"
            and isinstance(missing, float) and np.isnan(missing))


def median_summary(imputer: SimpleImputer, columns: list[str],
                   read_columns: Callable[[list[str]], Any]) -> pd.DataFrame | None:
    """Two rows on which `imputer` fits as on every row of `columns`: each column's median
    (computed by the imputer on that column alone), then NaN where the column has a missing
    value and the median again where it has none. None when the columns' medians come in more
    than one dtype (float32 beside float64): imputing them together would compute in float64."""
    medians, gaps = {}, {}
    for column in columns:
        values = read_columns([column])
        medians[column] = clone(imputer).set_params(add_indicator=False).fit(values).statistics_
        gaps[column] = bool(values.isna().to_numpy().any())
    if len({median.dtype for median in medians.values()}) != 1:
        return None
    return pd.DataFrame({column: [median[0], np.nan if gaps[column] else median[0]]
                         for column, median in medians.items()},
                        dtype=next(iter(medians.values())).dtype)


class _Held:
    """A fitted branch that scikit-learn's clone copies whole (it is no estimator), fit included."""

    def __init__(self, branch: Any):
        self.branch = branch


class _Fitted(TransformerMixin, BaseEstimator):
    """A branch fitted already: the transformer fits it by transforming with it."""

    def __init__(self, held: _Held | None = None):
        self.held = held

    def fit(self, X: pd.DataFrame, y: object = None) -> "_Fitted":
        return self

    def transform(self, X: pd.DataFrame) -> Any:
        return self.held.branch.transform(X)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return self.held.branch.get_feature_names_out(input_features)


# The branch of the feature transformer that holds a project's own transformer.
OWN_PREFIX = "extension_"
# What the feature transformer calls on a step of a project's own.
TRANSFORMER_METHODS = ("fit", "transform", "get_feature_names_out", "set_output")


def own_transformers(specs: dict[str, str]) -> dict[str, Any]:
    """The project's own transformers, unfitted, from their factories' import paths (params.yaml
    extensions.transformers: name -> package.module:factory)."""
    built = {}
    for name, spec in specs.items():
        where = f"params.yaml: extensions.transformers.{name}"
        step = extensions.load(spec, where)()
        missing = [method for method in TRANSFORMER_METHODS
                   if not callable(getattr(step, method, None))]
        if missing:
            raise LifecycleError(f"{where}: {spec!r} returned a {type(step).__name__}, not a "
                                 f"scikit-learn transformer with named outputs (no "
                                 f"{', '.join(missing)}): subclass TransformerMixin and "
                                 f"BaseEstimator and define get_feature_names_out")
        built[name] = step
    return built


def category_normaliser(cleaning: dict) -> CategoryNormaliser:
    return CategoryNormaliser(cleaning["category_case"], cleaning["strip_whitespace"],
                              dict(cleaning["category_aliases"]))


def categorical_output_columns(transformer: ColumnTransformer) -> list[str]:
    """Names of the encoded categorical columns in the transformer's output."""
    for name, _, columns in transformer.transformers_:
        if name == "categorical":
            return list(columns)
    return []
