"""Whitespace and case of category text: one definition for both runtimes.

The model pipeline's CategoryNormaliser spells categories with `respell`, and so does
the ONNX runtime before the graph, whose own operators differ from Python's: StringSplit splits
on the space character only and StringNormalizer changes case letter by letter ("ß" stays "ß").
Plain Python, so a process that scores with onnxruntime alone can import it.
"""

from collections.abc import Callable

CASE_CHANGES: dict[str, Callable[[str], str]] = {"lower": str.lower, "upper": str.upper}


def respell(value: str, strip_whitespace: bool, case: str) -> str:
    """`value` with each run of whitespace (Python's str.split: tabs, no-break and ideographic
    spaces, line and file separators...) as one space and none at either end, then in lower or
    upper case (Python's full mapping: "ß".upper() is "SS"); case "keep" keeps it."""
    if strip_whitespace:
        value = " ".join(value.split())
    change = CASE_CHANGES.get(case)
    return change(value) if change else value
