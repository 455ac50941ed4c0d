"""The shared warehouse inspector (sagaz_dbt/testing/inspect.py) can fail: its row-level
checksum sees one changed value, a changed type, a missing or an extra duplicate row, and
a changed view, and ignores row order; sagaz-dbt's own relations stay out of a state.
Real DuckDB files and the real Postgres server, no dbt."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Callable

import pytest

from helpers.inspect import DuckDBInspector, PostgresInspector, diff_states
from helpers.postgres import PgDatabase

Change = tuple[str, str]  # (what, SQL that changes it; {s} is the schema)

CHANGES: list[Change] = [
    ("one value", "update {s}.t set v = 'x2' where id = 2"),
    ("a duplicate row more", "insert into {s}.t values (1, 'a')"),
    ("a duplicate row less", "delete from {s}.t where id = 1 and v = 'a' and ctid_or_rowid"),
    (
        "a column type",
        "drop view {s}.v; alter table {s}.t alter column id type bigint; create view {s}.v as select id, v from {s}.t",
    ),
    ("a view's definition", "create or replace view {s}.v as select id, v from {s}.t where id > 0"),
    ("a relation more", "create table {s}.t2 (id int)"),
    ("a relation in a second schema", "create table {s}_reporting.r (id int)"),
    ("a value swapped between rows", "update {s}.t set v = case id when 2 then 'c' when 3 then 'b' else v end"),
]


@pytest.fixture
def warehouse(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Any, Callable[[str], None], str]:
    """(inspector, execute, schema) on a fresh warehouse holding t (with a duplicate row) and v."""
    schema = f"t_{secrets.token_hex(5)}"
    if engine == "duckdb":
        inspector: Any = DuckDBInspector(tmp_path / "w.duckdb", schema)
    else:
        pg: PgDatabase = request.getfixturevalue("pg_database")
        inspector = PostgresInspector(pg, schema)
    execute = lambda sql: inspector.execute(sql.replace("{s}", schema))  # noqa: E731
    for sql in (
        "create schema {s}",
        "create schema {s}_reporting",
        "create table {s}.t (id int, v varchar(10))",
        "insert into {s}.t values (1, 'a'), (1, 'a'), (2, 'b'), (3, 'c')",
        "create view {s}.v as select id, v from {s}.t",
        "create schema if not exists sagaz",
        "create table {s}.__sagaz_bk_0123456789__t as select * from {s}.t",
    ):
        execute(sql)
    return inspector, execute, engine


def test_state_reads_rows_columns_and_views(warehouse: tuple[Any, Callable[[str], None], str]) -> None:
    inspector, _, engine = warehouse
    state = inspector.state()
    assert sorted(state) == ["{schema}.t", "{schema}.v"], "sagaz-named relations stay out"
    assert state["{schema}.t"]["rows"] == 4 and state["{schema}.v"]["rows"] == 4
    assert state["{schema}.t"]["checksum"] == state["{schema}.v"]["checksum"], "same rows, same checksum"
    assert [c for c, _ in state["{schema}.t"]["columns"]] == ["id", "v"]
    assert "{schema}" in state["{schema}.v"]["definition"]
    assert any(o.endswith("__sagaz_bk_0123456789__t") for o in inspector.sagaz_objects())
    assert inspector.schemas() == ["{schema}", "{schema}_reporting"]


def test_row_order_does_not_matter(warehouse: tuple[Any, Callable[[str], None], str]) -> None:
    inspector, execute, _ = warehouse
    before = inspector.state()
    execute("create table {s}.shuffled as select * from {s}.t order by id desc")
    execute("drop view {s}.v")
    execute("drop table {s}.t")
    execute("alter table {s}.shuffled rename to t")
    execute("create view {s}.v as select id, v from {s}.t")
    assert diff_states(before, inspector.state()) == []


@pytest.mark.parametrize("what, sql", CHANGES, ids=[c[0] for c in CHANGES])
def test_every_change_is_seen(warehouse: tuple[Any, Callable[[str], None], str], what: str, sql: str) -> None:
    inspector, execute, engine = warehouse
    before = inspector.state()
    if "ctid_or_rowid" in sql:  # delete one of two identical rows
        sql = (
            "delete from {s}.t where ctid = (select min(ctid) from {s}.t where id = 1)"
            if engine == "postgres"
            else "delete from {s}.t where rowid = (select min(rowid) from {s}.t where id = 1)"
        )
    execute(sql)
    assert diff_states(before, inspector.state()) != [], f"{what} went unseen"
