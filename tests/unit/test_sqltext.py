"""sqltext: the DDL sagaz-dbt records and rewrites (backup schemas, issue 13)."""

from __future__ import annotations

from sagaz_dbt import sqltext


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
