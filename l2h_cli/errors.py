"""Exceptions that carry the exit code the command line reports for them."""


class L2HError(Exception):
    """Base class; the message is one line meant for the user."""

    exit_code = 1


class InputError(L2HError):
    """The input data is malformed (exit code 3)."""

    exit_code = 3


class UsageError(L2HError):
    """The command was called wrongly: a missing file, an unknown extension (exit code 2)."""

    exit_code = 2


class L2HWarning(UserWarning):
    """Unusual but valid input (an empty cluster, a duplicate name)."""
