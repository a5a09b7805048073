"""Thin stage shells: read declared inputs, call pure functions, write declared outputs.

dvc.yaml runs each stage as `python -m lifecycle.stages.<name>`, so a stage imports only the
modules it uses (never the command line's), and its declared code dependencies stay narrow.
"""

import sys
from collections.abc import Callable

from lifecycle.core import code_versions, errors, progress, stage_trace


def main(name: str, run: Callable[[], None]) -> None:
    """Run a stage as a program: one line and an exit code on error; its trace on success.
    It refuses installed library code other than the code its hash in code_versions.yaml
    records: DVC would otherwise have skipped the stages that code changed."""
    progress.configure(name)

    def checked() -> None:
        code_versions.check_stages([name])
        run()

    code = errors.run_command(name, checked)
    if code == 0:
        stage_trace.write_trace(name)
    sys.exit(code)
