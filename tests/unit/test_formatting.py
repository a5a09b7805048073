"""One way to show numbers, verdicts and tables."""

import math

from lifecycle.core import formatting


def test_shown_says_n_a_for_missing_or_undefined_values_only():
    assert [formatting.shown(value) for value in (None, math.nan, math.inf, 0.0, 3)] == \
        ["n/a", "n/a", "n/a", "0.0", "3"]
    assert formatting.shown(0.123456, ".2f") == "0.12"


def test_number_is_compact_signed_on_request_and_a_dash_when_missing():
    assert [formatting.number(value) for value in (None, 0, 12345, 0.0123456, "x")] == \
        ["-", "0", "12,345", "0.01235", "x"]
    assert formatting.number(-0.5, sign=True) == "-0.5"
    assert formatting.number(1500, sign=True) == "+1,500"


def test_result_words_are_the_same_everywhere_with_fail_bold_in_markdown():
    assert [formatting.result(value) for value in (True, False, None)] == ["pass", "FAIL", "-"]
    assert formatting.result(False, markdown=True) == "**FAIL**"


def test_markdown_table_has_a_header_a_rule_with_alignment_and_one_line_per_row():
    assert formatting.markdown_table(("name", "value"), [("a", 1), ("b", None)], "lr") == [
        "| name | value |", "| --- | ---: |", "| a | 1 |", "| b | None |"]


def test_text_table_lines_up_columns_without_trailing_spaces():
    text = formatting.text_table(("criterion", "result"), [("long criterion", "pass"), ("x", "")])

    assert text.splitlines() == ["criterion       result", "long criterion  pass", "x"]


def test_rounded_keeps_six_decimals_as_a_plain_float():
    value = formatting.rounded(0.12345678)
    assert value == 0.123457 and type(value) is float


def test_percent_never_rounds_a_share_to_none_or_all():
    assert formatting.percent(0.55) == "55.0%"
    assert formatting.percent(0.0001) == "under 0.1%"
    assert formatting.percent(0.99999) == "over 99.9%"
    assert formatting.percent(1.0) == "100.0%"


def test_before_after_shows_enough_digits_to_see_the_change_and_no_exponents():
    assert formatting.before_after(2.857, 4.444, digits=3) == "2.86 -> 4.44"
    assert formatting.before_after(2.8611, 2.8643, digits=3) == "2.861 -> 2.864"
    assert formatting.before_after(234_567.8, 198_765.4, digits=3) == "234,568 -> 198,765"
    assert formatting.before_after(0.0, 0.5, digits=2) == "0.00 -> 0.50"
