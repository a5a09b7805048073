"""Thin stage shells: read declared inputs, call pure functions, write declared outputs.

dvc.yaml runs each stage as `python -m lifecycle.stages.<name>`, so a stage imports only the
modules it uses (never the command line's), and its declared code dependencies stay narrow.
"""

import sys
from collections.abc import Callable

from lifecycle import errors, progress, stage_trace


def main(name: str, run: Callable[[], None]) -> None:
    """Run a stage as a program: one line and an exit code on error; its trace on success."""
    progress.configure(name)
    code = errors.run_command(name, run)
    if code == 0:
        stage_trace.write_trace(name)
    sys.exit(code)
