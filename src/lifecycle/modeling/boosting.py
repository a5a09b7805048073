"""XGBoost as scikit-learn estimators whose fitted state is plain data.

The trained booster is kept as XGBoost's own UBJ bytes (`booster_`) and rebuilt when first
needed to predict, so skops saves the estimator as bytes, arrays, numbers and text: a model file
holds no pickle and loading trusts only these classes. Fitting runs in this process (`fit`) or
on the partitions of a Dask DataFrame (`fit_dask`, XGBoost's Dask interface); both keep the same
kind of state.

The feature transformer encodes categories as ordinal codes with -1 for missing and unknown
values; XGBoost splits the categorical columns as categories (`enable_categorical`), with -1 as
a missing value, since XGBoost refuses negative category codes.

xgboost is imported only when a model fits or predicts: every stage that loads a model imports
this module.
"""

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from lifecycle.core import extras

# The histogram method: the one XGBoost runs the same way in a process and on Dask, with
# categorical splits.
TREE_METHOD = "hist"
# What needs the extra, in its error.
FITTING = "train.model: xgboost"
PREDICTING = "a model of XGBoost"


class _XGBoost(BaseEstimator):
    """Gradient-boosted trees by XGBoost (its parameter names, as in `xgboost.XGBModel`)."""

    _parameter_constraints: ClassVar[dict] = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_depth": [Interval(Integral, 1, None, closed="left")],
        "min_child_weight": [Interval(Real, 0, None, closed="left")],
        "reg_lambda": [Interval(Real, 0, None, closed="left")],
        "reg_alpha": [Interval(Real, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "subsample": [Interval(Real, 0, 1, closed="right")],
        "colsample_bytree": [Interval(Real, 0, 1, closed="right")],
        "max_bin": [Interval(Integral, 2, None, closed="left")],
        "max_cat_to_onehot": [Interval(Integral, 1, None, closed="left")],
        "max_cat_threshold": [Interval(Integral, 1, None, closed="left")],
        "categorical_features": [list, tuple],
        "n_jobs": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, n_estimators: int = 100, learning_rate: float = 0.3, max_depth: int = 6,
                 min_child_weight: float = 1.0, reg_lambda: float = 1.0, reg_alpha: float = 0.0,
                 gamma: float = 0.0, subsample: float = 1.0, colsample_bytree: float = 1.0,
                 max_bin: int = 256, max_cat_to_onehot: int = 4, max_cat_threshold: int = 64,
                 categorical_features: list | tuple = (), n_jobs: int | None = None,
                 random_state: int = 0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.gamma = gamma
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.max_bin = max_bin
        self.max_cat_to_onehot = max_cat_to_onehot
        self.max_cat_threshold = max_cat_threshold
        self.categorical_features = categorical_features
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # a missing value takes each split's default branch
        return tags

    # --- fitting -----------------------------------------------------------------------------

    def fit(self, X: pd.DataFrame, y: Any) -> "_XGBoost":
        extras.require("xgboost", FITTING)
        import xgboost

        self._validate_params()
        values, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64,
                                  y_numeric=not isinstance(self, ClassifierMixin))
        labels = self._fit_targets(y)
        matrix = xgboost.QuantileDMatrix(self._missing_categories(values), labels,
                                         max_bin=self.max_bin, **self._matrix_settings())
        return self._keep(xgboost.train(self._booster_params(), matrix, self.n_estimators))

    def fit_dask(self, client: Any, frame: Any, target: str,
                 classes: Any = None) -> "_XGBoost":
        """Fit on the partitions of Dask DataFrame `frame` (features and the `target` column)
        on `client`'s workers, with xgboost.dask. `classes`: the labels a classifier knows
        (default: those of the target), so a caller that has them gets the same `classes_` as
        `fit` gives."""
        extras.require("xgboost", FITTING)
        import xgboost.dask

        self._validate_params()
        frame = pinned(client, frame)
        X, y = frame.drop(columns=[target]), frame[target]
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        if isinstance(self, ClassifierMixin):
            found = y.unique().compute().to_numpy() if classes is None else classes
            self._set_classes(np.asarray(found))
            y = y.map_partitions(class_positions, self.classes_, meta=(target, "int64"))
        X = X.map_partitions(self._missing_categories, meta=X._meta)
        matrix = xgboost.dask.DaskQuantileDMatrix(client, X, y, max_bin=self.max_bin,
                                                  **self._matrix_settings())
        trained = xgboost.dask.train(client, self._booster_params(), matrix,
                                     num_boost_round=self.n_estimators)
        return self._keep(trained["booster"])

    def _keep(self, booster: Any) -> "_XGBoost":
        # Only bytes and numbers are kept: skops saves them without pickle.
        self.booster_ = bytes(booster.save_raw("ubj"))
        self.n_iter_ = int(booster.num_boosted_rounds())
        self._loaded = booster
        return self

    def _fit_targets(self, y: np.ndarray) -> np.ndarray:
        return y.astype(np.float64)

    def _objective(self) -> dict:
        return {"objective": "reg:squarederror"}

    def _booster_params(self) -> dict:
        params = {
            **self._objective(), "tree_method": TREE_METHOD, "eta": self.learning_rate,
            "max_depth": self.max_depth, "min_child_weight": self.min_child_weight,
            "lambda": self.reg_lambda, "alpha": self.reg_alpha, "gamma": self.gamma,
            "subsample": self.subsample, "colsample_bytree": self.colsample_bytree,
            "max_bin": self.max_bin, "max_cat_to_onehot": self.max_cat_to_onehot,
            "max_cat_threshold": self.max_cat_threshold, "seed": self.random_state,
            "validate_parameters": True,
        }
        if self.n_jobs is not None:  # the thread count does not change the trees
            params["nthread"] = self.n_jobs
        return params

    def _matrix_settings(self) -> dict:
        return {"feature_names": self._feature_names(), "feature_types": self.feature_types(),
                "enable_categorical": True}

    def _feature_names(self) -> list[str]:
        """The columns' names, or f0, f1, ... when fitted on an array without names."""
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            return [f"f{i}" for i in range(self.n_features_in_)]
        return [str(name) for name in names]

    def feature_types(self) -> list[str]:
        """XGBoost's type of each feature: "c" categorical, "q" numeric."""
        categorical = set(self.categorical_features)
        return ["c" if name in categorical else "q" for name in self._feature_names()]

    def categorical_mask(self) -> np.ndarray:
        return np.array([kind == "c" for kind in self.feature_types()])

    def _missing_categories(self, values: Any) -> Any:
        """The categorical columns' negative codes (missing or unknown) as NaN."""
        mask = self.categorical_mask()
        if isinstance(values, pd.DataFrame):
            values = values.copy()
            columns = values.columns[mask]
            values[columns] = values[columns].where(values[columns] >= 0)
            return values
        values = np.array(values, dtype=np.float64)
        codes = values[:, mask]
        values[:, mask] = np.where(codes < 0, np.nan, codes)
        return values

    # --- predicting ---------------------------------------------------------------------------

    def booster(self) -> Any:
        """The fitted `xgboost.Booster`, rebuilt from `booster_` the first time it is needed."""
        check_is_fitted(self, "booster_")
        loaded = self.__dict__.get("_loaded")
        if loaded is None:
            extras.require("xgboost", PREDICTING)
            import xgboost

            loaded = xgboost.Booster(model_file=bytearray(self.booster_))
            self._loaded = loaded
        return loaded

    def booster_json(self) -> dict:
        """The booster in XGBoost's JSON model format (trees, base score, objective)."""
        import json

        return json.loads(bytes(self.booster().save_raw("json")))

    def _predicted(self, X: Any) -> np.ndarray:
        extras.require("xgboost", PREDICTING)
        import xgboost

        check_is_fitted(self, "booster_")
        values = validate_data(self, X, reset=False, ensure_all_finite="allow-nan",
                               dtype=np.float64)
        matrix = xgboost.DMatrix(self._missing_categories(values), **self._matrix_settings())
        return np.asarray(self.booster().predict(matrix), dtype=np.float64)

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state.pop("_loaded", None)  # the live booster is rebuilt from booster_
        return state


class XGBoostRegressor(RegressorMixin, _XGBoost):
    """XGBoost regression on squared error."""

    def predict(self, X: Any) -> np.ndarray:
        return self._predicted(X)


class XGBoostClassifier(ClassifierMixin, _XGBoost):
    """XGBoost classification: logistic for two classes, softmax for more."""

    def _fit_targets(self, y: np.ndarray) -> np.ndarray:
        check_classification_targets(y)
        self._set_classes(y)
        return class_positions(y, self.classes_)

    def _set_classes(self, labels: np.ndarray) -> None:
        self.classes_ = np.unique(labels)
        if len(self.classes_) < 2:
            raise ValueError(f"a classifier needs samples of at least 2 classes; the labels "
                             f"hold 1 class: {self.classes_.tolist()}")

    def _objective(self) -> dict:
        if len(self.classes_) == 2:
            return {"objective": "binary:logistic"}
        return {"objective": "multi:softprob", "num_class": len(self.classes_)}

    def predict_proba(self, X: Any) -> np.ndarray:
        probability = self._predicted(X)
        if probability.ndim == 1:
            return np.column_stack([1.0 - probability, probability])
        # XGBoost's float32 shares, summing to 1 in float64 as metrics expect
        return probability / probability.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        likeliest = self.predict_proba(X).argmax(axis=1)
        return self.classes_[likeliest]


def class_positions(labels: Any, classes: np.ndarray) -> Any:
    """Each label's position in the sorted `classes` (XGBoost learns 0 .. k - 1)."""
    positions = pd.Index(classes).get_indexer(np.asarray(labels))
    if (positions < 0).any():
        unknown = np.asarray(labels)[positions < 0][0]
        raise ValueError(f"label {unknown!r} is not one of the classes {classes.tolist()}")
    if isinstance(labels, pd.Series):
        return pd.Series(positions, index=labels.index, name=labels.name)
    return positions


def pinned(client: Any, frame: Any) -> Any:
    """`frame` with partition i held by the (i mod n)-th worker in order of worker name.

    Which rows a worker holds changes XGBoost's quantile sketch and the sums of its histograms,
    and Dask places partitions by load: a fixed placement (XGBoost ranks workers by name too)
    gives the same trees, to the byte, on the same cluster every run.
    """
    import dask.dataframe as dd

    workers = sorted(client.scheduler_info(n_workers=-1)["workers"].items(),
                     key=lambda item: str(item[1].get("name")))
    addresses = [address for address, _ in workers]
    parts = [client.persist(frame.partitions[i], workers=[addresses[i % len(addresses)]],
                            allow_other_workers=False)
             for i in range(frame.npartitions)]
    return dd.concat(parts)
