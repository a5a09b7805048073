"""Benchmarks of the lifecycle: run with `python -m benchmarks` (not part of the test suite)."""
