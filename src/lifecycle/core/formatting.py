"""How numbers, verdicts and tables are shown, in one place, so every report reads alike."""

import math
from collections.abc import Iterable, Sequence
from typing import Any

# Decimals kept in every JSON output: stable diffs, and far finer than any noise measured here.
DIGITS = 6


def rounded(value: float) -> float:
    return round(float(value), DIGITS)


def shown(value: Any, spec: str = "") -> str:
    """A value for people: `n/a` where it is missing or undefined (NaN, infinity)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return format(value, spec) if spec else str(value)


def number(value: Any, sign: bool = False) -> str:
    """A compact number: four significant digits, thousands separated, `-` when missing."""
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if value == 0:
        return "0"
    if isinstance(value, int) and abs(value) >= 1000:
        return f"{value:+,}" if sign else f"{value:,}"
    return f"{value:+.4g}" if sign else f"{value:.4g}"


def percent(share: float) -> str:
    """A share as a percentage, never rounded to a misleading 0.0% or 100.0%."""
    shown = f"{share:.1%}"
    if share and shown == "0.0%":
        return "under 0.1%"
    if share < 1 and shown == "100.0%":
        return "over 99.9%"
    return shown


def before_after(before: float, after: float, digits: int) -> str:
    """`before -> after` with `digits` significant digits, more where that would show no
    change, in plain notation (`234,568`, not `2.35e+05`)."""
    shown = ("", "")
    for more in range(digits, digits + 4):
        shown = _significant(before, after, more)
        if shown[0] != shown[1]:
            break
    return f"{shown[0]} -> {shown[1]}"


def _significant(before: float, after: float, digits: int) -> tuple[str, str]:
    """Both numbers with the decimals that give the larger `digits` significant digits."""
    largest = max(abs(before), abs(after))
    magnitude = math.floor(math.log10(largest)) if largest else 0
    decimals = max(0, digits - 1 - magnitude)
    return f"{before:,.{decimals}f}", f"{after:,.{decimals}f}"


def result(passed: bool | None, markdown: bool = False) -> str:
    """A criterion's result: pass, FAIL (bold in Markdown), or `-` when it has no threshold."""
    if passed is None:
        return "-"
    if passed:
        return "pass"
    return "**FAIL**" if markdown else "FAIL"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]],
                   align: str = "") -> list[str]:
    """A Markdown table's lines; `align` holds one letter per column, `r` to right-align."""
    rule = ["---:" if letter == "r" else "---" for letter in align.ljust(len(header), "l")]
    return [_markdown_row(header), _markdown_row(rule), *(_markdown_row(row) for row in rows)]


def _markdown_row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def text_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Columns padded to line up in a terminal."""
    lines = [[str(cell) for cell in line] for line in (header, *rows)]
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
                     .rstrip() for line in lines)
