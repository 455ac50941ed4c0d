"""DuckDB profiles with `attach:`: one transaction can write only one attached database.

A run whose models and journal all live in the main database works when another database
is attached and only read (sources there): it commits, and a failing run restores exactly.
A run that would write a model into the attached database is refused before arming, with
exit 2, a message that says why and what to do, and nothing changed in either database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import duckdb

from helpers.inspect import DuckDBInspector
from helpers.project import Project, assert_same_state

ORDERS = """\
{{ config(materialized='table') }}
select id, amount * {{ var('factor', 1) }} as amount from other.src.raw_orders
"""
TOTALS = """\
{{ config(materialized='incremental', unique_key='id') }}
select id, sum(amount) as total from {{ ref('orders') }} group by id
"""
IN_OTHER = """\
{{ config(materialized='table', database='other') }}
select id from {{ ref('orders') }}
"""


def _attached(proj: Project) -> Path:
    path = proj.root / "other.duckdb"
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema src; create table src.raw_orders as select * from (values (1, 10), (2, 20)) as v(id, amount)")
    finally:
        con.close()
    proj.write_profile(attach=[{"path": str(path), "alias": "other"}])
    return path


def test_attached_database_read_only_in_practice_is_protected(project: Callable[..., Project]) -> None:
    proj = project("duckdb", name="kinds")
    other = DuckDBInspector(_attached(proj), "src")
    proj.write("models/orders.sql", ORDERS)
    proj.write("models/totals.sql", TOTALS)
    proj.write("tests/fail_switch.sql", "select 1 as failed where {{ var('fail') }}\n")
    assert proj.sagaz().status == "committed", proj.last_output
    assert proj.sagaz("--vars", "{factor: 2}").status == "committed", proj.last_output
    before, other_before = proj.state(), other.state()

    result = proj.sagaz("--vars", "{factor: 3, fail: true}")

    assert result.status == "rolled_back", f"{result.error}\n{proj.last_output}"
    assert_same_state(before, proj.state(), "after the rollback vs before the run")
    assert_same_state(other_before, other.state(), "the attached database")
    assert proj.leftovers() == []


def test_a_model_in_the_attached_database_is_refused_before_arming(project: Callable[..., Project]) -> None:
    proj = project("duckdb", name="kinds")
    other = DuckDBInspector(_attached(proj), "src")
    proj.write("models/orders.sql", ORDERS)
    assert proj.sagaz().status == "committed", proj.last_output
    proj.write("models/in_other.sql", IN_OTHER)
    before, other_before = proj.state(), other.state()

    result = proj.sagaz("--vars", "{factor: 2}")

    assert result.exit_code == 2 and result.status == "not_started", proj.last_output
    text = " ".join(proj.last_output.split())
    assert "model.kinds.in_other (database other)" in text, text
    assert "can write only one database" in text and "No relation was changed." in text, text
    assert result.dbt is None, "dbt must not have run"
    assert proj.journal_run(result.run_id) is None, "nothing may be armed"
    assert_same_state(before, proj.state(), "the main database")
    assert_same_state(other_before, other.state(), "the attached database")
    assert proj.leftovers() == []
    # The refusal blocks nothing: the next build without that model works.
    (proj.root / "models/in_other.sql").unlink()
    assert proj.sagaz("--vars", "{factor: 2}").status == "committed", proj.last_output
