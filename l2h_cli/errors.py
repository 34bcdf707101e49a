"""The errors and warnings of the library. They carry no exit codes: the command line maps
each class to its own (see cli/console)."""

from __future__ import annotations


class L2HError(Exception):
    """Base class; the message is one line meant for the user.

    `option` names the parameter that would fix the problem (for example "dataset"), so a
    front end can point at its own spelling of it.
    """

    def __init__(self, message: str, *, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class InputError(L2HError):
    """The input data is malformed, or changed while it was read."""


class UsageError(L2HError):
    """The call itself is wrong: a missing file, an unknown extension, an output that would
    overwrite an input."""


class OutputError(L2HError):
    """An output could not be written (a full disk, a closed or broken stdout)."""


class L2HWarning(UserWarning):
    """Unusual but valid input (an empty cluster, a duplicate name)."""
