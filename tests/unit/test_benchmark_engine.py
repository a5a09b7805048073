"""The engine benchmark's memory sampler: it sees every process of a tree, not only the one it
started, and names the multiprocessing children as Dask's workers are named."""

import sys
from pathlib import Path

from benchmarks.measure import TreeRun, measured_tree, process_label
from benchmarks.sections import FactorRun, engine_rows

MiB = 2**20
ALLOCATED = 300 * MiB
# The parent stays small; a spawned child (as a Dask nanny starts its worker) fills and holds
# ALLOCATED bytes, written so the pages are resident, for longer than a few sampling intervals.
TREE = f"""
import multiprocessing, time

def hold():
    block = b"x" * {ALLOCATED}
    time.sleep(1.0)

if __name__ == "__main__":
    child = multiprocessing.get_context("spawn").Process(target=hold)
    child.start()
    child.join()
"""


def test_sampler_sees_and_names_a_child_processes_peak(tmp_path: Path) -> None:
    script = tmp_path / "tree.py"
    script.write_text(TREE)
    run = measured_tree([sys.executable, str(script)], tmp_path, {}, interval=0.1)
    label, peak = run.largest
    assert label == "worker"
    assert peak >= ALLOCATED
    stage = [peak for label, peak in run.peaks.values() if label == "stage"]
    assert len(stage) == 1 and stage[0] < ALLOCATED / 2
    assert run.tree_peak >= ALLOCATED
    assert run.seconds >= 1.0
    assert all(load >= 0 for load in run.load)


def test_process_labels() -> None:
    spawn = ["python", "-c", "from multiprocessing.spawn import spawn_main; spawn_main()"]
    tracker = ["python", "-c", "from multiprocessing.resource_tracker import main;main(22)"]
    assert process_label(["lifecycle", "prepare"], is_root=True) == "stage"
    assert process_label(spawn, is_root=False) == "worker"
    assert process_label(tracker, is_root=False) == "resource tracker"


def test_engine_rows_compare_time_per_row_and_the_largest_process() -> None:
    def factor(rows: int, seconds: float, peak: int) -> FactorRun:
        run = TreeRun(seconds, {1: ("stage", MiB), 2: ("worker", peak)}, peak + MiB,
                      (1.0, 2.0), "")
        return FactorRun(rows, {"ingest": run})

    rows = engine_rows({10.0: factor(1000, 10.0, MiB), 30.0: factor(3000, 39.0, 7 * 2**30)})
    per_row, peak = rows[-2], rows[-1]
    assert per_row.ratio == "1.30" and "missed" in per_row.target
    assert "worker of ingest" in peak.comparison and peak.measured.startswith("7.00 GiB")
    assert "missed" in peak.target
