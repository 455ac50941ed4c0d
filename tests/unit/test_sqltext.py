"""SQL rewriting (sagaz_dbt/saga/sqltext.py), from fixture files as sqlglot tests its dialects:
tests/unit/fixtures/sqltext/<function>.sql holds the cases (arguments, input, expected
output), on both engines' dialects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from sagaz_dbt.saga import sqltext
from sagaz_dbt.engines import known_engines

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sqltext"


@dataclass(frozen=True)
class FixtureCase:
    function: str
    line: int
    args: dict[str, str]
    sql: str
    expected: str

    @property
    def id(self) -> str:
        return f"{self.function}:{self.line}:{self.args['dialect']}"


def load(function: str) -> list[FixtureCase]:
    """Blocks separated by blank lines; `-- key: value, ...` lines give the arguments, the
    input runs to a `-- =>` line, the expected output follows.  Other comment lines are notes."""
    cases: list[FixtureCase] = []
    text = (FIXTURES / f"{function}.sql").read_text()
    for block_start, block in _blocks(text):
        args: dict[str, str] = {}
        sql: list[str] = []
        expected: list[str] = []
        target = sql
        for line in block:
            stripped = line.strip()
            if stripped == "-- =>":
                target = expected
            elif stripped.startswith("--"):
                if ":" in stripped and not sql:
                    for pair in stripped[2:].split(","):
                        key, _, value = pair.partition(":")
                        if key.strip() in ("dialect", "database", "schema", "old", "new"):
                            args[key.strip()] = value.strip()
            else:
                target.append(line)
        if sql:
            assert expected and "dialect" in args, f"{function}.sql line {block_start}: incomplete case"
            cases.append(FixtureCase(function, block_start, args, "\n".join(sql), "\n".join(expected)))
    return cases


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    out: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 1
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            if not current:
                start = number
            current.append(line)
        elif current:
            out.append((start, current))
            current = []
    if current:
        out.append((start, current))
    return out


def _run(case: FixtureCase) -> str:
    a = case.args
    if case.function == "qualify_ddl":
        return sqltext.qualify_ddl(case.sql, a["database"], a["schema"], a["dialect"])
    return sqltext.repoint_view(case.sql, a["schema"], a["old"], a["new"], a["dialect"])


CASES = load("qualify_ddl") + load("repoint_view")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_fixture(case: FixtureCase) -> None:
    assert _run(case) == case.expected


@pytest.mark.parametrize("function", ["qualify_ddl", "repoint_view"])
def test_every_engine_dialect_has_cases(function: str) -> None:
    dialects = {c.args["dialect"] for c in CASES if c.function == function}
    assert {e.sqlglot_dialect for e in known_engines()} <= dialects


# -- the backup schema (issue 13) ----------------------------------------------------------

def test_qualify_created_qualifies_only_the_created_view():
    ddl = "CREATE VIEW v AS WITH x AS (SELECT * FROM t) SELECT a FROM x;"
    out = sqltext.qualify_created(ddl, "wh", "main", "duckdb")
    assert out == 'CREATE VIEW "wh"."main"."v" AS WITH x AS (SELECT * FROM t) SELECT a FROM x'
    assert sqltext.qualify_created('CREATE VIEW "My S"."Odd V" AS SELECT 1', "wh", "x", "duckdb") == (
        'CREATE VIEW "wh"."My S"."Odd V" AS SELECT 1'
    )


def test_repoint_view_moves_references_across_schemas():
    definition = 'SELECT k.id FROM "__sagaz_sc_0123456789__shop"."__sagaz_bk_0123456789__orders" AS k'
    out = sqltext.repoint_view(
        definition, "__sagaz_sc_0123456789__shop", "__sagaz_bk_0123456789__orders", "orders", "postgres", new_schema="shop"
    )
    assert out == 'SELECT k.id FROM "shop"."orders" AS k'
    # A relation of the same name in another schema is not touched.
    other = 'SELECT id FROM other."__sagaz_bk_0123456789__orders"'
    assert sqltext.repoint_view(other, "shop", "__sagaz_bk_0123456789__orders", "orders", "postgres", new_schema="x") == (
        'SELECT id FROM other."__sagaz_bk_0123456789__orders"'
    )
