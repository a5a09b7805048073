"""The ONNX file answers as the scikit-learn pipeline: every task, every exportable model, every
cleaning option, on rows with missing values, unseen and misspelt categories; and it scores a
table in a process that never imports scikit-learn or skops."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from lifecycle.config import contract
from lifecycle.core import tables
from lifecycle.core.errors import LifecycleError
from lifecycle.deployment import frames, loading, scoring
from lifecycle.deployment.onnx import export as onnx_export
from lifecycle.deployment.onnx import runtime as onnx_runtime
from lifecycle.modeling import artifacts, features, models

from ..tables import customers

TARGETS = {"binary": "churned", "multiclass": "segment", "regression": "lifetime_value"}
KINDS = {"signup_date": "datetime", "region": "categorical", "plan": "categorical",
         "tenure_months": "numeric", "monthly_spend": "numeric", "support_calls": "numeric"}
CLEANING = {"outliers": "clip", "outlier_iqr_factor": 1.5, "category_case": "lower",
            "strip_whitespace": True, "category_aliases": {"n": "north"}}


class Problem:
    def __init__(self, task: str) -> None:
        self.name, self.task, self.target = "customers", task, TARGETS[task]


def table(task: str, rows: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    frame = customers(task, rows, seed).dropna(subset=[TARGETS[task]])
    frame["signup_date"] = pd.to_datetime(frame["signup_date"])
    # a time of day, a missing moment and categories training never saw, spelt untidily
    frame["signup_date"] += pd.to_timedelta(np.arange(len(frame)) * 3607 % 86400, unit="s")
    frame.loc[frame.index[::17], "signup_date"] = pd.NaT
    frame.loc[frame.index[::13], "region"] = ["  Middle   Earth ", "N", "north", "\tNORTH"][
        seed % 4]
    frame = frame.reset_index(drop=True)
    for name in ("region", "plan"):
        frame[name] = scoring.category_values(frame[name])
    y = frame.pop(TARGETS[task])
    return frame[list(KINDS)], y if task == "regression" else y.astype(str)


def fitted(task: str, model: str, cleaning: dict, **overrides: object) -> tuple:
    X, y = table(task, 600, seed=1)
    transformer = features.build_transformer(
        ["tenure_months", "monthly_spend", "support_calls"], ["region", "plan"], "signup_date",
        [], "median", overrides.pop("min_category_count", 20), cleaning,
        overrides.pop("impute_categorical", "missing_level"))
    encoded = transformer.fit_transform(X, y)
    hyperparameters = {"hist_gradient_boosting": {"max_iter": 30},
                       "random_forest": {"n_estimators": 20, "max_depth": 6},
                       "xgboost": {"n_estimators": 30, "max_depth": 4},
                       "linear": {"max_iter": 500}, "trivial": {}}[model]
    estimator = models.build_estimator(model, hyperparameters, 0,
                                       features.categorical_output_columns(transformer), task)
    pipeline = Pipeline([("features", transformer), ("estimator", estimator.fit(encoded, y))])
    return pipeline, table(task, 400, seed=2)[0]


def exported(pipeline: Pipeline, task: str, threshold: float = 0.4) -> onnx_runtime.OnnxModel:
    problem = Problem(task)
    described = onnx_export.description(pipeline, KINDS, problem, threshold)
    return onnx_runtime.load(onnx_export.export(pipeline, KINDS, described))


CASES = [
    ("binary", "hist_gradient_boosting", CLEANING, {}),
    ("multiclass", "hist_gradient_boosting", CLEANING, {}),
    ("regression", "hist_gradient_boosting", CLEANING, {}),
    ("binary", "hist_gradient_boosting", {**CLEANING, "outliers": "flag", "category_case": "upper"},
     {"min_category_count": 60}),
    ("binary", "hist_gradient_boosting", {}, {"impute_categorical": "most_frequent"}),
    ("multiclass", "random_forest", CLEANING, {}),
    ("multiclass", "random_forest", {**CLEANING, "strip_whitespace": False}, {}),
    ("regression", "random_forest", CLEANING, {}),
    ("binary", "xgboost", CLEANING, {}),
    ("multiclass", "xgboost", CLEANING, {}),
    ("regression", "xgboost", CLEANING, {}),
    ("binary", "xgboost", {**CLEANING, "outliers": "flag"}, {"min_category_count": 60}),
    ("binary", "linear", CLEANING, {}),
    ("multiclass", "linear", CLEANING, {}),
    ("regression", "linear", CLEANING, {}),
    ("binary", "trivial", CLEANING, {}),
    ("multiclass", "trivial", CLEANING, {}),
    ("regression", "trivial", CLEANING, {}),
]


@pytest.mark.parametrize(("task", "model", "cleaning", "overrides"), CASES)
def test_onnx_file_answers_as_the_pipeline(task, model, cleaning, overrides):
    pipeline, rows = fitted(task, model, dict(cleaning), **dict(overrides))
    portable = exported(pipeline, task)
    report = onnx_export.parity(pipeline, portable, rows, task, 0.4)
    assert report["rows"] == len(rows) > 300
    assert report["holds"], report
    if task != "regression":  # the labels too, each class's column in the pipeline's order
        assert list(portable.classes_) == list(pipeline.classes_)
        assert (portable.predict(rows) == pipeline.predict(rows)).all()


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_parity_chunk_by_chunk_reports_what_parity_on_every_row_at_once_reports(task,
                                                                               tmp_path):
    pipeline, rows = fitted(task, "hist_gradient_boosting", dict(CLEANING))
    portable = exported(pipeline, task)
    saved = tmp_path / "rows.parquet"
    rows.to_parquet(saved, index=False)
    whole = onnx_export.parity(pipeline, portable, rows, task, 0.4)
    chunks = tables.parquet_batches(saved, 97, columns=list(rows.columns))
    parts = [onnx_export.parity(pipeline, portable, chunk, task, 0.4) for chunk in chunks]

    assert len(parts) == -(-len(rows) // 97) > 3
    assert onnx_export.combined_parity(parts) == whole


def test_one_chunk_that_differs_breaks_the_parity_of_all():
    parts = [{"rows": 100, "max_difference": 1e-12, "tolerance": 1e-5, "labels_differ": 0,
              "holds": True},
             {"rows": 40, "max_difference": 3e-5, "tolerance": 1e-5, "labels_differ": 2,
              "holds": False},
             {"rows": 100, "max_difference": 1e-9, "tolerance": 1e-5, "labels_differ": 1,
              "holds": False}]

    assert onnx_export.combined_parity(parts) == {
        "rows": 240, "max_difference": 3e-5, "tolerance": 1e-5, "labels_differ": 3,
        "holds": False}
    assert onnx_export.combined_parity(parts[:1])["holds"]


def test_an_empty_table_is_one_empty_frame_typed_as_read_whole(tmp_path):
    saved = tmp_path / "empty.parquet"
    pd.DataFrame({"when": pd.to_datetime([]), "size": pd.Series([], dtype="float64"),
                  "kind": pd.Series([], dtype=object)}).to_parquet(saved, index=False)

    (frame,) = tables.parquet_batches(saved, 10, columns=["size", "when"])

    pd.testing.assert_frame_equal(frame, pd.read_parquet(saved, columns=["size", "when"]))


def test_features_match_value_for_value_on_untidy_rows():
    """The converters one by one, through the transformer's output, not only the scores."""
    pipeline, rows = fitted("binary", "hist_gradient_boosting", dict(CLEANING))
    transformer = pipeline.named_steps["features"]
    portable = exported(Pipeline([("features", transformer),
                                  ("estimator", pipeline.named_steps["estimator"])]), "binary")
    onnx_export.register_converters()
    from skl2onnx import convert_sklearn

    inputs = [(name, onnx_export.TENSOR_TYPES[KINDS[name]]([None, 1])) for name in KINDS]
    proto = convert_sklearn(transformer, initial_types=inputs, target_opset=onnx_export.OPSET)
    proto.ir_version = onnx_export.IR_VERSION
    import onnxruntime

    session = onnxruntime.InferenceSession(proto.SerializeToString())
    (got,) = session.run(None, portable.inputs(rows))
    expected = transformer.transform(rows).to_numpy(dtype=float)
    np.testing.assert_allclose(got, expected, rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize("moment", ["1969-12-31 23:59:59", "1900-02-28 06:00", "2000-02-29",
                                    "2100-03-01 12:30", "2262-04-11"])
def test_calendar_parts_of_dates_far_from_1970(moment):
    """Leap years, centuries and times before 1970 give the parts pandas gives."""
    X = pd.DataFrame({"when": pd.to_datetime([moment, None]), "built_year": [1950.0, None]})
    step = features.CalendarFeatures("when", ("built_year",)).fit(X)
    onnx_export.register_converters()
    from skl2onnx import convert_sklearn

    proto = convert_sklearn(step, initial_types=[("when", onnx_export.DoubleTensorType([None, 1])),
                                                 ("built_year",
                                                  onnx_export.DoubleTensorType([None, 1]))],
                            target_opset=onnx_export.OPSET)
    import onnxruntime

    session = onnxruntime.InferenceSession(proto.SerializeToString())
    feeds = {"when": onnx_runtime.column_array(X["when"], "datetime"),
             "built_year": onnx_runtime.column_array(X["built_year"], "numeric")}
    (got,) = session.run(None, feeds)
    np.testing.assert_array_equal(got, step.transform(X).to_numpy())


def test_the_export_stage_writes_the_same_bytes_and_its_parity_report(trained_project, tmp_path,
                                                                      monkeypatch):
    from ..conftest import TRAINED_FILES, copy_files, run_stages

    project = copy_files(trained_project, tmp_path / "p", TRAINED_FILES)
    run_stages(project, ("export",))
    first = (project / "models/model.onnx").read_bytes()
    run_stages(project, ("export",))
    assert (project / "models/model.onnx").read_bytes() == first
    report = json.loads((project / "reports/export.json").read_text())
    test_rows = len(pd.read_parquet(project / "data/prepared/test.parquet"))
    assert report["bytes"] == len(first)
    assert report["parity"]["rows"] == test_rows and report["parity"]["holds"]
    assert report["parity"]["max_difference"] < 1e-9


@pytest.mark.parametrize("change", ["one score", "one row fewer", "one row more"])
def test_export_checks_the_file_against_the_scores_evaluate_recorded(trained_project, tmp_path,
                                                                     change):
    """Parity compares the ONNX file with the pipeline's scores as evaluate recorded them: a
    recorded score that is not the model's, or scores of other rows, and nothing is written."""
    from ..conftest import TRAINED_FILES, copy_files, run_stages

    project = copy_files(trained_project, tmp_path / "p", TRAINED_FILES)
    (project / "models/model.onnx").unlink()
    recorded = project / "data/predictions/test.parquet"
    table = pd.read_parquet(recorded)
    if change == "one score":
        table.loc[7, "score"] += 0.01
    elif change == "one row fewer":
        table = table.iloc[:-1]
    else:
        table = pd.concat([table, table.tail(1)], ignore_index=True)
    table.to_parquet(recorded)
    with pytest.raises(LifecycleError) as refused:
        run_stages(project, ("export",))
    message = str(refused.value)
    if change == "one score":
        assert "does not answer as models/model.skops" in message
        largest = float(message.split("'max_difference': ")[1].split(",")[0])
        assert largest == pytest.approx(0.01) and "'holds': False" in message
    else:
        assert message.startswith("data/predictions/test.parquet: ") and "dvc repro" in message
    assert not (project / "models/model.onnx").exists()


def test_a_table_is_scored_with_onnxruntime_alone(trained_project, tmp_path):
    """A process that never imports scikit-learn or skops scores a CSV as the pipeline does."""
    from ..conftest import TRAINED_FILES, copy_files

    project = copy_files(trained_project, tmp_path / "p", TRAINED_FILES)
    rows = pd.read_parquet(project / "data/prepared/test.parquet").head(500)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    script = (
        "import sys; from lifecycle.deployment.onnx import runtime as onnx_runtime;"
        f"code = onnx_runtime.main([{str(project / 'models/model.onnx')!r}, "
        f"{str(tmp_path / 'rows.csv')!r}, {str(tmp_path / 'scored.csv')!r}]);"
        "loaded = sorted(m for m in ('sklearn', 'skops', 'scipy') if m in sys.modules);"
        "print(loaded); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"  # no scikit-learn, skops or scipy in that process
    scored = pd.read_csv(tmp_path / "scored.csv")
    model = artifacts.load_model(project / "models/model.skops")
    rules = scoring.input_contract(contract.load(project / "data/contract.yaml"),
                                   list(model.feature_names_in_))
    parsed, _ = scoring.check_rows(pd.read_csv(tmp_path / "rows.csv"), rules, "rows.csv")
    expected = model.predict_proba(parsed)[:, 1]
    np.testing.assert_allclose(scored["probability_1"], expected, rtol=0, atol=1e-9)
    threshold = onnx_runtime.load(project / "models/model.onnx").decision_threshold
    assert threshold == 0.3  # params.yaml's, carried in the file
    assert (scored["prediction"] == (expected >= threshold).astype(int)).all()
    assert list(scored.columns[:len(rows.columns)]) == list(rows.columns)


def snapshot(folder) -> dict:
    return {path: path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.parametrize("output", ["in/rows.csv", "in", ".", "models/model.onnx", "params.yaml",
                                    ".dvc/scored.csv"])
def test_scoring_writes_over_no_input_folder_or_project_file(trained_project, tmp_path,
                                                            monkeypatch, capsys, output):
    """The output names the input, its folder, the project root, the model, a project file or
    a place inside .dvc: refused before any work, and every file stays byte-identical."""
    from ..conftest import TRAINED_FILES, copy_files

    project = copy_files(trained_project, tmp_path / "p", TRAINED_FILES)
    (project / "in").mkdir()
    (project / ".dvc").mkdir()
    rows = pd.read_parquet(project / "data/prepared/test.parquet").head(5)
    rows.to_csv(project / "in/rows.csv", index=False)
    monkeypatch.chdir(project)
    subprocess.run(["git", "init", "-q"], check=True)
    subprocess.run(["git", "add", "params.yaml"], check=True)
    before = snapshot(tmp_path)
    assert onnx_runtime.main(["models/model.onnx", "in/rows.csv", output]) == 1
    assert "refused" in capsys.readouterr().err
    assert snapshot(tmp_path) == before


def test_scoring_reads_and_writes_in_chunks(trained_project, tmp_path, monkeypatch):
    """A table of more rows than one chunk is scored whole, in CSV or parquet."""
    from ..conftest import TRAINED_FILES, copy_files

    project = copy_files(trained_project, tmp_path / "p", TRAINED_FILES)
    rows = pd.read_parquet(project / "data/prepared/test.parquet").head(25)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    monkeypatch.setattr(frames, "CHUNK_ROWS", 10)
    model = project / "models/model.onnx"
    assert onnx_runtime.main([str(model), str(tmp_path / "rows.csv"),
                              str(tmp_path / "scored.parquet")]) == 0
    scored = pd.read_parquet(tmp_path / "scored.parquet")
    whole = onnx_runtime.score_table(onnx_runtime.load(model), pd.read_csv(tmp_path / "rows.csv"))
    assert len(scored) == 25
    np.testing.assert_allclose(scored["probability_1"], whole["probability_1"], rtol=0, atol=0)


def test_a_file_without_the_description_is_refused():
    pipeline, _ = fitted("binary", "hist_gradient_boosting", {})
    import onnx

    proto = onnx.load_from_string(onnx_export.export(pipeline, KINDS, {"task": "binary"}))
    del proto.metadata_props[:]
    with pytest.raises(LifecycleError, match="not a model exported by `lifecycle`"):
        onnx_runtime.load(proto.SerializeToString())


def test_batch_scoring_the_api_and_the_onnx_file_agree_row_for_row(trained_project, tmp_path,
                                                                   monkeypatch):
    """One model, three ways: `predict` with either runtime and the API on the ONNX file give
    the same labels and probabilities for the same rows; /metadata names the file that answers."""
    import hashlib

    from fastapi.testclient import TestClient

    from lifecycle.commands import predict
    from lifecycle.deployment.api import app as api_app

    from ..conftest import TRAINED_FILES, copy_files

    project = copy_files(trained_project, tmp_path / "p", TRAINED_FILES)
    monkeypatch.chdir(project)
    rows = pd.read_parquet("data/prepared/test.parquet").drop(columns="late").head(300)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    scored = {}
    for runtime in loading.RUNTIMES:
        output = tmp_path / f"{runtime}.csv"
        predict.run(str(tmp_path / "rows.csv"), str(output), runtime=runtime)
        scored[runtime] = pd.read_csv(output)
    assert len(scored["skops"]) == len(rows)
    assert (scored["onnx"]["prediction"] == scored["skops"]["prediction"]).all()
    np.testing.assert_allclose(scored["onnx"]["probability_1"], scored["skops"]["probability_1"],
                               rtol=0, atol=1e-9)
    instances = json.loads(rows.to_json(orient="records", date_format="iso"))
    with TestClient(api_app.create_app("onnx")) as client:
        answer = client.post("/predict", json={"instances": instances}).json()
        metadata = client.get("/metadata").json()
    assert answer["predictions"] == scored["skops"]["prediction"].tolist()
    np.testing.assert_allclose([p["1"] for p in answer["probabilities"]],
                               scored["skops"]["probability_1"], rtol=0, atol=1e-9)
    assert metadata["runtime"] == "onnx"
    assert metadata["model"]["path"] == "models/model.onnx"
    assert metadata["model"]["md5"] == hashlib.md5(
        (project / "models/model.onnx").read_bytes()).hexdigest()


def test_the_onnx_runtime_without_an_exported_file_says_how_to_make_it(trained, tmp_path,
                                                                      monkeypatch):
    from lifecycle.deployment.api import app as api_app

    from ..conftest import TRAINED_FILES, copy_files

    project = copy_files(trained, tmp_path, TRAINED_FILES)
    (project / "models/model.onnx").unlink()
    monkeypatch.chdir(project)
    with pytest.raises(LifecycleError, match=r"models/model\.onnx: not found; run `dvc repro`"):
        api_app.create_app("onnx")


def test_many_aliases_are_one_lookup_in_the_file():
    """The file's size and node count do not grow with the number of aliases beyond their
    text, and every alias still maps (a chain of comparisons would add nodes per alias)."""
    import onnx

    aliases = {f"region {i}": "north" for i in range(2000)}
    cleaning = {**CLEANING, "category_aliases": aliases}
    pipeline, rows = fitted("binary", "hist_gradient_boosting", cleaning)
    few, _ = fitted("binary", "hist_gradient_boosting", CLEANING)
    nodes = [len(onnx.load_from_string(onnx_export.export(model, KINDS, {"task": "binary"}))
                 .graph.node) for model in (pipeline, few)]
    assert nodes[0] == nodes[1]
    rows.loc[rows.index[:50], "region"] = [f"Region  {i}" for i in range(50)]
    report = onnx_export.parity(pipeline, exported(pipeline, "binary"), rows, "binary", 0.4)
    assert report["holds"], report


# --- inputs bounded before work grows with them ----------------------------------------------

# Resident memory a scoring process may reach: the libraries take about 150 MB; reading the
# million-column table below took 1.3 GB (up to 4.7 GB on other machines) before it was refused.
SCORING_MEMORY = 400 * 2**20


def test_a_table_of_a_million_columns_is_refused_before_its_rows_are_read(trained_project,
                                                                        tmp_path):
    """A 12 MB CSV of 2 rows and 1,000,000 columns: one line, and the process stays small."""
    from ..conftest import TRAINED_FILES, copy_files

    project = copy_files(trained_project, tmp_path / "p", TRAINED_FILES)
    wide = tmp_path / "wide.csv"
    header = ",".join(f"c{i}" for i in range(1_000_000))
    wide.write_text("\n".join([header] + [",".join(["1"] * 1_000_000)] * 2) + "\n")
    # The process's peak resident memory is VmHWM: getrusage's maxrss would carry this test
    # process's over the fork and exec.
    script = (
        "import re, sys; from pathlib import Path;"
        "from lifecycle.deployment.onnx import runtime as onnx_runtime;"
        f"code = onnx_runtime.main([{str(project / 'models/model.onnx')!r}, {str(wide)!r}, "
        f"{str(tmp_path / 'scored.csv')!r}]);"
        "peak = re.search(r'VmHWM:\\s+(\\d+) kB', Path('/proc/self/status').read_text());"
        "print(int(peak[1]) * 1024); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=False, timeout=600)

    assert result.returncode == 1
    assert result.stderr == (f"lifecycle onnx-runtime: error: {wide}: more than 10,000 columns, "
                             f"the most a table may have here; keep only the columns you need\n")
    assert int(result.stdout) < SCORING_MEMORY
    assert not (tmp_path / "scored.csv").exists()


def test_a_model_file_over_the_cap_is_refused_before_it_is_read(trained_project, monkeypatch):
    model = trained_project / "models/model.onnx"
    size = model.stat().st_size
    monkeypatch.setattr(onnx_runtime, "MAX_MODEL_BYTES", size - 1)

    with pytest.raises(LifecycleError, match=f"{model}: more than {size - 1:,} bytes, the most "
                                             f"read here; an ONNX model of this project is "
                                             f"far smaller"):
        onnx_runtime.load(model)
    monkeypatch.setattr(onnx_runtime, "MAX_MODEL_BYTES", size)
    assert onnx_runtime.load(model).task == "binary"
