"""Errors a user can act on: the CLI prints them without a traceback."""


class LifecycleError(Exception):
    """A problem with the user's inputs; the message says what, where and how to fix it."""

    exit_code = 1


class ParamsError(LifecycleError):
    """params.yaml (or an override of it) is invalid."""

    exit_code = 2
