"""Errors a user can act on: the CLI prints them without a traceback."""

import sys
from collections.abc import Callable
from typing import Any


class LifecycleError(Exception):
    """A problem with the user's inputs; the message says what, where and how to fix it."""

    exit_code = 1


class ParamsError(LifecycleError):
    """params.yaml (or an override of it) is invalid."""

    exit_code = 2


def run_command(name: str, action: Callable[..., int | None], **options: Any) -> int:
    """Run `action`; an error a user can act on, or one the file system raised, is one line on
    stderr and an exit code instead of a traceback."""
    try:
        return action(**options) or 0
    except LifecycleError as error:
        print(f"lifecycle {name}: error: {error}", file=sys.stderr)
        return error.exit_code
    except OSError as error:  # the file system refused something no check foresaw
        where = f"{error.filename}: " if error.filename else ""
        print(f"lifecycle {name}: error: {where}{error.strerror or error}", file=sys.stderr)
        return 1
