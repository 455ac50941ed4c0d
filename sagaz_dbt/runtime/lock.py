"""One run per target at a time, and a run that knows when it no longer holds its target.

This module holds what every engine's lock shares: the interface (`TargetLock`), the
errors, and the process-wide lock that queues two runs of one process.  Each engine's own
lock lives with its Engine (`sagaz_dbt/engines/<engine>.py`, `Engine.lock()`):

- Postgres: a session-level advisory lock on a connection of its own, with a heartbeat,
  checked before every phase and taken back when the server dropped it.
- DuckDB: the engine's own file lock, held by the process from its first connection.

A run that cannot get the lock fails fast with a message naming what holds it, or waits
with --wait.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator

from sagaz_dbt.errors import WarehouseError
from sagaz_dbt.runtime.waits import BlockerWatch

if TYPE_CHECKING:  # a lock runs its statements on the warehouse its engine gives it
    from sagaz_dbt.dbt.warehouse import Warehouse

#: dbtRunner is not re-entrant: two runs in one process (an orchestrator's threads) queue here.
PROCESS_LOCK = threading.Lock()

POLL_SECONDS = 1.0
#: How often the Postgres lock connection is pinged and the run's heartbeat stamped.
HEARTBEAT_SECONDS = 2.0


class TargetBusyError(WarehouseError):
    """Another run holds the target."""


class LockLostError(WarehouseError):
    """This run no longer holds its target, and could not take it back."""


class RunTakenOverError(LockLostError):
    """The journal shows another process acted on this run: this one must change nothing more."""


class TargetLock:
    """The interface every engine's lock has; the base is a lock that needs no work."""

    #: Statement (and its bindings' builder) that bounds lock waits inside one transaction.
    lock_timeout_sql: str | None = None

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def acquire(
        self, wait: bool, timeout: float, describe_holder: Callable[[], str], on_wait: Callable[[str], None] | None
    ) -> None:
        pass

    def ensure_held(self) -> bool:
        """Raise LockLostError unless this process still holds the target; True if the lock
        had been lost and was taken back (the caller's journal claim proves nobody acted)."""
        return False

    def release(self) -> None:
        pass

    @property
    def lock_pid(self) -> int | None:
        """The server process that holds the lock, recorded as part of the run's owner."""
        return None

    def start_heartbeat(self, journal_schema: str, run_id: str, token: str) -> None:
        pass

    def interrupt_on_loss(self) -> None:
        """The command holding the target calls this from its main thread.  A lock that can
        lapse while held (a lease) then interrupts that thread the moment it does, so the
        command stops writing before another can take the target.  A lock that lives as
        long as its connection needs nothing: a run that lost it is still seen alive by its
        journal heartbeat (Postgres) or keeps the metastore (Spark session)."""

    def lost_by_interrupt(self) -> "LockLostError | None":
        """The loss, when this lock interrupted its command (`interrupt_on_loss`): the
        command reports it instead of a Ctrl-C."""
        return None

    def watch(self, handle: Any) -> BlockerWatch | None:
        """A watcher naming who blocks a statement on `handle` (dbt's connection), if the
        engine can wait for locks at all."""
        return None


@contextmanager
def target_lock(
    lock: TargetLock,
    wait: bool,
    timeout: float,
    describe_holder: Callable[[], str],
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[TargetLock]:
    """Hold the target for the duration of the block."""
    lock.acquire(wait, timeout, describe_holder, on_wait)
    try:
        yield lock
    finally:
        lock.release()
