"""Errors sagaz-dbt raises, each mapped to dbt's exit code for the same situation."""

from __future__ import annotations


class SagazError(Exception):
    """Base class; `exit_code` follows dbt (1 = failed nodes, 2 = usage or runtime error)."""

    exit_code = 2


class UsageError(SagazError):
    """Bad command line: nothing was touched."""


class ProjectError(SagazError):
    """The project, profile or target could not be loaded: nothing was touched."""


class WarehouseError(SagazError):
    """The warehouse refused an operation sagaz-dbt needed (down, permissions, conflict)."""


class JournalError(SagazError):
    """The journal is unreadable, half-written or inconsistent with the warehouse."""


class TornWarehouseError(SagazError):
    """Compensation could not finish: the run's journal still holds what must be undone."""


class ChangedSinceRunError(SagazError):
    """Recovery refused: relations changed after the run was interrupted; nothing was touched."""


class OlderRunNotRecoveredError(SagazError):
    """A build stopped before it started because an older interrupted run could not be
    finished: the new run changed nothing, the older one is still in the journal."""
