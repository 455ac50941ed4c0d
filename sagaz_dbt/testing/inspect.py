"""The one warehouse inspector: what every relation holds, read directly (duckdb / psycopg2),
never through dbt or sagaz-dbt.  The test suite, the example runner and the benchmarks all
compare warehouses with it, so "the same" means one thing everywhere.

A relation's state is its kind, its ordered columns with their types, its row count, a
row-level checksum and, for a view, its normalized definition.  The checksum is
order-independent and counts duplicates: each row is rendered as text by the engine and
hashed with md5, and the two 64-bit halves of those hashes are summed separately (a
128-bit multiset hash, computed by the engine in one pass without sorting, so it scales
to the benchmarks' tables).  Engines differ only in the SQL that reads their catalog:
`QUERIES`, one entry per engine.

Relations sagaz-dbt keeps for itself (the journal schema, and names containing `sagaz`)
are listed by `sagaz_objects()`; `snapshot()` leaves them out unless asked.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

DEFAULT_JOURNAL_SCHEMA = "sagaz"
JOURNAL_TABLES = frozenset({"sagaz_runs", "sagaz_steps", "sagaz_marks", "sagaz_runs_log", "sagaz_steps_log"})  # *_log: Spark
SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "pg_toast"})


# -- the state ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelationState:
    schema: str
    name: str
    kind: str  # table | view | materialized view
    columns: tuple[tuple[str, str], ...]
    rows: int
    checksum: str
    definition: str | None = None  # a view's normalized SELECT (None for other kinds)

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name}"

    def as_dict(self) -> dict[str, Any]:
        """The plain form the integration tests keep and compare."""
        entry: dict[str, Any] = {
            "type": self.kind,
            "columns": list(self.columns),
            "rows": self.rows,
            "checksum": self.checksum,
        }
        if self.definition is not None:
            entry["definition"] = self.definition
        return entry


#: What two relation states are compared on, in this order.
FIELDS = ("type", "columns", "rows", "checksum", "definition", "format", "partitioned_by")  # the last two: Spark


@dataclass(frozen=True)
class WarehouseState:
    """Every relation of a warehouse (or of the schemas asked for), keyed by (schema, name)."""

    relations: Mapping[tuple[str, str], RelationState] = field(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WarehouseState) and dict(self.relations) == dict(other.relations)

    def __len__(self) -> int:
        return len(self.relations)

    def only(self, schemas: Iterable[str]) -> "WarehouseState":
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

    def as_dicts(self, base_schema: str | None = None) -> dict[str, dict[str, Any]]:
        """`{label: entry}`, with `base_schema` (and `base_schema_<suffix>`) written as
        `{schema}` in labels and view definitions, so two warehouses built in different
        schemas (Postgres twins) compare equal."""
        out: dict[str, dict[str, Any]] = {}
        for (schema, name), rel in sorted(self.relations.items()):
            entry = rel.as_dict()
            if base_schema is not None and rel.definition is not None:
                entry["definition"] = relabel(rel.definition, base_schema)
            out[f"{schema_label(schema, base_schema)}.{name}"] = entry
        return out

    def differences(self, other: "WarehouseState") -> list[str]:
        """What changed from `self` to `other`, one line per relation (empty: equal)."""
        return differences(
            {r.label: r.as_dict() for r in self.relations.values()},
            {r.label: r.as_dict() for r in other.relations.values()},
        )


def differences(before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Human-readable differences between two `{label: entry}` states, empty when equal."""
    lines: list[str] = []
    for key in sorted(set(before) - set(after)):
        lines.append(f"missing: {key} (was {before[key]['type']}, {before[key]['rows']} rows)")
    for key in sorted(set(after) - set(before)):
        lines.append(f"unexpected: {key} ({after[key]['type']}, {after[key]['rows']} rows)")
    for key in sorted(set(before) & set(after)):
        a, b = before[key], after[key]
        for name in FIELDS:
            if a.get(name) != b.get(name):
                lines.append(f"{key}: {name} {a.get(name)!r} != {b.get(name)!r}")
    return lines


def schema_label(schema: str, base: str | None) -> str:
    if base is None:
        return schema
    if schema == base:
        return "{schema}"
    if schema.startswith(base + "_"):
        return "{schema}" + schema[len(base) :]
    return schema


def relabel(text: str, base: str) -> str:
    return re.sub(rf"\b{re.escape(base)}(?=\b|_)", "{schema}", text)


def _norm_ws(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().rstrip(";").strip()


# -- per engine: the SQL that reads the catalog ------------------------------------------------


@dataclass(frozen=True)
class EngineQueries:
    """How one engine's catalog is read.  `relations` returns (schema, name, kind, *ref); the
    ref columns are the parameters of `columns` and `view_definition`."""

    dialect: str  # sqlglot's, for quoting and for reading view SQL
    relations: str  # no parameters
    columns: str
    view_definition: str
    schemas: str  # no parameters
    #: count(*) and the two sums of row hashes; `{relation}` is the quoted relation, `{row}` its alias.
    checksum: str
    #: the view SQL is a whole CREATE VIEW statement (DuckDB) rather than its SELECT (Postgres)
    view_sql_is_create: bool
    #: the catalog to qualify relations with (DuckDB: a schema may share the file's name)
    catalog: str | None = None


QUERIES: dict[str, EngineQueries] = {
    "duckdb": EngineQueries(
        dialect="duckdb",
        relations="""
            select schema_name, table_name, 'table', schema_name, table_name from duckdb_tables()
            where database_name = current_database() and not temporary
            union all
            select schema_name, view_name, 'view', schema_name, view_name from duckdb_views()
            where database_name = current_database() and not internal and not temporary
            order by 1, 2
        """,
        columns="""
            select column_name, data_type from information_schema.columns
            where table_catalog = current_database() and table_schema = ? and table_name = ?
            order by ordinal_position
        """,
        view_definition="""
            select sql from duckdb_views()
            where database_name = current_database() and schema_name = ? and view_name = ?
        """,
        schemas="select schema_name from duckdb_schemas() where database_name = current_database() and not internal",
        checksum=(
            "select count(*), coalesce(sum(md5_number_upper({row}::varchar)), 0)::varchar, "
            "coalesce(sum(md5_number_lower({row}::varchar)), 0)::varchar from {relation} as {row}"
        ),
        view_sql_is_create=True,
        catalog="select current_database()",
    ),
    "postgres": EngineQueries(
        dialect="postgres",
        relations="""
            select n.nspname, c.relname,
                   case c.relkind when 'v' then 'view' when 'm' then 'materialized view' else 'table' end,
                   c.oid
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind in ('r', 'p', 'v', 'm', 'f')
              and n.nspname <> 'information_schema' and left(n.nspname, 3) <> 'pg_'
            order by n.nspname, c.relname
        """,
        columns="""
            select attname, format_type(atttypid, atttypmod) from pg_attribute
            where attrelid = %s and attnum > 0 and not attisdropped order by attnum
        """,
        view_definition="select pg_get_viewdef(%s::oid, true)",
        schemas="select nspname from pg_namespace",
        checksum=(
            "select count(*), "
            "coalesce(sum(('x' || substr(md5({row}::text), 1, 16))::bit(64)::bigint::numeric), 0)::text, "
            "coalesce(sum(('x' || substr(md5({row}::text), 17, 16))::bit(64)::bigint::numeric), 0)::text "
            "from {relation} as {row}"
        ),
        view_sql_is_create=False,
    ),
}

#: The alias each row is rendered through; unlikely to collide with a column name.
_ROW = "sagaz_inspected_row"


@dataclass(frozen=True)
class Scope:
    """Which schemas an inspector reads.

    base: the run's target schema: labels (`{schema}`) are relative to it, and with
          `prefixed` only it and `base_<suffix>` are read (a shared Postgres database).
    journal: sagaz-dbt's journal schema: listed by `sagaz_objects`, never in a state.
    exclude: schemas read by nobody (the benchmark's raw data).
    """

    base: str | None = None
    prefixed: bool = False
    journal: str = DEFAULT_JOURNAL_SCHEMA
    exclude: frozenset[str] = frozenset()

    def reads(self, schema: str) -> bool:
        if schema in SYSTEM_SCHEMAS or schema in self.exclude:
            return False
        if schema == self.journal:
            return True
        if self.prefixed and self.base is not None:
            return schema == self.base or schema.startswith(self.base + "_") or self._backs_up_base(schema)
        return True

    def _backs_up_base(self, schema: str) -> bool:
        """sagaz-dbt's backup schema of one of the base's schemas: `__sagaz_sc_<run>__<schema>`."""
        assert self.base is not None
        return re.match(r"__sagaz_sc_[^_]*__" + re.escape(self.base) + r"(_|$)", schema) is not None

    def is_internal(self, schema: str, name: str) -> bool:
        return schema == self.journal or "sagaz" in name.lower() or "sagaz" in schema.lower()


@dataclass(frozen=True)
class Listed:
    schema: str
    name: str
    kind: str
    ref: tuple[Any, ...]


# -- the inspector -----------------------------------------------------------------------------


class Inspector:
    """Reads one warehouse through a DB-API connection; subclasses say how to connect."""

    engine = ""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.queries = QUERIES[self.engine]

    # connections (per engine)
    def _connect(self) -> Any:
        raise NotImplementedError

    def _exists(self) -> bool:
        return True

    def _rows(self, con: Any, sql: str, params: Any = None, fetch: bool = True) -> list[tuple]:
        raise NotImplementedError

    # -- raw access ----------------------------------------------------------------------------

    def query(self, sql: str, params: Any = None) -> list[tuple]:
        if not self._exists():
            return []
        with self._session() as con:
            return self._rows(con, sql, params)

    def execute(self, sql: str) -> None:
        with self._session() as con:
            self._rows(con, sql, None, fetch=False)

    # -- what is there -------------------------------------------------------------------------

    def schemas(self) -> list[str]:
        """The scope's schemas (the journal's excluded), as labels relative to `scope.base`."""
        names = [r[0] for r in self.query(self.queries.schemas)]
        return sorted(
            schema_label(s, self.scope.base) for s in names if self.scope.reads(s) and s != self.scope.journal
        )

    def _listed(self, con: Any) -> list[Listed]:
        return [
            Listed(str(r[0]), str(r[1]), str(r[2]), tuple(r[3:]))
            for r in self._rows(con, self.queries.relations)
            if self.scope.reads(str(r[0]))
        ]

    def sagaz_objects(self) -> list[str]:
        """Every relation sagaz-dbt owns in scope: its journal schema's, and anything named *sagaz*."""
        if not self._exists():
            return []
        with self._session() as con:
            return [f"{r.schema}.{r.name}" for r in self._listed(con) if self.scope.is_internal(r.schema, r.name)]

    def snapshot(self, include_sagaz: bool = False) -> WarehouseState:
        """Every relation in scope (the journal's never; sagaz-named ones only if asked)."""
        if not self._exists():
            return WarehouseState({})
        out: dict[tuple[str, str], RelationState] = {}
        with self._session() as con:
            catalog = self._rows(con, self.queries.catalog)[0][0] if self.queries.catalog else None
            for rel in self._listed(con):
                if rel.schema == self.scope.journal or (not include_sagaz and self.scope.is_internal(rel.schema, rel.name)):
                    continue
                out[(rel.schema, rel.name)] = self._read(con, rel, catalog)
        return WarehouseState(out)

    def state(self) -> dict[str, dict[str, Any]]:
        """The tests' form: `{label: entry}` relative to the scope's base schema."""
        return self.snapshot().as_dicts(self.scope.base)

    def _read(self, con: Any, rel: Listed, catalog: str | None) -> RelationState:
        q = self.queries
        columns = tuple((str(c), str(t)) for c, t in self._rows(con, q.columns, list(rel.ref)))
        [(rows, upper, lower)] = self._rows(
            con, q.checksum.format(relation=self._quoted(catalog, rel.schema, rel.name), row=_ROW)
        )
        definition = None
        if rel.kind == "view":
            found = self._rows(con, q.view_definition, list(rel.ref))
            definition = self._view_body(str(found[0][0])) if found else ""
        return RelationState(rel.schema, rel.name, rel.kind, columns, int(rows), f"{upper}:{lower}", definition)

    def _quoted(self, catalog: str | None, schema: str, name: str) -> str:
        from sqlglot import exp

        return exp.table_(name, db=schema, catalog=catalog, quoted=True).sql(dialect=self.queries.dialect)

    def _view_body(self, text: str) -> str:
        """The view's SELECT, whitespace-normalized (for DuckDB, without its CREATE VIEW name)."""
        if self.queries.view_sql_is_create:
            import sqlglot

            tree = sqlglot.parse_one(text, dialect=self.queries.dialect)
            body = tree.expression if isinstance(tree, sqlglot.exp.Create) else tree
            text = body.sql(dialect=self.queries.dialect)
        return _norm_ws(text)

    @contextmanager
    def _session(self) -> Iterator[Any]:
        con = self._connect()
        try:
            yield con
        finally:
            con.close()


class DuckDBInspector(Inspector):
    """A DuckDB file.  Call it between builds: a process may not hold the file open with
    another configuration (sagaz-dbt releases dbt's handle after each build)."""

    engine = "duckdb"

    def __init__(
        self, path: Path | str, scope: Scope | None = None, read_only: bool = False, config: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(scope or Scope())
        self.path = Path(path)
        self.read_only = read_only
        self.config = dict(config or {})

    def _exists(self) -> bool:
        return self.path.exists()

    def _connect(self) -> Any:
        import duckdb

        return duckdb.connect(str(self.path), read_only=self.read_only, config=self.config)

    def _rows(self, con: Any, sql: str, params: Any = None, fetch: bool = True) -> list[tuple]:
        cursor = con.execute(sql, params) if params is not None else con.execute(sql)
        return cursor.fetchall() if fetch else []


class PostgresInspector(Inspector):
    """Schemas of one Postgres database, reached by `connect()` (a new psycopg2 connection)."""

    engine = "postgres"

    def __init__(self, connect: Callable[[], Any], scope: Scope) -> None:
        super().__init__(scope)
        self.connect = connect

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any], scope: Scope) -> "PostgresInspector":
        def connect() -> Any:
            import psycopg2

            return psycopg2.connect(**dict(kwargs))

        return cls(connect, scope)

    def _connect(self) -> Any:
        con = self.connect()
        con.autocommit = True
        return con

    def _rows(self, con: Any, sql: str, params: Any = None, fetch: bool = True) -> list[tuple]:
        with con.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall()) if fetch and cur.description is not None else []

