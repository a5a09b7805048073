import pytest

from lifecycle.core.errors import ParamsError
from lifecycle.modeling import models


def test_build_estimator_passes_hyperparameters_seed_and_categorical_columns():
    estimator = models.build_estimator("hist_gradient_boosting", {"max_iter": 7}, 3, ["carrier"])

    assert estimator.max_iter == 7
    assert estimator.random_state == 3
    assert estimator.categorical_features == ["carrier"]


def test_unknown_model_name_suggests_the_closest():
    with pytest.raises(ParamsError, match=r"train.model.*did you mean 'hist_gradient_boosting'"):
        models.build_estimator("hist_gradient_bosting", {}, 0, [])


@pytest.mark.parametrize("hyperparameters, words", [
    ({"max_iters": 10}, "max_iters"),
    ({"learning_rate": -1.0}, "learning_rate"),
])
def test_bad_hyperparameters_are_params_errors_naming_the_key(hyperparameters, words):
    with pytest.raises(ParamsError, match=rf"train.hyperparameters.*{words}"):
        models.build_estimator("hist_gradient_boosting", hyperparameters, 0, [])
