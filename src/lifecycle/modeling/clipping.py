"""A regressor whose predictions stay within the target's bounds.

A count (bike rentals) is never negative, but a tree ensemble's or a linear model's answer can
be: the train stage wraps every regression model in `ClippedRegressor` with the bounds the data
contract gives the target (`min`/`max`, see lifecycle.config.contract), and the ONNX export adds the
same Clip to its graph, so both runtimes answer alike.
"""

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.metaestimators import available_if


def _inner_has(method: str) -> Any:
    return lambda self: hasattr(self.estimator, method)


class ClippedRegressor(RegressorMixin, BaseEstimator):
    """`estimator`'s predictions clipped to [lower, upper] (None: unbounded on that side)."""

    def __init__(self, estimator: Any = None, lower: float | None = None,
                 upper: float | None = None) -> None:
        self.estimator = estimator
        self.lower = lower
        self.upper = upper

    def fit(self, X: Any, y: Any) -> "ClippedRegressor":
        self.estimator_ = clone(self.estimator).fit(X, y)
        return self._fitted()

    @available_if(_inner_has("fit_dask"))
    def fit_dask(self, client: Any, frame: Any, target: str, **options: Any) -> "ClippedRegressor":
        """The inner model's fit on Dask partitions (xgboost with engine: dask)."""
        self.estimator_ = clone(self.estimator)
        self.estimator_.fit_dask(client, frame, target, **options)
        return self._fitted()

    def _fitted(self) -> "ClippedRegressor":
        for name in ("feature_names_in_", "n_features_in_"):
            if hasattr(self.estimator_, name):
                setattr(self, name, getattr(self.estimator_, name))
        return self

    def predict(self, X: Any) -> np.ndarray:
        predictions = np.asarray(self.estimator_.predict(X), dtype=np.float64)
        if self.lower is None and self.upper is None:
            return predictions
        return np.clip(predictions, self.lower, self.upper)


def bounded(estimator: Any, lower: float | None, upper: float | None) -> Any:
    """The estimator wrapped to clip to the bounds, or as it is when there are none."""
    if lower is None and upper is None:
        return estimator
    return ClippedRegressor(estimator, lower, upper)


def unwrapped(estimator: Any) -> Any:
    """The model inside a ClippedRegressor (fitted when it is), else the estimator itself."""
    if isinstance(estimator, ClippedRegressor):
        return getattr(estimator, "estimator_", estimator.estimator)
    return estimator
