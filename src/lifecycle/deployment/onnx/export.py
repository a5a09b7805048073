"""The deployable pipeline as one ONNX file, for runtimes without Python's scikit-learn: the
export, the description stored in its metadata, and the check that it answers as the pipeline.

skl2onnx converts scikit-learn's own steps; the modules beside this one add converters for the
template's transformers (transformers.py), replace skl2onnx's for the imputer and the ordinal
encoder (preprocessing.py) and for histogram gradient boosting, which ignores categorical
splits, and add the trivial baseline and random forests in double precision (estimators.py) and
the XGBoost models (xgboost_trees.py, from the booster's own JSON); a regression model clipped
to the target's bounds (lifecycle.modeling.clipping) ends in a Clip node. Every converter
mirrors its transformer's `transform` on the values the ONNX inputs can carry, which differ
from a DataFrame's in two ways (see lifecycle.deployment.onnx.runtime):

- a datetime arrives as seconds since 1970-01-01 of its wall-clock time (NaN when missing):
  ONNX has no datetime type and no operator that parses text into one;
- a missing category arrives as "" (ONNX strings have no missing value); the encoder gives
  missing and unknown values the same code, so "" scores as a missing category does.
"""

import json
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import DoubleTensorType, StringTensorType
from skl2onnx.common.exceptions import MissingConverter, MissingShapeCalculator

from lifecycle.core.errors import LifecycleError
from lifecycle.deployment.onnx import (
    estimators,
    preprocessing,
    runtime,
    transformers,
    xgboost_trees,
)
from lifecycle.deployment.onnx.graph import IR_VERSION, OPSET, TREE_ENSEMBLE_OPSET
from lifecycle.modeling import clipping
from lifecycle.modeling.features import CategoryNormaliser

TENSOR_TYPES = {"numeric": DoubleTensorType, "datetime": DoubleTensorType,
                "categorical": StringTensorType, "text": StringTensorType}


def register_converters() -> None:
    """skl2onnx's converters for every step the template's pipelines hold, where its own are
    missing or fall short."""
    for converters in (transformers, preprocessing, estimators, xgboost_trees):
        converters.register()


def export(model: Any, column_types: dict[str, str], description: dict) -> bytes:
    """The fitted pipeline as ONNX bytes: one [rows, 1] input per raw column (named after it),
    outputs `label` and `probabilities` (classifiers) or `variable` (regressors), and
    `description` (task, classes, threshold, input kinds) as JSON in the file's metadata."""
    register_converters()
    final = model.steps[-1][1]
    transformer, estimator = model.steps[0][1], columns_by_position(clipping.unwrapped(final))
    inputs = [(name, TENSOR_TYPES[column_types[name]]([None, 1]))
              for name in model.feature_names_in_]
    features = converted(transformer, inputs, "features_")
    encoded = features.graph.output[0]
    width = encoded.type.tensor_type.shape.dim[1].dim_value
    options = {id(estimator): {"zipmap": False}} if hasattr(estimator, "classes_") else None
    scores = converted(estimator, [("encoded", DoubleTensorType([None, width]))], "estimator_",
                       options)
    proto = onnx.compose.merge_models(features, scores, io_map=[(encoded.name, "encoded")],
                                      doc_string="", producer_name="lifecycle",
                                      producer_version="")
    if isinstance(final, clipping.ClippedRegressor):
        clip_output(proto.graph, final.lower, final.upper)
    # The same bytes every run: skl2onnx names each graph with a random UUID.
    proto.graph.name = "lifecycle_pipeline"
    onnx.helper.set_model_props(
        proto, {runtime.METADATA_KEY: json.dumps(description, sort_keys=True)})
    return proto.SerializeToString()


def clip_output(graph: onnx.GraphProto, lower: float | None, upper: float | None) -> None:
    """The graph's one output clipped to [lower, upper] (None: no bound on that side), as
    ClippedRegressor clips the pipeline's predictions."""
    output = graph.output[0].name
    unclipped = f"{output}_unclipped"
    for node in graph.node:
        node.output[:] = [unclipped if name == output else name for name in node.output]
    bounds = []
    for name, value in (("target_lower", lower), ("target_upper", upper)):
        if value is not None:
            graph.initializer.append(onnx.helper.make_tensor(name, TensorProto.DOUBLE, [],
                                                             [float(value)]))
        bounds.append(name if value is not None else "")  # "": an input left out
    graph.node.append(onnx.helper.make_node("Clip", [unclipped, *bounds], [output],
                                            name="clip_to_target_bounds"))


def converted(step: Any, inputs: list, prefix: str, options: dict | None = None) -> Any:
    """One fitted step as an ONNX model of the opsets `export` uses (sorted: skl2onnx lists
    them in set order, which string hashing changes from process to process)."""
    try:
        proto = convert_sklearn(step, initial_types=inputs, target_opset=OPSET, options=options,
                                naming=prefix)
    except (MissingConverter, MissingShapeCalculator) as error:
        raise LifecycleError(no_converter_message(str(error))) from None
    versions = {**OPSET, "ai.onnx.ml": TREE_ENSEMBLE_OPSET}
    del proto.opset_import[:]
    proto.opset_import.extend(onnx.helper.make_opsetid(domain, version)
                              for domain, version in sorted(versions.items()))
    proto.ir_version = IR_VERSION
    return proto


def no_converter_message(reason: str) -> str:
    """One line for a pipeline step skl2onnx cannot convert: a model or transformer of the
    project's own (params.yaml extensions) has no converter; the skops runtime serves it."""
    found = re.search(r"type '<class '([^']+)'>'", reason)
    step = found.group(1) if found else reason.splitlines()[0]
    return (f"no ONNX export: the pipeline holds {step}, for which skl2onnx has no converter "
            f"(a model or transformer of the project's own, named in params.yaml extensions, "
            f"has none); the skops runtime serves it (`lifecycle predict` and `lifecycle "
            f"serve` use it by default): remove the export stage and the ONNX artifact from "
            f"dvc.yaml, see docs/extensions.md")


def columns_by_position(estimator: Any) -> Any:
    """A copy whose ColumnTransformers pick columns by position: inside the graph the encoded
    features are one unnamed tensor (the linear model one-hot encodes some by name)."""
    import copy

    from sklearn.compose import ColumnTransformer

    estimator = copy.deepcopy(estimator)
    for _, step in getattr(estimator, "steps", [(None, estimator)]):
        if isinstance(step, ColumnTransformer):
            names = list(step.feature_names_in_)
            step.transformers_ = [(name, fitted, [names.index(column) for column in columns])
                                  for name, fitted, columns in step.transformers_]
    return estimator


def description(model: Any, column_types: dict[str, str], problem: Any,
                threshold: float | None) -> dict:
    """What a consumer of the file needs besides the graph, stored in its metadata."""
    classes = getattr(model, "classes_", None)
    return {
        "problem": problem.name,
        "task": problem.task,
        "target": problem.target,
        "classes": None if classes is None else classes.tolist(),
        "decision_threshold": threshold if problem.task == "binary" else None,
        "inputs": {name: column_types[name] for name in model.feature_names_in_},
        "spelling": spelling_rules(model.steps[0][1]),
        "conventions": {"datetime": "seconds since 1970-01-01 of the wall-clock time, "
                                    "NaN when missing",
                        "numeric": "float64, NaN when missing",
                        "categorical": "text, \"\" when missing; an input named in "
                                       "spelling is first spelt as Python's "
                                       "\" \".join(text.split()) if strip_whitespace, then "
                                       "text.lower() or text.upper() as case says"},
    }


def spelling_rules(transformer: Any) -> dict[str, dict]:
    """Per raw input, the whitespace and case rules of the CategoryNormaliser that takes it
    first, for the scoring side to apply in Python (lifecycle.core.spelling)."""
    rules: dict[str, list] = {}
    for _, step, columns in getattr(transformer, "transformers_", []):
        first = step.steps[0][1] if hasattr(step, "steps") else step
        rule = ({"strip_whitespace": first.strip_whitespace, "case": first.case}
                if isinstance(first, CategoryNormaliser) else None)
        for column in columns:
            rules.setdefault(column, []).append(rule)
    # An input another step also takes is left out: spelling it first would change its input.
    return {column: found[0] for column, found in rules.items()
            if found[0] is not None and all(rule == found[0] for rule in found)}


PROBABILITY_TOLERANCE = 1e-5
REGRESSION_TOLERANCE = 1e-4  # relative to the value, or absolute below 1


def parity(model: Any, portable: Any, rows: Any, task: str, threshold: float | None) -> dict:
    """How far the ONNX file's answers are from the pipeline's on `rows`: the largest
    difference in probability (regression: relative difference) and how many labels differ."""
    return scores_parity(compared_scores(model, rows, task), compared_scores(portable, rows, task),
                         task, threshold)


def recorded_parity(recorded: np.ndarray, portable: Any, chunks: Iterable, task: str,
                    threshold: float | None, where: str) -> dict:
    """`parity` of the ONNX file against the pipeline's scores of the same rows, recorded
    before (`where`, in row order, as `compared_scores` gives them): `chunks` are the rows a
    chunk at a time. Fewer or more recorded scores than rows is an error naming `where`."""
    parts, start = [], 0
    for rows in chunks:
        expected = recorded[start:start + len(rows)]
        start += len(rows)
        if len(expected) < len(rows):
            raise LifecycleError(f"{where}: {len(recorded):,} scores for more rows than that: "
                                 f"{RECORDED_ELSEWHERE}")
        parts.append(scores_parity(expected, compared_scores(portable, rows, task), task,
                                   threshold))
    if start != len(recorded):
        raise LifecycleError(f"{where}: {len(recorded):,} scores for {start:,} rows: "
                             f"{RECORDED_ELSEWHERE}")
    return combined_parity(parts)


RECORDED_ELSEWHERE = "not this model's scores of these rows; run `dvc repro` to score them again"


def scores_parity(expected: np.ndarray, got: np.ndarray, task: str,
                  threshold: float | None) -> dict:
    """`parity` from the pipeline's scores (`expected`) and the ONNX file's (`got`)."""
    if task == "regression":
        difference = np.abs(got - expected) / np.maximum(np.abs(expected), 1.0)
        tolerance, labels_differ = REGRESSION_TOLERANCE, 0
    else:
        difference = np.abs(got - expected)
        tolerance = PROBABILITY_TOLERANCE
        if task == "binary":
            labels_differ = int(((got >= threshold) != (expected >= threshold)).sum())
        else:
            labels_differ = int((got.argmax(axis=1) != expected.argmax(axis=1)).sum())
    largest = float(difference.max()) if difference.size else 0.0
    return {"rows": len(expected), "max_difference": largest, "tolerance": tolerance,
            "labels_differ": labels_differ,
            "holds": bool(largest <= tolerance and labels_differ == 0)}


def combined_parity(parts: Iterable[dict]) -> dict:
    """The parity of consecutive chunks of rows (each from `parity`), as one `parity` of all
    of them would report it."""
    parts = list(parts)
    largest = max(part["max_difference"] for part in parts)
    labels_differ = sum(part["labels_differ"] for part in parts)
    tolerance = parts[0]["tolerance"]
    return {"rows": sum(part["rows"] for part in parts), "max_difference": largest,
            "tolerance": tolerance, "labels_differ": labels_differ,
            "holds": bool(largest <= tolerance and labels_differ == 0)}


def compared_scores(model: Any, rows: Any, task: str) -> np.ndarray:
    """What parity compares, as evaluation scores a model: the value (regression), the positive
    class's probability (binary) or every class's (multiclass), in double precision."""
    if task == "regression":
        return np.asarray(model.predict(rows), dtype=np.float64)
    probability = model.predict_proba(rows)
    return np.asarray(probability[:, 1] if task == "binary" else probability, dtype=np.float64)
