"""DuckDB: an embedded file, transactional DDL, views bound by name, no practical name limit.

dbt-duckdb rebuilds a table by the rename swap, except a table with an enforced
foreign-key contract, which it rebuilds in place (so sagaz-dbt copies it first); one
transaction may write only one attached database; microbatch deletes and inserts the
batch's window.  The lock is DuckDB's own file lock, which the process keeps from its
first connection until `release_connections` (dbt-duckdb keeps the database open between
invocations, in a process-wide environment).
"""

from __future__ import annotations

import time
from typing import Callable

from sagaz_dbt.engines.base import Engine, MicrobatchWrite, TableRebuild, UnquotedCase, ViewBinding
from sagaz_dbt.runtime.lock import POLL_SECONDS, TargetBusyError, TargetLock
from sagaz_dbt.dbt.warehouse import Warehouse

ENGINE = Engine(
    adapter_type="duckdb",
    transactional_ddl=True,
    views_bind_to=ViewBinding.NAME,
    identifier_max_bytes=None,
    sqlglot_dialect="duckdb",
    rebuilds_tables_by=TableRebuild.RENAME_SWAP,
    rebuilds_foreign_key_tables_in_place=True,
    microbatch=MicrobatchWrite.WINDOW,
    unquoted_case=UnquotedCase.INSENSITIVE,
    multi_database_transactions=False,
    has_databases=True,
    deletes_rows=True,
    incremental_batch_before_strategy=True,
    lock_class="sagaz_dbt.engines.duckdb.DuckDBFileLock",
    connection_releaser="sagaz_dbt.engines.duckdb.close_environment",
)


class DuckDBFileLock(TargetLock):
    """DuckDB's file lock: held by the process from its first connection; cannot be lost."""

    def acquire(
        self, wait: bool, timeout: float, describe_holder: Callable[[], str], on_wait: Callable[[str], None] | None
    ) -> None:
        _wait_for_file(self.warehouse, wait, timeout, on_wait)


def close_environment() -> None:
    """Close the database dbt-duckdb keeps open between invocations (it holds the file lock,
    which a library caller, or the next process, needs back)."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # dbt-duckdb not installed
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
    if env is not None:
        try:
            env.close()
        except Exception:  # closing is best effort: the handle may already be gone
            pass


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
            time.sleep(POLL_SECONDS)


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
