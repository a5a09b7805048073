"""A project extends the library from its own src/ (params.yaml `extensions:`): its own model,
transformer and metric train and evaluate, the model file loads through the trusted path with
the project's class and nothing else beyond the library's types, a bad import path is one line,
`lifecycle code-deps` lists the project's modules for the stages that run them, and export says
in one line that such a model has no ONNX converter.
"""

import fractions
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from lifecycle import cli, config
from lifecycle.config import schema
from lifecycle.core import extensions, stage_trace
from lifecycle.core.errors import LifecycleError, ParamsError
from lifecycle.modeling import artifacts, models
from lifecycle.project import code_deps, testing

from ..conftest import bin_path, copy_project, environment, example_file, run
from ..e2e.test_pipeline import STAGES, assert_declares_what_it_traced, stages_run
from .test_hostile_params import edit_params, template_project, tiny_table

PACKAGE = "shop_ext"
OWN_CODE = {
    "__init__.py": "",
    # A helper the transformer imports: `lifecycle code-deps` lists it with it.
    "helpers.py": """
        def squared(values):
            return values.astype(float) ** 2
    """,
    "models.py": """
        import numpy as np
        from sklearn.base import BaseEstimator, ClassifierMixin

        NOT_CALLABLE = 3


        class CentroidClassifier(ClassifierMixin, BaseEstimator):
            \"\"\"Scores each class by the distance to its mean row: an estimator of the
            project's own, which no library knows.\"\"\"

            def __init__(self, sharpness=1.0):
                self.sharpness = sharpness

            def fit(self, X, y):
                values, labels = np.nan_to_num(np.asarray(X, dtype=float)), np.asarray(y)
                self.classes_ = np.unique(labels)
                self.centroids_ = np.stack([values[labels == label].mean(axis=0)
                                            for label in self.classes_])
                return self

            def predict_proba(self, X):
                values = np.nan_to_num(np.asarray(X, dtype=float))
                distance = ((values[:, None, :] - self.centroids_[None]) ** 2).sum(axis=2)
                closeness = np.exp(-self.sharpness * (distance - distance.min(axis=1)[:, None]))
                return closeness / closeness.sum(axis=1)[:, None]

            def predict(self, X):
                return self.classes_[self.predict_proba(X).argmax(axis=1)]


        def centroids(task, hyperparameters, seed, categorical):
            return CentroidClassifier(**hyperparameters)


        def no_arguments():
            return CentroidClassifier()


        def not_an_estimator(task, hyperparameters, seed, categorical):
            return "a model"
    """,
    "features.py": """
        import numpy as np
        import pandas as pd
        from sklearn.base import BaseEstimator, TransformerMixin

        from shop_ext.helpers import squared


        class SignalSquared(TransformerMixin, BaseEstimator):
            def fit(self, X, y=None):
                return self

            def transform(self, X):
                return pd.DataFrame({"signal_squared": squared(X["signal"])}, index=X.index)

            def get_feature_names_out(self, input_features=None):
                return np.asarray(["signal_squared"], dtype=object)
    """,
    "metrics.py": """
        import numpy as np


        def top_fifth_rate(labels, scores):
            \"\"\"The share of positives among the fifth of rows scored highest.\"\"\"
            top = np.argsort(-scores)[: max(1, len(scores) // 5)]
            return float(np.mean(np.asarray(labels)[top]))
    """,
    "broken.py": """
        import no_such_dependency  # noqa: F401
    """,
}
EXTENSIONS = {
    "models": {"centroids": f"{PACKAGE}.models:centroids"},
    "transformers": {"signal_squared": f"{PACKAGE}.features:SignalSquared"},
    "metrics": {"top_fifth_rate": f"{PACKAGE}.metrics:top_fifth_rate"},
}


def write_own_code(project: Path, modules: dict[str, str] = OWN_CODE) -> None:
    folder = project / "src" / PACKAGE
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in modules.items():
        (folder / name).write_text(textwrap.dedent(source))


@pytest.fixture(autouse=True)
def own_code_unloaded(monkeypatch):
    """Every test imports the project's code afresh from its own folder, and leaves the import
    path and the loaded modules as it found them."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    for name in [name for name in sys.modules if extensions.package_of(name) == PACKAGE]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory) -> Path:
    """The template on a tiny yes/no table whose project names its own model, transformer and
    metric: init, then every stage from check to monitor, in this process."""
    project = template_project(tmp_path_factory.mktemp("own-code"))
    write_own_code(project)
    (project / "data/source").mkdir(parents=True)
    tiny_table().to_csv(project / "data/source/answers.csv", index=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        patch.setattr(sys, "path", list(sys.path))
        assert cli.main(["init", "--data", "data/source/answers.csv", "--target", "answer",
                         "--time-column", "when"]) == 0
        edit_params(project, "extensions", EXTENSIONS)
        edit_params(project, "train.model", "centroids")
        edit_params(project, "train.hyperparameters.centroids", {"sharpness": 0.5})
        edit_params(project, "tuning.space.centroids", {})
        edit_params(project, "evaluate.slice_min_rows", 10)
        for stage in ("check", "ingest", "prepare", "featurize", "train", "evaluate", "monitor"):
            assert cli.main([stage]) == 0, stage
    for name in [name for name in sys.modules if extensions.package_of(name) == PACKAGE]:
        del sys.modules[name]
    return project


@pytest.fixture
def project(evaluated: Path, tmp_path: Path, monkeypatch) -> Path:
    """A copy of the evaluated project, as the working directory."""
    copy = tmp_path / "project"
    shutil.copytree(evaluated, copy)
    monkeypatch.chdir(copy)
    return copy


def one_line_error(capsys, command: str) -> str:
    capsys.readouterr()
    code = cli.main([command])
    errors = capsys.readouterr().err
    assert code != 0 and errors.count("\n") == 1 and "Traceback" not in errors, errors
    assert errors.startswith(f"lifecycle {command}: error: "), errors
    return errors


# --- the project's own model, transformer and metric through the pipeline -----------------


def test_the_projects_own_model_transformer_and_metric_train_and_evaluate(evaluated):
    trained = json.loads((evaluated / "reports/train.json").read_text())
    headline = json.loads((evaluated / "reports/evaluation/metrics.json").read_text())
    details = json.loads((evaluated / "reports/evaluation/details.json").read_text())

    assert trained["model"] == "centroids"
    assert "signal_squared" in trained["features"]  # the own transformer's output is a feature
    assert list(headline)[:5] == ["roc_auc", "average_precision", "log_loss", "brier", "f1"]
    assert 0 <= headline["top_fifth_rate"] <= 1  # beside the task's metrics, never judged
    assert details["own_metrics"] == {"top_fifth_rate": {
        "value": headline["top_fifth_rate"], "function": f"{PACKAGE}.metrics:top_fifth_rate"}}
    gate = json.loads((evaluated / "reports/gate.json").read_text())
    assert all("top_fifth_rate" not in row["criterion"] for row in gate["criteria"])
    card = (evaluated / "reports/model_card.md").read_text()
    assert f"| top_fifth_rate | {headline['top_fifth_rate']} | `{PACKAGE}.metrics:" in card


def test_the_model_file_loads_through_the_trusted_path_with_the_projects_class(evaluated):
    model = artifacts.load_model(evaluated / "models/model.skops", (PACKAGE,), evaluated)

    estimator = model.named_steps["estimator"]
    assert type(estimator).__name__ == "CentroidClassifier"
    assert Path(sys.modules[f"{PACKAGE}.models"].__file__) == (
        evaluated / f"src/{PACKAGE}/models.py").resolve()  # the project's file, not a copy
    assert estimator.sharpness == 0.5
    predictions = testing.score_test_rows(evaluated, rows=20)
    assert set(predictions["prediction"]) <= {"no", "yes"} and len(predictions) == 20


def test_lifecycle_predict_scores_with_the_projects_model_on_the_skops_runtime(project,
                                                                              capsys):
    (project / "rows.csv").write_text(tiny_table(rows=30, seed=1).drop(columns="answer")
                                      .to_csv(index=False))

    assert cli.main(["predict", "--input", "rows.csv", "--output", "scored.csv"]) == 0, \
        capsys.readouterr().err

    scored = (project / "scored.csv").read_text().splitlines()
    assert len(scored) == 31 and "prediction" in scored[0]
    assert (project / "reports/monitor").is_dir()  # the monitor stage loaded it too


def test_without_the_projects_packages_its_types_are_refused(evaluated):
    with pytest.raises(LifecycleError, match=rf"refused to load: .*{PACKAGE}\.features\."
                                             rf"SignalSquared, {PACKAGE}\.models\."
                                             rf"CentroidClassifier\. .*\(none: params\.yaml"):
        artifacts.load_model(evaluated / "models/model.skops")


def test_a_trusted_package_must_be_the_projects_own(evaluated):
    """params.yaml cannot widen the trust to a package installed elsewhere."""
    with pytest.raises(LifecycleError, match=r"params.yaml: extensions: numpy is not a module "
                                             r"of the project's src/ folder"):
        artifacts.load_model(evaluated / "models/model.skops", (PACKAGE, "numpy"), evaluated)


class Lookalike:
    """A type of a package whose name only begins with the project's."""


Lookalike.__module__ = f"{PACKAGE}_evil.payload"


@pytest.mark.parametrize("extra, refused", [
    (fractions.Fraction(1, 3), "fractions.Fraction"),
    (Lookalike(), f"{PACKAGE}_evil.payload.Lookalike"),
])
def test_any_other_type_is_still_refused_with_the_projects_packages_trusted(
        evaluated, tmp_path, extra, refused):
    model = artifacts.load_model(evaluated / "models/model.skops", (PACKAGE,), evaluated)
    model.named_steps["estimator"].extra_ = extra
    artifacts.save_model(model, tmp_path / "model.skops")

    with pytest.raises(LifecycleError, match=rf"refused to load: .*{refused}\. .*\({PACKAGE}, "
                                             rf"as params\.yaml extensions names them\)"):
        artifacts.load_model(tmp_path / "model.skops", (PACKAGE,), evaluated)


def test_the_stages_trace_the_projects_own_modules_they_import(project):
    extensions.load(f"{PACKAGE}.features:SignalSquared", "here")

    assert {f"src/{PACKAGE}/__init__.py", f"src/{PACKAGE}/features.py",
            f"src/{PACKAGE}/helpers.py", "src/lifecycle/core/stage_trace.py",
            "src/lifecycle/core/extensions.py"} <= set(stage_trace.project_modules())


def test_export_says_in_one_line_that_the_projects_own_steps_have_no_onnx_converter(
        project, capsys):
    errors = one_line_error(capsys, "export")

    assert f"no ONNX export: the pipeline holds {PACKAGE}." in errors
    assert "the skops runtime serves it" in errors and "remove the export stage" in errors
    assert not (project / "models/model.onnx").exists()


# --- params.yaml: the section, and a bad import path is one line ---------------------------


@pytest.mark.parametrize("kind, spec, words", [
    ("models", f"{PACKAGE}.nothere:build", f"{PACKAGE}.nothere is not a module of the project's "
                                           f"src/ folder (no src/{PACKAGE}/nothere.py"),
    ("models", "sklearn.ensemble:ExtraTreesClassifier", "sklearn.ensemble is not a module of "
                                                        "the project's src/ folder"),
    ("models", f"{PACKAGE}.models:absent", f"{PACKAGE}.models (src/{PACKAGE}/models.py) has no "
                                           f"'absent'"),
    ("models", f"{PACKAGE}.models:NOT_CALLABLE", "is a int, not callable"),
    ("models", f"{PACKAGE}.models:no_arguments", "must take (task, hyperparameters, seed, "
                                                 "categorical)"),
    ("transformers", f"{PACKAGE}.broken:build", "does not import: ModuleNotFoundError: No "
                                                "module named 'no_such_dependency'"),
    ("metrics", f"{PACKAGE}.models:centroids", "must take (labels, scores)"),
])
def test_an_import_path_that_cannot_serve_is_one_line_from_check(project, capsys, kind, spec,
                                                                  words):
    edit_params(project, f"extensions.{kind}.mine", spec)

    errors = one_line_error(capsys, "check")

    assert f"params.yaml: extensions.{kind}.mine: " in errors and words in errors, errors


@pytest.mark.parametrize("spec, words", [
    ("lifecycle.modeling.models:_linear", "is in the lifecycle library"),
    (f"src/{PACKAGE}/models.py", "is not an import path; write package.module:name"),
    (f"{PACKAGE}.models", "is not an import path"),
    ("os.path:join", "is in Python's standard library"),
])
def test_an_import_path_of_the_wrong_form_is_a_params_error(spec, words):
    raw = yaml.safe_load(example_file("params.yaml").read_text())
    raw["extensions"] = {"models": {"mine": spec}}

    with pytest.raises(ParamsError, match=r"^params.yaml: extensions.models.mine: ") as error:
        config.parse(raw)

    assert words in str(error.value)


@pytest.mark.parametrize("kind, name, words", [
    ("models", "random_forest", "the name of a built-in model"),
    ("metrics", "roc_auc", "a name reports/evaluation/metrics.json already uses"),
    ("metrics", "lift_over_linear", "a name reports/evaluation/metrics.json already uses"),
    ("metrics", "two words", "is not a name"),
])
def test_an_own_name_that_clashes_with_the_librarys_is_a_params_error(kind, name, words):
    raw = yaml.safe_load(example_file("params.yaml").read_text())
    raw["extensions"] = {kind: {name: f"{PACKAGE}.{kind}:build"}}

    with pytest.raises(ParamsError, match=rf"extensions.{kind}.{name}: .*{words}"):
        config.parse(raw)


def test_train_model_may_name_an_own_model_and_its_blocks_must_be_named_too():
    raw = yaml.safe_load(example_file("params.yaml").read_text())
    raw["train"]["model"] = "centroids"
    with pytest.raises(ParamsError, match=r"train.model: unknown model 'centroids'; choose one "
                                          r"of: hist_gradient_boosting, .*trivial$"):
        config.parse(raw)

    raw["extensions"] = {"models": {"centroids": f"{PACKAGE}.models:centroids"}}
    with pytest.raises(ParamsError, match=r"tuning.space.centroids: found None"):
        config.parse(raw)
    raw["tuning"]["space"]["centroids"] = {}
    raw["train"]["hyperparameters"]["centroid"] = {}
    with pytest.raises(ParamsError, match=r"train.hyperparameters.centroid: not a model of the "
                                          r"registry nor of extensions.models.*'centroids'"):
        config.parse(raw)
    del raw["train"]["hyperparameters"]["centroid"]
    params = config.parse(raw)
    assert params.train.model == "centroids"
    assert params.extensions.model_packages() == (PACKAGE,)


def test_params_without_the_section_have_no_extensions_and_the_schema_names_own_models():
    jsonschema = pytest.importorskip("jsonschema")
    raw = yaml.safe_load(example_file("params.yaml").read_text())
    assert raw["extensions"] == {"models": {}, "transformers": {}, "metrics": {}}
    del raw["extensions"]
    assert config.parse(raw).extensions.model_packages() == ()

    raw["extensions"] = {"models": {"centroids": f"{PACKAGE}.models:centroids"}}
    raw["train"].update(model="centroids")
    raw["tuning"]["space"]["centroids"] = {}
    jsonschema.validate(raw, schema.json_schema(("centroids",)))  # --write-schema in a project
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(raw, schema.json_schema())
    raw["extensions"]["models"]["centroids"] = "not a path"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(raw, schema.json_schema(("centroids",)))


def test_check_write_schema_names_the_projects_own_models(project, capsys):
    assert cli.main(["check", "--write-schema"]) == 0

    written = json.loads((project / schema.SCHEMA_FILE).read_text())
    assert "centroids" in written["properties"]["train"]["properties"]["model"]["enum"]


# --- code dependencies: the stages that load the project's code list its files -------------


def stage_deps(dvc_text: str) -> dict[str, set[str]]:
    stages = yaml.safe_load(dvc_text)["stages"]
    return {name: {dep for dep in stage["deps"] if dep.startswith(f"src/{PACKAGE}/")}
            for name, stage in stages.items()}


def test_code_deps_lists_the_projects_modules_for_the_stages_that_read_them(project):
    dvc_text = code_deps.rewrite((project / "dvc.yaml").read_text(), project)

    own = {name: f"src/{PACKAGE}/{name}.py" for name in ("__init__", "models", "features",
                                                        "helpers", "metrics")}
    model, transformer, metric = ({own["__init__"], own[name]} for name in
                                  ("models", "features", "metrics"))
    transformer.add(own["helpers"])  # what the transformer's module imports from src/
    assert stage_deps(dvc_text) == {
        "check": model | transformer | metric,  # it depends on params.yaml whole
        "ingest": set(), "prepare": set(),
        "featurize": transformer,
        "train": model | transformer,
        "evaluate": model | transformer | metric,
        "monitor": model | transformer,
        "export": model | transformer,
    }
    assert f"src/{PACKAGE}/broken.py" not in dvc_text  # never named in params.yaml
    (project / "dvc.yaml").write_text(dvc_text)
    assert code_deps.rewrite(dvc_text, project) == dvc_text  # `lifecycle code-deps --check`


def test_code_deps_refuses_an_extension_module_outside_src(project):
    edit_params(project, "extensions.metrics", {"mine": "numpy.linalg:norm"})

    with pytest.raises(LifecycleError, match=r"params.yaml: extensions.metrics.mine: "
                                             r"numpy.linalg is not a module of the project's "
                                             r"src/ folder"):
        code_deps.rewrite((project / "dvc.yaml").read_text(), project)


def test_only_the_declared_sections_count_and_params_yaml_whole_counts_all():
    assert code_deps.extension_kinds({"params": ["extensions.metrics", "seed"]}) == {"metrics"}
    assert code_deps.extension_kinds({"params": ["extensions"]}) == set(extensions.KINDS)
    assert code_deps.extension_kinds({"params": [{"params.yaml": None}]}) == set(
        extensions.KINDS)
    assert code_deps.extension_kinds({"params": [{"code_versions.yaml": ["train"]}]}) == set()
    assert code_deps.extension_kinds({"deps": ["params.yaml"]}) == set(extensions.KINDS)


def test_the_examples_stages_declare_the_extensions_they_load():
    stages = yaml.safe_load(example_file("dvc.yaml").read_text())["stages"]
    kinds = {name: code_deps.extension_kinds(stage) for name, stage in stages.items()}

    assert kinds == {"check": set(extensions.KINDS), "ingest": set(), "prepare": set(),
                     "featurize": {"transformers"}, "train": {"models", "transformers"},
                     "evaluate": set(extensions.KINDS), "monitor": {"models", "transformers"},
                     "export": {"models", "transformers"}}


# --- the model factory's checks ------------------------------------------------------------


def test_an_own_model_is_built_and_searched_as_the_registrys_are(project):
    own = {"centroids": f"{PACKAGE}.models:centroids"}

    estimator = models.build_estimator("centroids", {"sharpness": 2.0}, 0, [], "binary", own)

    assert type(estimator).__name__ == "CentroidClassifier" and estimator.sharpness == 2.0
    assert models.check_space("centroids", {"sharpness": [0.5, 2.0]}, estimator)
    with pytest.raises(ParamsError, match=r"tuning.space.centroids.sharpnes: not a "
                                          r"hyperparameter the search can set"):
        models.check_space("centroids", {"sharpnes": [1.0]}, estimator)
    with pytest.raises(ParamsError, match=r"train.model: unknown model 'centroid'; .*trivial, "
                                          r"centroids \(did you mean 'centroids'\?\)"):
        models.build_estimator("centroid", {}, 0, [], "binary", own)


def test_a_factory_that_returns_no_estimator_is_one_line(project, capsys):
    edit_params(project, "extensions.models", {"centroids": f"{PACKAGE}.models:not_an_estimator"})

    errors = one_line_error(capsys, "check")

    assert ("params.yaml: extensions.models.centroids: 'shop_ext.models:not_an_estimator' "
            "returned a str, not a scikit-learn estimator of a binary task (no fit, "
            "get_params, predict_proba)") in errors


def test_a_hyperparameter_the_own_estimator_does_not_take_names_its_block(project, capsys):
    edit_params(project, "train.hyperparameters.centroids", {"sharpnes": 2})

    errors = one_line_error(capsys, "check")

    assert "params.yaml: train.hyperparameters.centroids: " in errors
    assert "sharpnes" in errors


# --- end to end: `dvc repro` runs the project's own code and declares it -------------------


@pytest.mark.slow
def test_dvc_repro_runs_the_projects_own_code_and_each_stage_declares_it(tmp_path):
    """`lifecycle code-deps` lists the project's modules for the stages that import them, every
    stage's trace is covered by its declarations, export stops with its one line, and without
    the export stage (as docs/extensions.md says) the pipeline completes."""
    repo = copy_project(tmp_path / "project")
    write_own_code(repo)
    (repo / "data/source").mkdir(parents=True)
    tiny_table().to_csv(repo / "data/source/answers.csv", index=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(repo)
        assert cli.main(["init", "--data", "data/source/answers.csv", "--target", "answer",
                         "--time-column", "when"]) == 0
    for dotted, value in (("extensions", EXTENSIONS), ("train.model", "centroids"),
                          ("train.hyperparameters.centroids", {}), ("tuning.space.centroids", {}),
                          ("evaluate.slice_min_rows", 10), ("train.cv_folds", 2),
                          ("evaluate.bootstrap_resamples", 20)):
        edit_params(repo, dotted, value)
    env = environment(LIFECYCLE_TRACE_DIR=str(tmp_path / "trace"))
    run([bin_path("lifecycle"), "code-deps"], repo, env)

    failed = subprocess.run([bin_path("dvc"), "repro"], cwd=repo, env=env, capture_output=True,
                            text=True)

    assert failed.returncode != 0
    assert f"lifecycle export: error: no ONNX export: the pipeline holds {PACKAGE}." in (
        failed.stdout + failed.stderr)
    assert stages_run(failed.stdout) == STAGES
    for stage in STAGES[:-1]:
        assert_declares_what_it_traced(repo, tmp_path / "trace", stage)
    assert f"src/{PACKAGE}/models.py" in json.loads(
        (tmp_path / "trace/evaluate.json").read_text())["modules"]

    pipeline = yaml.safe_load((repo / "dvc.yaml").read_text())
    del pipeline["stages"]["export"]
    pipeline["artifacts"] = {name: artifact for name, artifact in pipeline["artifacts"].items()
                             if not artifact["path"].endswith(".onnx")}
    (repo / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    assert stages_run(run([bin_path("dvc"), "repro"], repo, env).stdout) == []
