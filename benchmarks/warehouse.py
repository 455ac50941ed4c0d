"""The benchmark's warehouses: one DuckDB file, or a set of `bench_<token>*` schemas on
PostgreSQL, reached directly (duckdb / psycopg2), never through dbt.

A benchmark only opens a connection between two dbt runs (DuckDB's file lock allows one
process at a time) and closes it at once.
"""

from __future__ import annotations

import os
import secrets
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from benchmarks import generate
from sagaz_dbt.testing import inspect
from sagaz_dbt.testing.inspect import WarehouseState

DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

@dataclass
class Warehouse:
    engine: str  # duckdb | postgres
    schema: str  # the profile's target schema; every schema of the run starts with it
    path: Path | None = None  # DuckDB file
    dsn: str = DEFAULT_PG_DSN

    # -- creating ------------------------------------------------------------------------

    @classmethod
    def create(cls, engine: str, workdir: Path, dsn: str | None = None) -> "Warehouse":
        token = secrets.token_hex(3)
        if engine == "duckdb":
            workdir.mkdir(parents=True, exist_ok=True)
            path = workdir / "warehouse.duckdb"
            for leftover in (path, path.with_suffix(".duckdb.wal")):
                leftover.unlink(missing_ok=True)
            return cls(engine, "bench", path=path)
        return cls(engine, f"bench_{token}", dsn=dsn or os.environ.get("SAGAZ_BENCH_PG_DSN") or DEFAULT_PG_DSN)

    @property
    def dialect(self) -> generate.Dialect:
        return generate.Dialect(self.engine)

    @property
    def raw_schema(self) -> str:
        return f"{self.schema}_raw"

    @property
    def journal_schema(self) -> str:
        return f"{self.schema}_sagaz"

    def profile(self, name: str, threads: int) -> dict[str, Any]:
        if self.engine == "duckdb":
            output: dict[str, Any] = {
                "type": "duckdb",
                "path": str(self.path),
                "schema": self.schema,
                "threads": threads,
                # Other engineers share this machine: bounded memory, no surprise swapping.
                "settings": {"memory_limit": "6GB"},
            }
        else:
            from psycopg2.extensions import parse_dsn

            parts = parse_dsn(self.dsn)
            output = {
                "type": "postgres",
                "host": parts.get("host") or "127.0.0.1",
                "port": int(parts.get("port") or 5432),
                "user": parts.get("user") or "postgres",
                "password": parts.get("password") or "",
                "dbname": parts.get("dbname") or "postgres",
                "schema": self.schema,
                "threads": threads,
                "connect_timeout": 10,
            }
        return {name: {"target": "bench", "outputs": {"bench": output}}}

    # -- connections ---------------------------------------------------------------------

    @contextmanager
    def connect(self) -> Iterator[Any]:
        if self.engine == "duckdb":
            import duckdb

            conn = duckdb.connect(str(self.path))
            try:
                conn.execute("set memory_limit = '6GB'")
                yield conn
            finally:
                conn.close()
        else:
            import psycopg2

            conn = psycopg2.connect(self.dsn, connect_timeout=10)
            conn.autocommit = True
            try:
                yield conn
            finally:
                conn.close()

    def execute(self, *statements: str) -> None:
        with self.connect() as conn:
            for sql in statements:
                if self.engine == "duckdb":
                    conn.execute(sql)
                else:
                    with conn.cursor() as cur:
                        cur.execute(sql)

    def query(self, sql: str) -> list[tuple]:
        with self.connect() as conn:
            if self.engine == "duckdb":
                return conn.execute(sql).fetchall()
            with conn.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall())

    # -- raw data ------------------------------------------------------------------------

    def load_project_raw(self, rows: int) -> None:
        """The raw tables of the 100-model project (largest tables: `rows` rows)."""
        tables = generate.project_tables(self.dialect, rows)
        statements = [f"create schema if not exists {self.raw_schema}"]
        for name, select in tables.items():
            statements.append(f"drop table if exists {self.raw_schema}.{name}")
            statements.append(f"create table {self.raw_schema}.{name} as {select}")
        statements.extend(self._control_statements())
        if self.engine == "postgres":
            statements.append(f"analyze")  # noqa: F541 - statistics for the planner, as a warehouse would have
        self.execute(*statements)

    def load_incremental_raw(self, rows: int, rows_per_day: int, index: bool = True) -> None:
        select = generate.incremental_table(self.dialect, rows, rows_per_day)
        statements = [
            f"create schema if not exists {self.raw_schema}",
            f"drop table if exists {self.raw_schema}.raw_events_daily",
            f"create table {self.raw_schema}.raw_events_daily as {select}",
            *self._control_statements(),
        ]
        if self.engine == "postgres" and index:
            # A landing table of this size is usually indexed on its load date: the batch
            # query reads one day, as it would in production (index=False: it scans it all).
            statements.append(f"create index on {self.raw_schema}.raw_events_daily (event_date)")
            statements.append(f"analyze {self.raw_schema}.raw_events_daily")
        self.execute(*statements)

    def _control_statements(self) -> list[str]:
        return [
            f"drop table if exists {self.raw_schema}.bench_control",
            f"create table {self.raw_schema}.bench_control as {generate.CONTROL}",
        ]

    def set_control(self, tag: int, fail_test: str = "") -> None:
        assert fail_test.replace("_", "").isalnum() or not fail_test
        self.execute(f"update {self.raw_schema}.bench_control set tag = {int(tag)}, fail_test = '{fail_test}'")

    # -- looking -------------------------------------------------------------------------

    def sagaz_leftovers(self) -> list[str]:
        """sagaz-named relations outside the journal: must be none after any run."""
        journal = self.journal_schema + "."
        return sorted(o for o in self._inspector().sagaz_objects() if not o.startswith(journal))

    def fingerprint(self, only: list[str] | None = None) -> WarehouseState:
        """Every relation's kind, columns, view definition and row-level checksum (the
        shared inspector's: sagaz_dbt/testing/inspect.py), sagaz-named leftovers included;
        `only`: the relations with these names."""
        state = self._inspector().snapshot(include_sagaz=True)
        if only is None:
            return state
        return WarehouseState({k: v for k, v in state.relations.items() if k[1] in only})

    def _inspector(self) -> inspect.Inspector:
        scope = inspect.Scope(
            base=self.schema, prefixed=True, journal=self.journal_schema, exclude=frozenset({self.raw_schema})
        )
        if self.engine == "duckdb":
            assert self.path is not None
            return inspect.DuckDBInspector(self.path, scope, config={"memory_limit": "6GB"})

        def connect() -> Any:
            import psycopg2

            return psycopg2.connect(self.dsn, connect_timeout=10)

        return inspect.PostgresInspector(connect, scope)

    # -- cleaning up ---------------------------------------------------------------------

    def drop(self) -> None:
        if self.engine == "duckdb":
            assert self.path is not None
            for leftover in (self.path, self.path.with_suffix(".duckdb.wal")):
                leftover.unlink(missing_ok=True)
            return
        rows = self.query(
            "select schema_name from information_schema.schemata "
            f"where schema_name = '{self.schema}' or schema_name like '{self.schema}\\_%'"
        )
        for (schema,) in rows:
            self.execute(f'drop schema if exists "{schema}" cascade')


def diff(expected: WarehouseState, actual: WarehouseState) -> list[str]:
    """Human-readable differences between two fingerprints (empty: equal)."""
    return expected.differences(actual)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
