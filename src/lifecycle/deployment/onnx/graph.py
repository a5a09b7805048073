"""What every converter of the export shares: the opsets, a helper that adds named nodes and
constants to a converter's part of the graph, shape calculators, a classifier's two outputs, and
the attributes of a TreeEnsemble node."""

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto
from skl2onnx.common.data_types import DoubleTensorType
from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

OPSET = {"": 20, "ai.onnx.ml": 3}  # 20: text splitting and joining
# TreeEnsemble, whose splits can test set membership, needs ai.onnx.ml 5, which skl2onnx does
# not know yet: the node is added as version 3 and the file's import raised afterwards.
TREE_ENSEMBLE_OPSET = 5
IR_VERSION = 10  # the newest onnxruntime 1.31 reads
# TreeEnsemble (ai.onnx.ml 5) node modes
BRANCH_LEQ, BRANCH_LT, BRANCH_MEMBER = 0, 1, 6
# Per interior node of a tree ensemble: the lists a converter fills, one entry each.
SPLIT_LISTS = ("feature", "split", "mode", "true", "true_leaf", "false", "false_leaf",
               "missing_true")
# The options a classifier's converter accepts, as skl2onnx's own do (export sets zipmap off).
CLASSIFIER_OPTIONS = {"zipmap": [True, False, "columns"], "nocl": [True, False]}


class Graph:
    """Nodes and constants added to a converter's part of the ONNX graph, named uniquely."""

    def __init__(self, scope: Any, container: Any) -> None:
        self.scope, self.container = scope, container

    def const(self, values: Any, kind: int = TensorProto.DOUBLE) -> str:
        array = np.asarray(values)
        name = self.scope.get_unique_variable_name("const")
        content = array.ravel().tolist()
        if kind == TensorProto.STRING:
            content = [str(value).encode() for value in content]
        self.container.add_initializer(name, kind, list(array.shape), content)
        return name

    def op(self, op_type: str, *inputs: str, outputs: int = 1, domain: str = "",
           version: int | None = None, **attributes: Any) -> Any:
        names = [self.scope.get_unique_variable_name(op_type.lower()) for _ in range(outputs)]
        self.container.add_node(op_type, list(inputs), names, op_domain=domain,
                                op_version=version or OPSET[domain],
                                name=self.scope.get_unique_operator_name(op_type), **attributes)
        return names[0] if outputs == 1 else names

    def floor_div(self, x: str, by: float) -> str:
        return self.op("Floor", self.op("Div", x, self.const(float(by))))

    def column(self, x: str, index: int) -> str:
        """Column `index` of a 2-D tensor, kept 2-D."""
        return self.op("Gather", x, self.const([index], TensorProto.INT64), axis=1)

    def output(self, operator: Any, name: str, index: int = 0) -> None:
        """`name` as the converter's output number `index`."""
        self.container.add_node("Identity", [name], operator.outputs[index].full_name,
                                op_version=OPSET[""],
                                name=self.scope.get_unique_operator_name("Identity"))


def single_input(graph: Graph, operator: Any) -> str:
    names = [variable.full_name for variable in operator.inputs]
    return names[0] if len(names) == 1 else graph.op("Concat", *names, axis=1)


def same_rows_shape(columns: Any) -> Any:
    """A shape calculator: as many rows as the input, `columns(transformer, inputs)` doubles."""
    def calculate(operator: Any) -> None:
        rows = operator.inputs[0].get_first_dimension()
        operator.outputs[0].type = DoubleTensorType([rows, columns(operator.raw_operator,
                                                                   operator.inputs)])
    return calculate


def input_width(inputs: list) -> int:
    return sum(variable.get_second_dimension() or 1 for variable in inputs)


def classifier_shape(operator: Any) -> None:
    """A classifier's outputs: its labels, and the probabilities in double precision (skl2onnx's
    calculator declares float for some classifiers)."""
    calculate_linear_classifier_output_shapes(operator)
    rows = operator.inputs[0].get_first_dimension()
    classes = len(operator.raw_operator.classes_)
    operator.outputs[1].type = DoubleTensorType([rows, classes])


def classifier_outputs(graph: Graph, operator: Any, probabilities: str,
                       classes: np.ndarray) -> None:
    """A classifier converter's two outputs: the likeliest class, and the probabilities."""
    labels = class_labels(classes)
    kind = TensorProto.STRING if labels.dtype.kind in "OU" else TensorProto.INT64
    label = graph.op("Gather", graph.const(labels, kind), graph.op("ArgMax", probabilities,
                                                                   axis=1, keepdims=0))
    graph.output(operator, label, 0)
    graph.output(operator, probabilities, 1)


def class_labels(classes: np.ndarray) -> np.ndarray:
    if classes.dtype.kind in "biu":
        return classes.astype(np.int64)
    return classes.astype(str)


def tensor(name: str, values: list[float]) -> onnx.TensorProto:
    return onnx.helper.make_tensor(name, TensorProto.DOUBLE, [len(values)], values)



def ensemble_attributes(nodes: dict[str, list], members: list[float], roots: list[int],
                        leaf_targets: list[int], leaf_weights: list[float],
                        targets: int) -> dict:
    """TreeEnsemble's attributes from the SPLIT_LISTS of every interior node, the trees' roots
    and their leaves, and the set members that categorical splits test."""
    ensemble = {
        "tree_roots": roots,
        "nodes_featureids": nodes["feature"],
        "nodes_splits": tensor("splits", nodes["split"]),
        "nodes_modes": onnx.helper.make_tensor("modes", TensorProto.UINT8, [len(nodes["mode"])],
                                               nodes["mode"]),
        "nodes_truenodeids": nodes["true"], "nodes_trueleafs": nodes["true_leaf"],
        "nodes_falsenodeids": nodes["false"], "nodes_falseleafs": nodes["false_leaf"],
        "nodes_missing_value_tracks_true": nodes["missing_true"],
        "leaf_targetids": leaf_targets, "leaf_weights": tensor("weights", leaf_weights),
        "n_targets": targets,
    }
    if members:
        ensemble["membership_values"] = tensor("members", members)
    return ensemble
