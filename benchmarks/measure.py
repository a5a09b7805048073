"""Timing helpers: wall time, peak memory of one child process or of a whole process tree, and
medians of alternating runs."""

import dataclasses
import os
import platform
import re
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psutil


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


@dataclasses.dataclass
class TreeRun:
    seconds: float
    # pid -> (what the process is, its peak resident bytes)
    peaks: dict[int, tuple[str, int]]
    # The largest sum of the tree's resident memory seen in one sample (shared pages count twice).
    tree_peak: int
    # 1-minute load average when the command started and when it ended.
    load: tuple[float, float]
    output: str

    @property
    def largest(self) -> tuple[str, int]:
        """The process with the highest peak: (label, bytes)."""
        return max(self.peaks.values(), key=lambda item: item[1])


def process_label(cmdline: list[str], is_root: bool) -> str:
    """What a process in a stage's tree is. Dask's nannies and the local scheduler live in the
    stage process; its workers are multiprocessing (spawn) children."""
    text = " ".join(cmdline)
    if is_root:
        return "stage"
    if "resource_tracker" in text:
        return "resource tracker"
    if "spawn_main" in text:
        return "worker"
    return Path(cmdline[0]).name if cmdline else "process"


def _high_water_mark(pid: int) -> int:
    """The kernel's peak resident memory of a live process (Linux VmHWM), 0 where unknown:
    it catches a spike between two samples."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmHWM:\s*(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) * 1024 if found else 0


class TreeSampler:
    """Samples the resident memory of a process and all its descendants in a background thread,
    keeping each process's peak and the tree's largest total."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peaks: dict[int, tuple[str, int]] = {}
        self.tree_peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> "TreeSampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def sample(self) -> None:
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:  # the root has exited
            return
        total = 0
        for process in processes:
            try:
                resident = process.memory_info().rss
                label, peak = self.peaks.get(process.pid) or (
                    process_label(process.cmdline(), process.pid == self.root.pid), 0)
            except psutil.Error:  # exited between listing and reading
                continue
            total += resident
            peak = max(peak, resident, _high_water_mark(process.pid))
            self.peaks[process.pid] = (label, peak)
        self.tree_peak = max(self.tree_peak, total)


def measured_tree(command: list[str], cwd: Path, env: dict, interval: float = 0.2) -> TreeRun:
    """Run a command to completion; its wall time, each process's peak memory (the command and
    every process it starts, sampled every `interval` seconds) and the load average around it."""
    with tempfile.TemporaryFile() as output:
        load_start = os.getloadavg()[0]
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
        with TreeSampler(process.pid, interval) as sampler:
            process.wait()
        seconds = time.perf_counter() - start
        load_end = os.getloadavg()[0]
        output.seek(0)
        text = output.read().decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{text[-3000:]}")
    # A process's high-water mark can fall between samples; the tree held at least that much.
    tree_peak = max([sampler.tree_peak, *(peak for _, peak in sampler.peaks.values())])
    return TreeRun(seconds, sampler.peaks, tree_peak, (load_start, load_end), text)


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


# A stage's phase log line (lifecycle.core.progress.phase): "<stage>: <what> done in <s> s".
PHASE_LINE = re.compile(r"^([\w-]+): (.+) done in ([\d.]+) s$", re.MULTILINE)


def phase_seconds(output: str) -> list[tuple[str, str, float]]:
    """Each phase the stages logged in `output`: (stage, what, seconds), in order."""
    return [(stage, what, float(seconds)) for stage, what, seconds in PHASE_LINE.findall(output)]


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
