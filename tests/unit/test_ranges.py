"""Contracts that describe the data, not the sample: `init` widens each numeric range it infers
and marks it soft; a value outside a soft range is scored with a warning (batch and API), one
outside a hard range is refused; a regression model never predicts outside the target's bounds,
in the skops pipeline and in the ONNX file alike."""

import contextlib
import io

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.pipeline import Pipeline

from lifecycle import cli, config
from lifecycle.config import contract
from lifecycle.core import paths
from lifecycle.core.errors import ParamsError
from lifecycle.data import contract_checks
from lifecycle.deployment import scoring
from lifecycle.deployment.api import app as api_app
from lifecycle.deployment.api import request as api_request
from lifecycle.deployment.api import responses as api_responses
from lifecycle.deployment.onnx import export as onnx_export
from lifecycle.deployment.onnx import runtime as onnx_runtime
from lifecycle.modeling import artifacts, clipping, features, models

from ..conftest import EXAMPLE_FILES, run_stages
from ..stage.test_hostile_params import edit_params, template_project
from ..stage.test_onnx import CLEANING, exported, table

# --- the range init infers --------------------------------------------------------------------


@pytest.mark.parametrize("low, high, expected", [
    (0.02, 0.96, (0.0, 1.06)),  # 10% of 0.94 each side; no value negative: not below 0
    (0, 3410, (0, 3800)),       # a count: rounded outward to the margin's leading digit
    (1, 5000, (0, 5500)),
    (-40, 130, (-60, 150)),     # a sign change: widened on both sides
    (-5, -1, (-5.4, -0.6)),     # no value positive: not above 0
    (5, 5, (4.5, 5.5)),         # a constant: a margin of its own size
    (0, 0, (0, 0)),
    (1e300, 1.7e308, (1e300, 1.7e308)),  # no room to widen in floating point: as seen
])
def test_an_inferred_range_is_widened_by_the_margin_and_never_crosses_zero(low, high, expected):
    assert contract.inferred_range(low, high) == expected


def test_init_infers_soft_widened_ranges_and_a_count_targets_sign(counts):
    rules = contract.load(counts["project"] / paths.CONTRACT).columns

    # temp: seen in [0.02, 0.96]; hour: [0, 23]; a negative-free column starts at 0.
    assert (rules["temp"].min, rules["temp"].max, rules["temp"].bounds) == (0, 1.06, "soft")
    assert (rules["hour"].min, rules["hour"].max, rules["hour"].bounds) == (0, 26, "soft")
    assert (rules["rentals"].min, rules["rentals"].max) == (0, None)  # the target: its sign
    text = (counts["project"] / paths.CONTRACT).read_text()
    assert "widened by 10% of their spread on each side" in text
    assert "temp: {type: numeric, role: feature, nullable: false, min: 0.0, max: 1.06, " \
           "bounds: soft}" in text


# --- the contract: hard by default, soft when it says so ---------------------------------------


def test_the_examples_contract_still_validates_and_its_ranges_stay_hard():
    rules = contract.validate(config.load(EXAMPLE_FILES["params.yaml"]),
                              EXAMPLE_FILES["data/contract.yaml"], record=False)

    assert not scoring.has_soft_ranges(rules)
    temp = rules.columns["temp"]
    assert (temp.min, temp.max, temp.bounds, temp.soft) == (-40, 130, None, False)


@pytest.mark.parametrize("spec, words", [
    ({"type": "numeric", "min": 0, "bounds": "sometimes"},
     "columns.x.bounds: 'sometimes' is not allowed; choose one of: hard, soft"),
    ({"type": "categorical", "bounds": "soft"},
     "columns.x.bounds: only a numeric column has a range; remove it"),
])
def test_bounds_that_mean_nothing_are_refused(spec, words):
    with pytest.raises(ParamsError, match=words):
        contract.parse({"columns": {"x": {"role": "feature", **spec},
                                    "y": {"type": "numeric", "role": "target"}}})


SOFT = contract.parse({"columns": {
    "size": {"type": "numeric", "role": "feature", "nullable": True, "min": 0, "max": 10,
             "bounds": "soft"},
    "weight": {"type": "numeric", "role": "feature", "nullable": True, "min": 0, "max": 10},
}})


@pytest.mark.parametrize("policy", ["drop", "fail"])
def test_prepare_keeps_values_outside_a_soft_range_whatever_the_policy(policy):
    table = pd.DataFrame({"size": [1.0, 12.0, np.inf, None], "weight": [1.0, 2.0, 3.0, 4.0]})
    policies = {rule: "warn" for rule in contract_checks.RULES} | {"out_of_range": policy}
    failures = contract_checks.check_rules(table, SOFT)
    soft = [f for f in failures if f.soft]

    assert [(f.count, f.detail) for f in soft] == [
        (1, "1 values outside [0, 10], kept: its bounds are soft")]
    if policy == "fail":  # an infinity is outside every range, soft or not
        with pytest.raises(Exception, match=r"1 values outside \[0, 10\] \(infinite\)"):
            contract_checks.apply_policies(table, failures, policies, "raw")
        return
    outcome = contract_checks.apply_policies(table, failures, policies, "raw")
    assert outcome.table["size"].tolist()[:2] == [1.0, 12.0] and len(outcome.table) == 3
    assert outcome.dropped == {"out_of_range:size": 1}
    assert outcome.warnings == ["column 'size': out_of_range: 1 values outside [0, 10], kept: "
                                "its bounds are soft"]


def test_failures_of_parts_add_up_soft_apart_from_hard():
    parts = [contract_checks.check_rules(pd.DataFrame({"size": values, "weight": 1.0}), SOFT)
             for values in ([11.0, np.inf], [12.0, 1.0])]

    merged = contract_checks.merge_failures(parts, SOFT)

    assert [(f.column, f.soft, f.count) for f in merged] == [("size", False, 1),
                                                             ("size", True, 2)]


def test_batch_scoring_warns_for_a_soft_range_and_rejects_for_a_hard_one():
    model = ConstantModel(["size", "weight"])
    chunk = pd.DataFrame({"size": [1.0, 12.0, 12.0], "weight": [1.0, 1.0, 11.0]})

    scored, rejected = scoring.score_chunk(model, chunk, SOFT, [], 0.5, "batch.csv")

    assert scored["row"].tolist() == [0, 1]
    assert scored[scoring.WARNINGS].tolist() == ["", "size: out of range"]
    assert rejected["reason"].tolist() == ["weight: out of range"]
    # Without soft ranges the output has no such column, as before.
    hard = contract.parse({"columns": {"size": {"type": "numeric", "role": "feature"}}})
    scored, _ = scoring.score_chunk(ConstantModel(["size"]), chunk[["size"]], hard, [], 0.5, "b")
    assert scoring.WARNINGS not in scored


class ConstantModel:
    def __init__(self, inputs: list[str]) -> None:
        self.feature_names_in_ = np.asarray(inputs, dtype=object)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.ones(len(X))


def test_the_request_model_takes_a_value_outside_a_soft_range_and_the_answer_warns():
    Instance = api_request.instance_model(SOFT)

    Instance.model_validate({"size": 12.0, "weight": 1.0})
    with pytest.raises(ValueError, match="less than or equal to 10"):
        Instance.model_validate({"size": 1.0, "weight": 12.0})
    assert api_responses.range_warnings([{"size": 12.0, "weight": 1.0}, {"size": 3.0}], SOFT) == [
        {"loc": ["body", "instances", 0, "size"], "type": "out_of_range",
         "msg": "12.0 is outside the expected range [0, 10]; scored, but the model saw few or "
                "no such values"}]


# --- a count regression, init to export, then predict and the API -----------------------------


def rentals(rows: int = 360, seed: int = 0) -> pd.DataFrame:
    """Hourly bike rentals: none in the cold, more the warmer it is; a linear model fitted on
    them predicts negative counts for cold hours."""
    rng = np.random.default_rng(seed)
    temp = rng.uniform(0.02, 0.96, rows).round(2)
    temp[:2] = [0.02, 0.96]
    hour = rng.integers(0, 24, rows)
    hour[:2] = [0, 23]
    busy = np.isin(hour, [8, 17, 18]) * 10
    return pd.DataFrame({
        "when": (pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(rows), unit="h")
                 ).strftime("%Y-%m-%d %H:%M"),
        "temp": temp,
        "hour": hour,
        "season": rng.choice(["spring", "summer", "autumn", "winter"], rows),
        "rentals": rng.poisson(np.maximum(0, 60 * (temp - 0.4)) + busy * (temp > 0.4)),
    })


@pytest.fixture(scope="module")
def counts(tmp_path_factory) -> dict:
    """The template on the rentals table with the linear model: init, then ingest to export
    in this process (evaluate too: export checks against its scores). Read only: copy what a
    test changes."""
    project = template_project(tmp_path_factory.mktemp("counts"))
    (project / "data/source").mkdir(parents=True)
    rentals().to_csv(project / "data/source/rentals.csv", index=False)
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(io.StringIO()):
        patch.chdir(project)
        assert cli.main(["init", "--data", "data/source/rentals.csv", "--target", "rentals",
                         "--time-column", "when"]) == 0
    edit_params(project, "train.model", "linear")
    edit_params(project, "train.cv_folds", 2)
    run_stages(project, ("ingest", "prepare", "featurize", "train", "evaluate", "export"))
    cold = pd.DataFrame({"when": pd.Timestamp("2024-01-10 06:00"),
                         "temp": np.linspace(0.0, 0.3, 48), "hour": np.arange(48) % 24,
                         "season": "winter"})
    return {"project": project, "cold": cold}


def test_a_count_model_predicts_no_negative_count_in_either_runtime(counts):
    project, cold = counts["project"], counts["cold"]
    model = artifacts.load_model(project / paths.MODEL)
    portable = onnx_runtime.load(project / paths.ONNX_MODEL)
    final = model.steps[-1][1]
    unclipped = Pipeline([model.steps[0], ("estimator", clipping.unwrapped(final))])

    assert (final.lower, final.upper) == (0, None)
    assert unclipped.predict(cold).min() < -1  # what the linear model says alone
    expected, got = model.predict(cold), portable.predict(cold)
    assert expected.min() == 0 and got.min() == 0
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    baseline = artifacts.load_model(project / paths.BASELINES["linear"])
    assert baseline.predict(cold).min() == 0  # the baselines are judged alike


@pytest.fixture
def hard_copy(counts, tmp_path):
    """A copy of the counts project whose temp range is hard."""
    import shutil

    project = tmp_path / "project"
    shutil.copytree(counts["project"], project)
    path = project / paths.CONTRACT
    text = path.read_text()
    line = "min: 0.0, max: 1.06, bounds: soft}"
    assert line in text
    path.write_text(text.replace(line, "min: 0.0, max: 1.06, bounds: hard}"))
    return project


def predict(project, tmp_path, capsys, temps: list[float]) -> tuple[pd.DataFrame, pd.DataFrame,
                                                                      str]:
    rows = pd.DataFrame({"when": "2024-02-01 08:00", "temp": temps, "hour": 8,
                         "season": "summer"})
    rows.to_csv(tmp_path / "batch.csv", index=False)
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        code = cli.main(["predict", "--input", str(tmp_path / "batch.csv"), "--output",
                         str(tmp_path / "scored.csv")])
    assert code == 0
    return (pd.read_csv(tmp_path / "scored.csv", keep_default_na=False),
            pd.read_csv(tmp_path / "scored.rejects.csv"), capsys.readouterr().err)


def test_predict_scores_a_warm_hour_beyond_the_soft_range_with_a_warning(counts, tmp_path,
                                                                         capsys):
    # 0.97 is warmer than any training hour (0.96) but inside the widened range.
    scored, rejected, errors = predict(counts["project"], tmp_path, capsys, [0.97, 1.1, 0.5])

    assert scored["row"].tolist() == [0, 1, 2] and rejected.empty
    assert scored["warnings"].tolist() == ["", "temp: out of range", ""]
    assert (scored["prediction"] >= 0).all()
    assert ("lifecycle predict: warning: scored values outside the soft ranges of "
            "data/contract.yaml: temp outside [0.0, 1.06] in 1 row;") in errors


def test_predict_rejects_a_value_beyond_a_hard_range(hard_copy, tmp_path, capsys):
    scored, rejected, errors = predict(hard_copy, tmp_path, capsys, [0.97, 1.1])

    assert scored["row"].tolist() == [0] and scored["warnings"].tolist() == [""]  # hour: soft
    assert rejected["reason"].tolist() == ["temp: out of range"]
    assert "soft ranges" not in errors


def api(project) -> TestClient:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        app = api_app.create_app()
    return TestClient(app, raise_server_exceptions=False)


INSTANCE = {"when": "2024-02-01T08:00", "hour": 8, "season": "summer"}


def test_the_api_scores_a_value_beyond_a_soft_range_and_lists_a_warning(counts):
    with api(counts["project"]) as client:
        answer = client.post("/predict", json={"instances": [{**INSTANCE, "temp": 0.5},
                                                             {**INSTANCE, "temp": 1.1}]})
        schema = client.get("/openapi.json").json()
        metadata = client.get("/metadata").json()

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["predictions"]) == 2 and min(body["predictions"]) >= 0
    assert [(w["loc"], w["type"]) for w in body["warnings"]] == [
        (["body", "instances", 1, "temp"], "out_of_range")]
    assert "outside the expected range [0.0, 1.06]" in body["warnings"][0]["msg"]
    documented = schema["components"]["schemas"]
    assert "warnings" in documented["Predictions"]["properties"]
    assert "a value outside is scored, with a warning" in \
        documented["Instance"]["properties"]["temp"]["description"]
    assert {"name": "temp", "type": "numeric", "required": True, "min": 0.0, "max": 1.06,
            "bounds": "soft"} in metadata["inputs"]


def test_the_api_refuses_a_value_beyond_a_hard_range(hard_copy):
    with api(hard_copy) as client:
        answer = client.post("/predict", json={"instances": [{**INSTANCE, "temp": 1.1}]})
        fine = client.post("/predict", json={"instances": [{**INSTANCE, "temp": 0.97}]})

    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "instances", 0, "temp"]
    assert fine.status_code == 200 and fine.json()["warnings"] == []


# --- clipping in both runtimes, every regression model -----------------------------------------


@pytest.mark.parametrize("model", ["hist_gradient_boosting", "random_forest", "xgboost",
                                   "linear", "trivial"])
def test_a_clipped_regressor_answers_alike_in_both_runtimes_at_both_bounds(model):
    X, y = table("regression", 600, seed=1)
    transformer = features.build_transformer(
        ["tenure_months", "monthly_spend", "support_calls"], ["region", "plan"], "signup_date",
        [], "median", 20, dict(CLEANING))
    encoded = transformer.fit_transform(X, y)
    settings = {"hist_gradient_boosting": {"max_iter": 30}, "random_forest": {"n_estimators": 20},
                "xgboost": {"n_estimators": 30}, "linear": {}, "trivial": {}}[model]
    estimator = models.build_estimator(model, settings, 0,
                                       features.categorical_output_columns(transformer),
                                       "regression")
    rows = table("regression", 400, seed=2)[0]
    raw = estimator.fit(encoded, y).predict(transformer.transform(rows))
    lower, upper = (float(np.quantile(raw, 0.2)), float(np.quantile(raw, 0.8))
                    ) if model != "trivial" else (raw[0] + 1, None)
    clipped = clipping.ClippedRegressor(estimator, lower, upper).fit(encoded, y)
    pipeline = Pipeline([("features", transformer), ("estimator", clipped)])

    portable = exported(pipeline, "regression")
    expected, got = pipeline.predict(rows), portable.predict(rows)

    assert onnx_export.parity(pipeline, portable, rows, "regression", None)["holds"]
    for answers in (expected, got):  # the bounds themselves, exactly
        assert answers.min() == lower and (upper is None or answers.max() == upper)
