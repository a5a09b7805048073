"""What a stage is doing: one log line per phase with its elapsed time, so a long stage is never
silent for long, in plain lines that read well in CI logs (no redrawn progress bars)."""

import contextlib
import logging
import sys
import time
from collections.abc import Iterator

log = logging.getLogger("lifecycle")


def configure(stage: str) -> None:
    """Lines on stderr as `<stage>: <message>`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{stage}: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False


@contextlib.contextmanager
def phase(what: str) -> Iterator[None]:
    """Log `<what> done in <seconds> s` when the block finishes (not when it fails)."""
    start = time.perf_counter()
    yield
    log.info("%s done in %.1f s", what, time.perf_counter() - start)
