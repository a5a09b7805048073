"""Measure the pipeline side by side in one run and write a Markdown table.

    python -m benchmarks [--rounds N] [--output benchmarks/results.md]

Each comparison alternates its two commands round by round in the same copy of the project and
reports medians, so both sides see the same machine state.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import copy_project, environment

STAGES = ["ingest", "prepare", "featurize", "train", "evaluate"]
# The reference: the same stage code, in one Python process, with no DVC around it.
SINGLE_PROCESS = (
    "import importlib\n"
    f"for name in {STAGES!r}:\n"
    "    importlib.import_module(f'lifecycle.stages.{name}').run()\n"
)


def timed(command: list[str], cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def alternate(first: list[str], second: list[str], rounds: int, cwd: Path,
              env: dict) -> tuple[float, float]:
    """Median wall time of each command, run alternately `rounds` times."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        times[0].append(timed(first, cwd, env))
        times[1].append(timed(second, cwd, env))
    return statistics.median(times[0]), statistics.median(times[1])


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB, "
            f"Python {platform.python_version()}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--output", default="benchmarks/results.md")
    arguments = parser.parse_args()
    env = environment()
    dvc = str(Path(sys.executable).parent / "dvc")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        repo = copy_project(Path(folder))
        subprocess.run([dvc, "repro"], cwd=repo, env=env, check=True, capture_output=True)
        pipeline, single = alternate(
            [dvc, "repro", "--force"], [sys.executable, "-c", SINGLE_PROCESS],
            arguments.rounds, repo, env,
        )
        rows.append(("full `dvc repro --force` vs one Python process running the same stages",
                     pipeline, single, 1.3))
        noop, status = alternate([dvc, "repro"], [dvc, "status"], max(arguments.rounds, 5),
                                 repo, env)
        rows.append(("no-op `dvc repro` vs bare `dvc status`", noop, status, 1.5))
    table = render(rows)
    print(table)
    Path(arguments.output).write_text(table)
    return 0


def render(rows: list[tuple[str, float, float, float]]) -> str:
    lines = [
        f"Machine: {machine()}. Medians of alternating runs on the full default data.",
        "",
        "| comparison | measured (s) | reference (s) | ratio | target |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, measured, reference, target in rows:
        ratio = measured / reference
        verdict = "ok" if ratio <= target else "missed"
        lines.append(f"| {name} | {measured:.2f} | {reference:.2f} | {ratio:.2f} | "
                     f"<= {target} ({verdict}) |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
