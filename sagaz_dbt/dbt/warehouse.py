"""Warehouse operations: the sagaz_dbt macros, run in-process on dbt's own adapter.

Calling macros on the adapter that the last dbt invocation registered costs milliseconds,
where a `dbt run-operation` costs a second and overwrites `target/run_results.json`.  All
SQL lives in the macro package (`macros/`, dispatched per adapter); this module only opens
connections and transactions and converts results to Python values.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterator

from sagaz_dbt.errors import WarehouseError

if TYPE_CHECKING:  # pragma: no cover
    from sagaz_dbt.engines import Engine

PACKAGE = "sagaz_dbt"


class Warehouse:
    """The target warehouse, reached through the adapter of the current dbt session."""

    def __init__(self, manifest: Any) -> None:
        self.manifest = manifest
        #: Set by the target once parsed: the engine's lock object (sagaz_dbt.runtime.lock) and the
        #: bound on every lock wait (sagaz_dbt.runtime.waits); None until then (no bound, no watch).
        self.locking: Any = None
        self.waits: Any = None
        #: The journal's schema (--journal-schema), set by the target before the lock is made:
        #: a lease-based lock (Spark Thrift) keeps its claims there.
        self.journal_schema: str | None = None

    @property
    def adapter(self) -> Any:
        from dbt.adapters.factory import FACTORY

        adapters = list(FACTORY.adapters.values())
        if not adapters:
            raise WarehouseError("no dbt adapter is registered: parse the project first")
        return adapters[0]

    @property
    def adapter_type(self) -> str:
        return str(self.adapter.type())

    @property
    def engine(self) -> "Engine":
        """The adapter's Engine: its capabilities as data, and its lock.  Raises (exit 2)
        for an adapter sagaz-dbt does not support."""
        from sagaz_dbt.engines import for_adapter

        return for_adapter(self.adapter_type)

    @property
    def database(self) -> str:
        """The target's database ('' on engines without one: dbt-spark's is None)."""
        database = self.adapter.config.credentials.database
        return str(database) if self.engine.has_databases or database is not None else ""

    @property
    def config(self) -> Any:
        return self.adapter.config

    def call(self, macro: str, **kwargs: Any) -> Any:
        """Run `sagaz_dbt.<macro>` with keyword arguments; returns its return value.  An
        engine whose phases differ as a whole (Spark: ordered steps, no transaction) has its
        own `<adapter>__<macro>`, which is called instead, as adapter.dispatch would."""
        from dbt_common.exceptions import DbtRuntimeError

        own = f"{self.adapter_type}__{macro}"
        if self.manifest.find_macro_by_name(own, None, PACKAGE) is not None:
            macro = own
        try:
            return self.adapter.execute_macro(macro, macro_resolver=self.manifest, project=PACKAGE, kwargs=kwargs)
        except DbtRuntimeError as exc:
            raise WarehouseError(f"{macro}: {_message(exc)}") from exc

    @contextmanager
    def transaction(self, name: str = "sagaz") -> Iterator["Warehouse"]:
        """One connection and one transaction: everything inside commits or nothing does.

        On an engine without transactional DDL (Spark) there is no transaction to open:
        each statement is durable when it returns, and the phase macros order their steps
        so that any prefix of them can be finished or undone (see engines/spark.py)."""
        from sagaz_dbt.runtime import waits

        adapter = self.adapter
        if not self.engine.transactional_ddl:
            with self._connection_only(adapter, name):
                yield self
            return
        try:
            with adapter.connection_named(name), waits.interruptible():
                adapter.cache.clear()  # our own DDL must never be hidden by dbt's cache
                adapter.connections.begin()
                watch = None
                try:
                    watch = self._bound_waits(adapter)
                    yield self
                    adapter.connections.commit()
                except BaseException as exc:
                    try:
                        adapter.connections.rollback_if_open()
                    except Exception:  # the connection may be gone; the server rolls back
                        pass
                    if watch is not None:
                        waits.record_blockers(watch.stop())
                        watch = None
                    waits.reraise_interrupt(exc)
                    raise
                finally:
                    if watch is not None:
                        watch.stop()
        except WarehouseError:
            raise
        except Exception as exc:
            if _is_connection_error(exc):
                raise WarehouseError(f"the warehouse is unreachable: {exc}") from exc
            raise

    @contextmanager
    def _connection_only(self, adapter: Any, name: str) -> Iterator[None]:
        from sagaz_dbt.runtime import waits

        with adapter.connection_named(name), waits.interruptible():
            adapter.cache.clear()
            try:
                yield
            except BaseException as exc:
                waits.reraise_interrupt(exc)
                raise
            finally:
                # dbt-spark's commit() is a no-op that leaves the connection "in a
                # transaction"; the next phase's first statement would refuse to begin.
                connection = adapter.connections.get_if_exists()
                if connection is not None:
                    connection.transaction_open = False

    def _bound_waits(self, adapter: Any) -> Any:
        """Start the transaction's lock timeout (engines that wait for locks), and a watcher
        that names whoever makes it wait."""
        lock, policy = self.locking, self.waits
        if lock is None or policy is None or lock.lock_timeout_sql is None:
            return None
        adapter.connections.add_query(lock.lock_timeout_sql, bindings=[f"{policy.lock_timeout_ms}ms"])
        handle = adapter.connections.get_thread_connection().handle
        watch = lock.watch(handle)
        return watch.start() if watch is not None else None


def table_rows(table: Any) -> list[dict[str, Any]]:
    """An agate table (what run_query returns) as a list of dicts."""
    names = list(table.column_names)
    return [dict(zip(names, row)) for row in table.rows]


def _message(exc: BaseException) -> str:
    """dbt's errors start with a "Runtime Error" banner; keep the engine's words."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    lines = [line for line in lines if line not in ("Runtime Error", "Database Error", "Compilation Error")]
    return " ".join(lines) if lines else type(exc).__name__


def _is_connection_error(exc: BaseException) -> bool:
    from dbt.adapters.exceptions import FailedToConnectError

    return isinstance(exc, FailedToConnectError)
