"""Errors a user can act on: the CLI prints them without a traceback."""

import difflib
import sys
from collections.abc import Callable, Iterable
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


# The messages for a name that is not among those allowed: one wording everywhere.


def did_you_mean(found: Any, allowed: Iterable[Any]) -> str:
    """` (did you mean 'x'?)` for the allowed name closest to `found`, or "" when none is close."""
    close = difflib.get_close_matches(str(found), [str(item) for item in allowed], n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_key_error(parent: str, key: Any, allowed: Iterable[Any]) -> ParamsError:
    """`key` under the key path `parent` ("" at the top) is none of the keys allowed there."""
    allowed = [str(item) for item in allowed]
    where = f"{parent}.{key}" if parent else str(key)
    return ParamsError(f"{where}: unknown key; allowed here: {', '.join(allowed)}"
                       f"{did_you_mean(key, allowed)}")


def not_allowed_error(where: str, value: Any, allowed: Iterable[Any]) -> ParamsError:
    """The value at `where` is none of the allowed values."""
    allowed = [str(item) for item in allowed]
    return ParamsError(f"{where}: {value!r} is not allowed; choose one of: {', '.join(allowed)}"
                       f"{did_you_mean(value, allowed)}")
