"""The names sagaz-dbt gives its concepts, one enum per concept.

A step action is what a phase did to one relation; the macros return it as a string and the
journal, the report, JUnit, the GitHub summary and OpenLineage read it back.  Which actions
mean "the run had changed this relation and sagaz-dbt put it back" is decided here, once:
a rollback that restored a table must never be reported as having left it untouched.
"""

from __future__ import annotations

from enum import Enum


class StepAction(str, Enum):
    """Every action a phase's macros can return for a step (tests/unit/test_vocabulary.py
    reads the macros and fails on one missing here)."""

    # Rollback: the relation is put back.
    SWAPPED_BACK = "swapped back"
    ROWS_RESTORED = "rows restored"
    COPY_SWAPPED_IN = "copy swapped in"
    DROPPED = "dropped"
    RECREATED = "recreated"  # a DuckDB table with foreign keys, rebuilt from its copy
    INDEXES_RESTORED = "indexes restored"  # a Postgres materialized view changed in place
    VIEW_RESTORED = "view restored"  # a Spark view replaced in place, re-created from its recorded text
    # Rollback: nothing to put back.
    UNTOUCHED = "untouched"
    MISSING = "missing"
    MISSING_ACCEPTED = "missing (accepted)"
    # Release after a successful run.
    RELEASED = "released"
    RETAINED = "retained"
    NO_BACKUP = "no backup"

    @property
    def is_restoring(self) -> bool:
        return self in _RESTORING


_RESTORING = frozenset(
    {
        StepAction.SWAPPED_BACK,
        StepAction.ROWS_RESTORED,
        StepAction.COPY_SWAPPED_IN,
        StepAction.DROPPED,
        StepAction.RECREATED,
        StepAction.INDEXES_RESTORED,
        StepAction.VIEW_RESTORED,
    }
)


def is_restoring(action: str) -> bool:
    """Whether a recorded action put a changed relation back.  Shown variants carry a detail
    in parentheses ("rows restored (keys)"): the part before it is the action."""
    base = str(action).split(" (", 1)[0]
    try:
        return StepAction(base).is_restoring
    except ValueError:
        return False
