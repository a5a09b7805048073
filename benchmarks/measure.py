"""Timing helpers: wall time, peak memory of one child process, and medians of alternating runs."""

import dataclasses
import os
import platform
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path


@dataclasses.dataclass
class Run:
    seconds: float
    peak_bytes: int
    output: str


def measured(command: list[str], cwd: Path, env: dict) -> Run:
    """Run a command to completion; its wall time, peak resident memory and output.

    The peak comes from wait4's resource usage of this one child (and the children it waited
    for), so each measurement stands alone, unlike RUSAGE_CHILDREN, which keeps the largest so far.
    """
    with tempfile.TemporaryFile() as output:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{text[-3000:]}")
    # Linux reports ru_maxrss in KiB.
    return Run(seconds, usage.ru_maxrss * 1024, text)


def timed(command: list[str], cwd: Path, env: dict) -> float:
    return measured(command, cwd, env).seconds


def alternate(first: list[str], second: list[str], rounds: int, cwd: Path,
              env: dict) -> tuple[float, float]:
    """Median wall time of each command, run alternately `rounds` times."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        times[0].append(timed(first, cwd, env))
        times[1].append(timed(second, cwd, env))
    return statistics.median(times[0]), statistics.median(times[1])


def stages_run(output: str) -> list[str]:
    """The stages `dvc repro` or `dvc exp run` ran, from their "Running stage" lines."""
    return re.findall(r"Running stage '([\w-]+)'", output)


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.machine()}, {_cpu_model()}, {os.cpu_count()} cores, {memory:.0f} GiB, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown CPU"
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else "unknown CPU"


def load_average() -> str:
    try:
        return ", ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "unknown"
