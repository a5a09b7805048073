"""Measure the pipeline side by side in one run and write a Markdown table.

    python -m benchmarks [--only pipeline,noop,evidence,change,sweep,scale,engine,api] [--rounds N]
                         [--fraction F] [--scales 1,3,10] [--engine-scales 1,10,30]
                         [--jobs 2] [--sweep-size 8] [--note TEXT]
                         [--output benchmarks/results.md]

Comparisons alternate their two commands round by round in the same copy of the project and
report medians, so both sides see the same machine state. `--fraction` runs everything on a
sample of the rows (the scale and engine sections multiply it) for a quick check of the
machinery.
"""

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks.measure import load_average, machine
from benchmarks.sections import SECTIONS, Context, Row


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections (default: all of {', '.join(SECTIONS)})")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per comparison (median)")
    parser.add_argument("--fraction", type=float, default=1.0,
                        help="source.sample_fraction of the runs: 1 is the default data")
    parser.add_argument("--scales", default="1,3,10", help="row multiples for the scale section")
    parser.add_argument("--engine-scales", default="1,10,30",
                        help="row multiples for the engine section (dask and xgboost)")
    parser.add_argument("--jobs", type=int, default=2, help="workers for the queued sweep")
    parser.add_argument("--sweep-size", type=int, default=8,
                        help="experiments per sweep (8 for the target; fewer for a quick check)")
    parser.add_argument("--note", default="", help="a sentence printed above the table")
    parser.add_argument("--output", default="benchmarks/results.md")
    arguments = parser.parse_args(argv)
    unknown = set(arguments.only.split(",")) - set(SECTIONS)
    if unknown:
        parser.error(f"--only: unknown sections {', '.join(sorted(unknown))}; "
                     f"choose from {', '.join(SECTIONS)}")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    chosen = [name for name in SECTIONS if name in arguments.only.split(",")]
    header = header_lines(arguments)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="lifecycle-benchmark-") as folder:
        context = Context(Path(folder), arguments.rounds, arguments.fraction,
                          [float(factor) for factor in arguments.scales.split(",")],
                          arguments.jobs, arguments.sweep_size,
                          [float(factor) for factor in arguments.engine_scales.split(",")])
        for name in chosen:
            print(f"benchmark: {name} ...", file=sys.stderr, flush=True)
            rows.extend(SECTIONS[name](context))
            # Written after every section, so a long run that is stopped keeps what it measured.
            text = render(header, rows, context.details)
            Path(arguments.output).write_text(text)
    print(text)
    return 0


def header_lines(arguments: argparse.Namespace) -> list[str]:
    data = ("the full default data" if arguments.fraction == 1
            else f"`source.sample_fraction` {arguments.fraction:g} of the data")
    lines = [
        f"Machine: {machine()}. Load average at the start: {load_average()}.",
        "",
        f"Command: `python -m benchmarks --only {arguments.only} --rounds {arguments.rounds} "
        f"--fraction "
        f"{arguments.fraction:g} --scales {arguments.scales} --engine-scales "
        f"{arguments.engine_scales} --jobs {arguments.jobs} "
        f"--sweep-size {arguments.sweep_size}` "
        f"({data}; medians of {arguments.rounds} alternating rounds where two commands are "
        f"compared).",
    ]
    if arguments.note:
        lines += ["", f"**{arguments.note}**"]
    return [*lines, ""]


def render(header: list[str], rows: list[Row], details: list[str]) -> str:
    lines = [
        *header,
        "| comparison | measured | reference | ratio | target |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(f"| {row.comparison} | {row.measured} | {row.reference} | {row.ratio} | "
                     f"{row.target} |")
    text = "\n".join(lines) + "\n"
    return "\n".join([text, *details])


if __name__ == "__main__":
    sys.exit(main())
