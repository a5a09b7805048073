"""The evidence benchmark's details: each round's ratio and the spread of both timings, and the
phase table: every phase the stages logged, longest first, and the time no phase accounts for."""

from benchmarks.measure import phase_seconds
from benchmarks.sections import phase_table, rounds_line

OUTPUT = """Running stage 'train':
> python -m lifecycle.stages.train
train: cross-validation fold 1/3 done in 12.5 s
train: fit hist_gradient_boosting on every training row done in 20.0 s
WARNING: 'src/lifecycle/core/__init__.py' is empty.
Running stage 'evaluate':
evaluate: permutation importance done in 7.5 s
evaluate: 3 rows written done in a while
"""


def test_phases_are_read_from_the_stages_log_lines_only():
    assert phase_seconds(OUTPUT) == [
        ("train", "cross-validation fold 1/3", 12.5),
        ("train", "fit hist_gradient_boosting on every training row", 20.0),
        ("evaluate", "permutation importance", 7.5),
    ]


def test_the_table_puts_the_longest_phase_first_and_the_rest_last():
    rows = [line for line in phase_table(phase_seconds(OUTPUT), 50.0).splitlines()
            if line.startswith("| ") and "---" not in line][1:]

    assert rows == [
        "| train | fit hist_gradient_boosting on every training row | 20.0 | 40% |",
        "| train | cross-validation fold 1/3 | 12.5 | 25% |",
        "| evaluate | permutation importance | 7.5 | 15% |",
        "| | outside the phases | 10.0 | 20% |",
    ]


def test_each_round_pairs_the_repro_with_the_core_measured_after_it():
    line = rounds_line([120.0, 132.0, 126.0], [20.0, 22.0, 18.0])

    assert "120.0 / 20.0 = 6.00, 132.0 / 22.0 = 6.00, 126.0 / 18.0 = 7.00." in line
    assert line.rstrip().endswith("Repro 120.0 to 132.0 s, core 18.0 to 22.0 s.")
