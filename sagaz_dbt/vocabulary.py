"""The names sagaz-dbt gives its concepts, one enum per concept.

A step action is what a phase did to one relation; the macros return it as a string and the
journal, the report, JUnit, the GitHub summary and OpenLineage read it back.  Which actions
mean "the run had changed this relation and sagaz-dbt put it back" is decided here, once:
a rollback that restored a table must never be reported as having left it untouched.
"""

from __future__ import annotations

from enum import Enum

from dbt.artifacts.schemas.results import NodeStatus


class Text(str, Enum):
    """A name that is also its stored text: compares, hashes, prints and formats as its value
    (f"{RunStatus.COMMITTED}" is "committed", as in the journal), like Python 3.11's StrEnum."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class StepAction(Text):
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
    # Isolation mode: a shadow took its production relation's place.
    PUBLISHED = "published"

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


class RunStatus(Text):
    """A run's status in the journal (`sagaz_runs.status`).  The values are stored text:
    never change one, or journals written before would no longer read."""

    ARMING = "arming"  # (older journals) snapshots being taken; dbt had not started
    BUILDING = "building"  # armed: dbt may be changing relations
    COMMITTING = "committing"  # (older journals) the build succeeded; backups being released
    COMMITTED = "committed"
    COMPENSATING = "compensating"  # (older journals) relations being restored
    ROLLED_BACK = "rolled_back"


#: Statuses of a run that a crash interrupted: recovery finishes them (macros/phases/guard.sql
#: lists the same four for plain dbt).
UNFINISHED = [RunStatus.ARMING, RunStatus.BUILDING, RunStatus.COMMITTING, RunStatus.COMPENSATING]


class StepStatus(Text):
    """A step's status in the journal (`sagaz_steps.status`); stored text, as RunStatus."""

    ARMED = "armed"
    COMPENSATED = "compensated"  # its run was rolled back
    RELEASED = "released"  # its run committed and its backups were dropped
    RETAINED = "retained"  # its run committed and kept its backups (--keep-backups)


class RunOutcome(Text):
    """How a `sagaz-dbt build` ended: `BuildResult.status`, the report's `status` (JSON, CI
    summaries, OpenLineage).  Written out as text: never change a value."""

    NOT_STARTED = "not_started"
    COMMITTED = "committed"
    ROLLED_BACK = "rolled_back"
    TORN = "torn"  # neither committed nor rolled back: the journal holds what recovery needs


class Phase(Text):
    """Where a build is: what an error, an interrupt or a lost lock leaves depends on it."""

    SETUP = "setup"  # parsing, locking, planning: nothing changed yet
    RECOVERING = "recovering"  # finishing earlier interrupted runs, before this one starts
    ARMING = "arming"  # one transaction journals the run and takes its snapshots
    BUILDING = "building"  # dbt runs: relations change, every backup is in the journal
    RELEASING = "releasing"  # dbt succeeded: backups are being dropped (one transaction)
    COMPENSATING = "compensating"  # dbt failed: relations are being restored (one transaction)

    @property
    def leaves_run_unfinished(self) -> bool:
        """A run stopped in this phase is unfinished in the journal ("torn" until recovered):
        dbt may have changed relations, and only a recovery puts them back."""
        return self in (Phase.BUILDING, Phase.RELEASING, Phase.COMPENSATING)

    @property
    def changed_nothing(self) -> bool:
        """Stopped here, the run changed no relation (arming is one transaction)."""
        return self in (Phase.SETUP, Phase.ARMING)


class BackupKind(Text):
    """How one step's pre-run state is kept (`Snapshot.kind`; a row-level kind is also the
    journal detail's `mode`, read by macros/backups/rows.sql).  Stored text: never change a value."""

    SWAP = "swap"  # nothing to arm: dbt's own backup rename is kept (zero copy)
    COPY = "copy"  # the whole table is copied before the run
    KEYS = "keys"  # a pre-hook copies the rows whose key is in the run's batch (O(batch))
    CURRENT = "current"  # a pre-hook copies a dbt snapshot's current rows (O(current))
    WINDOW = "window"  # the rows in a microbatch run's event-time window, copied while arming
    PARTITIONS = "partitions"  # a pre-hook copies the partitions the batch overwrites (Spark insert_overwrite)

    @property
    def row_level(self) -> bool:
        """Taken by a pre-hook inside the node's own transaction."""
        return self in (BackupKind.KEYS, BackupKind.CURRENT, BackupKind.PARTITIONS)

    @property
    def restores_rows(self) -> bool:
        """Restored by deleting and re-inserting the rows its copy covers (macros/backups/rows.sql)."""
        return self in (BackupKind.KEYS, BackupKind.CURRENT, BackupKind.WINDOW, BackupKind.PARTITIONS)

    @property
    def label(self) -> str:
        """The words the README and the run summary use."""
        return BACKUP_LABELS[self]


BACKUP_LABELS: dict[BackupKind, str] = {
    BackupKind.SWAP: "kept (zero-copy)",
    BackupKind.COPY: "copy",
    BackupKind.KEYS: "rows by key",
    BackupKind.CURRENT: "current rows",
    BackupKind.WINDOW: "rows in window",
    BackupKind.PARTITIONS: "partitions in batch",
}
#: The summary's label of a step whose relation did not exist before the run.
NO_BACKUP_LABEL = "none (new)"


# dbt's own node statuses (`dbt.artifacts.schemas.results.NodeStatus`), grouped as sagaz-dbt
# reads them.  NodeStatus is a str enum: `str(result.status) in NODE_ERRORED` works.
#: A test whose failing rows exceed its error threshold.
NODE_FAILED = frozenset({NodeStatus.Fail})
#: A node that raised (a model's SQL error, a test that could not run).
NODE_ERRORED = frozenset({NodeStatus.Error, NodeStatus.RuntimeErr})
#: Any error-severity failure: what makes `dbt build` exit 1 and sagaz-dbt roll back.
NODE_FAILED_OR_ERRORED = NODE_FAILED | NODE_ERRORED
#: dbt's RetryTask.RETRYABLE_STATUSES (dbt adds `warn` to its own set in place under
#: --warn-error, so sagaz-dbt keeps its own copy).
NODE_RETRYABLE = frozenset(
    {NodeStatus.Error, NodeStatus.Fail, NodeStatus.Skipped, NodeStatus.RuntimeErr, NodeStatus.PartialSuccess}
)


class IsolationMode(str, Enum):
    """`--isolation`: what readers see while a run builds (sagaz_dbt/saga/isolation.py)."""

    NONE = "none"  # dbt writes production; a failure is restored after the fact
    PUBLISH = "publish"  # dbt writes shadows; a success publishes them all in one transaction
