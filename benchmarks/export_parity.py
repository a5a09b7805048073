"""The export stage's parity check at scale: peak memory of scoring every test row with both
runtimes at once against chunk by chunk, side by side in one run.

    python -m benchmarks.export_parity [--times 30]

Run in a reproduced project (models/model.skops, data/prepared/test.parquet). The test split is
repeated `--times` times into a temporary parquet file; each way runs in its own process,
whose peak resident memory is the kernel's high-water mark (wait4 `ru_maxrss`).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WAYS = {
    "whole": "parity(model, portable, read_parquet(path, columns=inputs), task, threshold)",
    "chunks": "combined_parity(parity(model, portable, chunk, task, threshold) for chunk in "
              "parquet_batches(path, PARITY_CHUNK_ROWS, columns=inputs))",
}
PROGRAM = """
import sys
from lifecycle import config
from lifecycle.config import contract
from lifecycle.core.tables import parquet_batches, read_parquet
from lifecycle.deployment.onnx.export import combined_parity, description, export, parity
from lifecycle.deployment.onnx import runtime
from lifecycle.modeling import artifacts
from lifecycle.stages.export import PARITY_CHUNK_ROWS

path = sys.argv[1]
params = config.load()
task = params.problem.task
threshold = params.evaluate.decision_threshold if task == "binary" else None
model = artifacts.load_model("models/model.skops", params.extensions.model_packages())
types = {name: column.type for name, column in contract.load("data/contract.yaml").columns.items()}
portable = runtime.load(export(model, types, description(model, types, params.problem, threshold)))
inputs = list(model.feature_names_in_)
print({WAY})
"""


def repeated_test_split(times: int, folder: Path) -> Path:
    import pandas as pd

    test = pd.read_parquet("data/prepared/test.parquet")
    target = folder / f"test-{times}x.parquet"
    pd.concat([test] * times, ignore_index=True).to_parquet(target, index=False)
    return target


def peak(way: str, path: Path) -> tuple[float, float, str]:
    """Seconds, peak GiB and the printed parity of one way, in a process of its own."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", PROGRAM.replace("{WAY}", WAYS[way]),
                                str(path)], stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status:
        raise SystemExit(f"{way}: exit status {status}")
    return time.perf_counter() - start, usage.ru_maxrss / 2**20, output.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--times", type=int, default=30, help="repeats of the test split")
    times = parser.parse_args().times
    with tempfile.TemporaryDirectory() as folder:
        path = repeated_test_split(times, Path(folder))
        measured = {way: peak(way, path) for way in WAYS}
    for way, (seconds, gib, parity) in measured.items():
        print(f"{way}: {seconds:.1f} s, peak {gib:.2f} GiB; {parity}")
    print(f"peak ratio chunks/whole: {measured['chunks'][1] / measured['whole'][1]:.2f} "
          f"(load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
