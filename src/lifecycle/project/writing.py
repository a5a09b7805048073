"""What `lifecycle init` writes into the template's files: the checks that they are the
template's, and the edits of params.yaml (the keys it sets, their comments) and dvc.yaml (the
ingest stage's dependencies and params, the decision threshold's stages, the plots of the task,
the artifacts named for the problem), keeping every other line (`yaml_edits`).
"""

from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from lifecycle import config
from lifecycle.core import paths
from lifecycle.core.errors import LifecycleError
from lifecycle.data import sources
from lifecycle.project import yaml_edits
from lifecycle.project.judgement import Derived

INGEST_PARAMS = {
    "nycflights13": ["source.late_threshold_minutes"],
    "csv": ["source.path"], "parquet": ["source.path"], "sql": ["source.query", "source.url"],
}
# Keys only some problems use (optional in config.py): init removes each one it does not set,
# so no key of the example's problem stays in another's params.yaml (nor in dvc.yaml's params).
OPTIONAL_KEYS = {"source": ("path", "url", "query", "late_threshold_minutes"),
                 "evaluate": ("decision_threshold",)}
THRESHOLD_STAGES = ("evaluate", "monitor", "export")  # the stages that read the threshold
TASK_LABELS = {"binary": "binary-classification", "multiclass": "multiclass-classification",
               "regression": "regression"}


def check_params_file(params_file: Path) -> config.Params:
    """The params.yaml init edits must be a valid one (the template's sections): refuse anything
    else before any work, not with a traceback half-way."""
    data = config.read_yaml(params_file, if_missing="run lifecycle init from the project root")
    return config.parse(data, source=str(params_file))


def check_dvc_file(dvc_file: Path) -> None:
    """dvc.yaml must hold the template's ingest stage, whose dependencies init rewrites."""
    data = config.read_yaml(dvc_file, if_missing="run lifecycle init from the project root")
    stages = data.get("stages") if isinstance(data, dict) else None
    ingest = stages.get("ingest") if isinstance(stages, dict) else None
    if not isinstance(ingest, dict) or not isinstance(ingest.get("deps"), list):
        raise LifecycleError(f"{dvc_file}: no `stages: ingest:` with a `deps:` list; restore "
                             f"the template's dvc.yaml")


def params_sections(problem: dict[str, Any], source: dict[str, Any], split: dict[str, Any],
                    datetime_feature: str | None,
                    derived: dict[str, Derived]) -> dict[str, dict[str, Any]]:
    """The params.yaml keys init sets, by section."""
    sections: dict[str, dict[str, Any]] = {
        "problem": problem, "source": source, "split": split,
        "features": {"datetime": datetime_feature, "age_from_year": []},
        # The example's thresholds mean nothing for another problem.
        "criteria": {"maximum": {}},
    }
    for key, item in derived.items():
        section, name = key.split(".", 1)
        sections.setdefault(section, {})[name] = item.value
    return sections


def params_comments(split: dict[str, Any], derived: dict[str, Derived]) -> dict[str, str]:
    """End-of-line comments for the keys whose template comment describes the example's data."""
    if split["method"] == "out_of_time":
        test = "train before, test from this date (the time column's 70% point)"
        current = ('the "current" batch for monitoring from this date (the 90% point)'
                   if split["current_start"] else "none: every row from test_start is test")
    else:
        test = current = "out_of_time only"
    return {
        "source.name": "csv or parquet (path:), or sql (url:, query:); see `lifecycle init`",
        "split.test_start": test,
        "split.current_start": current,
        "features.age_from_year": "numeric year columns -> their age at features.datetime",
        **{key: item.comment for key, item in derived.items() if item.comment},
    }


def update_params(params_file: Path, sections: dict[str, dict[str, Any]],
                  comments: dict[str, str] | None = None) -> str:
    """params.yaml with the given keys replaced, comments and other sections kept, and the
    end-of-line comment of each key in `comments` (dotted keys) replaced."""
    yaml = yaml_edits.round_trip_yaml()
    document = yaml.load(params_file.read_text())
    for section, values in sections.items():
        for key, value in values.items():
            yaml_edits.replace_value(document[section], key, value)
    for section, keys in OPTIONAL_KEYS.items():  # only the keys this problem uses
        for key in keys:
            if key not in sections.get(section, {}) and key in document[section]:
                del document[section][key]
    for dotted, text in (comments or {}).items():
        section, key = dotted.split(".", 1)
        yaml_edits.set_line_comment(document[section], key, text)
    return yaml_edits.dump(yaml, document)


def plots_for(task: str, primary: str) -> list:
    """The charts dvc.yaml registers for a task: one per plot file evaluate, train and monitor
    write for it (evaluate's: `lifecycle.evaluation.plots`), with the templates in .dvc/plots.
    Each has a short id, what `dvc plots show ID` takes, and a title the chart shows."""
    evaluation, custom = "reports/evaluation/plots/sklearn", "reports/evaluation/plots/custom"

    def chart(name: str, title: str, template: str, file: str, x: str, y: str, x_label: str,
              y_label: str) -> dict:
        return {name: {"title": title, "template": template, "x": x, "y": {file: y},
                       "x_label": x_label, "y_label": y_label}}

    confusion = chart("confusion", "Confusion matrix", "confusion_counts",
                      f"{custom}/confusion.json", "actual", "predicted", "Actual", "Predicted")
    charts = {
        "binary": [
            chart("roc", "ROC", "simple", f"{evaluation}/roc.json", "fpr", "tpr",
                  "False positive rate", "True positive rate"),
            chart("precision-recall", "Precision-recall", "simple",
                  f"{evaluation}/precision_recall.json", "recall", "precision", "Recall",
                  "Precision"),
            confusion,
            chart("calibration", "Calibration (dashed line: perfectly calibrated)",
                  "calibration", f"{evaluation}/calibration.json", "prob_pred", "prob_true",
                  "Mean predicted probability", "Observed share of the positive class"),
        ],
        "multiclass": [confusion],
        "regression": [
            chart("predicted-vs-actual", "Predicted against actual", "scatter",
                  f"{custom}/predicted_vs_actual.json", "actual", "predicted", "Actual",
                  "Predicted"),
            chart("residuals", "Residuals", "scatter", f"{custom}/residuals.json", "predicted",
                  "residual", "Predicted", "Actual minus predicted"),
        ],
    }[task]
    return [
        *charts,
        chart("cv-folds", "CV fold scores", "folds", f"reports/cv/plots/metrics/{primary}.tsv",
              "step", primary, "Fold", f"{primary} on the fold after"),
        chart("slices", "Slices against the whole test split", "gaps", f"{custom}/slices.json",
              "gap", "slice", f"{primary} of the slice minus overall (negative is worse)",
              "Slice"),
        "reports/evaluation/plots/images",
        chart("drift",
              "Feature drift (PSI, training data vs current batch; dashed line at monitor.psi)",
              "bars_with_threshold", "reports/monitor/psi.json", "psi", "feature",
              "Population stability index", "Feature"),
    ]


def update_dvc_file(dvc_file: Path, source: dict[str, Any], problem: dict[str, Any]) -> str:
    """dvc.yaml with ingest depending on the source file and reading the source's keys, the
    plots of the task, and the model artifacts named and described for the problem."""
    yaml = yaml_edits.round_trip_yaml()
    document = yaml.load(dvc_file.read_text())
    stage = document["stages"]["ingest"]
    modules = [dep for dep in stage["deps"] if str(dep).startswith("src/")]
    data = [source["path"]] if source.get("path") else []
    if source.get("url") and sources.sqlite_file(source["url"]):
        data = [sources.sqlite_file(source["url"])]
    yaml_edits.replace_value(stage, "deps", sorted([*data, *modules]))
    # A params file's entry (code_versions.yaml: [ingest], the library's code) stays last.
    files_params = [item for item in stage.get("params") or [] if not isinstance(item, str)]
    yaml_edits.replace_value(stage, "params", sorted([
        "engine", "seed", "source.name", "source.sample_fraction", *INGEST_PARAMS[source["name"]]])
        + files_params)
    declare_threshold(document["stages"], binary=problem["task"] == "binary")
    charts = plots_for(problem["task"], problem["primary_metric"])
    yaml_edits.replace_value(document, "plots", charts)
    if isinstance(document.get("artifacts"), dict):
        renamed = artifacts_for(document["artifacts"], problem)
        yaml_edits.replace_value(document, "artifacts", renamed)
    return yaml_edits.dump(yaml, document)


def declare_threshold(stages: Any, binary: bool) -> None:
    """evaluate.decision_threshold among the params of the stages that read it for a binary task
    only: params.yaml holds it then only (update_params), and DVC refuses a missing key."""
    key = "evaluate.decision_threshold"
    for name in THRESHOLD_STAGES:
        declared = stages.get(name, {}).get("params")
        if declared is None:
            continue
        if not binary and key in declared:
            declared.remove(key)
        elif binary and key not in declared:  # init run again, on a binary table this time
            later = [i for i, item in enumerate(declared)
                     if not isinstance(item, str) or item > key]  # a params file's entry last
            declared.insert(later[0] if later else len(declared), key)


def model_name(project: str) -> str:
    """`<project>-model`, or the project's name when it already says model (churn-model)."""
    return project if project.endswith("model") else f"{project}-model"


def artifacts_for(artifacts: Any, problem: dict[str, Any]) -> Any:
    """The template's artifacts in their order, renamed `<name>-model` (the skops pipeline) and
    `<name>-model-onnx` (see `model_name`), described from the task and target and labelled
    with the task; an artifact at another path keeps its entry."""
    task_label, target = TASK_LABELS[problem["task"]], problem["target"]
    pipeline = (f"The deployable pipeline (feature transformer + the estimator train.model "
                f"names) that predicts `{target}` ({task_label.replace('-', ' ')}) from the "
                f"columns with role feature in data/contract.yaml.")
    model = model_name(problem["name"])
    kinds = {
        paths.MODEL: (model, "scikit-learn", f"{pipeline} Saved with skops."),
        paths.ONNX_MODEL: (f"{model}-onnx", "onnx", None),
    }
    renamed = CommentedMap()
    for name, entry in artifacts.items():
        kind = kinds.get(str(entry.get("path")) if isinstance(entry, dict) else None)
        if kind is None:
            renamed[name] = entry
            continue
        new_name, runtime, description = kind
        if description:  # the ONNX entry's own description speaks of no data
            entry["desc"] = yaml_edits.folded(description)
        entry["labels"] = CommentedSeq(["tabular", task_label, runtime])
        renamed[new_name] = entry
    return renamed
