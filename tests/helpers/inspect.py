"""What the warehouse holds, read directly (duckdb / psycopg2), never through dbt or sagaz-dbt.

`state()` describes every user relation: type, ordered columns with types, row count, an
order-independent checksum of the rows and, for views, the normalized definition.  Schema
names are replaced by labels (`{schema}`, `{schema}_reporting`) so that two warehouses built
in different schemas (Postgres twins) compare equal.  Relations whose name contains "sagaz"
and the journal schema are left out: `sagaz_objects()` lists them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import sqlglot

from helpers.postgres import PgDatabase

JOURNAL_SCHEMA = "sagaz"
JOURNAL_TABLES = {"sagaz_runs", "sagaz_steps", "sagaz_marks", "sagaz_runs_log", "sagaz_steps_log"}  # *_log: Spark

Relation = tuple[str, str]  # (schema, name)


def _label(schema: str, base: str) -> str:
    if schema == base:
        return "{schema}"
    if schema.startswith(base + "_"):
        return "{schema}" + schema[len(base):]
    return schema


def _norm_ws(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().rstrip(";").strip()


class DuckDBInspector:
    def __init__(self, path: Path, base_schema: str) -> None:
        self.path = path
        self.base_schema = base_schema
        self.catalog = path.stem

    def _connect(self) -> Any:
        return duckdb.connect(str(self.path))

    def query(self, sql: str, params: Any = None) -> list[tuple]:
        if not self.path.exists():
            return []
        con = self._connect()
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def execute(self, sql: str) -> None:
        con = self._connect()
        try:
            con.execute(sql)
        finally:
            con.close()

    def schemas(self) -> list[str]:
        rows = self.query(
            "select schema_name from duckdb_schemas() where database_name = ? and not internal and schema_name <> ?",
            [self.catalog, JOURNAL_SCHEMA],
        )
        return sorted(_label(s, self.base_schema) for (s,) in rows)

    def _relations(self, con: Any) -> list[tuple[str, str, str]]:
        return con.execute(
            """
            select schema_name, table_name, 'table' from duckdb_tables()
            where database_name = ? and not temporary
            union all
            select schema_name, view_name, 'view' from duckdb_views()
            where database_name = ? and not internal and not temporary
            order by 1, 2
            """,
            [self.catalog, self.catalog],
        ).fetchall()

    def sagaz_objects(self) -> list[str]:
        """Every relation sagaz-dbt owns: anything named *sagaz* and the journal schema's content."""
        if not self.path.exists():
            return []
        con = self._connect()
        try:
            return [f"{s}.{n}" for s, n, _ in self._relations(con) if s == JOURNAL_SCHEMA or "sagaz" in n.lower()]
        finally:
            con.close()

    def state(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        con = self._connect()
        try:
            out: dict[str, dict[str, Any]] = {}
            for schema, name, kind in self._relations(con):
                if schema == JOURNAL_SCHEMA or "sagaz" in name.lower():
                    continue
                q = f'"{self.catalog}"."{schema}"."{name}"'
                cols = con.execute(
                    """
                    select column_name, data_type from information_schema.columns
                    where table_catalog = ? and table_schema = ? and table_name = ?
                    order by ordinal_position
                    """,
                    [self.catalog, schema, name],
                ).fetchall()
                rows, checksum = con.execute(
                    f"""
                    select count(*), md5(coalesce(string_agg(h, '|' order by h), ''))
                    from (select md5(t::varchar) as h from {q} as t)
                    """
                ).fetchone()
                entry: dict[str, Any] = {
                    "type": kind,
                    "columns": [(c, t) for c, t in cols],
                    "rows": int(rows),
                    "checksum": checksum,
                }
                if kind == "view":
                    (sql,) = con.execute(
                        "select sql from duckdb_views() where database_name = ? and schema_name = ? and view_name = ?",
                        [self.catalog, schema, name],
                    ).fetchone()
                    entry["definition"] = self._view_body(sql)
                out[f"{_label(schema, self.base_schema)}.{name}"] = entry
            return out
        finally:
            con.close()

    def _view_body(self, create_sql: str) -> str:
        """The SELECT of `CREATE VIEW x AS SELECT ...`, without the view's own name."""
        tree = sqlglot.parse_one(create_sql, dialect="duckdb")
        body = tree.expression if isinstance(tree, sqlglot.exp.Create) else tree
        text = body.sql(dialect="duckdb")
        return _norm_ws(self._relabel(text))

    def _relabel(self, text: str) -> str:
        return re.sub(rf"\b{re.escape(self.base_schema)}(?=\b|_)", "{schema}", text)


class PostgresInspector:
    def __init__(self, db: PgDatabase, base_schema: str) -> None:
        self.db = db
        self.base_schema = base_schema

    def query(self, sql: str, params: Any = None) -> list[tuple]:
        return self.db.execute(sql, params)

    def execute(self, sql: str) -> None:
        self.db.execute(sql)

    def schemas(self) -> list[str]:
        rows = self.query(
            "select nspname from pg_namespace where nspname = %(base)s or nspname like %(prefix)s",
            {"base": self.base_schema, "prefix": self.base_schema.replace("_", r"\_") + r"\_%"},
        )
        return sorted(_label(s, self.base_schema) for (s,) in rows)

    def _relations(self, cur: Any) -> list[tuple[int, str, str, str]]:
        cur.execute(
            """
            select c.oid, n.nspname, c.relname,
                   case c.relkind when 'v' then 'view' when 'm' then 'materialized view' else 'table' end
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind in ('r', 'p', 'v', 'm', 'f')
              and (n.nspname = %(base)s or n.nspname like %(prefix)s or n.nspname = %(journal)s)
            order by n.nspname, c.relname
            """,
            {"base": self.base_schema, "prefix": self.base_schema.replace("_", r"\_") + r"\_%", "journal": JOURNAL_SCHEMA},
        )
        return list(cur.fetchall())

    def sagaz_objects(self) -> list[str]:
        """sagaz-named relations in this project's schemas, and the journal tables."""
        conn = self.db.connect()
        try:
            with conn.cursor() as cur:
                return [f"{s}.{n}" for _, s, n, _ in self._relations(cur) if s == JOURNAL_SCHEMA or "sagaz" in n.lower()]
        finally:
            conn.close()

    def state(self) -> dict[str, dict[str, Any]]:
        conn = self.db.connect()
        try:
            out: dict[str, dict[str, Any]] = {}
            with conn.cursor() as cur:
                for oid, schema, name, kind in self._relations(cur):
                    if schema == JOURNAL_SCHEMA or "sagaz" in name.lower():
                        continue
                    cur.execute(
                        """
                        select attname, format_type(atttypid, atttypmod) from pg_attribute
                        where attrelid = %s and attnum > 0 and not attisdropped order by attnum
                        """,
                        (oid,),
                    )
                    cols = [(c, t) for c, t in cur.fetchall()]
                    q = f'"{schema}"."{name}"'
                    cur.execute(
                        f"""
                        select count(*), md5(coalesce(string_agg(h, '|' order by h), ''))
                        from (select md5(t::text) as h from {q} as t) as x
                        """
                    )
                    rows, checksum = cur.fetchone()
                    entry: dict[str, Any] = {"type": kind, "columns": cols, "rows": int(rows), "checksum": checksum}
                    if kind == "view":
                        cur.execute("select pg_get_viewdef(%s::oid, true)", (oid,))
                        entry["definition"] = _norm_ws(
                            re.sub(rf"\b{re.escape(self.base_schema)}(?=\b|_)", "{schema}", cur.fetchone()[0])
                        )
                    out[f"{_label(schema, self.base_schema)}.{name}"] = entry
            return out
        finally:
            conn.close()


def diff_states(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[str]:
    """Human-readable differences, empty when equal."""
    lines: list[str] = []
    for key in sorted(set(before) - set(after)):
        lines.append(f"missing: {key}")
    for key in sorted(set(after) - set(before)):
        lines.append(f"unexpected: {key} ({after[key]['type']}, {after[key]['rows']} rows)")
    for key in sorted(set(before) & set(after)):
        a, b = before[key], after[key]
        for field in ("type", "columns", "rows", "checksum", "definition", "format", "partitioned_by"):
            if a.get(field) != b.get(field):
                lines.append(f"{key}: {field} {a.get(field)!r} != {b.get(field)!r}")
    return lines
