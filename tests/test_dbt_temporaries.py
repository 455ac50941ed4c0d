"""dbt's temporary relations that outlive a failed run (DuckDB).

dbt-duckdb writes a Python incremental model's batch to `<model>__dbt_tmp<timestamp>`, a
real table in the database's default schema, and never drops it: plain dbt leaves one per
run.  A rollback must leave the warehouse as it was: the one the failed run created goes,
the one an earlier (successful) run left stays, and a successful run keeps its own, as
plain dbt does.
"""

from __future__ import annotations

from typing import Callable

from helpers.project import Project, assert_same_state

BASE = """\
{{ config(materialized='table') }}
select n as id, n * {{ var('factor', 1) }} as amount from range(1, 4) as t(n)
"""
PY_INCREMENTAL = """\
def model(dbt, session):
    dbt.config(materialized="incremental", unique_key="id")
    return dbt.ref("base")
"""
SQL_INCREMENTAL = """\
{{ config(materialized='incremental', unique_key='id') }}
select id, amount from {{ ref('base') }}
"""


def _temporaries(proj: Project) -> list[str]:
    rows = proj.query("select schema_name, table_name from duckdb_tables() where table_name like '%\\_\\_dbt\\_tmp%' escape '\\'")
    return sorted(f"{s}.{n}" for s, n in rows)


def test_a_failed_run_drops_the_temporaries_it_created_and_only_those(project: Callable[..., Project]) -> None:
    proj = project("duckdb", name="kinds")
    proj.write("models/base.sql", BASE)
    proj.write("models/py_inc.py", PY_INCREMENTAL)
    proj.write("models/sql_inc.sql", SQL_INCREMENTAL)
    proj.write("tests/fail_switch.sql", "select 1 as failed where {{ var('fail') }}\n")
    assert proj.sagaz().status == "committed", proj.last_output
    assert proj.sagaz("--vars", "{factor: 2}").status == "committed", proj.last_output
    left_by_success = _temporaries(proj)
    assert len(left_by_success) == 1 and "py_inc__dbt_tmp" in left_by_success[0], left_by_success  # as plain dbt
    before = proj.state()

    result = proj.sagaz("--vars", "{factor: 3, fail: true}")

    assert result.status == "rolled_back", f"{result.error}\n{proj.last_output}"
    assert _temporaries(proj) == left_by_success, "the failed run's temporary must go, the earlier one stay"
    assert_same_state(before, proj.state(), "after the rollback vs before the run")
    assert proj.leftovers() == []
