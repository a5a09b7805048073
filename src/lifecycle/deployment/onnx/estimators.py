"""Converters for scikit-learn's estimators the registry trains, where skl2onnx's fall short:
the trivial baseline, random forests in double precision, and histogram gradient boosting with
its categorical splits (skl2onnx's converter ignores them)."""

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto
from skl2onnx import update_registered_converter
from skl2onnx.common.shape_calculator import calculate_linear_regressor_output_shapes
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

from lifecycle.core.errors import LifecycleError
from lifecycle.deployment.onnx.graph import (
    BRANCH_LEQ,
    BRANCH_MEMBER,
    CLASSIFIER_OPTIONS,
    SPLIT_LISTS,
    Graph,
    classifier_outputs,
    classifier_shape,
    ensemble_attributes,
    single_input,
    tensor,
)


def register() -> None:
    update_registered_converter(HistGradientBoostingClassifier,
                                "SklearnHistGradientBoostingClassifier",
                                classifier_shape, convert_boosting, options=CLASSIFIER_OPTIONS)
    update_registered_converter(HistGradientBoostingRegressor,
                                "SklearnHistGradientBoostingRegressor",
                                calculate_linear_regressor_output_shapes, convert_boosting)
    update_registered_converter(DummyClassifier, "SklearnDummyClassifier",
                                classifier_shape, convert_constant, options=CLASSIFIER_OPTIONS)
    update_registered_converter(DummyRegressor, "SklearnDummyRegressor",
                                calculate_linear_regressor_output_shapes, convert_constant)
    update_registered_converter(RandomForestClassifier, "SklearnRandomForestClassifier",
                                classifier_shape, convert_forest, options=CLASSIFIER_OPTIONS)
    update_registered_converter(RandomForestRegressor, "SklearnRandomForestRegressor",
                                calculate_linear_regressor_output_shapes, convert_forest)


# --- the trivial baseline: the same answer for every row ---------------------------------------

def convert_constant(scope: Any, operator: Any, container: Any) -> None:
    graph = Graph(scope, container)
    model = operator.raw_operator
    answer = (model.class_prior_ if hasattr(model, "classes_") else model.constant_).reshape(1, -1)
    rows = graph.op("Slice", graph.op("Shape", single_input(graph, operator)),
                    graph.const([0], TensorProto.INT64), graph.const([1], TensorProto.INT64))
    shape = graph.op("Concat", rows, graph.const([answer.shape[1]], TensorProto.INT64), axis=0)
    every_row = graph.op("Expand", graph.const(answer.astype(np.float64)), shape)
    if hasattr(model, "classes_"):
        classifier_outputs(graph, operator, every_row, model.classes_)
    else:
        graph.output(operator, every_row)


# --- random forests in double precision --------------------------------------------------------

def convert_forest(scope: Any, operator: Any, container: Any) -> None:
    """The trees' average (classifiers: of each tree's class shares). scikit-learn compares
    values as float32 with float64 thresholds, so values are rounded to float32 first; skl2onnx's
    converters answer in float32 or use operators ai.onnx.ml 5 deprecates."""
    graph = Graph(scope, container)
    model = operator.raw_operator
    x = graph.op("Cast", graph.op("Cast", single_input(graph, operator), to=TensorProto.FLOAT),
                 to=TensorProto.DOUBLE)
    average = graph.op("TreeEnsemble", x, domain="ai.onnx.ml", **forest_ensemble(model))
    if hasattr(model, "classes_"):
        classifier_outputs(graph, operator, average, model.classes_)
    else:
        graph.output(operator, average)


def forest_ensemble(model: Any) -> dict:
    """TreeEnsemble attributes: each tree once per output (a leaf holds one output's value),
    its leaves weighted by 1 / trees. A tree of one leaf gets a split whose two branches reach
    that leaf: the operator has no constant trees."""
    nodes: dict[str, list] = {key: [] for key in (
        "feature", "split", "true", "true_leaf", "false", "false_leaf", "missing_true")}
    roots, leaf_targets, leaf_weights = [], [], []
    trees = len(model.estimators_)
    for estimator in model.estimators_:
        tree = estimator.tree_
        values = tree.value[:, 0, :]
        if hasattr(model, "classes_"):  # class counts or shares: shares
            values = values / values.sum(axis=1, keepdims=True)
        is_leaf = tree.children_left == -1
        interior, leaves = np.flatnonzero(~is_leaf), np.flatnonzero(is_leaf)
        missing_left = getattr(tree, "missing_go_to_left", np.zeros(tree.node_count, bool))
        for target in range(values.shape[1]):
            position = {int(i): len(nodes["feature"]) + k for k, i in enumerate(interior)}
            leaf_position = {int(i): len(leaf_weights) + k for k, i in enumerate(leaves)}
            leaf_targets.extend([target] * len(leaves))
            leaf_weights.extend((values[leaves, target] / trees).tolist())
            roots.append(len(nodes["feature"]))
            splits = [(int(tree.feature[i]), float(tree.threshold[i]), int(missing_left[i]),
                       tree.children_left[i], tree.children_right[i]) for i in interior]
            for feature, threshold, missing_true, left, right in splits or [(0, 0.0, 0, 0, 0)]:
                nodes["feature"].append(feature)
                nodes["split"].append(threshold)
                nodes["missing_true"].append(missing_true)
                for branch, child in (("true", left), ("false", right)):
                    nodes[branch].append(leaf_position[child] if is_leaf[child]
                                         else position[child])
                    nodes[f"{branch}_leaf"].append(int(is_leaf[child]))
    count = len(nodes["feature"])
    return {
        "tree_roots": roots,
        "nodes_featureids": nodes["feature"], "nodes_splits": tensor("splits", nodes["split"]),
        "nodes_modes": onnx.helper.make_tensor("modes", TensorProto.UINT8, [count],
                                               [BRANCH_LEQ] * count),
        "nodes_truenodeids": nodes["true"], "nodes_trueleafs": nodes["true_leaf"],
        "nodes_falsenodeids": nodes["false"], "nodes_falseleafs": nodes["false_leaf"],
        "nodes_missing_value_tracks_true": nodes["missing_true"],
        "leaf_targetids": leaf_targets, "leaf_weights": tensor("weights", leaf_weights),
        "n_targets": values.shape[1],
    }


# --- Histogram gradient boosting, categorical splits included ----------------------------------

def convert_boosting(scope: Any, operator: Any, container: Any) -> None:
    graph = Graph(scope, container)
    model = operator.raw_operator
    x = graph.op("Cast", single_input(graph, operator), to=TensorProto.DOUBLE)
    if model._preprocessor is not None:
        x = categories_first(graph, model, x)
    ensemble, base = tree_ensemble(model)
    raw = graph.op("Add", graph.op("TreeEnsemble", x, domain="ai.onnx.ml", **ensemble),
                   graph.const(base[np.newaxis, :]))
    link = type(model._loss.link).__name__
    if not hasattr(model, "classes_"):
        if link not in ("IdentityLink", "LogLink"):
            raise LifecycleError(f"ONNX export: no inverse link for {link}")
        graph.output(operator, raw if link == "IdentityLink" else graph.op("Exp", raw))
        return
    if len(model.classes_) == 2:
        positive = graph.op("Sigmoid", raw)
        probabilities = graph.op("Concat", graph.op("Sub", graph.const([[1.0]]), positive),
                                 positive, axis=1)
    else:
        probabilities = graph.op("Softmax", raw, axis=1)
    classifier_outputs(graph, operator, probabilities, model.classes_)


def categories_first(graph: Graph, model: Any, x: str) -> str:
    """What the model's own preprocessor does before its trees: each categorical column's
    values as their positions among the values seen in training (NaN when unseen), then the
    other columns; the trees' feature numbers count in that order."""
    encoder = model._preprocessor.named_transformers_["encoder"]
    columns = []
    for position, seen in zip(np.flatnonzero(model.is_categorical_), encoder.categories_,
                              strict=True):
        seen = [float(value) for value in seen if not np.isnan(value)]
        values = graph.op("Cast", graph.column(x, int(position)), to=TensorProto.FLOAT)
        coded = graph.op("LabelEncoder", values, domain="ai.onnx.ml", version=2,
                         keys_floats=seen, values_floats=[float(i) for i in range(len(seen))],
                         default_float=float("nan"))
        columns.append(graph.op("Cast", coded, to=TensorProto.DOUBLE))
    others = np.flatnonzero(~model.is_categorical_)
    columns.append(graph.op("Gather", x, graph.const(others, TensorProto.INT64), axis=1))
    return graph.op("Concat", *columns, axis=1)


def tree_ensemble(model: Any) -> tuple[dict, np.ndarray]:
    """TreeEnsemble attributes for every tree, and the base score per output (the baseline plus
    the value of trees that are a single leaf, which the operator cannot hold)."""
    targets = model.n_trees_per_iteration_
    base = np.asarray(model._baseline_prediction, dtype=np.float64).ravel().copy()
    known, feature_map = model._bin_mapper.make_known_categories_bitsets()
    nodes: dict[str, list] = {key: [] for key in SPLIT_LISTS}
    members: list[float] = []
    roots, leaf_targets, leaf_weights = [], [], []
    for iteration in model._predictors:
        for target, predictor in enumerate(iteration):
            tree = predictor.nodes
            if tree[0]["is_leaf"]:
                base[target] += tree[0]["value"]
                continue
            is_leaf = tree["is_leaf"].astype(bool)
            interior, leaves = np.flatnonzero(~is_leaf), np.flatnonzero(is_leaf)
            position = {int(i): len(nodes["feature"]) + k for k, i in enumerate(interior)}
            leaf_position = {int(i): len(leaf_weights) + k for k, i in enumerate(leaves)}
            roots.append(position[0])
            leaf_targets.extend([target] * len(leaves))
            leaf_weights.extend(tree["value"][leaves].astype(np.float64).tolist())
            for i in interior:
                add_split(nodes, members, tree[i], predictor, known, feature_map, position,
                          leaf_position, is_leaf)
    ensemble = ensemble_attributes(nodes, members, roots, leaf_targets, leaf_weights,
                                   targets)
    return ensemble, base


def add_split(nodes: dict, members: list, node: Any, predictor: Any, known: np.ndarray,
              feature_map: np.ndarray, position: dict, leaf_position: dict,
              is_leaf: np.ndarray) -> None:
    """One split as scikit-learn's predictor takes it (`_predict_one_from_raw_data`)."""
    left, right = int(node["left"]), int(node["right"])
    goes_left_missing = bool(node["missing_go_to_left"])
    if node["is_categorical"]:
        # Left: the codes in the split's bitset. Right: the other codes seen in training.
        # Anything else (missing, negative, unseen) follows missing_go_to_left. So the test is
        # membership of the left codes when missing goes right, of the right codes otherwise.
        left_codes = bitset_members(predictor.raw_left_cat_bitsets[node["bitset_idx"]])
        seen = bitset_members(known[feature_map[node["feature_idx"]]])
        tested = sorted(set(seen) - set(left_codes)) if goes_left_missing else left_codes
        if goes_left_missing:
            left, right = right, left  # the test's "true" branch is the right child
        members.extend([*map(float, tested), float("nan")])
        mode, split, missing_true = BRANCH_MEMBER, 0.0, 0
    else:
        mode, split, missing_true = BRANCH_LEQ, float(node["num_threshold"]), int(goes_left_missing)
    nodes["feature"].append(int(node["feature_idx"]))
    nodes["split"].append(split)
    nodes["mode"].append(mode)
    nodes["missing_true"].append(missing_true)
    for branch, child in (("true", left), ("false", right)):
        nodes[branch].append(leaf_position[child] if is_leaf[child] else position[child])
        nodes[f"{branch}_leaf"].append(int(is_leaf[child]))


def bitset_members(bitset: np.ndarray) -> list[int]:
    """The codes 0..255 whose bit is set in a scikit-learn bitset of eight 32-bit words."""
    return [code for code in range(256) if bitset[code // 32] >> (code % 32) & 1]

