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

DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

#: A row-level checksum of one relation: (kind, columns with types, view SQL, rows, sum of row hashes).
Fingerprint = tuple[str, str, str, int, str]


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

    def load_incremental_raw(self, rows: int, rows_per_day: int) -> None:
        select = generate.incremental_table(self.dialect, rows, rows_per_day)
        statements = [
            f"create schema if not exists {self.raw_schema}",
            f"drop table if exists {self.raw_schema}.raw_events_daily",
            f"create table {self.raw_schema}.raw_events_daily as {select}",
            *self._control_statements(),
        ]
        if self.engine == "postgres":
            # A landing table of this size is indexed on its load date: the batch query reads
            # one day, as it would in production.
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

    def schemas(self) -> list[str]:
        """The run's schemas (raw and journal excluded): what dbt builds."""
        rows = self.query(
            "select schema_name from information_schema.schemata "
            f"where schema_name like '{self.schema}%'"
        )
        skip = {self.raw_schema, self.journal_schema}
        return sorted(r[0] for r in rows if r[0] not in skip and (r[0] == self.schema or r[0].startswith(self.schema + "_")))

    def relations(self) -> list[tuple[str, str, str]]:
        """(schema, name, kind) of every table and view in the run's schemas."""
        schemas = self.schemas()
        if not schemas:
            return []
        listed = ", ".join(f"'{s}'" for s in schemas)
        rows = self.query(
            "select table_schema, table_name, table_type from information_schema.tables "
            f"where table_schema in ({listed}) order by 1, 2"
        )
        return [(s, n, "view" if "VIEW" in str(t).upper() else "table") for s, n, t in rows]

    def sagaz_leftovers(self) -> list[str]:
        """sagaz-named relations outside the journal: must be none after any run."""
        rows = self.query(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema like '{self.schema}%' and table_name like '%sagaz%' "
            f"and table_schema <> '{self.journal_schema}'"
        )
        return sorted(f"{s}.{n}" for s, n in rows)

    def fingerprint(self, only: list[str] | None = None) -> dict[str, Fingerprint]:
        """Every relation's columns, view definition and row-level checksum (an
        order-independent sum of per-row hashes, with the row count)."""
        out: dict[str, Fingerprint] = {}
        with self.connect() as conn:
            run = (lambda sql: conn.execute(sql).fetchall()) if self.engine == "duckdb" else _pg_runner(conn)
            for schema, name, kind in self.relations():
                key = f"{schema}.{name}"
                if only is not None and name not in only:
                    continue
                cols = run(
                    "select column_name, data_type from information_schema.columns "
                    f"where table_schema = '{schema}' and table_name = '{name}' order by ordinal_position"
                )
                columns = ", ".join(f"{c} {t}" for c, t in cols)
                view_sql = ""
                if kind == "view":
                    view_sql = self._view_sql(run, schema, name)
                rel = f'"{schema}"."{name}"'
                if self.engine == "duckdb":
                    count, total = run(f"select count(*), coalesce(sum(hash(t)::hugeint), 0) from {rel} as t")[0]
                else:
                    count, total = run(
                        f"select count(*), coalesce(sum(hashtextextended(t::text, 0)), 0) from {rel} as t"
                    )[0]
                out[key] = (kind, columns, view_sql, int(count), str(total))
        return out

    def _view_sql(self, run: Any, schema: str, name: str) -> str:
        if self.engine == "duckdb":
            rows = run(f"select sql from duckdb_views() where schema_name = '{schema}' and view_name = '{name}'")
        else:
            rows = run(f"select pg_get_viewdef('\"{schema}\".\"{name}\"'::regclass)")
        return " ".join(str(rows[0][0]).split()) if rows else ""

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


def _pg_runner(conn: Any):  # type: ignore[no-untyped-def]
    def run(sql: str) -> list[tuple]:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())

    return run


def diff(expected: dict[str, Fingerprint], actual: dict[str, Fingerprint]) -> list[str]:
    """Human-readable differences between two fingerprints (empty: equal)."""
    out: list[str] = []
    for key in sorted(set(expected) | set(actual)):
        a, b = expected.get(key), actual.get(key)
        if a is None:
            out.append(f"{key}: only after")
        elif b is None:
            out.append(f"{key}: only before")
        elif a != b:
            fields = ("kind", "columns", "view definition", "rows", "row checksum")
            changed = [f for f, x, y in zip(fields, a, b) if x != y]
            out.append(f"{key}: {', '.join(changed)} differ")
    return out


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
