"""The few exception types the CLI maps to one-line messages and exit codes.

Every error carries the offending input and a hint telling the user what to do.
"""

from __future__ import annotations


class DepgraphError(Exception):
    """Base class: ``str(error)`` is the whole one-line message."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class BadInput(DepgraphError):
    """The user gave something we cannot parse: a requirement, a date, a file."""

    exit_code = 2


class UnknownPackage(DepgraphError):
    """The index has no such project."""


class IndexUnavailable(DepgraphError):
    """An index could not be reached, answered with an error, or is not cached in offline mode."""


class ResolutionFailed(DepgraphError):
    """No set of releases satisfies the requirements for the target environment and date."""


class StoreError(DepgraphError):
    """The download store is missing, busy, foreign or corrupt."""


class CacheError(DepgraphError):
    """A cache under depgraph's cache directory is not one depgraph can use (corrupt, foreign, unwritable)."""


class SetupRequired(DepgraphError):
    """Something this machine must provide first is missing: an optional extra, credentials, a cloud project."""
