"""Warehouse operations: the sagaz_dbt macros, run in-process on dbt's own adapter.

Calling macros on the adapter that the last dbt invocation registered costs milliseconds,
where a `dbt run-operation` costs a second and overwrites `target/run_results.json`.  All
SQL lives in the macro package (`macros/`, dispatched per adapter); this module only opens
connections and transactions and converts results to Python values.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from sagaz_dbt.errors import WarehouseError

PACKAGE = "sagaz_dbt"


class Warehouse:
    """The target warehouse, reached through the adapter of the current dbt session."""

    def __init__(self, manifest: Any) -> None:
        self.manifest = manifest

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
    def binds_views_to_oids(self) -> bool:
        """Postgres views follow a renamed table; DuckDB views re-bind by name."""
        return self.adapter_type == "postgres"

    @property
    def database(self) -> str:
        return str(self.adapter.config.credentials.database)

    @property
    def config(self) -> Any:
        return self.adapter.config

    def call(self, macro: str, **kwargs: Any) -> Any:
        """Run `sagaz_dbt.<macro>` with keyword arguments; returns its return value."""
        from dbt_common.exceptions import DbtRuntimeError

        try:
            return self.adapter.execute_macro(macro, macro_resolver=self.manifest, project=PACKAGE, kwargs=kwargs)
        except DbtRuntimeError as exc:
            raise WarehouseError(f"{macro}: {_message(exc)}") from exc

    @contextmanager
    def transaction(self, name: str = "sagaz") -> Iterator["Warehouse"]:
        """One connection and one transaction: everything inside commits or nothing does."""
        adapter = self.adapter
        try:
            with adapter.connection_named(name):
                adapter.cache.clear()  # our own DDL must never be hidden by dbt's cache
                adapter.connections.begin()
                try:
                    yield self
                    adapter.connections.commit()
                except BaseException:
                    try:
                        adapter.connections.rollback_if_open()
                    except Exception:  # the connection may be gone; the server rolls back
                        pass
                    raise
        except WarehouseError:
            raise
        except Exception as exc:
            if _is_connection_error(exc):
                raise WarehouseError(f"the warehouse is unreachable: {exc}") from exc
            raise


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
