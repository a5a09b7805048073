"""The deployable pipeline as one ONNX file, for runtimes without Python's scikit-learn.

skl2onnx converts scikit-learn's own steps; this module adds converters for the template's
transformers (features.py) and replaces skl2onnx's histogram-gradient-boosting converter, which
ignores categorical splits, and adds the trivial baseline, random forests in double precision
and the XGBoost models (lifecycle.boosting, from the booster's own JSON); a regression model
clipped to the target's bounds (lifecycle.clipping) ends in a Clip node. Every converter
mirrors its transformer's `transform` on the values the ONNX inputs can carry, which differ
from a DataFrame's in two ways (see `onnx_scoring`):

- a datetime arrives as seconds since 1970-01-01 of its wall-clock time (NaN when missing):
  ONNX has no datetime type and no operator that parses text into one;
- a missing category arrives as "" (ONNX strings have no missing value); the encoder gives
  missing and unknown values the same code, so "" scores as a missing category does.

The graph's own text operators split words on spaces only and fold case letter by letter in
the C.UTF-8 locale (see CASE_LOCALE), so the description names, per input, the whitespace and
case rules (lifecycle.spelling) to apply before the graph: onnx_scoring does, and then the file
answers as the pipeline on every string; the graph's steps leave text so spelt as it is.
"""

import json
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto
from skl2onnx import convert_sklearn, update_registered_converter
from skl2onnx.common.data_types import DoubleTensorType, StringTensorType
from skl2onnx.common.shape_calculator import (
    calculate_linear_classifier_output_shapes,
    calculate_linear_regressor_output_shapes,
)
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OrdinalEncoder

from lifecycle import clipping, onnx_scoring
from lifecycle.boosting import XGBoostClassifier, XGBoostRegressor
from lifecycle.errors import LifecycleError
from lifecycle.features import CalendarFeatures, CategoryNormaliser, OutlierFences

OPSET = {"": 20, "ai.onnx.ml": 3}  # 20: text splitting and joining
# TreeEnsemble, whose splits can test set membership, needs ai.onnx.ml 5, which skl2onnx does
# not know yet: the node is added as version 3 and the file's import raised afterwards.
TREE_ENSEMBLE_OPSET = 5
IR_VERSION = 10  # the newest onnxruntime 1.31 reads
# Case changes letter by letter in this locale, which glibc and macOS provide: as Python's for
# every letter but the few whose other case is several letters ("ß".upper() is "SS").
CASE_LOCALE = "C.UTF-8"
MAX_WORDS = 16  # the graph joins the words of shorter values only (see joined_words)
SECONDS_PER_DAY = 86_400
# TreeEnsemble (ai.onnx.ml 5) node modes
BRANCH_LEQ, BRANCH_LT, BRANCH_MEMBER = 0, 1, 6


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


# --- CalendarFeatures: hour, day of week, month and ages, from seconds since 1970 -------------

def convert_calendar(scope: Any, operator: Any, container: Any) -> None:
    graph = Graph(scope, container)
    x = single_input(graph, operator)
    seconds = graph.column(x, 0)
    days = graph.floor_div(seconds, SECONDS_PER_DAY)
    into_day = graph.op("Sub", seconds, graph.op("Mul", days, graph.const(float(SECONDS_PER_DAY))))
    hour = graph.floor_div(into_day, 3600)
    # 1970-01-01 was a Thursday: Monday is 0, as pandas counts.
    shifted = graph.op("Add", days, graph.const(3.0))
    day_of_week = graph.op("Sub", shifted, graph.op("Mul", graph.floor_div(shifted, 7),
                                                   graph.const(7.0)))
    year, month = civil_year_month(graph, days)
    ages = [graph.op("Sub", year, graph.column(x, 1 + i))
            for i in range(len(operator.raw_operator.age_from_year))]
    graph.output(operator, graph.op("Concat", hour, day_of_week, month, *ages, axis=1))


def civil_year_month(graph: Graph, days: str) -> tuple[str, str]:
    """Year and month of a day count since 1970-01-01 in the proleptic Gregorian calendar
    (H. Hinnant's civil_from_days, in whole numbers held as doubles; NaN stays NaN)."""
    c = graph.const
    z = graph.op("Add", days, c(719_468.0))
    era = graph.floor_div(z, 146_097)
    day_of_era = graph.op("Sub", z, graph.op("Mul", era, c(146_097.0)))
    leap_terms = graph.op("Sub", graph.op("Add", graph.op("Sub", day_of_era,
                                                          graph.floor_div(day_of_era, 1460)),
                                          graph.floor_div(day_of_era, 36_524)),
                          graph.floor_div(day_of_era, 146_096))
    year_of_era = graph.floor_div(leap_terms, 365)
    day_of_year = graph.op("Sub", day_of_era, graph.op(
        "Sub", graph.op("Add", graph.op("Mul", year_of_era, c(365.0)),
                        graph.floor_div(year_of_era, 4)),
        graph.floor_div(year_of_era, 100)))
    march_month = graph.floor_div(graph.op("Add", graph.op("Mul", day_of_year, c(5.0)), c(2.0)),
                                  153)
    past_december = graph.op("Cast", graph.op("GreaterOrEqual", march_month, c(10.0)),
                             to=TensorProto.DOUBLE)
    month = graph.op("Sub", graph.op("Add", march_month, c(3.0)),
                     graph.op("Mul", past_december, c(12.0)))
    year = graph.op("Add", graph.op("Add", year_of_era, graph.op("Mul", era, c(400.0))),
                    past_december)
    return year, month


def calendar_width(transformer: CalendarFeatures, inputs: list) -> int:
    return 3 + len(transformer.age_from_year)


# --- CategoryNormaliser: whitespace, case and aliases on text ---------------------------------

def convert_normaliser(scope: Any, operator: Any, container: Any) -> None:
    graph = Graph(scope, container)
    normaliser = operator.raw_operator
    text = single_input(graph, operator)
    if normaliser.strip_whitespace:
        text = joined_words(graph, text)
    if normaliser.case != "keep":
        flat = graph.op("Reshape", text, graph.const([-1], TensorProto.INT64))
        changed = graph.op("StringNormalizer", flat, case_change_action=normaliser.case.upper(),
                           locale=CASE_LOCALE)
        text = graph.op("Reshape", changed, graph.op("Shape", text))
    if normaliser.aliases:
        text = aliased(graph, text, normaliser.aliases)
    graph.output(operator, text)


def aliased(graph: Graph, text: str, aliases: dict[str, str]) -> str:
    """Each value an alias names replaced by its meaning, others kept: one lookup whatever the
    number of aliases (a chain of comparisons would grow with it)."""
    position = graph.op("LabelEncoder", text, domain="ai.onnx.ml", version=2,
                        keys_strings=list(aliases), values_int64s=list(range(len(aliases))),
                        default_int64=-1)
    meanings = graph.const(list(aliases.values()), TensorProto.STRING)
    meaning = graph.op("Gather", meanings, graph.op("Max", position,
                                                    graph.const(0, TensorProto.INT64)))
    found = graph.op("GreaterOrEqual", position, graph.const(0, TensorProto.INT64))
    return graph.op("Where", found, meaning, text)


def joined_words(graph: Graph, text: str) -> str:
    """" ".join(value.split()) for every value, the space its only whitespace: StringSplit, then
    the words joined again. A value of more than MAX_WORDS words is left as it is: right when
    already spelt so (as onnx_scoring gives it), and otherwise equal to no normalised category."""
    words, count = graph.op("StringSplit", text, outputs=2)
    padding = graph.op("Expand", graph.const([""], TensorProto.STRING),
                       graph.op("Concat", graph.op("Shape", text),
                                graph.const([MAX_WORDS], TensorProto.INT64), axis=0))
    words = graph.op("Concat", words, padding, axis=-1)
    space, empty = (graph.const([s], TensorProto.STRING) for s in (" ", ""))
    joined = graph.op("Gather", words, graph.const(0, TensorProto.INT64), axis=-1)
    for position in range(1, MAX_WORDS):
        word = graph.op("Gather", words, graph.const(position, TensorProto.INT64), axis=-1)
        present = graph.op("Greater", count, graph.const(position, TensorProto.INT64))
        joined = graph.op("StringConcat", joined, graph.op(
            "Where", present, graph.op("StringConcat", space, word), empty))
    too_long = graph.op("Greater", count, graph.const(MAX_WORDS, TensorProto.INT64))
    return graph.op("Where", too_long, text, joined)


def text_shape(operator: Any) -> None:
    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = StringTensorType([rows, input_width(operator.inputs)])


# --- OutlierFences: clip to, or flag values beyond, the fences ---------------------------------

def convert_fences(scope: Any, operator: Any, container: Any) -> None:
    graph = Graph(scope, container)
    fences = operator.raw_operator
    x = single_input(graph, operator)
    lower, upper = graph.const([fences.lower_]), graph.const([fences.upper_])
    below, above = graph.op("Less", x, lower), graph.op("Greater", x, upper)
    if fences.mode == "flag":
        flags = graph.op("Cast", graph.op("Or", below, above), to=TensorProto.DOUBLE)
        graph.output(operator, graph.op("Concat", x, flags, axis=1))
    else:  # a NaN fence compares false, leaving its column as it is, as transform does
        graph.output(operator, graph.op("Where", above, upper, graph.op("Where", below, lower, x)))


def fences_width(fences: OutlierFences, inputs: list) -> int:
    return input_width(inputs) * (2 if fences.mode == "flag" else 1)


# --- SimpleImputer with missing indicators (skl2onnx's drops the indicators) -------------------

def convert_imputer(scope: Any, operator: Any, container: Any) -> None:
    graph = Graph(scope, container)
    imputer = operator.raw_operator
    x = single_input(graph, operator)
    statistics = imputer.statistics_
    if statistics.dtype.kind in "OU":
        # Text: scikit-learn looks for NaN, and a category arrives missing as None (see
        # scoring.category_values), which it leaves for the encoder's missing code; so does
        # this, and "" reaches the encoder as None does.
        graph.output(operator, x)
        return
    missing = graph.op("IsNaN", x)
    filled = graph.op("Where", missing, graph.const(statistics.astype(np.float64)), x)
    kept = kept_columns(imputer)
    parts = [graph.op("Gather", filled, graph.const(kept, TensorProto.INT64), axis=1)]
    if imputer.add_indicator:
        flagged = imputer.indicator_.features_.astype(np.int64)
        parts.append(graph.op("Cast", graph.op("Gather", missing, graph.const(
            flagged, TensorProto.INT64), axis=1), to=TensorProto.DOUBLE))
    graph.output(operator, graph.op("Concat", *parts, axis=1) if len(parts) > 1 else parts[0])


def kept_columns(imputer: SimpleImputer) -> np.ndarray:
    """Columns transform keeps: one all missing in training is dropped unless asked to keep."""
    if imputer.keep_empty_features or imputer.statistics_.dtype.kind in "OU":
        return np.arange(len(imputer.statistics_))
    return np.flatnonzero(~np.isnan(imputer.statistics_))


def imputer_width(imputer: SimpleImputer, inputs: list) -> int:
    indicators = len(imputer.indicator_.features_) if imputer.add_indicator else 0
    return len(kept_columns(imputer)) + indicators


def imputer_shape(operator: Any) -> None:
    rows = operator.inputs[0].get_first_dimension()
    imputer = operator.raw_operator
    kind = StringTensorType if imputer.statistics_.dtype.kind in "OU" else DoubleTensorType
    operator.outputs[0].type = kind([rows, imputer_width(imputer, operator.inputs)])


# --- OrdinalEncoder with infrequent levels (skl2onnx's pairs codes with the wrong keys) ------

def convert_encoder(scope: Any, operator: Any, container: Any) -> None:
    graph = Graph(scope, container)
    encoder = operator.raw_operator
    x = single_input(graph, operator)
    columns = []
    for position, categories in enumerate(encoder.categories_):
        keys, codes = category_codes(encoder, position, categories)
        coded = graph.op("LabelEncoder", graph.column(x, position), domain="ai.onnx.ml",
                         version=2, keys_strings=keys, values_floats=codes,
                         default_float=float(encoder.unknown_value))
        columns.append(graph.op("Cast", coded, to=TensorProto.DOUBLE))
    graph.output(operator, graph.op("Concat", *columns, axis=1))


def category_codes(encoder: Any, position: int,
                   categories: np.ndarray) -> tuple[list[str], list[float]]:
    """Each category's text and the code transform gives it (infrequent levels share one);
    "" (a missing category) gets the missing code."""
    mapping = encoder._default_to_infrequent_mappings[position] if getattr(
        encoder, "_infrequent_enabled", False) else None
    codes = np.arange(len(categories)) if mapping is None else np.asarray(mapping)
    # A missing level, when training had one, is the last category and has no mapped code.
    pairs = {category: float(code) for category, code in zip(categories, codes, strict=False)
             if isinstance(category, str)}
    pairs.setdefault("", float(encoder.encoded_missing_value))
    return list(pairs), list(pairs.values())


def encoder_width(encoder: Any, inputs: list) -> int:
    return len(encoder.categories_)


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


# --- random forests in double precision ------------------------------------------------------

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


# --- XGBoost (lifecycle.boosting), from the booster's JSON model --------------------------------

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
    nodes: dict[str, list] = {key: [] for key in (
        "feature", "split", "mode", "true", "true_leaf", "false", "false_leaf", "missing_true")}
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
        "n_targets": len(base),
    }
    if members:
        ensemble["membership_values"] = tensor("members", members)
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


def class_labels(classes: np.ndarray) -> np.ndarray:
    if classes.dtype.kind in "biu":
        return classes.astype(np.int64)
    return classes.astype(str)


def tree_ensemble(model: Any) -> tuple[dict, np.ndarray]:
    """TreeEnsemble attributes for every tree, and the base score per output (the baseline plus
    the value of trees that are a single leaf, which the operator cannot hold)."""
    targets = model.n_trees_per_iteration_
    base = np.asarray(model._baseline_prediction, dtype=np.float64).ravel().copy()
    known, feature_map = model._bin_mapper.make_known_categories_bitsets()
    nodes: dict[str, list] = {key: [] for key in (
        "feature", "split", "mode", "true", "true_leaf", "false", "false_leaf", "missing_true")}
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


def tensor(name: str, values: list[float]) -> onnx.TensorProto:
    return onnx.helper.make_tensor(name, TensorProto.DOUBLE, [len(values)], values)


def register_converters() -> None:
    update_registered_converter(CalendarFeatures, "LifecycleCalendarFeatures",
                                same_rows_shape(calendar_width), convert_calendar)
    update_registered_converter(CategoryNormaliser, "LifecycleCategoryNormaliser",
                                text_shape, convert_normaliser)
    update_registered_converter(OutlierFences, "LifecycleOutlierFences",
                                same_rows_shape(fences_width), convert_fences)
    update_registered_converter(OrdinalEncoder, "SklearnOrdinalEncoder",
                                same_rows_shape(encoder_width), convert_encoder)
    update_registered_converter(SimpleImputer, "SklearnImputer", imputer_shape, convert_imputer)
    update_registered_converter(HistGradientBoostingClassifier,
                                "SklearnHistGradientBoostingClassifier",
                                classifier_shape, convert_boosting,
                                options={"zipmap": [True, False, "columns"], "nocl": [True, False]})
    update_registered_converter(HistGradientBoostingRegressor,
                                "SklearnHistGradientBoostingRegressor",
                                calculate_linear_regressor_output_shapes, convert_boosting)
    update_registered_converter(DummyClassifier, "SklearnDummyClassifier",
                                classifier_shape, convert_constant,
                                options={"zipmap": [True, False, "columns"], "nocl": [True, False]})
    update_registered_converter(DummyRegressor, "SklearnDummyRegressor",
                                calculate_linear_regressor_output_shapes, convert_constant)
    update_registered_converter(RandomForestClassifier, "SklearnRandomForestClassifier",
                                classifier_shape, convert_forest,
                                options={"zipmap": [True, False, "columns"], "nocl": [True, False]})
    update_registered_converter(RandomForestRegressor, "SklearnRandomForestRegressor",
                                calculate_linear_regressor_output_shapes, convert_forest)
    update_registered_converter(XGBoostClassifier, "LifecycleXGBoostClassifier",
                                classifier_shape, convert_xgboost,
                                options={"zipmap": [True, False, "columns"], "nocl": [True, False]})
    update_registered_converter(XGBoostRegressor, "LifecycleXGBoostRegressor",
                                calculate_linear_regressor_output_shapes, convert_xgboost)


TENSOR_TYPES = {"numeric": DoubleTensorType, "datetime": DoubleTensorType,
                "categorical": StringTensorType, "text": StringTensorType}


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
        proto, {onnx_scoring.METADATA_KEY: json.dumps(description, sort_keys=True)})
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
    proto = convert_sklearn(step, initial_types=inputs, target_opset=OPSET, options=options,
                            naming=prefix)
    versions = {**OPSET, "ai.onnx.ml": TREE_ENSEMBLE_OPSET}
    del proto.opset_import[:]
    proto.opset_import.extend(onnx.helper.make_opsetid(domain, version)
                              for domain, version in sorted(versions.items()))
    proto.ir_version = IR_VERSION
    return proto


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
    first, for the scoring side to apply in Python (lifecycle.spelling)."""
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
    from lifecycle import metrics

    expected = np.asarray(metrics.predict_scores(model, rows, task), dtype=np.float64)
    got = np.asarray(metrics.predict_scores(portable, rows, task), dtype=np.float64)
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
    return {"rows": len(rows), "max_difference": largest, "tolerance": tolerance,
            "labels_differ": labels_differ,
            "holds": bool(largest <= tolerance and labels_differ == 0)}
