"""Tables with secondary indexes (DuckDB) and with foreign keys (both engines) come back
exactly after a failed run, indexes and constraints included.

DuckDB refuses to rename a table that has a secondary index, so dbt-duckdb drops a table's
indexes before it renames the table to its backup: sagaz-dbt records them while arming and
recreates them on the swapped-back table.  DuckDB also never renames a table with a foreign
key, nor drops a table a foreign key references: dbt-duckdb rebuilds a table with a foreign
key in place (sagaz-dbt copies it first and recreates it from its pre-run DDL), and drops the
tables that reference a table it rebuilds, to recreate them later in the run.
"""

from __future__ import annotations

from typing import Callable

import pytest

from helpers import ENGINES
from helpers.project import Project, assert_same_state


def actions(result) -> dict[str, str]:
    return {s.step.unique_id: s.action for s in result.saga.steps}


def assert_rolled_back(proj: Project, result, failing: str) -> None:
    assert result.exit_code == 1 and result.status == "rolled_back", f"{result.error}\n{proj.last_output}"
    assert failing in [f.unique_id for f in result.dbt.failed_nodes]
    assert proj.leftovers() == []


def write_csv(proj: Project, name: str, header: str, rows: list[tuple]) -> None:
    lines = [header, *(",".join(str(v) for v in row) for row in rows)]
    proj.write(f"seeds/{name}.csv", "\n".join(lines) + "\n")


# -- secondary indexes (DuckDB) ----------------------------------------------------------------

INDEXED = {
    "models/indexed_table.sql": """\
{{ config(materialized='table', indexes=[{'columns': ['x']}]) }}
select id, x, amount * {{ var('factor', 1) }} as amount from {{ ref('items') }}
""",
    # It reads indexed_table so that the two never run at once: in plain dbt too, while one
    # thread's open transaction renames an indexed table, dbt-duckdb's duckdb_indexes() query
    # in another thread fails now and then ("Table with name indexed_table__dbt_backup does
    # not exist!"; 3 of 40 plain `dbt build --full-refresh` runs here).
    "models/indexed_incremental.sql": """\
{{ config(
    materialized='incremental', unique_key='id', incremental_strategy='delete+insert',
    indexes=[{'columns': ['id'], 'unique': true}, {'columns': ['x']}],
) }}
select id, x, amount from {{ ref('indexed_table') }}
""",
    # DuckDB adds a column to an indexed table, but drops none while the table has an index.
    "models/indexed_widened.sql": """\
{{ config(
    materialized='incremental', unique_key='id', incremental_strategy='delete+insert',
    on_schema_change='append_new_columns', indexes=[{'columns': ['x']}],
) }}
select id, x, amount{% if var('wide', false) %}, amount * 2 as doubled{% endif %} from {{ ref('indexed_incremental') }}
""",
    "tests/fail_switch.sql": """\
select * from {{ ref('indexed_table') }} join {{ ref('indexed_widened') }} using (id) where {{ var('fail') }}
""",
}


def indexes(proj: Project) -> list[tuple]:
    """(table, index, unique, DDL) of every user index in the project's schema."""
    return proj.query(
        "select table_name, index_name, is_unique, sql from duckdb_indexes() "
        "where schema_name = '{schema}' and table_name not like '%sagaz%' order by 1, 2"
    )


def test_duckdb_indexes_are_back_after_a_rollback(project: Callable[..., Project]) -> None:
    proj = project("duckdb", name="kinds")
    for path, text in INDEXED.items():
        proj.write(path, text)
    write_csv(proj, "items", "id,x,amount", [(1, "a", 10), (2, "b", 20), (3, "c", 30)])
    assert proj.sagaz().status == "committed", proj.last_output
    write_csv(proj, "items", "id,x,amount", [(2, "b", 21), (3, "z", 30), (4, "d", 40)])  # updates and a new row
    assert proj.sagaz("--vars", "{factor: 2}").status == "committed", proj.last_output
    assert proj.query("select id, x, amount from {schema}.indexed_incremental order by id") == [
        (1, "a", 10), (2, "b", 42), (3, "z", 60), (4, "d", 80)
    ]
    before, before_indexes = proj.state(), indexes(proj)
    assert sorted((t, u) for t, _, u, _ in before_indexes) == [
        ("indexed_incremental", False), ("indexed_incremental", True),
        ("indexed_table", False), ("indexed_widened", False),
    ], before_indexes

    write_csv(proj, "items", "id,x,amount", [(3, "y", 33), (5, "e", 50)])
    expected_actions = {
        # dbt-duckdb dropped the table's index before renaming it away; it was recreated.
        (): {
            "model.kinds.indexed_table": "swapped back",
            "model.kinds.indexed_incremental": "rows restored (keys)",
            "model.kinds.indexed_widened": "rows restored (keys)",  # and its added column dropped
        },
        ("--full-refresh",): {
            "model.kinds.indexed_table": "swapped back",
            "model.kinds.indexed_incremental": "swapped back",
            "model.kinds.indexed_widened": "swapped back",
        },
    }
    for flags, expected in expected_actions.items():
        result = proj.sagaz(*flags, "--vars", "{factor: 3, fail: true, wide: true}")

        assert_rolled_back(proj, result, "test.kinds.fail_switch")
        acts = actions(result)
        assert {uid: acts[uid] for uid in expected} == expected, acts
        assert_same_state(before, proj.state(), f"after the rollback of {flags or 'an incremental run'} vs before")
        assert indexes(proj) == before_indexes, "the indexes must be exactly the pre-run ones"
        # The restored indexes are real: the unique one still refuses a duplicate key.
        with pytest.raises(Exception, match="(?i)duplicate key|constraint"):
            proj.execute("insert into {schema}.indexed_incremental values (1, 'dup', 0)")


# -- foreign keys (both engines) -----------------------------------------------------------------

FOREIGN_KEYS = {
    "models/customers.sql": "{{ config(materialized='table') }}\nselect id, name from {{ ref('raw_customers') }}\n",
    "models/orders.sql": """\
{{ config(materialized='table') }}
select order_id, customer_id, amount * {{ var('factor', 1) }} as amount from {{ ref('raw_orders') }}
""",
    "models/schema.yml": """\
models:
  - name: customers
    config: {contract: {enforced: true}}
    columns:
      - {name: id, data_type: integer, constraints: [{type: primary_key}]}
      - {name: name, data_type: varchar}
  - name: orders
    config: {contract: {enforced: true}}
    columns:
      - {name: order_id, data_type: integer, constraints: [{type: primary_key}]}
      - name: customer_id
        data_type: integer
        constraints: [{type: foreign_key, to: ref('customers'), to_columns: [id]}]
      - {name: amount, data_type: integer}
""",
    "tests/fail_switch.sql": "select * from {{ ref('orders') }} where {{ var('fail') }}\n",
}

DUCKDB_KEYS = """\
select table_name, constraint_type, constraint_text from duckdb_constraints()
where schema_name = '{schema}' and constraint_type in ('PRIMARY KEY', 'FOREIGN KEY')
  and table_name not like '%sagaz%'
order by 1, 2
"""
POSTGRES_KEYS = """\
select conrelid::regclass::text, contype::text, pg_get_constraintdef(oid) from pg_constraint
where connamespace = '{schema}'::regnamespace and contype in ('p', 'f')
order by 1, 2
"""


def keys(proj: Project) -> list[tuple]:
    return proj.query(DUCKDB_KEYS if proj.engine == "duckdb" else POSTGRES_KEYS)


def foreign_key_project(proj: Project) -> Project:
    """Built twice, the second time with every row changed: the state before the run under test."""
    for path, text in FOREIGN_KEYS.items():
        proj.write(path, text)
    write_csv(proj, "raw_customers", "id,name", [(1, "ann"), (2, "bob"), (3, "cyd")])
    write_csv(proj, "raw_orders", "order_id,customer_id,amount", [(10, 1, 5), (11, 2, 7)])
    assert proj.sagaz().status == "committed", proj.last_output
    write_csv(proj, "raw_customers", "id,name", [(1, "ann"), (2, "bobby"), (3, "cyd")])
    write_csv(proj, "raw_orders", "order_id,customer_id,amount", [(10, 1, 6), (11, 2, 7), (12, 3, 1)])
    assert proj.sagaz("--vars", "{factor: 2}").status == "committed", proj.last_output
    assert len([k for k in keys(proj) if k[1] in ("FOREIGN KEY", "f")]) == 1, keys(proj)
    # The failing runs' data: bob renamed again, cyd gone with her order, a new order of ann.
    write_csv(proj, "raw_customers", "id,name", [(1, "ann"), (2, "rob")])
    write_csv(proj, "raw_orders", "order_id,customer_id,amount", [(10, 1, 6), (11, 2, 8), (13, 1, 2)])
    return proj


def schemaless_keys(proj: Project) -> list[tuple]:
    return [(table.split(".")[-1], kind, ddl.replace(proj.schema, "")) for table, kind, ddl in keys(proj)]


def assert_keys_enforced(proj: Project) -> None:
    with pytest.raises(Exception, match="(?i)foreign key"):
        proj.execute("insert into {schema}.orders values (99, 999, 1)")


@pytest.mark.parametrize("engine", ENGINES)
def test_table_with_a_foreign_key_is_restored(engine: str, project: Callable[..., Project]) -> None:
    """Only the referencing table is rebuilt: DuckDB rebuilds it in place (copied first,
    recreated from its DDL and copy), Postgres swaps it (kept by rename, swapped back)."""
    proj = foreign_key_project(project(engine, name="kinds"))
    before, before_keys = proj.state(), keys(proj)

    result = proj.sagaz("--select", "orders", "--vars", "{factor: 3, fail: true}")

    assert_rolled_back(proj, result, "test.kinds.fail_switch")
    expected = "recreated" if engine == "duckdb" else "swapped back"
    assert actions(result) == {"model.kinds.orders": expected}, actions(result)
    assert_same_state(before, proj.state(), "after the rollback vs before the run")
    assert keys(proj) == before_keys
    assert_keys_enforced(proj)

    if engine == "duckdb":
        # Rebuilding only the referenced table: dbt-duckdb refuses (it may drop a referencing
        # table only when the run rebuilds it), the model errors, and nothing has changed.
        result = proj.sagaz("--select", "customers")

        assert_rolled_back(proj, result, "model.kinds.customers")
        assert "does not allow replacing a table that a foreign key references" in result.dbt.failed_nodes[0].message
        assert actions(result) == {"model.kinds.customers": "untouched"}, actions(result)
        assert_same_state(before, proj.state(), "after the rollback vs before the run")
        assert keys(proj) == before_keys


@pytest.mark.parametrize("engine", ENGINES)
def test_table_referenced_by_a_foreign_key_is_restored(engine: str, project: Callable[..., Project]) -> None:
    """The referenced table is rebuilt while the table referencing it exists (both selected:
    dbt-duckdb drops the referencing table first and rebuilds it later in the run).  On
    DuckDB the rollback drops the referencing table first, swaps the referenced one back,
    then recreates the referencing table from its pre-run DDL and copy."""
    proj = foreign_key_project(project(engine, name="kinds"))
    before, before_keys = proj.state(), keys(proj)

    result = proj.sagaz("--vars", "{factor: 3, fail: true}")

    assert_rolled_back(proj, result, "test.kinds.fail_switch")
    acts = actions(result)
    assert acts["model.kinds.customers"] == "swapped back", acts
    assert acts["model.kinds.orders"] == ("recreated" if engine == "duckdb" else "swapped back"), acts
    assert_same_state(before, proj.state(), "after the rollback vs before the run")
    assert keys(proj) == before_keys, "the foreign key must reference the restored table"
    assert_keys_enforced(proj)


@pytest.mark.postgres
def test_referenced_table_rebuilt_alone_matches_plain_dbt(project: Callable[..., Project]) -> None:
    """Postgres, `--select customers` while orders references it: the rebuild succeeds, and the
    DROP ... CASCADE of the old table silently drops orders' foreign key, in plain dbt as in
    sagaz-dbt (whose kept backup is dropped, with CASCADE, on release)."""
    plain = foreign_key_project(project("postgres", name="kinds", label="plain"))
    ours = foreign_key_project(project("postgres", name="kinds", label="sagaz"))

    assert plain.dbt("--select", "customers").success
    result = ours.sagaz("--select", "customers")

    assert result.exit_code == 0 and result.status == "committed", result.error
    assert_same_state(plain.state(), ours.state(), "sagaz-dbt's warehouse vs plain dbt's")
    ours_keys, plain_keys = schemaless_keys(ours), schemaless_keys(plain)
    assert ours_keys == plain_keys
    assert [kind for _, kind, _ in ours_keys] == ["p", "p"], "the foreign key is gone, as in plain dbt"
    assert ours.leftovers() == []


@pytest.mark.parametrize("engine", ENGINES)
def test_referencing_table_skipped_after_its_parent_rebuilt_gets_its_keys_back(
    engine: str, project: Callable[..., Project]
) -> None:
    """A test on the referenced table fails, so dbt skips the referencing table: on DuckDB,
    dbt-duckdb has already put the referencing table back without its constraints while it
    rebuilt the referenced one, so the rollback must recreate it although its node never ran."""
    proj = foreign_key_project(project(engine, name="kinds"))
    proj.write("tests/fail_parent.sql", "select * from {{ ref('customers') }} where {{ var('fail_parent', false) }}\n")
    before, before_keys = proj.state(), keys(proj)

    result = proj.sagaz("--vars", "{factor: 3, fail: false, fail_parent: true}")

    assert_rolled_back(proj, result, "test.kinds.fail_parent")
    assert result.dbt.tracker.outcomes["model.kinds.orders"].status == "skipped"
    assert_same_state(before, proj.state(), "after the rollback vs before the run")
    assert keys(proj) == before_keys, "the referencing table's keys must be back"
    assert_keys_enforced(proj)
