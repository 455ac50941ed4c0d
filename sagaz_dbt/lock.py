"""One run per target at a time.

Postgres: a session-level advisory lock, keyed by database and target schema, held on a
connection of its own for the whole run (dbt opens and closes its connections per
invocation, so none of them can hold it).  DuckDB: the engine's own file lock, which the
process keeps from its first connection until `release_connections`; a second process
cannot even open the file.  Either way a run that cannot get the lock fails fast with a
message naming what holds it, or waits with --wait.
"""

from __future__ import annotations

import hashlib
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from sagaz_dbt.errors import WarehouseError
from sagaz_dbt.warehouse import Warehouse

#: dbtRunner is not re-entrant: two runs in one process (an orchestrator's threads) queue here.
PROCESS_LOCK = threading.Lock()

_POLL_SECONDS = 1.0


class TargetBusyError(WarehouseError):
    """Another run holds the target."""


def lock_key(database: str, schema: str) -> int:
    digest = hashlib.sha256(f"sagaz-dbt:{database}:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def target_lock(
    warehouse: Warehouse,
    wait: bool,
    timeout: float,
    describe_holder: Callable[[], str],
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the target for the duration of the block."""
    if warehouse.adapter_type == "postgres":
        with _postgres_lock(warehouse, wait, timeout, describe_holder, on_wait):
            yield
    else:
        _wait_for_file(warehouse, wait, timeout, on_wait)
        yield


@contextmanager
def _postgres_lock(
    warehouse: Warehouse,
    wait: bool,
    timeout: float,
    describe_holder: Callable[[], str],
    on_wait: Callable[[str], None] | None,
) -> Iterator[None]:
    handle = _open_postgres(warehouse)
    key = lock_key(warehouse.database, str(warehouse.config.credentials.schema))
    try:
        deadline = time.monotonic() + timeout
        announced = False
        while True:
            with handle.cursor() as cur:
                cur.execute("select pg_try_advisory_lock(%s)", (key,))
                if cur.fetchone()[0]:
                    break
            holder = describe_holder()
            if not wait or time.monotonic() > deadline:
                raise TargetBusyError(
                    f"another sagaz-dbt run holds this target ({holder}). "
                    "Wait for it to finish, or pass --wait to queue behind it."
                )
            if not announced and on_wait is not None:
                on_wait(f"waiting for the run that holds this target ({holder})")
                announced = True
            time.sleep(_POLL_SECONDS)
        yield
    finally:
        try:
            handle.close()  # ends the session, which releases the advisory lock
        except Exception:
            pass


def _open_postgres(warehouse: Warehouse) -> Any:
    """A psycopg2 connection opened exactly as dbt-postgres opens its own (same credentials,
    search path, SSL and role handling), but owned by sagaz-dbt, not by dbt's pool."""
    from dbt.adapters.contracts.connection import Connection

    adapter = warehouse.adapter
    conn = Connection(
        type=adapter.type(),
        name="sagaz_lock",
        state="init",
        transaction_open=False,
        handle=None,
        credentials=adapter.config.credentials,
    )
    try:
        opened = adapter.ConnectionManager.open(conn)
    except Exception as exc:
        raise WarehouseError(f"the warehouse is unreachable: {exc}") from exc
    handle = opened.handle
    handle.autocommit = True
    return handle


def _wait_for_file(
    warehouse: Warehouse, wait: bool, timeout: float, on_wait: Callable[[str], None] | None
) -> None:
    deadline = time.monotonic() + timeout
    announced = False
    while True:
        try:
            with warehouse.transaction("sagaz_lock"):
                return
        except Exception as exc:
            if not _is_file_lock_conflict(exc):
                raise
            if not wait or time.monotonic() > deadline:
                raise TargetBusyError(
                    f"the DuckDB file is in use by another process ({_first_line(exc)}). "
                    "Is another dbt or sagaz-dbt run going? Pass --wait to queue behind it."
                ) from exc
            if not announced and on_wait is not None:
                on_wait("waiting for the process that holds the DuckDB file")
                announced = True
            time.sleep(_POLL_SECONDS)


def _is_file_lock_conflict(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if "Could not set lock on file" in str(seen) or "Conflicting lock" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if "lock" in line.lower()]
    return lines[0] if lines else str(exc).strip().splitlines()[0]
