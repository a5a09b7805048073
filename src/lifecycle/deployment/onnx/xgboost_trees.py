"""The converter for the XGBoost models (lifecycle.modeling.boosting), from the booster's own
JSON model: its trees, numeric and categorical splits, and the objective's inverse link."""

import json
from typing import Any

import numpy as np
from onnx import TensorProto
from skl2onnx import update_registered_converter
from skl2onnx.common.shape_calculator import calculate_linear_regressor_output_shapes

from lifecycle.core.errors import LifecycleError
from lifecycle.deployment.onnx.graph import (
    BRANCH_LT,
    BRANCH_MEMBER,
    CLASSIFIER_OPTIONS,
    SPLIT_LISTS,
    Graph,
    classifier_outputs,
    classifier_shape,
    ensemble_attributes,
    single_input,
)
from lifecycle.modeling.boosting import XGBoostClassifier, XGBoostRegressor


def register() -> None:
    update_registered_converter(XGBoostClassifier, "LifecycleXGBoostClassifier",
                                classifier_shape, convert_xgboost, options=CLASSIFIER_OPTIONS)
    update_registered_converter(XGBoostRegressor, "LifecycleXGBoostRegressor",
                                calculate_linear_regressor_output_shapes, convert_xgboost)


def convert_xgboost(scope: Any, operator: Any, container: Any) -> None:
    """The base margin plus the trees' leaves, then the objective's inverse link. XGBoost reads
    features as float32 and sends a row left when `x < split`, or, at a categorical split, when
    its category is not in the node's set; missing values take the node's default child. The
    transformer's code for missing and unknown categories (-1) is missing to the model too."""
    graph = Graph(scope, container)
    model = operator.raw_operator
    x = graph.op("Cast", graph.op("Cast", single_input(graph, operator), to=TensorProto.FLOAT),
                 to=TensorProto.DOUBLE)
    mask = model.categorical_mask()
    if mask.any():  # below 0 in a categorical column (and below -inf in no other): NaN
        lower = np.where(mask, 0.0, -np.inf)[np.newaxis, :]
        x = graph.op("Where", graph.op("Less", x, graph.const(lower)),
                     graph.const([[np.nan]]), x)
    learner = model.booster_json()["learner"]
    ensemble, base = xgboost_ensemble(learner)
    margins = graph.op("Add", graph.op("TreeEnsemble", x, domain="ai.onnx.ml", **ensemble),
                       graph.const(base[np.newaxis, :]))
    objective = learner["objective"]["name"]
    if objective == "reg:squarederror":
        graph.output(operator, margins)
        return
    if objective == "binary:logistic":
        positive = graph.op("Sigmoid", margins)
        probabilities = graph.op("Concat", graph.op("Sub", graph.const([[1.0]]), positive),
                                 positive, axis=1)
    elif objective == "multi:softprob":
        probabilities = graph.op("Softmax", margins, axis=1)
    else:
        raise LifecycleError(f"ONNX export: no inverse link for XGBoost's {objective}")
    classifier_outputs(graph, operator, probabilities, model.classes_)


def xgboost_base(learner: dict) -> np.ndarray:
    """The base margin of each output. XGBoost writes it as text ("[4.9E-1]", one value per
    output) and keeps a logistic model's as a probability."""
    settings = learner["learner_model_param"]
    text = settings["base_score"]
    values = np.atleast_1d(np.asarray(json.loads(text), dtype=np.float64))
    outputs = max(1, int(settings["num_class"]))
    values = np.resize(values, outputs) if values.size == 1 else values
    if learner["objective"]["name"] == "binary:logistic":
        values = np.log(values / (1.0 - values))
    return values


def xgboost_ensemble(learner: dict) -> tuple[dict, np.ndarray]:
    """TreeEnsemble attributes for every tree of the booster, and the base margin per output
    (with the value of trees that are one leaf, which the operator cannot hold)."""
    booster = learner["gradient_booster"]
    if booster["name"] != "gbtree":
        raise LifecycleError(f"ONNX export: no converter for XGBoost's {booster['name']} booster")
    base = xgboost_base(learner)
    nodes: dict[str, list] = {key: [] for key in SPLIT_LISTS}
    members: list[float] = []
    roots, leaf_targets, leaf_weights = [], [], []
    for tree, target in zip(booster["model"]["trees"], booster["model"]["tree_info"], strict=True):
        values = np.asarray(tree["split_conditions"], dtype=np.float32).astype(np.float64)
        is_leaf = np.asarray(tree["left_children"]) == -1
        if is_leaf[0]:
            base[target] += values[0]
            continue
        interior, leaves = np.flatnonzero(~is_leaf), np.flatnonzero(is_leaf)
        position = {int(i): len(nodes["feature"]) + k for k, i in enumerate(interior)}
        leaf_position = {int(i): len(leaf_weights) + k for k, i in enumerate(leaves)}
        roots.append(position[0])
        leaf_targets.extend([target] * len(leaves))
        leaf_weights.extend(values[leaves].tolist())
        categories = split_categories(tree)
        for i in interior:
            add_xgboost_split(nodes, members, tree, int(i), values[i], categories.get(int(i)),
                              position, leaf_position, is_leaf)
    if not roots:  # every tree a leaf: one split whose branches both reach a leaf worth 0
        roots, leaf_targets, leaf_weights = [0], [0], [0.0]
        for key, value in (("feature", 0), ("split", 0.0), ("mode", BRANCH_LT), ("true", 0),
                           ("true_leaf", 1), ("false", 0), ("false_leaf", 1),
                           ("missing_true", 0)):
            nodes[key].append(value)
    ensemble = ensemble_attributes(nodes, members, roots, leaf_targets, leaf_weights,
                                   len(base))
    return ensemble, base


def split_categories(tree: dict) -> dict[int, list[int]]:
    """The category set of each categorical split of an XGBoost tree, by node."""
    categories = tree["categories"]
    return {int(node): categories[start:start + size] for node, start, size in zip(
        tree["categories_nodes"], tree["categories_segments"], tree["categories_sizes"],
        strict=True)}


def add_xgboost_split(nodes: dict, members: list, tree: dict, i: int, split: float,
                      categories: list[int] | None, position: dict, leaf_position: dict,
                      is_leaf: np.ndarray) -> None:
    """One split as XGBoost takes it: numeric `x < split` goes left; categorical, a category
    in the set goes right (so the operator's "true" branch, membership, is the right child)."""
    left, right = tree["left_children"][i], tree["right_children"][i]
    missing_left = bool(tree["default_left"][i])
    if categories is not None:
        members.extend([*map(float, categories), float("nan")])
        mode, split, missing_true = BRANCH_MEMBER, 0.0, int(not missing_left)
        left, right = right, left
    else:
        mode, missing_true = BRANCH_LT, int(missing_left)
    nodes["feature"].append(int(tree["split_indices"][i]))
    nodes["split"].append(float(split))
    nodes["mode"].append(mode)
    nodes["missing_true"].append(missing_true)
    for branch, child in (("true", left), ("false", right)):
        nodes[branch].append(leaf_position[child] if is_leaf[child] else position[child])
        nodes[f"{branch}_leaf"].append(int(is_leaf[child]))

