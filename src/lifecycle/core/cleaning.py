"""The value-cleaning rules in plain numpy and pandas: outlier fences and category spelling.

One definition for the model pipeline's transformers (`modeling.features.OutlierFences` and
`CategoryNormaliser`, fitted on train) and for the data-quality report, which says what they
will do to each split (`data.quality.cleaning_summary`); data and modeling do not import each
other, so the rules sit below both.
"""

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from lifecycle.core import spelling


def iqr_fences(values: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Per column of a 2-D float array: Q1 - factor*IQR and Q3 + factor*IQR, missing values
    skipped (a column with none present gets NaN fences, which leave every value alone)."""
    # pandas' quantile skips missing values without warning about all-missing columns.
    low, high = pd.DataFrame(values).quantile([0.25, 0.75]).to_numpy(dtype=float)
    spread = (high - low) * factor
    return low - spread, high + spread


def beyond_fences(values: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """True where a value lies beyond its column's fences; a missing value never does."""
    return (values < lower) | (values > upper)


def float_values(frame: pd.DataFrame) -> np.ndarray:
    """A frame's numeric columns as the float array the fences are learned on, missing as NaN."""
    return frame.to_numpy(dtype=np.float64, na_value=np.nan)


def normalised_category(value: object, strip_whitespace: bool, case: str,
                        aliases: Mapping[str, str] | None) -> object:
    """A category as the model sees it: text respelled (`spelling.respell`), empty text missing,
    then an alias replaced by its category; missing values and numbers stay as they are."""
    if not isinstance(value, str):
        return value
    # The ONNX runtime spells its inputs with the same function.
    value = spelling.respell(value, strip_whitespace, case)
    if not value:
        return np.nan
    return (aliases or {}).get(value, value)


def normalised_categories(frame: pd.DataFrame, strip_whitespace: bool, case: str,
                          aliases: Mapping[str, str] | None) -> pd.DataFrame:
    """Every value of a frame as `normalised_category` gives it, on the same index."""
    def normalise(value: object) -> object:
        return normalised_category(value, strip_whitespace, case, aliases)

    def normalised(column: pd.Series) -> pd.Series:
        values = (each_distinct(column, normalise) if column.dtype == "str"
                  else column.map(normalise))
        # Text that all cleans to missing stays text: as floats, an encoder fitted on text would
        # take the column for numbers and fail.
        if values.dtype.kind == "f" and not pd.api.types.is_numeric_dtype(column):
            return values.astype(object)
        return values

    return pd.DataFrame({name: normalised(frame[name]) for name in frame.columns},
                        index=frame.index)


def each_distinct(texts: pd.Series, function: Callable[[str], object]) -> pd.Series:
    """`texts.map(function)` for a column of pandas' default text dtype ("str"), calling
    `function` once per distinct text rather than once per row (a column of categories holds
    few); a missing value stays missing, and the result's dtype is the one `map` infers."""
    return texts.map({text: function(text) for text in texts.dropna().unique()})


def changed_counts(before: pd.DataFrame, after: pd.DataFrame) -> dict[str, int]:
    """Values per column that cleaning rewrote (`after` is `before` cleaned)."""
    return {name: int((before[name].notna() & (before[name].astype(object) != after[name])).sum())
            for name in before.columns}
