"""The estimator registry: a model is chosen by name in params.yaml (`train.model`)."""

import difflib
from collections.abc import Callable
from typing import Any

from lifecycle.errors import ParamsError


def _hist_gradient_boosting(hyperparameters: dict, seed: int, categorical: list[str]) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        **hyperparameters, categorical_features=categorical or None, random_state=seed
    )


# name -> factory(hyperparameters, seed, categorical column names) -> unfitted estimator
ESTIMATORS: dict[str, Callable[[dict, int, list[str]], Any]] = {
    "hist_gradient_boosting": _hist_gradient_boosting,
}


def build_estimator(name: str, hyperparameters: dict, seed: int, categorical: list[str]) -> Any:
    if name not in ESTIMATORS:
        close = difflib.get_close_matches(name, ESTIMATORS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ParamsError(
            f"params.yaml: train.model: unknown model {name!r}; choose one of: "
            f"{', '.join(ESTIMATORS)}{hint}"
        )
    try:
        estimator = ESTIMATORS[name](hyperparameters, seed, categorical)
        # scikit-learn's own checks of names and values, before any data is read
        estimator._validate_params()
    except (TypeError, ValueError) as error:
        raise ParamsError(f"params.yaml: train.hyperparameters: {error}") from None
    return estimator
