"""What is in the example's warehouse: the shared inspector (sagaz_dbt/testing/inspect.py,
the one the test suite and the benchmarks use), with every relation's columns, row count and
row-level checksum.  Two states compare equal when every relation holds the same rows.

The example reads every schema of its run except the journal's, and keeps sagaz-named
relations in its states, so a backup left behind shows up as a relation that appeared.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from sagaz_dbt.testing import inspect as shared
from sagaz_dbt.testing.inspect import RelationState, Scope, WarehouseState

__all__ = ["DuckDBInspector", "PostgresInspector", "RelationState", "WarehouseState"]


class DuckDBInspector:
    """Reads a DuckDB file (read-only).  The file must not be open in this process with another
    configuration: call it between builds (sagaz-dbt releases dbt's handle after each)."""

    def __init__(self, path: Path | str, exclude_schemas: Iterable[str] = ()) -> None:
        self.path = str(path)
        self._inspector = shared.DuckDBInspector(path, Scope(exclude=frozenset(exclude_schemas)), read_only=True)

    def snapshot(self) -> WarehouseState:
        return self._inspector.snapshot(include_sagaz=True)


class PostgresInspector:
    """Reads the schemas of one example run on Postgres: `base` and every `base_<suffix>`."""

    def __init__(self, connect_kwargs: Mapping[str, Any], base_schema: str, exclude_schemas: Iterable[str] = ()) -> None:
        self.connect_kwargs = dict(connect_kwargs)
        self.base = base_schema
        self.exclude = set(exclude_schemas)
        scope = Scope(base=base_schema, prefixed=True, exclude=frozenset(self.exclude))
        self._inspector = shared.PostgresInspector.from_kwargs(self.connect_kwargs, scope)

    def snapshot(self) -> WarehouseState:
        return self._inspector.snapshot(include_sagaz=True)

    def drop_schemas(self) -> list[str]:
        """Drop `base` and every `base_<suffix>` schema (the run's own, unique names)."""
        import psycopg2
        from psycopg2 import sql

        con = psycopg2.connect(**self.connect_kwargs)
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute("select nspname from pg_namespace")
                names = {
                    n for (n,) in cur.fetchall() if n == self.base or n.startswith(self.base + "_")
                } | {s for s in self.exclude if s.startswith(self.base)}
                for schema in sorted(names):
                    cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
            return sorted(names)
        finally:
            con.close()
