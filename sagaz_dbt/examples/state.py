"""What is in the warehouse, from real queries: every relation with its columns, row count and
a row-level checksum.  Two states compare equal when every relation holds the same rows.

The checksum is order-independent and counts duplicates: the sum of a 64-bit hash of each
row rendered as JSON (column names included).  It is computed by the engine, in one pass,
so it scales with `--rows`.  Identifiers are quoted by the driver's own quoting (psycopg2)
or by sqlglot for DuckDB, whose Python API has none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

#: The alias each row is rendered through; unlikely to collide with a column name.
_ROW = "sagaz_example_row"

_SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "pg_toast"})


@dataclass(frozen=True)
class RelationState:
    schema: str
    name: str
    kind: str  # table | view
    columns: tuple[tuple[str, str], ...]
    rows: int
    checksum: str

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class WarehouseState:
    relations: Mapping[tuple[str, str], RelationState] = field(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WarehouseState) and dict(self.relations) == dict(other.relations)

    def __len__(self) -> int:
        return len(self.relations)

    def only(self, schemas: Iterable[str]) -> "WarehouseState":
        """The relations in `schemas` only."""
        wanted = set(schemas)
        return WarehouseState({k: v for k, v in self.relations.items() if k[0] in wanted})

    @property
    def schemas(self) -> set[str]:
        return {k[0] for k in self.relations}

    def get(self, schema: str, name: str) -> RelationState | None:
        return self.relations.get((schema, name))

    def rows(self, name: str) -> int | None:
        """Row count of the relation called `name` in any schema (None if absent)."""
        for (_, rel_name), rel in self.relations.items():
            if rel_name == name:
                return rel.rows
        return None

    def differences(self, other: "WarehouseState") -> list[str]:
        """What changed from `self` to `other`, one line per relation."""
        out: list[str] = []
        for key in sorted(set(self.relations) | set(other.relations)):
            a, b = self.relations.get(key), other.relations.get(key)
            label = f"{key[0]}.{key[1]}"
            if a is None:
                out.append(f"{label}: appeared ({b.kind}, {b.rows} rows)")  # type: ignore[union-attr]
            elif b is None:
                out.append(f"{label}: disappeared (was {a.kind}, {a.rows} rows)")
            elif a != b:
                parts = []
                if a.kind != b.kind:
                    parts.append(f"kind {a.kind} -> {b.kind}")
                if a.columns != b.columns:
                    parts.append(f"columns {list(a.columns)} -> {list(b.columns)}")
                if a.rows != b.rows:
                    parts.append(f"rows {a.rows} -> {b.rows}")
                if a.checksum != b.checksum:
                    parts.append("row checksum differs")
                out.append(f"{label}: " + ", ".join(parts))
        return out


class DuckDBInspector:
    """Reads a DuckDB file.  The file must not be open in this process with another
    configuration: call it between builds (sagaz-dbt releases dbt's handle after each)."""

    def __init__(self, path: Path | str, exclude_schemas: Iterable[str] = ()) -> None:
        self.path = str(path)
        self.exclude = _SYSTEM_SCHEMAS | set(exclude_schemas)

    def snapshot(self) -> WarehouseState:
        import duckdb

        if not Path(self.path).exists():
            return WarehouseState({})
        con = duckdb.connect(self.path, read_only=True)
        try:
            listed = con.execute(
                "select table_schema, table_name, table_type from information_schema.tables "
                "where table_catalog = current_database() order by 1, 2"
            ).fetchall()
            relations: dict[tuple[str, str], RelationState] = {}
            for schema, name, table_type in listed:
                if schema in self.exclude:
                    continue
                columns = tuple(
                    (str(c), str(t))
                    for c, t in con.execute(
                        "select column_name, data_type from information_schema.columns "
                        "where table_catalog = current_database() and table_schema = ? and table_name = ? "
                        "order by ordinal_position",
                        [schema, name],
                    ).fetchall()
                )
                relation = f"{_duck_ident(schema)}.{_duck_ident(name)}"
                rows, checksum = con.execute(
                    f"select count(*), coalesce(cast(sum(hash(cast(to_json({_ROW}) as varchar))) as varchar), '0') "
                    f"from {relation} as {_ROW}"
                ).fetchone()
                relations[(schema, name)] = RelationState(
                    schema, name, "view" if table_type == "VIEW" else "table", columns, int(rows), str(checksum)
                )
            return WarehouseState(relations)
        finally:
            con.close()


class PostgresInspector:
    """Reads the schemas of one example run on Postgres: `base` and every `base_<suffix>`."""

    def __init__(self, connect_kwargs: Mapping[str, Any], base_schema: str, exclude_schemas: Iterable[str] = ()) -> None:
        self.connect_kwargs = dict(connect_kwargs)
        self.base = base_schema
        self.exclude = _SYSTEM_SCHEMAS | set(exclude_schemas)

    def schemas(self, con: Any) -> list[str]:
        with con.cursor() as cur:
            cur.execute("select nspname from pg_namespace order by 1")
            names = [r[0] for r in cur.fetchall()]
        return [n for n in names if (n == self.base or n.startswith(self.base + "_")) and n not in self.exclude]

    def snapshot(self) -> WarehouseState:
        import psycopg2
        from psycopg2 import sql

        con = psycopg2.connect(**self.connect_kwargs)
        try:
            con.autocommit = True
            relations: dict[tuple[str, str], RelationState] = {}
            with con.cursor() as cur:
                for schema in self.schemas(con):
                    cur.execute(
                        "select table_name, table_type from information_schema.tables "
                        "where table_schema = %s order by 1",
                        [schema],
                    )
                    for name, table_type in cur.fetchall():
                        cur.execute(
                            "select column_name, data_type from information_schema.columns "
                            "where table_schema = %s and table_name = %s order by ordinal_position",
                            [schema, name],
                        )
                        columns = tuple((str(c), str(t)) for c, t in cur.fetchall())
                        cur.execute(
                            sql.SQL(
                                "select count(*), coalesce(sum(('x' || substr(md5(row_to_json({row})::text), 1, 16))"
                                "::bit(64)::bigint::numeric)::text, '0') from {schema}.{name} as {row}"
                            ).format(row=sql.Identifier(_ROW), schema=sql.Identifier(schema), name=sql.Identifier(name))
                        )
                        rows, checksum = cur.fetchone()
                        relations[(schema, name)] = RelationState(
                            schema, name, "view" if table_type == "VIEW" else "table", columns, int(rows), str(checksum)
                        )
            return WarehouseState(relations)
        finally:
            con.close()

    def drop_schemas(self) -> list[str]:
        """Drop `base` and every `base_<suffix>` schema (the run's own, unique names)."""
        import psycopg2
        from psycopg2 import sql

        con = psycopg2.connect(**self.connect_kwargs)
        try:
            con.autocommit = True
            dropped = []
            names = self.schemas(con) + [s for s in self.exclude - _SYSTEM_SCHEMAS if s.startswith(self.base)]
            with con.cursor() as cur:
                for schema in sorted(set(names)):
                    cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
                    dropped.append(schema)
            return dropped
        finally:
            con.close()


def _duck_ident(name: str) -> str:
    from sqlglot import exp

    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")
