"""Converters for the template's transformers (lifecycle.modeling.features): the calendar
features of a datetime, the spelling of categories, and the outlier fences.

The graph's own text operators split words on spaces only and fold case letter by letter in
the C.UTF-8 locale (see CASE_LOCALE), so the file's description names, per input, the whitespace
and case rules (lifecycle.core.spelling) to apply before the graph: the runtime does, and then
the file answers as the pipeline on every string; the graph's steps leave text so spelt as it is.
"""

from typing import Any

from onnx import TensorProto
from skl2onnx import update_registered_converter
from skl2onnx.common.data_types import StringTensorType

from lifecycle.deployment.onnx.graph import Graph, input_width, same_rows_shape, single_input
from lifecycle.modeling.features import CalendarFeatures, CategoryNormaliser, OutlierFences

# Case changes letter by letter in this locale, which glibc and macOS provide: as Python's for
# every letter but the few whose other case is several letters ("ß".upper() is "SS").
CASE_LOCALE = "C.UTF-8"
MAX_WORDS = 16  # the graph joins the words of shorter values only (see joined_words)
SECONDS_PER_DAY = 86_400


def register() -> None:
    update_registered_converter(CalendarFeatures, "LifecycleCalendarFeatures",
                                same_rows_shape(calendar_width), convert_calendar)
    update_registered_converter(CategoryNormaliser, "LifecycleCategoryNormaliser",
                                text_shape, convert_normaliser)
    update_registered_converter(OutlierFences, "LifecycleOutlierFences",
                                same_rows_shape(fences_width), convert_fences)


# --- CalendarFeatures: hour, day of week, month and ages, from seconds since 1970 --------------

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


# --- CategoryNormaliser: whitespace, case and aliases on text ----------------------------------

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
    already spelt so (as the ONNX runtime gives it), else equal to no normalised category."""
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

