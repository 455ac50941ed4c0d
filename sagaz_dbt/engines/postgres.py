"""PostgreSQL: transactional DDL, views bound to OIDs, identifiers cut at 63 bytes.

A rename takes an ACCESS EXCLUSIVE lock until commit, so every statement sagaz-dbt runs in
a phase is bounded by `lock_timeout`.  The lock is a session-level advisory lock, keyed by
database and target schema, held on a connection of its own for the whole run (dbt opens
and closes its connections per invocation, so none of them can hold it).  That connection
can be lost without a word (`idle_session_timeout`, `pg_terminate_backend`, a network
blip, a server restart), and the lock with it; so it turns `idle_session_timeout` off for
itself, a heartbeat thread pings it and stamps the run's journal row (proof the owner
lives, for other hosts), and `ensure_held` checks `pg_locks` before every phase and takes
a lost lock back if nobody else took it.  The phase transactions then re-check ownership
in the journal itself (`Saga`'s claims), which closes the window between the check and the
commit.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any, Callable

from sagaz_dbt.engines.base import Engine, MicrobatchWrite, TableRebuild, UnquotedCase, ViewBinding
from sagaz_dbt.errors import WarehouseError
from sagaz_dbt.runtime.lock import HEARTBEAT_SECONDS, POLL_SECONDS, LockLostError, TargetBusyError, TargetLock
from sagaz_dbt.runtime.waits import BlockerWatch, background_statement
from sagaz_dbt.dbt.warehouse import Warehouse

#: The longest any statement on the lock connection waits for a lock.  The heartbeat holds
#: that connection's mutex while it stamps the journal, and the main thread needs the mutex
#: for its guard inside every phase transaction: a stamp waiting on that transaction's locks
#: stalled the phase (measured: ~0.8 s of a 1.6 s Postgres rollback at 1,000 ms).  The stamp
#: skips the row a phase holds (`_stamp`); this bounds what is left (a table lock, say).  A
#: skipped stamp is harmless: the next comes HEARTBEAT_SECONDS later, and an owner is stale
#: only after HEARTBEAT_STALE_SECONDS (30 s).
STAMP_LOCK_TIMEOUT = "100ms"

ENGINE = Engine(
    adapter_type="postgres",
    transactional_ddl=True,
    views_bind_to=ViewBinding.OID,
    identifier_max_bytes=63,
    sqlglot_dialect="postgres",
    rebuilds_tables_by=TableRebuild.RENAME_SWAP,
    rebuilds_foreign_key_tables_in_place=False,
    microbatch=MicrobatchWrite.MERGE_BY_KEY,
    unquoted_case=UnquotedCase.LOWER,
    multi_database_transactions=False,
    has_databases=True,
    deletes_rows=True,
    incremental_batch_before_strategy=True,
    lock_class="sagaz_dbt.engines.postgres.PostgresAdvisoryLock",
)


def lock_key(database: str, schema: str) -> int:
    digest = hashlib.sha256(f"sagaz-dbt:{database}:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresAdvisoryLock(TargetLock):
    lock_timeout_sql = "select set_config('lock_timeout', %s, true)"

    def __init__(self, warehouse: Warehouse) -> None:
        super().__init__(warehouse)
        self.key = lock_key(warehouse.database, str(warehouse.config.credentials.schema))
        self._handle: Any = None
        self._mutex = threading.Lock()  # the main thread and the heartbeat share the handle
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._side: Any = None  # heartbeat connection once the lock connection is gone
        self._beat: tuple[str, str, str] | None = None

    # -- taking and keeping -------------------------------------------------------------------

    def acquire(
        self, wait: bool, timeout: float, describe_holder: Callable[[], str], on_wait: Callable[[str], None] | None
    ) -> None:
        handle = self._open_lock_connection()
        # A lock object is taken again after a release (Target.locked lets it go while it
        # waits behind a live owner): the heartbeat of this holding starts from a fresh
        # stop signal, or it would end at once and leave the run without pings and stamps.
        self._stop = threading.Event()
        self._thread = None
        deadline = time.monotonic() + timeout
        announced = False
        try:
            while not self._try_lock(handle):
                holder = describe_holder()
                if not wait or time.monotonic() > deadline:
                    raise TargetBusyError(
                        f"another sagaz-dbt run holds this target ({holder}). "
                        "Wait for it to finish, or pass --wait to queue behind it."
                    )
                if not announced and on_wait is not None:
                    on_wait(f"waiting for the run that holds this target ({holder})")
                    announced = True
                time.sleep(POLL_SECONDS)
        except BaseException:
            _close(handle)
            raise
        self._handle = handle

    def ensure_held(self) -> bool:
        with self._mutex:
            if self._handle is not None and self._holds(self._handle):
                return False
            _close(self._handle)
            self._handle = None
            try:
                handle = self._open_lock_connection()
            except WarehouseError as exc:
                raise LockLostError(f"this run lost its lock on the target and cannot reconnect ({exc})") from exc
            # Whoever took the lock meanwhile is, most likely, a run that will find this one
            # alive in the journal and leave at once: give it the lock timeout to do so.
            policy = self.warehouse.waits
            deadline = time.monotonic() + (policy.lock_timeout if policy is not None else 10.0)
            while not self._try_lock(handle):
                if time.monotonic() > deadline:
                    holder = _holder_of(handle, self.key)
                    _close(handle)
                    raise LockLostError(
                        "this run lost its lock on the target (the server closed its lock connection), "
                        f"and another session holds the lock now ({holder})"
                    )
                time.sleep(0.2)
            self._handle = handle
            return True

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._mutex:
            _close(self._handle)  # ends the session, which releases the advisory lock
            _close(self._side)
            self._handle = self._side = None

    @property
    def lock_pid(self) -> int | None:
        try:
            return int(self._handle.get_backend_pid()) if self._handle is not None else None
        except Exception:
            return None

    # -- heartbeat ------------------------------------------------------------------------------

    def start_heartbeat(self, journal_schema: str, run_id: str, token: str) -> None:
        self._beat = (journal_schema, run_id, token)
        if self._thread is None:
            self._thread = threading.Thread(target=self._heartbeat, name="sagaz-heartbeat", daemon=True)
            self._thread.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with self._mutex, background_statement():
                if self._handle is not None and not self._ping(self._handle):
                    _close(self._handle)
                    self._handle = None  # lost: ensure_held takes it back before the next phase
                self._stamp()

    def _stamp(self) -> None:
        """Stamp the run's journal row: other hosts read it to tell a live owner from a dead one."""
        if self._beat is None:
            return
        from psycopg2 import sql

        schema, run_id, token = self._beat
        # SKIP LOCKED: while a phase runs, its transaction holds this row (and stamps it
        # itself); waiting for it would hold the mutex that phase's guard needs.
        statement = sql.SQL(
            "update {runs} set heartbeat_epoch = extract(epoch from clock_timestamp()) "
            "where run_id in (select run_id from {runs} where run_id = %s and owner_token = %s "
            "for update skip locked)"
        ).format(runs=sql.Identifier(schema, "sagaz_runs"))
        for _ in range(2):
            conn = self._handle or self._side
            if conn is None:
                try:
                    self._side = conn = self._open_lock_connection()
                except Exception:
                    return
            try:
                with conn.cursor() as cur:
                    cur.execute(statement, (run_id, token))
                return
            except Exception as exc:
                if _is_lock_wait(exc):
                    return  # our own phase transaction holds the row: it stamps it itself
                _close(conn)
                if conn is self._side:
                    self._side = None
                else:
                    self._handle = None

    # -- blockers -------------------------------------------------------------------------------

    def watch(self, handle: Any) -> BlockerWatch | None:
        try:
            pid = int(handle.get_backend_pid())
        except Exception:
            return None
        return BlockerWatch(open_connection=self._open_lock_connection, pid=pid, cancel=handle.cancel)

    # -- connections ----------------------------------------------------------------------------

    def _open_lock_connection(self) -> Any:
        handle = _open_postgres(self.warehouse)
        with handle.cursor() as cur:
            # A session that only holds a lock is idle by design: it must not be timed out.
            # Its own statements barely wait (STAMP_LOCK_TIMEOUT).
            for setting in ("idle_session_timeout", "statement_timeout"):
                try:
                    cur.execute("select set_config(%s, '0', false)", (setting,))
                except Exception:  # a server without the setting (idle_session_timeout: PG 14+)
                    pass
            cur.execute("select set_config('lock_timeout', %s, false)", (STAMP_LOCK_TIMEOUT,))
            cur.execute("select set_config('application_name', 'sagaz-dbt lock', false)")
        return handle

    def _try_lock(self, handle: Any) -> bool:
        with handle.cursor() as cur:
            cur.execute("select pg_try_advisory_lock(%s)", (self.key,))
            return bool(cur.fetchone()[0])

    def _holds(self, handle: Any) -> bool:
        """The connection is alive and its session is granted our advisory lock."""
        classid, objid = (self.key >> 32) & 0xFFFFFFFF, self.key & 0xFFFFFFFF
        try:
            with handle.cursor() as cur:
                cur.execute(
                    "select count(*) from pg_locks where locktype = 'advisory' and granted "
                    "and pid = pg_backend_pid() and classid = %s::bigint::oid and objid = %s::bigint::oid "
                    "and objsubid = 1",
                    (classid, objid),
                )
                return bool(cur.fetchone()[0])
        except Exception:
            return False

    @staticmethod
    def _ping(handle: Any) -> bool:
        try:
            with handle.cursor() as cur:
                cur.execute("select 1")
            return True
        except Exception:
            return False


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
    if handle is None:
        raise WarehouseError("the warehouse is unreachable")
    handle.autocommit = True
    return handle


def _close(handle: Any) -> None:
    if handle is None:
        return
    try:
        handle.close()
    except Exception:
        pass


def _holder_of(handle: Any, key: int) -> str:
    """The session that holds our advisory lock, for the message."""
    classid, objid = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF
    try:
        with handle.cursor() as cur:
            cur.execute(
                "select a.pid, coalesce(a.application_name, ''), coalesce(a.client_addr::text, 'local') "
                "from pg_locks l join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' "
                "and l.granted and l.classid = %s::bigint::oid and l.objid = %s::bigint::oid and l.objsubid = 1",
                (classid, objid),
            )
            row = cur.fetchone()
    except Exception:
        return "unknown session"
    return f"server pid {row[0]}, {row[1] or 'no application name'}, from {row[2]}" if row else "a session that just left"


def _is_lock_wait(exc: BaseException) -> bool:
    return getattr(exc, "pgcode", None) == "55P03"
