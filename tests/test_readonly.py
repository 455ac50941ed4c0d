"""Reads never write: `sagaz-dbt runs` lists runs without creating or migrating the journal.

- On Postgres, a real read-only role (login, `usage` on the schemas, `select` on the journal:
  no create, no ownership) lists the runs.  The old code ran `create schema if not exists`
  and `alter table ... add column if not exists` first, which such a role may not.
- A warehouse where no run ever wrote a journal: "no runs", and no journal schema appears.
- A journal of an older sagaz-dbt (a column missing) is read as it is, not migrated.
"""

from __future__ import annotations

import secrets

import pytest

from sagaz_dbt import api
from sagaz_dbt.dbt.session import release_connections

from helpers.project import assert_same_state


def _runs(project) -> list[api.RunSummary]:
    try:
        return api.runs(project.location_args)
    finally:
        release_connections()


@pytest.mark.postgres
def test_read_only_role_lists_runs(built, pg_database):
    project = built("postgres")
    result = project.sagaz()
    assert result.exit_code == 0, project.last_output
    before = project.state()
    role = f"sagaz_ro_{secrets.token_hex(4)}"
    pg_database.execute(f'create role "{role}" login')
    try:
        for sql in (
            f'grant connect on database "{pg_database.dbname}" to "{role}"',
            f'grant usage on schema sagaz, "{project.schema}" to "{role}"',
            f'grant select on all tables in schema sagaz to "{role}"',
        ):
            pg_database.execute(sql)
        project.write_profile(user=role, password="")

        listed = _runs(project)

        assert [(s.run.run_id, s.run.status) for s in listed] == [(result.run_id, "committed")]
        assert listed[0].steps > 0
    finally:
        project.write_profile()
        release_connections()
        pg_database.execute(f'drop owned by "{role}"')
        pg_database.execute(f'drop role "{role}"')
    assert_same_state(before, project.state(), "after runs as a read-only role vs before")


def test_runs_without_a_journal_writes_nothing(built):
    """(DuckDB: the Postgres test database is shared with other projects' journals.)"""
    project = built("duckdb")
    before = project.state()
    schemas_before = project.inspector.query("select schema_name from information_schema.schemata order by 1")

    assert _runs(project) == []

    release_connections()
    assert project.inspector.query("select schema_name from information_schema.schemata order by 1") == schemas_before
    assert_same_state(before, project.state(), "after runs on a warehouse without a journal")
    assert project.sagaz_objects() == []


def test_runs_reads_an_older_journal_without_migrating_it(built):
    project = built("duckdb")
    result = project.sagaz()
    assert result.exit_code == 0, project.last_output
    project.execute("alter table sagaz.sagaz_steps drop column detail")  # as sagaz-dbt wrote it before `detail`
    columns = "select column_name from information_schema.columns where table_schema = 'sagaz' order by all"
    before_columns = project.query(columns)

    listed = _runs(project)

    assert [(s.run.run_id, s.run.status) for s in listed] == [(result.run_id, "committed")]
    assert listed[0].steps > 0
    assert project.query(columns) == before_columns, "runs migrated the journal"
