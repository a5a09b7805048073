"""The estimator registry: a model is chosen by name in params.yaml (`train.model`).

Every factory takes the task, the model's hyperparameters from params, the seed and the names of
the encoded categorical columns (the feature transformer emits them as ordinal codes), and
returns an unfitted estimator for the encoded features. A project adds its own without editing
the library: a factory of the same signature in its src/, named in params.yaml
`extensions.models` (see docs/extensions.md).
"""

import contextlib
import inspect
import math
from collections.abc import Callable, Iterator
from typing import Any

from lifecycle.config.params import MODEL_NAMES, did_you_mean
from lifecycle.core import extensions
from lifecycle.core.errors import LifecycleError, ParamsError

CLASSIFICATION = ("binary", "multiclass")
# Rows of each class (or rows, for regression) of the quick fit that tries the hyperparameters.
QUICK_FIT_ROWS = 50


def _hist_gradient_boosting(task: str, hyperparameters: dict, seed: int,
                            categorical: list[str]) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    model = (HistGradientBoostingClassifier if task in CLASSIFICATION
             else HistGradientBoostingRegressor)
    return model(**hyperparameters, categorical_features=categorical or None, random_state=seed)


def _random_forest(task: str, hyperparameters: dict, seed: int, categorical: list[str]) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    # Trees split ordinal category codes well enough; no one-hot needed.
    model = RandomForestClassifier if task in CLASSIFICATION else RandomForestRegressor
    return model(**hyperparameters, random_state=seed)


def _xgboost(task: str, hyperparameters: dict, seed: int, categorical: list[str]) -> Any:
    """XGBoost, kept as its own UBJ model bytes (no pickle); it trains on Dask partitions when
    params.yaml `engine` is dask (see lifecycle.modeling.boosting)."""
    from lifecycle.modeling.boosting import XGBoostClassifier, XGBoostRegressor

    model = XGBoostClassifier if task in CLASSIFICATION else XGBoostRegressor
    return model(**hyperparameters, categorical_features=list(categorical), random_state=seed)


def _linear(task: str, hyperparameters: dict, seed: int, categorical: list[str]) -> Any:
    """Logistic regression (classification) or ridge (regression) on one-hot categories and
    standardised numbers: ordinal codes would impose an order a linear model takes literally."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    # Sparse one-hot columns: dense ones took 8 bytes a row for every category level, the
    # largest allocation of the train stage at ten times the default rows.
    encode = ColumnTransformer(
        [("one_hot", OneHotEncoder(handle_unknown="ignore"), categorical)],
        remainder=StandardScaler(),
    )
    if task in CLASSIFICATION:
        model = LogisticRegression(**hyperparameters, random_state=seed)
    else:
        # One setting for both tasks: C is the inverse strength of the regularisation, so the
        # ridge penalty is 1 / C (a project can switch task without editing the baseline).
        settings = dict(hyperparameters)
        strength = settings.pop("C", 1.0)
        if not _is_number(strength) or not strength > 0:
            raise ValueError(f"C: expected a finite number above 0, found {strength!r}")
        model = Ridge(alpha=1 / strength, **settings, random_state=seed)
    return Pipeline([("encode", encode), ("model", model)])


def _trivial(task: str, hyperparameters: dict, seed: int, categorical: list[str]) -> Any:
    """The class prior (classification) or the mean (regression): the floor any model must beat."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    if task in CLASSIFICATION:
        return DummyClassifier(strategy="prior", **hyperparameters)
    return DummyRegressor(strategy="mean", **hyperparameters)


# name -> factory(task, hyperparameters, seed, categorical column names) -> unfitted estimator
ESTIMATORS: dict[str, Callable[[str, dict, int, list[str]], Any]] = {
    "hist_gradient_boosting": _hist_gradient_boosting,
    "random_forest": _random_forest,
    "xgboost": _xgboost,
    "linear": _linear,
    "trivial": _trivial,
}
# What a factory takes, a project's own too (params.yaml extensions.models).
FACTORY_ARGUMENTS = "(task, hyperparameters, seed, categorical), as the built-in models' do"
# Every run also fits these, so the candidate is always compared with something simple.
BASELINES = ("trivial", "linear")
# params.yaml is checked against config.MODEL_NAMES when it is parsed, in stages that never
# import this module; a model added here needs its name there too.
if tuple(ESTIMATORS) != MODEL_NAMES:
    raise RuntimeError(f"models.ESTIMATORS {list(ESTIMATORS)} and config.MODEL_NAMES "
                       f"{list(MODEL_NAMES)} differ; list every model in both")


def build_estimator(name: str, hyperparameters: dict, seed: int, categorical: list[str],
                    task: str = "binary", own: dict[str, str] | None = None) -> Any:
    """The unfitted estimator of a model of the registry, or of the project's own models
    (`own`, params.yaml extensions.models: name -> import path of its factory)."""
    own = own or {}
    if name not in ESTIMATORS and name not in own:
        names = [*ESTIMATORS, *own]
        raise ParamsError(
            f"params.yaml: train.model: unknown model {name!r}; choose one of: "
            f"{', '.join(names)}{did_you_mean(name, names)}"
        )
    factory = ESTIMATORS.get(name) or own_factory(name, own[name])
    try:
        estimator = factory(task, hyperparameters, seed, categorical)
        if name not in ESTIMATORS:
            check_own_estimator(estimator, name, own[name], task)
        # scikit-learn's own checks of names and values, before any data is read
        final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
        validate(final)
        check_numbers(hyperparameters, final)
    except (TypeError, ValueError) as error:
        raise ParamsError(f"params.yaml: train.hyperparameters.{name}: {error}") from None
    return estimator


def own_factory(name: str, spec: str) -> Callable:
    """The factory of one of the project's own models, checked to take what the registry's
    factories take."""
    return extensions.load(spec, f"params.yaml: extensions.models.{name}",
                           ("binary", {}, 0, []), FACTORY_ARGUMENTS)


def check_own_estimator(estimator: Any, name: str, spec: str, task: str) -> None:
    """What the pipeline calls on a model: fit, get_params (to clone it) and predict_proba
    (classification) or predict (regression)."""
    needs = ("fit", "get_params", "predict_proba" if task in CLASSIFICATION else "predict")
    missing = [method for method in needs if not callable(getattr(estimator, method, None))]
    if missing:
        raise LifecycleError(f"params.yaml: extensions.models.{name}: {spec!r} returned a "
                             f"{type(estimator).__name__}, not a scikit-learn estimator of a "
                             f"{task} task (no {', '.join(missing)})")


def validate(estimator: Any) -> None:
    """scikit-learn's check of an estimator's settings, where it declares their constraints (a
    project's own estimator may declare none)."""
    if hasattr(estimator, "_parameter_constraints"):
        estimator._validate_params()


def check_numbers(hyperparameters: dict, estimator: Any) -> None:
    """Refuse what scikit-learn's own checks let through: an infinite or NaN float where any
    number is allowed (YAML reads 1e999 as infinity), and true or false for a number (a bool is
    an int to Python: `learning_rate: yes` would be 1)."""
    defaults = inspect.signature(type(estimator)).parameters
    for key, value in hyperparameters.items():
        default = defaults[key].default if key in defaults else None
        infinite = isinstance(value, float) and not math.isfinite(value)
        if infinite or (isinstance(value, bool) and _is_number(default)):
            raise ValueError(f"{key}: expected a finite number, found {value!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


# Set by the factories themselves: the search never draws them.
FACTORY_SETTINGS = ("random_state", "categorical_features")


def check_space(name: str, space: dict, estimator: Any) -> dict[str, list]:
    """A model's search space (`tuning.space.<name>`), each value one the estimator (built with
    the model's hyperparameters) accepts by the checks of `build_estimator`; else a ParamsError
    naming the key."""
    if space and hasattr(estimator, "steps"):
        raise ParamsError(f"params.yaml: tuning.space.{name}: the {name} model is a pipeline "
                          f"whose settings the search cannot set; leave its space empty ({{}})")
    searchable = sorted(set(estimator.get_params(deep=False)) - set(FACTORY_SETTINGS))
    for key, values in space.items():
        where = f"params.yaml: tuning.space.{name}.{key}"
        if key not in searchable:
            raise ParamsError(f"{where}: not a hyperparameter the search can set for {name}; "
                              f"choose among: {', '.join(searchable)}"
                              f"{did_you_mean(key, searchable)}")
        for value in values:
            try:
                candidate = clone_with(estimator, {key: value})
                validate(candidate)
                check_numbers({key: value}, candidate)
            except (TypeError, ValueError) as error:
                raise ParamsError(f"{where}: {error}") from None
    return space


def clone_with(estimator: Any, settings: dict) -> Any:
    """An unfitted copy of the estimator with some hyperparameters replaced."""
    from sklearn.base import clone

    return clone(estimator).set_params(**settings)


def hyperparameters_of(name: str, chosen: Any) -> dict:
    """One model's hyperparameters block from params.yaml, checked (none: scikit-learn's
    defaults)."""
    chosen = chosen or {}
    if not isinstance(chosen, dict):
        raise ParamsError(
            f"params.yaml: train.hyperparameters.{name}: expected a mapping of "
            f"hyperparameter names to values, found {chosen!r}"
        )
    return dict(chosen)


@contextlib.contextmanager
def refused_at_fit(name: str, where: str | None = None) -> Iterator[None]:
    """scikit-learn checks some hyperparameters only when fitting (class_weight, monotonic_cst,
    interaction_cst): its refusal becomes a ParamsError naming the model's settings (`where`,
    by default `train.hyperparameters.<name>`)."""
    try:
        yield
    except (TypeError, ValueError) as error:
        reason = " ".join(str(error).split()).rstrip(".")
        raise ParamsError(f"params.yaml: {where or f'train.hyperparameters.{name}'}: "
                          f"scikit-learn refused them when fitting: {reason}; fix or remove "
                          f"that setting") from None


def check_fits(name: str, estimator: Any, X: Any, y: Any, task: str,
               where: str | None = None) -> None:
    """Fit a copy on a few rows of each class, so hyperparameters scikit-learn refuses only at
    fit fail in a second, before the cross-validation and the fits on every row."""
    from sklearn.base import clone

    rows = quick_fit_rows(y, task)
    with refused_at_fit(name, where):
        clone(estimator).fit(X.iloc[rows], y.iloc[rows])


def quick_fit_rows(y: Any, task: str) -> list[int]:
    """Positions of the first QUICK_FIT_ROWS rows of each class (the first rows, regression)."""
    import pandas as pd

    labels = pd.Series(range(len(y)), index=range(len(y)))
    if task not in CLASSIFICATION:
        return labels.head(QUICK_FIT_ROWS).tolist()
    return sorted(labels.groupby(y.to_numpy(), sort=False).head(QUICK_FIT_ROWS).tolist())
