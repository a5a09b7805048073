"""Benchmarks of the lifecycle: run with `python -m benchmarks` (not part of the test suite)."""

import os

# Read before the sections import tests.conftest, which makes one OpenMP thread the default of
# every process it starts: the benchmarks measure the pipeline as a user's shell runs it.
CHOSEN_THREADS = os.environ.get("OMP_NUM_THREADS")
