"""A model that lists its whole schema sees what it sees under plain dbt (issue 13).

sagaz-dbt's own relations (kept backups, copies, batch keys) must not be visible where a
user's macro lists a schema: `information_schema.tables`, dbt's
`list_relations_without_caching`, `dbt_utils.get_relations_by_pattern(schema, '%')` +
`union_relations`.  The census model below runs last in its schema, on a second build, when
every other relation of the schema has a backup, and stores what it listed; its rows must
equal plain dbt's.

Postgres: kept backups move to the run's backup schema inside dbt's own swap transaction,
copies are created there.  DuckDB cannot move a relation across schemas: with
`vars: {sagaz: {isolate_backups: true}}` it copies instead, so nothing is visible either;
without it, only `__sagaz_`-first names are (by design, README).
"""

from __future__ import annotations

import json

import pytest

from helpers import ENGINES
from helpers.project import Project, assert_same_state

#: Every relation of the shop project's main schema, so the census runs after all of them.
UPSTREAM = [
    "customers",
    "orders",
    "payments",
    "stg_customers",
    "stg_orders",
    "stg_payments",
    "order_lines",
    "customer_ranking",
    "fct_orders",
    "customer_ltv",
    "payments_log",
    "orders_current",
    "customers_snapshot",
    "daily_revenue",
]

CENSUS = (
    "{{ config(materialized='table') }}\n"
    + "".join(f"-- depends_on: {{{{ ref('{name}') }}}}\n" for name in UPSTREAM)
    + """\
{%- set listed = [] -%}
{%- if execute -%}
  {%- set schema_relation = api.Relation.create(database=this.database, schema=this.schema).without_identifier() -%}
  {%- for row in list_relations_without_caching(schema_relation) -%}
    {%- if not (row['name'] | lower).startswith('census') -%}{%- do listed.append(row['name']) -%}{%- endif -%}
  {%- endfor -%}
{%- endif %}
select 'information_schema' as source, table_name as name
from information_schema.tables
where table_schema = '{{ this.schema }}' and lower(table_name) not like 'census%'
{%- for name in listed %}
union all
select 'dbt listing' as source, '{{ name }}' as name
{%- endfor %}
"""
)


def _with_census(p: Project, isolate: bool = False) -> None:
    p.write("models/census.sql", CENSUS)
    if isolate:
        yml = (p.root / "dbt_project.yml").read_text()
        p.write("dbt_project.yml", yml.replace("vars:\n", "vars:\n  sagaz:\n    isolate_backups: true\n", 1))


def _second_builds(twins, engine: str, isolate: bool = False) -> tuple[Project, Project]:
    plain, sagaz = twins(engine, prebuilt=True)
    for p in (plain, sagaz):
        _with_census(p, isolate)
        assert p.dbt().success  # the census exists before the build under test
        p.use_seed_data("day2")
    assert plain.dbt().success
    result = sagaz.sagaz()
    assert result.exit_code == 0, f"{result.status}: {result.error}\n{sagaz.last_output}"
    assert result.status == "committed"
    return plain, sagaz


def _census(p: Project) -> list[tuple]:
    return sorted(p.query("select source, name from {schema}.census"))


@pytest.mark.parametrize("engine", ENGINES)
def test_a_model_listing_its_schema_sees_what_plain_dbt_shows(engine, twins):
    plain, sagaz = _second_builds(twins, engine, isolate=engine == "duckdb")
    expected = _census(plain)
    # It really listed the schema, both ways, while sagaz-dbt held a backup of every relation.
    assert ("information_schema", "orders") in expected and ("dbt listing", "orders") in expected
    assert _census(sagaz) == expected
    assert_same_state(plain.state(), sagaz.state(), "a model listing its schema: sagaz-dbt's warehouse vs plain dbt's")
    assert sagaz.leftovers() == []
    assert sagaz.schemas() == plain.schemas()


def test_duckdb_zero_copy_backups_are_the_only_difference(twins):
    """By design (README): without isolate_backups, a DuckDB table or view that dbt replaces
    is kept in place under its `__sagaz_`-first name during the run (DuckDB cannot move a
    relation to another schema); copies are in the backup schema.  Prefix listings skip
    them; a whole-schema listing sees exactly those, and nothing else differs."""
    plain, sagaz = _second_builds(twins, "duckdb")
    extra = sorted(set(_census(sagaz)) - set(_census(plain)))
    assert extra and all(name.startswith("__sagaz_bk_") for _, name in extra), extra
    assert set(_census(plain)) <= set(_census(sagaz))
    assert sagaz.leftovers() == []
    assert sagaz.schemas() == plain.schemas()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("flags", [[], ["--full-refresh"]], ids=["incremental", "full_refresh"])
def test_a_failed_build_is_restored_from_the_backup_schema(engine, flags, built):
    """The rollback puts every relation back from where the run kept it (Postgres: moved out
    of the backup schema; DuckDB with isolate_backups: rows from copies, views from their
    DDL), the census included, and drops the run's backup schema.  A full refresh replaces
    incremental tables too (DuckDB with isolate_backups: copied whole while arming)."""
    p = built(engine)
    _with_census(p, isolate=engine == "duckdb")
    assert p.dbt().success
    before, schemas = p.state(), p.schemas()
    p.use_seed_data("day2")

    result = p.sagaz(*flags, "--vars", "{fail_singular: true}")

    assert result.status == "rolled_back", f"{result.status}: {result.error}\n{p.last_output}"
    assert_same_state(before, p.state(), "after the rollback")
    assert p.leftovers() == []
    assert p.schemas() == schemas


def _to_old_layout(p: Project, run_id: str) -> int:
    """Turn a crashed run's journal and backups into what sagaz-dbt wrote before backup
    schemas: every backup in its step's own schema, and no `kept_schema`/`backup_schema`."""
    moved = 0
    for seq, schema, detail in p.query(f"select seq, schema_name, detail from sagaz.sagaz_steps where run_id = '{run_id}'"):
        data = json.loads(detail) if detail else {}
        for where in {data.pop("kept_schema", None), data.pop("backup_schema", None)} - {None}:
            for name, kind in p.query(
                f"select table_name, table_type from information_schema.tables where table_schema = '{where}'"
            ):
                if p.engine == "postgres":
                    what = {"VIEW": "view", "BASE TABLE": "table"}[kind]
                    p.execute(f'alter {what} "{where}"."{name}" set schema "{schema}"')
                else:
                    p.execute(f'create table "{schema}"."{name}" as select * from "{where}"."{name}"; drop table "{where}"."{name}"')
                moved += 1
        p.execute(
            f"update sagaz.sagaz_steps set detail = '{json.dumps(data).replace(chr(39), chr(39) * 2)}'"
            f" where run_id = '{run_id}' and seq = {seq}"
        )
    return moved


@pytest.mark.parametrize("engine", ENGINES)
def test_a_run_journaled_by_the_old_layout_is_recovered(engine, built):
    """Steps without the backup-schema fields mean the old location (the step's schema)."""
    from test_crash_recovery import Build, Trial, recover, run_killed

    p = built(engine, name="crashy")
    before = p.state()
    p.use_seed_data("day2")
    run_killed(p, Trial(Build.FAILING, "built"))
    (run_id,) = [r for (r,) in p.query("select run_id from sagaz.sagaz_runs where status = 'building' and target_schema = '{schema}'")]
    assert _to_old_layout(p, run_id) > 0
    assert p.leftovers(), "the old layout keeps its backups in the user's schema"

    said = recover(p)

    assert_same_state(before, p.state(), f"recovered from the old layout\n{said}")
    assert p.leftovers() == []


def test_unquoted_mixed_case_schema_backups_are_found(project):
    """`quoting: {schema: false}` with a custom schema `Reporting`: Postgres folds it to lower
    case, and the backup schema's name is derived from that catalog name, so the override,
    the pre-hooks and the rollback all find it."""
    p = project("postgres")
    yml = (p.root / "dbt_project.yml").read_text().replace("+schema: reporting", "+schema: Reporting")
    p.write("dbt_project.yml", yml + "\nquoting:\n  schema: false\n")
    assert p.dbt().success
    before, schemas = p.state(), p.schemas()
    assert "{schema}_reporting.daily_revenue" in before, sorted(before)
    p.use_seed_data("day2")

    result = p.sagaz("--vars", "{fail_singular: true}")

    assert result.status == "rolled_back", f"{result.status}: {result.error}\n{p.last_output}"
    assert_same_state(before, p.state(), "after the rollback")
    assert p.leftovers() == []
    assert p.schemas() == schemas
