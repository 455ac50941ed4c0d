"""Apache Spark through dbt-spark: no transactions, views bound by name, parquet tables.

What dbt-spark does, and what sagaz-dbt does about it (macros/engines/spark/):

- No DDL is transactional and `commit()` is a no-op: a phase is not one transaction but a
  sequence of steps, each durable when its statement returns.  The journal records each
  change before it becomes visible, and every step of compensation and release checks the
  current state first, so `recover` finishes from any point, however often it is killed.
- dbt-spark rebuilds tables and seeds by drop + create (it never renames): while a run is
  armed, the `drop_relation` override renames the pre-run relation to its kept name
  instead of dropping it (zero copy).  Views are replaced in place (`create or replace
  view`): their text is recorded while arming and restored the same way.
- Parquet has no UPDATE or DELETE, and dbt-spark pastes query bindings in unescaped: the
  journal is append-only (the latest row per key wins) and every value is a SQL literal.
- Incremental runs write in place.  insert_overwrite with partition_by replaces exactly
  the partitions its batch holds (dbt-spark sets dynamic partition overwrite): a pre-hook
  copies just those partitions and records the batch's partition values, and a rollback
  overwrites them from the copy and drops the partitions the batch created
  (macros/engines/spark/partitions.sql): O(batch).  Append, and insert_overwrite without
  partition_by (it replaces the whole table), copy the table while arming and swap the
  copy back by rename: parquet has no DELETE to take appended rows out again.  Merge and
  snapshots need Delta/Iceberg/Hudi, and are refused before anything changes.
- There is no database above the schema (`credentials.database` is None).

The lock depends on how dbt-spark reaches Spark (`credentials.method`, `target_lock`):

- `session`: the metastore's.  Derby admits one process, so a second run (sagaz-dbt or
  plain dbt) on the same metastore cannot start its Spark session at all; its first query
  fails with Derby's XSDB6 after about a minute.  That failure is recognised and reported
  as "another run holds this target".
- `thrift` (a Spark Thrift server, i.e. a cluster many clients share): a lease in the
  journal schema (`SparkLeaseLock`, protocol and safety argument in
  sagaz_dbt/runtime/lease.py).  Each claimer writes its claim and heartbeats to a table of
  its own, `<journal>.sagaz_lease_<claim id>`: Spark's file committer is not safe for two
  concurrent appends to one parquet table (measured on a Thrift server: 7 of 24 concurrent
  inserts failed, and one failed insert still landed its row; the likely cause is that
  both jobs stage their files in the table's one `_temporary` folder), so no two runs ever
  write one table at once.  The lease
  covers the whole journal schema, not one target: two runs of different targets would
  append to the same journal tables.
  The lease costs about a second per run on the critical path (open a connection, claim,
  list, read; release drops the claim) and a heartbeat of about half a second every TTL/4
  in the background.  Not done: the run's journal row is not heartbeaten on Spark (its
  `heartbeat_epoch` is the arming time), so a run on another host whose lease lapsed
  while its process still lives is judged by the lease alone.
- `http` (Databricks) and `odbc`: refused before anything changes (untested here).
"""

from __future__ import annotations

import math
import os
import socket
import sys
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable

from sagaz_dbt.engines.base import Engine, MicrobatchWrite, TableRebuild, UnquotedCase, ViewBinding
from sagaz_dbt.errors import UsageError, WarehouseError
from sagaz_dbt.runtime import interrupts, lease
from sagaz_dbt.runtime.lock import LockLostError, TargetBusyError, TargetLock

if TYPE_CHECKING:  # pragma: no cover
    from sagaz_dbt.dbt.warehouse import Warehouse

ENGINE = Engine(
    adapter_type="spark",
    transactional_ddl=False,
    views_bind_to=ViewBinding.NAME,
    identifier_max_bytes=256,  # the Hive metastore's TBL_NAME column (macros/engines/spark/catalog.sql)
    sqlglot_dialect="spark",
    rebuilds_tables_by=TableRebuild.DROP_CREATE,
    rebuilds_foreign_key_tables_in_place=False,
    # Not a window delete: rows outside the batch window may change.  (Microbatch models are
    # refused on Spark for now, `refusal`: untested here.)
    microbatch=MicrobatchWrite.MERGE_BY_KEY,
    unquoted_case=UnquotedCase.LOWER,
    multi_database_transactions=False,
    has_databases=False,
    deletes_rows=False,
    lock_class="sagaz_dbt.engines.spark.SparkLock",
    node_refusal="sagaz_dbt.engines.spark.refusal",
    overwrites_partitions=True,
)

#: Incremental strategies that write rows in place on parquet and can be undone by swapping
#: a copy back (merge and microbatch-by-key need Delta/Iceberg/Hudi tables in dbt-spark).
_PARQUET_STRATEGIES = ("append", "insert_overwrite")
#: Table formats this engine's rollback is tested on.
_TESTED_FORMATS = ("parquet",)

#: What Derby says when another process has booted the metastore database.
_DERBY_BUSY = ("XSDB6", "Another instance of Derby may have already booted")


class SparkMetastoreLock(TargetLock):
    """Session mode: the Derby metastore admits one process, so holding the Spark session
    is holding the target.  Taking it means starting the session (one query on the
    metastore); a second process fails there, and says so."""

    def acquire(
        self, wait: bool, timeout: float, describe_holder: Callable[[], str], on_wait: Callable[[str], None] | None
    ) -> None:
        try:
            with self.warehouse.transaction("sagaz_lock"):
                self.warehouse.adapter.execute("show databases", fetch=True)
        except Exception as exc:
            if not is_metastore_busy(exc):
                raise
            raise TargetBusyError(
                "another run holds this target: the Spark metastore is in use by another process (Derby: "
                "XSDB6, it admits one process at a time). Is another dbt or sagaz-dbt run going? Run again "
                "once it has finished (--wait cannot queue here: the session cannot be retried in this process)."
            ) from exc


class SparkLock(TargetLock):
    """The Engine's lock: the metastore's (session) or a lease (thrift), by how the target
    reaches Spark; an untested method is refused when the target is opened."""

    def __init__(self, warehouse: "Warehouse") -> None:
        super().__init__(warehouse)
        self.inner = target_lock(warehouse)

    def acquire(
        self, wait: bool, timeout: float, describe_holder: Callable[[], str], on_wait: Callable[[str], None] | None
    ) -> None:
        self.inner.acquire(wait, timeout, describe_holder, on_wait)

    def ensure_held(self) -> bool:
        return self.inner.ensure_held()

    def release(self) -> None:
        self.inner.release()

    @property
    def lock_pid(self) -> int | None:
        return self.inner.lock_pid

    def start_heartbeat(self, journal_schema: str, run_id: str, token: str) -> None:
        self.inner.start_heartbeat(journal_schema, run_id, token)

    def interrupt_on_loss(self) -> None:
        self.inner.interrupt_on_loss()

    def lost_by_interrupt(self) -> LockLostError | None:
        return self.inner.lost_by_interrupt()


def target_lock(warehouse: "Warehouse") -> TargetLock:
    """The lock for how this target reaches Spark."""
    method = str(getattr(warehouse.config.credentials, "method", ""))
    if method == "session":
        return SparkMetastoreLock(warehouse)
    if method == "thrift":
        return SparkLeaseLock(warehouse)
    if method == "http":
        raise UsageError(
            "sagaz-dbt does not support Spark with `method: http` (Databricks): its lease and rollback are tested "
            "on a Spark Thrift server only, and a Databricks workspace cannot be run where sagaz-dbt is tested "
            "(Databricks tables are Delta, whose rollback sagaz-dbt has not tested either). Nothing was changed; "
            "run this target with plain dbt (or dbt-databricks), or point sagaz-dbt at a Spark Thrift server "
            "(`method: thrift`)."
        )
    raise UsageError(
        f"sagaz-dbt supports Spark with `method: session` or `method: thrift` (this target uses {method!r}, "
        "which it has not tested). Nothing was changed; run this target with plain dbt."
    )


#: Where a claimer's claim lives: one table per claim, in the journal schema.
LEASE_PREFIX = "sagaz_lease_"
#: The environment variable that sets this process's lease TTL (seconds).
LEASE_TTL_ENV = "SAGAZ_DBT_LEASE_TTL"
_NOT_FOUND = ("TABLE_OR_VIEW_NOT_FOUND", "Table or view not found")


def lease_ttl() -> float:
    """This process's lease TTL: SAGAZ_DBT_LEASE_TTL seconds, else the default."""
    raw = os.environ.get(LEASE_TTL_ENV, "").strip()
    if not raw:
        return lease.DEFAULT_TTL_SECONDS
    try:
        ttl = float(raw)
    except ValueError:
        raise UsageError(f"{LEASE_TTL_ENV}={raw!r} is not a number of seconds") from None
    if not (math.isfinite(ttl) and ttl >= lease.MIN_TTL_SECONDS):
        raise UsageError(f"{LEASE_TTL_ENV}={raw!r}: the lease TTL must be at least {lease.MIN_TTL_SECONDS:g} s")
    return ttl


def spark_string(value: Any) -> str:
    """A Spark SQL string literal (the Python twin of macros' spark__sql_string)."""
    text = str(value)
    if "\x00" in text:
        raise WarehouseError("a value contains a NUL byte, which SQL text cannot hold")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def spark_identifier(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class SparkLeaseLock(TargetLock):
    """Thrift mode: a lease in the journal schema (protocol: sagaz_dbt/runtime/lease.py).

    The claim is a table of its own, `<journal>.sagaz_lease_<claim id>`, created with its
    first row (CREATE TABLE AS SELECT: Spark writes the data before it records the table,
    so a listed claim has its row); a heartbeat thread appends a row every TTL/4 from the
    moment the lease is held until it is released; release drops the table.  A claim whose
    last beat is older than its TTL (its holder was killed) is dropped by the next claimer.
    The statements run on a Thrift connection of the lock's own (dbt opens and closes its
    connections per invocation), shared by the main thread and the heartbeat under a mutex;
    they are PyHive statements, not psycopg2 ones, so they need no `background_statement`.
    Every value is a literal (`spark_string`): dbt-spark pastes bindings in unescaped.
    """

    def __init__(self, warehouse: "Warehouse") -> None:
        super().__init__(warehouse)
        self.ttl = lease_ttl()
        self.schema = str(getattr(warehouse, "journal_schema", None) or "sagaz")
        self.claim_id = ""
        self._handle: Any = None
        self._mutex = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._clock: lease.HolderClock | None = None
        self._run_id: str | None = None
        self._last_error: str = ""
        #: While a run holds the lease: the thread a lapse interrupts (see `_stop_the_run`).
        self._run_thread: int | None = None
        self._interrupted = False  # a lapse interrupted the run's main thread
        self._signal_mutex = threading.Lock()
        self._watchdog: threading.Thread | None = None
        self._restore_sigint: Callable[[], None] = lambda: None
        #: (statement, seconds) of this lock's statements, for the per-run cost.
        self.timings: list[tuple[str, float]] = []

    # -- taking -----------------------------------------------------------------------------

    def acquire(
        self, wait: bool, timeout: float, describe_holder: Callable[[], str], on_wait: Callable[[str], None] | None
    ) -> None:
        deadline = time.monotonic() + timeout
        announced = False
        attempt = 0
        # Target.locked may release and take the lock again (queueing behind a live owner).
        self._stop, self._clock, self.claim_id, self._last_error = threading.Event(), None, "", ""
        self._run_thread, self._interrupted = None, False
        interrupts.clear_urgent()
        self._handle = self._open()
        try:
            self._sql(f"create schema if not exists {spark_identifier(self.schema)}", "schema")
            while True:
                attempt += 1
                found = self._try_claim()
                if found.held:
                    break
                rival = found.rivals[0] if found.rivals else None
                holder = self._describe(rival, describe_holder)
                if not wait or time.monotonic() > deadline:
                    raise TargetBusyError(
                        f"another run holds this target: a sagaz-dbt lease on journal schema {self.schema!r} is "
                        f"held by {holder.rstrip('.')}. Wait for it to finish, or pass --wait to queue behind it."
                    )
                if not announced and on_wait is not None:
                    on_wait(f"waiting for the run that holds this target ({holder})")
                    announced = True
                time.sleep(min(lease.backoff(attempt), max(deadline - time.monotonic(), 0.0) + 0.1))
        except BaseException:
            if self.claim_id:  # interrupted between claiming and deciding: others must not wait a TTL
                try:
                    self._withdraw()
                except Exception:
                    pass
            self._close()
            raise
        self._thread = threading.Thread(target=self._heartbeat, name="sagaz-lease-heartbeat", daemon=True)
        self._thread.start()
        self._watchdog = threading.Thread(target=self._watch, name="sagaz-lease-watchdog", daemon=True)
        self._watchdog.start()

    def _try_claim(self) -> lease.Verdict:
        """One round of the protocol: claim, read, hold or withdraw."""
        self.claim_id = uuid.uuid4().hex
        started = time.monotonic()
        self._sql(
            f"create table {self._table(self.claim_id)} using parquet as select {self._row()}", "claim"
        )
        self._clock = lease.HolderClock(self.ttl, started)
        claims, now = self._read_claims()
        found = lease.verdict(self.claim_id, claims, now)
        if not found.held:
            self._withdraw()
        for dead in found.expired:  # a killed holder's claim: it can never beat again
            self._sql(f"drop table if exists {self._table(dead.claim_id)}", "drop expired")
        if found.held and self._clock.lapsed(time.monotonic()):
            self._withdraw()  # the claim and the read took longer than the lease lasts
            return lease.Verdict(held=False, rivals=[], expired=[])
        return found

    def _read_claims(self) -> tuple[list[lease.Claim], int]:
        """Every claim in the journal schema, and the warehouse clock of the read.

        A Thrift session caches the file list of every table it has read: read again, a
        claim table another session appended to since would silently miss its newest beats
        (and a live claim would look expired).  So every other claimer's table is refreshed
        before it is read (with --wait the same rival is read again and again)."""
        for _ in range(5):
            rows = self._sql(f"show tables in {spark_identifier(self.schema)} like '{LEASE_PREFIX}*'", "list")
            ids = sorted({str(r[1])[len(LEASE_PREFIX):] for r in rows if str(r[1]).startswith(LEASE_PREFIX)})
            selects = [
                f"select {spark_string(i)} as claim_id, max(beat_micros) as beat, max(ttl_seconds) as ttl, "
                f"max(concat(owner_host, ' pid ', cast(owner_pid as string), ': ', command)) as holder "
                f"from {self._table(i)}"
                for i in ids
            ]
            now_sql = "select unix_micros(current_timestamp())"
            try:
                for i in ids:
                    if i != self.claim_id:  # see below: a session's file lists go stale
                        self._sql(f"refresh table {self._table(i)}", "refresh")
                if not selects:
                    return [], int(self._sql(now_sql, "read")[0][0])
                union = " union all ".join(selects)
                found = self._sql(f"select c.*, unix_micros(current_timestamp()) from ({union}) as c", "read")
            except WarehouseError as exc:
                if any(mark in str(exc) for mark in _NOT_FOUND):
                    continue  # a claim withdrawn between the list and the read: read again
                raise
            claims = [
                lease.Claim(
                    str(r[0]), int(r[1]) if r[1] is not None else None, float(r[2]) if r[2] is not None else None, str(r[3] or "")
                )
                for r in found
            ]
            return claims, int(found[0][4])
        raise WarehouseError("the lease's claims kept changing while they were read (5 tries)")

    def _describe(self, rival: lease.Claim | None, describe_holder: Callable[[], str]) -> str:
        if rival is None:
            return "another claimer that tried at the same moment (both withdrew)"
        try:
            run = describe_holder()
        except Exception:
            run = ""
        who = rival.holder or f"claim {rival.claim_id}"
        return f"{who}" + (f"; journal: {run}" if run else "")

    # -- keeping ----------------------------------------------------------------------------

    def _watch(self) -> None:
        """The one place that stops the run: when the holder's clock says the lease lapsed or
        was lost (the heartbeat marks both).  Kept apart from the heartbeat: a beat can block
        for minutes (a half-open connection, a server queue), and the run must stop at the
        deadline whatever the beat is doing (`_stop_the_run` acts once)."""
        clock = self._clock
        while clock is not None and not self._stop.wait(0.5):
            if clock.lapsed(time.monotonic()):
                self._stop_the_run()

    def _heartbeat(self) -> None:
        while not self._stop.wait(lease.beat_interval(self.ttl)):
            assert self._clock is not None
            if self._clock.lapsed(time.monotonic()):
                return  # lost for good: the watchdog stops the run
            started = time.monotonic()
            try:
                self._sql(f"insert into {self._table(self.claim_id)} select {self._row()}", "beat")
                finished = time.monotonic()
                # A dropped claim makes the insert fail (TABLE_OR_VIEW_NOT_FOUND, seen on the
                # test server); the listing also covers a server that resolved the table from
                # the session's cache and wrote to the dropped table's folder.
                listed = self._sql(
                    f"show tables in {spark_identifier(self.schema)} like {spark_string(LEASE_PREFIX + self.claim_id)}",
                    "check",
                )
            except Exception as exc:  # the server is unreachable, or our claim was dropped
                self._last_error = _first_line(exc)[:300]
                if not any(mark in str(exc) for mark in _NOT_FOUND):
                    continue  # the clock decides: a beat may still come in time
                listed = []
            if not listed:
                self._last_error = "its claim is no longer in the journal schema (another run or a person dropped it)"
                self._clock.lose()
                return  # the watchdog sees the loss and stops the run
            if not self._clock.beat(started, finished):
                return  # it came back after the lease had lapsed: lost for good (the watchdog stops the run)

    def ensure_held(self) -> bool:
        if self._clock is None or self._clock.lapsed(time.monotonic()):
            why = f" ({self._last_error})" if self._last_error else ""
            raise LockLostError(
                f"this run lost its lease on journal schema {self.schema!r}: its heartbeat could not be renewed "
                f"within {self.ttl - lease.safety_margin(self.ttl):g} s{why}, so another run may hold the target now"
            )
        return False

    def start_heartbeat(self, journal_schema: str, run_id: str, token: str) -> None:
        self._run_id = run_id  # the next beats name the run (for other runs' messages)

    def interrupt_on_loss(self) -> None:
        if threading.current_thread() is threading.main_thread():
            with self._signal_mutex:
                self._run_thread = threading.main_thread().ident
                self._restore_sigint = interrupts.interruptible_main_thread()

    def _stop_the_run(self) -> None:
        """A lapsed lease stops the run's writes now, not at its next phase: the holder gave
        up a margin (TTL/4) before any other run can see its claim expire, and a build can
        last far longer than that.  The run's main thread gets the SIGINT that Ctrl-C sends:
        dbt stops starting nodes and cancels its queries, and the rollback that follows
        finds the lease lost (ensure_held) and leaves the run to `recover`, which takes the
        lease anew.  Only for a command that asked (`interrupt_on_loss`: every command
        holding the target through Target.locked), never once the lease is being released."""
        with self._signal_mutex:
            if self._run_thread is not None and not self._stop.is_set():
                self._interrupted = True
                interrupts.interrupt_urgently(self._run_thread)  # not deferred by a rollback
                self._run_thread = None

    def lost_by_interrupt(self) -> LockLostError | None:
        if not self._interrupted:
            return None
        try:
            self.ensure_held()
        except LockLostError as exc:
            return exc
        return None

    # -- letting go -------------------------------------------------------------------------

    def release(self) -> None:
        with self._signal_mutex:  # from here on a lapse interrupts nothing
            self._stop.set()
            self._run_thread = None
            self._restore_sigint()
            self._restore_sigint = lambda: None
        stuck = False
        for thread in (self._thread, self._watchdog):
            if thread is not None:
                thread.join(timeout=60)
                stuck = stuck or thread.is_alive()
        self._thread = self._watchdog = None
        if stuck:  # a beat blocked on the connection holds its mutex: leave the claim to its TTL
            self._handle = None
            return
        if self._handle is not None and self.claim_id:
            try:
                self._withdraw()
            except Exception:
                pass  # unreachable: the claim expires after its TTL
        self._close()

    def _withdraw(self) -> None:
        self._sql(f"drop table if exists {self._table(self.claim_id)}", "withdraw")

    # -- statements -------------------------------------------------------------------------

    def _table(self, claim_id: str) -> str:
        return f"{spark_identifier(self.schema)}.{spark_identifier(LEASE_PREFIX + claim_id)}"

    def _row(self) -> str:
        command = " ".join(["sagaz-dbt", *sys.argv[1:]])[:500]
        if self._run_id:
            command = f"run {self._run_id}: {command}"
        return (
            f"{spark_string(self.claim_id)} as claim_id, {spark_string(socket.gethostname())} as owner_host, "
            f"{int(os.getpid())} as owner_pid, {spark_string(command)} as command, "
            f"cast({float(self.ttl)!r} as double) as ttl_seconds, unix_micros(current_timestamp()) as beat_micros"
        )

    def _open(self) -> Any:
        from dbt.adapters.contracts.connection import Connection

        adapter = self.warehouse.adapter
        conn = Connection(
            type=adapter.type(), name="sagaz_lease", state="init", transaction_open=False, handle=None,
            credentials=adapter.config.credentials,
        )
        try:
            opened = adapter.ConnectionManager.open(conn)
        except Exception as exc:
            raise WarehouseError(f"the warehouse is unreachable: {exc}") from exc
        if opened.handle is None:
            raise WarehouseError("the warehouse is unreachable")
        return opened.handle

    def _sql(self, statement: str, what: str) -> list[Any]:
        """Run one statement on the lock's connection (synchronously: PyHive's cursor, not
        dbt-spark's wrapper, which polls every `poll_interval` seconds)."""
        with self._mutex:
            if self._handle is None:
                raise WarehouseError("the lease's connection is closed")
            raw = getattr(self._handle, "handle", self._handle)
            started = time.monotonic()
            try:
                cursor = raw.cursor()
                try:
                    cursor.execute(statement)
                    rows = list(cursor.fetchall()) if cursor.description else []
                finally:
                    cursor.close()
            except Exception as exc:
                raise WarehouseError(f"sagaz-dbt's lease ({what}): {_first_line(exc)}") from exc
            self.timings.append((what, time.monotonic() - started))
            return rows

    def _close(self) -> None:
        with self._mutex:
            handle, self._handle = self._handle, None
        if handle is not None:
            try:
                handle.close()
            except Exception:
                pass


def _first_line(exc: BaseException) -> str:
    """The server's words: PyHive wraps the whole Thrift response (stack included)."""
    response = exc.args[0] if exc.args else None
    message = getattr(getattr(response, "status", None), "errorMessage", None)
    return " ".join(str(message or exc).split())[:600] or type(exc).__name__


def refusal(node: Any) -> str | None:
    """Why a node cannot be protected on Spark, or None.  dbt snapshots and merge need
    Delta, Iceberg or Hudi, which cannot be installed (nor tested) here: sagaz-dbt refuses
    them instead of running them without a tested rollback."""
    config = node.config
    kind = str(config.materialized)
    file_format = str(config.get("file_format", None) or "parquet")
    if str(node.resource_type) == "snapshot" or kind == "snapshot":
        return "dbt snapshots on Spark need Delta, Iceberg or Hudi tables, whose rollback sagaz-dbt has not tested"
    if file_format not in _TESTED_FORMATS and kind in ("table", "incremental", "seed"):
        return f"file_format {file_format!r}: sagaz-dbt's Spark rollback is tested on parquet tables only"
    if kind == "incremental":
        strategy = str(config.get("incremental_strategy", None) or "append")
        if strategy not in _PARQUET_STRATEGIES:
            return f"incremental_strategy {strategy!r} on Spark needs Delta, Iceberg or Hudi tables"
    return None


def is_metastore_busy(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if any(mark in str(seen) for mark in _DERBY_BUSY):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
