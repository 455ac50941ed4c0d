"""Relations that hooks write: restored when listed under `vars.sagaz.protect`, reported
(and left as the run left them) otherwise.

The project logs every run to an audit table from `on-run-start`/`on-run-end` (a log must
keep the row that says the run failed), and a model's pre-hook appends to a `rates` table
the models depend on (which must go back with them).  A failing run must restore `rates`
and every model exactly, keep the audit rows, and say which hook-written relation it left.
"""

from __future__ import annotations

from typing import Callable

import pytest

from helpers import ENGINES
from helpers.project import Project, assert_same_state

PROJECT_YML = """\
name: kinds
version: "1.0.0"
config-version: 2
profile: kinds
vars:
  fail: false
  sagaz:
    protect: [rates, fresh_lookup]
on-run-start:
  - "create table if not exists {{ target.schema }}.audit_log (invocation varchar(64), phase varchar(16))"
  - "create table if not exists {{ target.schema }}.rates (rate integer)"
  - "insert into {{ target.schema }}.audit_log values ('{{ invocation_id }}', 'start')"
on-run-end:
  - "insert into {{ target.schema }}.audit_log values ('{{ invocation_id }}', 'end')"
"""

RATES_USER = """\
{{ config(materialized='table',
          pre_hook="insert into {{ target.schema }}.rates values ({{ var('rate', 1) }})",
          post_hook="create table if not exists {{ target.schema }}.fresh_lookup as select 1 as one") }}
select count(*) as n_rates, max(rate) as top_rate from {{ target.schema }}.rates
"""

FAILING_TEST = "select * from {{ ref('rates_user') }} where {{ 'true' if var('fail') else 'false' }}\n"


def _without(state: dict, *names: str) -> dict:
    return {k: v for k, v in state.items() if k.rsplit(".", 1)[-1] not in names}


@pytest.mark.parametrize("engine", ENGINES)
def test_protected_hook_relations_are_restored_and_others_reported(
    engine: str, project: Callable[..., Project]
) -> None:
    proj = project(engine, name="kinds")
    proj.write("dbt_project.yml", PROJECT_YML)
    proj.write("models/rates_user.sql", RATES_USER)
    proj.write("tests/assert_not_failing.sql", FAILING_TEST)
    proj.write("models/dropped_later.sql", "select 1 as x\n")
    first = proj.sagaz()
    assert first.status == "committed", proj.last_output
    proj.execute("drop table {schema}.fresh_lookup")  # the next run's post-hook creates it anew
    before = proj.state()
    audit_before = proj.query("select count(*) from {schema}.audit_log")[0][0]
    assert audit_before == 2

    result = proj.sagaz("--vars", "{fail: true, rate: 5}")

    assert result.status == "rolled_back", proj.last_output
    after = proj.state()
    # Models and protected relations: exactly as before (rates lost its new row; the table
    # the post-hook created is dropped again).
    assert_same_state(_without(before, "audit_log"), _without(after, "audit_log"), "after rollback vs before")
    assert proj.query("select count(*) from {schema}.audit_log")[0][0] == audit_before + 2, "the audit log keeps its rows"
    writes = {(w["relation"].rsplit(".", 1)[-1], w["protected"]) for w in result.report.hook_relations}
    assert ("audit_log", False) in writes, result.report.hook_relations
    assert ("rates", True) in writes, result.report.hook_relations
    assert ("fresh_lookup", True) in writes, result.report.hook_relations
    assert any("audit_log" in w and "vars" in w for w in result.report.warnings), result.report.warnings
    assert "audit_log" in proj.last_output
    assert proj.leftovers() == []

    again = proj.sagaz("--vars", "{rate: 7}")
    assert again.status == "committed", proj.last_output
    assert proj.query("select max(rate) from {schema}.rates")[0][0] == 7


@pytest.mark.parametrize(
    "text, expected",
    [
        ("rates", ("rates", None, None)),
        ("audit.run_log", ("run_log", "audit", None)),
        ("db.audit.run_log", ("run_log", "audit", "db")),
        ('"My.Schema"."Odd ""Name"""', ('Odd "Name"', "My.Schema", None)),
    ],
)
def test_protect_names_parse(text: str, expected: tuple) -> None:
    from sagaz_dbt.saga.hook_relations import parse_name

    name = parse_name(text)
    assert (name.identifier, name.schema, name.database) == expected


@pytest.mark.parametrize("text", ["", "a..b", "a.b.c.d", '"open', "."])
def test_bad_protect_names_are_usage_errors(text: str) -> None:
    from sagaz_dbt.errors import UsageError
    from sagaz_dbt.saga.hook_relations import parse_name

    with pytest.raises(UsageError):
        parse_name(text)


@pytest.mark.parametrize(
    "sql, targets",
    [
        ("insert into audit.log (a) select 1", [("log", "audit")]),
        ('update "Audit".log set a = 1', [("log", "Audit")]),
        ("delete from log where true", [("log", None)]),
        ("create table if not exists s.t (a int)", [("t", "s")]),
        ("drop table if exists s.x cascade", [("x", "s")]),
        ("truncate table s.a", [("a", "s")]),
        ("select * from s.t", []),
        ("grant select on s.t to bob", []),
    ],
)
def test_write_targets(sql: str, targets: list) -> None:
    from sagaz_dbt.saga.hook_relations import write_targets

    assert [(t.identifier, t.schema) for t in write_targets(sql, "postgres")] == targets
