"""The xgboost model: it fits and predicts for every task, is saved as XGBoost's own UBJ bytes
inside the skops file (no pickle) and loaded through the trusted path, trains on Dask
partitions, exports to ONNX, and scores in the stages, `lifecycle predict` and the API."""

import contextlib
import fractions
import io
import json
import shutil
import zipfile

import numpy as np
import onnxruntime
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import skops.io
from fastapi.testclient import TestClient
from skl2onnx.common.data_types import DoubleTensorType
from sklearn.utils.estimator_checks import parametrize_with_checks

from lifecycle import cli
from lifecycle.core import engine, tables
from lifecycle.core.errors import LifecycleError, ParamsError
from lifecycle.deployment.api import app as api_app
from lifecycle.deployment.onnx import export as onnx_export
from lifecycle.evaluation import metrics
from lifecycle.modeling import artifacts, boosting, models

from ..conftest import run_stages, set_param

TASKS = ["binary", "multiclass", "regression"]
SMALL = {"n_estimators": 30, "max_depth": 3}
# The skops loaders a model file of this class may use (TypeNode: the state's key type, str);
# none of them runs pickle.
PLAIN_LOADERS = {"ObjectNode", "DictNode", "JsonNode", "ListNode", "TupleNode", "NdArrayNode",
                 "BytesNode", "TypeNode"}


def table(task: str, rows: int = 800, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Encoded features as the transformer gives them: a signal with gaps, noise, and a
    category coded 0..3 with -1 for missing or unknown values."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"signal": rng.normal(size=rows), "noise": rng.normal(size=rows),
                      "carrier": rng.integers(-1, 4, rows).astype(float)})
    X.loc[X.index[::9], "signal"] = np.nan
    value = X["signal"].fillna(0) + 0.8 * (X["carrier"] == 2) + rng.normal(scale=0.8, size=rows)
    if task == "regression":
        return X, value.rename("target")
    if task == "binary":
        return X, (value > 0).astype(int).rename("target")
    return X, pd.cut(value, [-np.inf, -0.5, 0.5, np.inf], labels=["low", "mid", "high"]
                     ).astype(str).rename("target")


def build(task: str, **settings: object) -> boosting._XGBoost:
    return models.build_estimator("xgboost", {**SMALL, **settings}, 0, ["carrier"], task)


@pytest.mark.parametrize("task", TASKS)
def test_each_task_fits_predicts_and_learns_the_signal(task):
    X, y = table(task)
    fit, held_out = slice(0, 600), slice(600, None)

    model = build(task).fit(X[fit], y[fit])
    trivial = models.build_estimator("trivial", {}, 0, [], task).fit(X[fit], y[fit])

    primary = metrics.METRIC_NAMES[task][0]
    scored = {}
    for name, estimator in (("xgboost", model), ("trivial", trivial)):
        predicted = metrics.predict_scores(estimator, X[held_out], task)
        scored[name] = metrics.task_metrics(task, y[held_out], predicted, 0.5,
                                            getattr(estimator, "classes_", None))[primary]
    assert metrics.lift(primary, scored["xgboost"], scored["trivial"]) > 0.1
    assert model.n_iter_ == SMALL["n_estimators"]
    assert model.feature_types() == ["q", "q", "c"]  # the category splits as a category
    if task != "regression":
        probabilities = model.predict_proba(X[held_out])
        assert probabilities.shape == (200, len(model.classes_))
        assert np.allclose(probabilities.sum(axis=1), 1)
        assert set(model.predict(X[held_out])) <= set(model.classes_)


def test_a_missing_or_unknown_category_scores_as_a_missing_value():
    X, y = table("binary")
    model = build("binary").fit(X, y)
    coded, missing = X.head(50).assign(carrier=-1.0), X.head(50).assign(carrier=np.nan)

    assert np.array_equal(model.predict_proba(coded), model.predict_proba(missing))


@pytest.mark.parametrize(("settings", "words"), [
    ({"learning_rate": -1}, "'learning_rate' parameter of XGBoostClassifier must be a float"),
    ({"max_depth": 0}, "'max_depth' parameter"),
    ({"learning_rat": 0.1}, "unexpected keyword argument 'learning_rat'"),
])
def test_hyperparameters_are_refused_before_any_data_is_read(settings, words):
    with pytest.raises(ParamsError, match=r"train.hyperparameters.xgboost: .*" + words):
        models.build_estimator("xgboost", settings, 0, [], "binary")


@pytest.mark.parametrize("task", TASKS)
def test_the_model_file_holds_xgboost_bytes_and_no_pickle(task, tmp_path):
    X, y = table(task)
    model = build(task).fit(X, y)
    path = tmp_path / "model.skops"

    artifacts.save_model(model, path)

    with zipfile.ZipFile(path) as archive:
        schema = json.loads(archive.read("schema.json"))
        (binary,) = [name for name in archive.namelist() if name.endswith(".bin")]
        assert archive.read(binary) == model.booster_
        for name in archive.namelist():
            if name.endswith(".npy"):  # arrays of numbers, which numpy reads without pickle
                np.load(io.BytesIO(archive.read(name)), allow_pickle=False)
    assert model.booster_.startswith(b"{")  # XGBoost's UBJ model format: one object
    assert loaders(schema) <= PLAIN_LOADERS
    assert skops.io.get_untrusted_types(file=path) == [
        f"lifecycle.modeling.boosting.{type(model).__name__}"]
    loaded = artifacts.load_model(path)
    assert "_loaded" not in vars(loaded)  # the booster is rebuilt when first needed
    assert np.array_equal(metrics.predict_scores(loaded, X, task),
                          metrics.predict_scores(model, X, task))


def loaders(node: object) -> set[str]:
    if isinstance(node, list):
        return set().union(*map(loaders, node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {node["__loader__"]} if "__loader__" in node else set()
    return found.union(*map(loaders, node.values()))


def test_loading_still_refuses_a_model_file_holding_any_other_type(tmp_path):
    X, y = table("binary")
    model = build("binary").fit(X, y)
    model.extra_ = fractions.Fraction(1, 3)  # any type outside the trusted list
    artifacts.save_model(model, tmp_path / "model.skops")

    with pytest.raises(LifecycleError, match=r"refused to load: .*fractions.Fraction"):
        artifacts.load_model(tmp_path / "model.skops")


def test_the_same_data_and_seed_give_the_same_file_bytes(tmp_path):
    """XGBoost's bytes are stable and the skops file's bytes entry gets a fixed name."""
    X, y = table("multiclass")
    for attempt in ("first", "second"):
        artifacts.save_model(build("multiclass").fit(X, y), tmp_path / f"{attempt}.skops")

    assert (tmp_path / "first.skops").read_bytes() == (tmp_path / "second.skops").read_bytes()


@parametrize_with_checks([boosting.XGBoostClassifier(n_estimators=5, n_jobs=1),
                          boosting.XGBoostRegressor(n_estimators=5, n_jobs=1)])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


# --- ONNX: the estimator alone, on values the transformer never gives (numeric gaps) ---------

def onnx_answers(model: boosting._XGBoost, X: pd.DataFrame) -> list[np.ndarray]:
    onnx_export.register_converters()
    options = {id(model): {"zipmap": False}} if hasattr(model, "classes_") else None
    proto = onnx_export.converted(model, [("encoded", DoubleTensorType([None, X.shape[1]]))],
                                  "estimator_", options)
    session = onnxruntime.InferenceSession(proto.SerializeToString())
    return session.run(None, {"encoded": X.to_numpy(dtype=np.float64)})


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("settings", [{"n_estimators": 60, "max_depth": 5},
                                      {"min_child_weight": 1e9}],  # no tree splits at all
                         ids=["trees", "leaves only"])
def test_the_onnx_estimator_answers_as_xgboost_with_missing_values(task, settings):
    X, y = table(task)
    model = build(task, **settings).fit(X, y)
    rows, _ = table(task, rows=500, seed=1)
    rows.loc[rows.index[::7], "noise"] = np.nan
    trees = model.booster_json()["learner"]["gradient_booster"]["model"]["trees"]
    assert any(len(tree["left_children"]) > 1 for tree in trees) == ("max_depth" in settings)

    answers = onnx_answers(model, rows)

    if task == "regression":
        expected = model.predict(rows)
        (got,) = answers
        assert np.abs(got.ravel() - expected).max() <= onnx_export.REGRESSION_TOLERANCE * max(
            1.0, np.abs(expected).max())
    else:
        labels, probabilities = answers
        assert np.abs(probabilities - model.predict_proba(rows)).max() <= \
            onnx_export.PROBABILITY_TOLERANCE
        assert list(model.classes_[np.searchsorted(model.classes_, labels)]) == \
            list(model.predict(rows))


# --- Dask: XGBoost's Dask interface on the partitions of a parquet file ------------------------

@pytest.fixture(scope="module")
def client():
    with engine.dask_client() as started:
        yield started


def parquet_frame(X: pd.DataFrame, y: pd.Series, path, rows_per_group: int):
    import dask.dataframe as dd

    pq.write_table(pa.Table.from_pandas(X.assign(target=y)), path,
                   row_group_size=rows_per_group)
    return dd.read_parquet(path, split_row_groups=True)


@pytest.mark.slow  # starts a Dask cluster of worker processes
@pytest.mark.parametrize("task", TASKS)
def test_dask_training_is_repeatable_and_agrees_with_training_in_process(client, tmp_path,
                                                                          task):
    X, y = table(task, rows=4000)
    frame = parquet_frame(X, y, tmp_path / "four.parquet", rows_per_group=1000)
    assert frame.npartitions == 4
    settings = {"n_estimators": 50, "learning_rate": 0.1}
    in_process = build(task, **settings).fit(X, y)

    first, second = (build(task, **settings).fit_dask(client, frame, "target")
                     for _ in range(2))

    assert first.booster_ == second.booster_  # partitions are pinned to workers by name
    assert list(getattr(first, "classes_", [])) == list(getattr(in_process, "classes_", []))
    # Not the same bytes: the workers' quantile sketches are merged, so some split points
    # differ a little from the sketch of all rows in one process; the scores barely do.
    rows, truth = table(task, rows=2000, seed=3)
    on_dask, here = (metrics.predict_scores(model, rows, task) for model in (first, in_process))
    scale = 1.0 if task != "regression" else float(truth.std())
    assert np.abs(on_dask - here).mean() < 0.02 * scale
    primary = metrics.METRIC_NAMES[task][0]
    classes = getattr(first, "classes_", None)
    assert abs(metrics.task_metrics(task, truth, on_dask, 0.5, classes)[primary]
               - metrics.task_metrics(task, truth, here, 0.5, classes)[primary]) < 0.01 * scale


@pytest.mark.slow  # starts a Dask cluster of worker processes
def test_dask_training_on_one_partition_gives_the_in_process_bytes(client, tmp_path):
    X, y = table("regression", rows=2000)
    frame = parquet_frame(X, y, tmp_path / "one.parquet", rows_per_group=10_000)

    on_dask = build("regression").fit_dask(client, frame, "target")

    assert on_dask.booster_ == build("regression").fit(X, y).booster_


# --- the stages, `lifecycle predict` and the API on the tiny trained project ----------------

XGBOOST_PARAMS = {"train.model": "xgboost", "train.hyperparameters.xgboost.n_estimators": 60}


@pytest.fixture(scope="module")
def xgboost_project(trained_project, tmp_path_factory):
    """The tiny trained project (3% of the flights) retrained with xgboost, then evaluated,
    monitored and exported, every stage in this process. Read only."""
    project = tmp_path_factory.mktemp("xgboost") / "project"
    shutil.copytree(trained_project, project)
    for dotted, value in XGBOOST_PARAMS.items():
        set_param(project, dotted, value)
    run_stages(project, ("train", "evaluate", "monitor", "export"))
    return project


def test_the_stages_evaluate_monitor_and_export_the_xgboost_model(xgboost_project):
    model = artifacts.load_model(xgboost_project / "models/model.skops")
    train_report = json.loads((xgboost_project / "reports/train.json").read_text())
    evaluation = json.loads((xgboost_project / "reports/evaluation/metrics.json").read_text())
    export = json.loads((xgboost_project / "reports/export.json").read_text())

    assert isinstance(model.named_steps["estimator"], boosting.XGBoostClassifier)
    assert train_report["model"] == "xgboost" and train_report["iterations"] == 60
    assert evaluation["roc_auc"] > 0.6
    assert (xgboost_project / "reports/monitor/drift.json").is_file()
    assert export["parity"]["holds"] and export["parity"]["rows"] > 1000


def test_lifecycle_predict_scores_a_small_csv_with_the_xgboost_model(xgboost_project, tmp_path,
                                                                     monkeypatch):
    model = artifacts.load_model(xgboost_project / "models/model.skops")
    rows = tables.read_parquet(xgboost_project / "data/prepared/test.parquet").head(40)
    rows.drop(columns="late").to_csv(tmp_path / "batch.csv", index=False)
    monkeypatch.chdir(xgboost_project)

    with contextlib.redirect_stdout(io.StringIO()) as out:
        code = cli.main(["predict", "--input", str(tmp_path / "batch.csv"),
                         "--output", str(tmp_path / "scored.csv")])

    assert code == 0, out.getvalue()
    scored = pd.read_csv(tmp_path / "scored.csv")
    expected = model.predict_proba(rows[list(model.feature_names_in_)])[:, 1]
    assert np.allclose(scored["probability_1"], expected, atol=1e-6)


def test_the_api_serves_the_xgboost_model(xgboost_project, monkeypatch):
    monkeypatch.chdir(xgboost_project)
    rows = tables.read_parquet(xgboost_project / "data/prepared/test.parquet").head(5)
    instances = json.loads(rows.drop(columns="late").to_json(orient="records",
                                                              date_format="iso"))

    with TestClient(api_app.create_app()) as api:
        response = api.post("/predict", json={"instances": instances})

    assert response.status_code == 200, response.text
    model = artifacts.load_model(xgboost_project / "models/model.skops")
    expected = model.predict_proba(rows[list(model.feature_names_in_)])[:, 1]
    assert np.allclose([p["1"] for p in response.json()["probabilities"]], expected, atol=1e-6)


@pytest.mark.slow  # the train stage starts a Dask cluster of worker processes
def test_the_train_stage_on_dask_saves_the_bytes_it_saves_in_process(xgboost_project,
                                                                     tmp_path):
    """The tiny project's features are one parquet row group: one partition, one worker, the
    same model as in process, to the byte (and training again gives them again)."""
    saved = {}
    for attempt, chosen in (("dask", "dask"), ("dask again", "dask"), ("pandas", "pandas")):
        project = tmp_path / attempt.replace(" ", "_")
        shutil.copytree(xgboost_project, project)
        set_param(project, "engine", chosen)
        run_stages(project, ("train",))
        saved[attempt] = (project / "models/model.skops").read_bytes()

    assert saved["dask"] == saved["dask again"] == saved["pandas"]
    assert saved["pandas"] == (xgboost_project / "models/model.skops").read_bytes()
