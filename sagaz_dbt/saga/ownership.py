"""Who owns a run, and whether that owner still lives.

Holding the target lock is not proof enough that an unfinished run in the journal is dead:
a run whose lock connection the server dropped is still building, and a second run that
took the lock and "recovered" it would undo a live run's work while it goes on (the issue
this module answers).  So every run records its owner in its journal row, and recovery
asks `owner_alive` before it acts:

- a run of this very process is not running (PROCESS_LOCK admits one run per process);
- on the same host, the owner lives while its pid does (zombies excepted);
- on another host, while its heartbeat (stamped every few seconds on the warehouse's clock
  by the lock's heartbeat thread) is fresher than HEARTBEAT_STALE_SECONDS;
- a run without an owner (journals older than ownership) is treated as dead, as before.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

from sagaz_dbt.errors import WarehouseError
from sagaz_dbt.saga.journal import RunRecord

#: A heartbeat older than this means the owner on another host is gone.
HEARTBEAT_STALE_SECONDS = 30.0


class OwnerAliveError(WarehouseError):
    """An unfinished run's owner is still running: nobody else may act on that run."""


@dataclass(frozen=True)
class Owner:
    """This process's claim on a run (the columns `journal_set_owner` writes)."""

    token: str
    host: str
    pid: int
    lock_pid: int | None = None

    @classmethod
    def new(cls, lock_pid: int | None) -> "Owner":
        return cls(token=uuid.uuid4().hex, host=socket.gethostname(), pid=os.getpid(), lock_pid=lock_pid)

    def with_lock_pid(self, lock_pid: int | None) -> "Owner":
        return Owner(self.token, self.host, self.pid, lock_pid)


def owner_alive(run: RunRecord) -> str | None:
    """Why the run's owner may still be running, or None if it surely is not."""
    if not run.owner_token or run.owner_pid is None:
        return None
    pid = int(run.owner_pid)
    if run.owner_host == socket.gethostname():
        if pid == os.getpid():
            return None
        return f"its process {pid} on this host is still running" if _pid_alive(pid) else None
    if run.heartbeat_epoch is None or run.read_epoch is None:
        return None
    age = float(run.read_epoch) - float(run.heartbeat_epoch)
    if age < HEARTBEAT_STALE_SECONDS:
        return f"its process {pid} on host {run.owner_host} sent a heartbeat {max(age, 0):.0f} s ago"
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"  # a zombie has exited
