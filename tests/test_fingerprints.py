"""What recovery on DuckDB counts as "changed since the run" (macros/backups/fingerprint.sql).

A build is killed after dbt finished (crash point `built`: every node has left its mark),
a table the run rebuilt is then changed by hand, one way per case, and `recover` must refuse
(naming it, changing nothing) or, unchanged, finish the rollback exactly.

A DuckDB table's fingerprint is its columns (pragma_table_info: one catalog lookup) and its
rows' hashes.  Earlier versions recorded the table's DDL from duckdb_tables() instead; a run
they armed must still be recognised, so the `legacy` cases rewrite the run's mark in that
form before recovering.
"""

from __future__ import annotations

import signal
from typing import Callable

import pytest

from sagaz_dbt.errors import ChangedSinceRunError

from helpers.project import Project, assert_same_state
from test_recovery_safety import recover, sagaz_cli

TABLE = "fct_orders"  # a marts table: rebuilt by every run

#: The fingerprint earlier sagaz-dbt versions recorded for a table (its DDL's md5 from the
#: catalog, the row count, the rows' hash sum): the format of journals already written.
LEGACY_FINGERPRINT = """
select '{"id": "table:' || md5(t.sql) || ':' || r.n::varchar || ':' || r.h::varchar || '"}'
from duckdb_tables() t,
     (select count(*) as n, coalesce(sum(hash(x)), 0) as h from {schema}.%(table)s as x) r
where t.schema_name = '{schema}' and t.table_name = '%(table)s'
""" % {"table": TABLE}

#: (case, the change made after the crash, the mark rewritten to the legacy form, refused?)
CASES = [
    ("unchanged", None, False, False),
    ("a row added", f"insert into {{schema}}.{TABLE} select * from {{schema}}.{TABLE} limit 1", False, True),
    ("a column renamed", f"alter table {{schema}}.{TABLE} rename column order_id to order_key", False, True),
    ("a default added", f"alter table {{schema}}.{TABLE} alter column order_id set default 0", False, True),
    ("legacy mark, unchanged", None, True, False),
    ("legacy mark, a row added", f"insert into {{schema}}.{TABLE} select * from {{schema}}.{TABLE} limit 1", True, True),
]


@pytest.mark.parametrize("case, change, legacy, refused", CASES, ids=[c[0] for c in CASES])
def test_recovery_sees_a_duckdb_table_changed_after_the_crash(
    built: Callable[..., Project], case: str, change: str | None, legacy: bool, refused: bool
) -> None:
    project = built("duckdb")
    project.use_seed_data("day2")
    before = project.state()
    killed = sagaz_cli(project, "build", crash_at="built")
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:] + killed.stderr[-2000:]
    if legacy:
        [(run_id, seq)] = project.query(
            f"select run_id, seq from sagaz.sagaz_steps where schema_name = '{{schema}}' and identifier = '{TABLE}'"
        )
        [(old,)] = project.query(LEGACY_FINGERPRINT)
        assert old.startswith('{"id": "table:'), old
        rewritten = project.inspector.query(
            "update sagaz.sagaz_marks set fingerprint = ? where run_id = ? and seq = ? returning seq", [old, run_id, seq]
        )
        assert rewritten, "the run left no mark for the table"
    if change is not None:
        project.execute(change)
    torn = project.state()

    if refused:
        with pytest.raises(ChangedSinceRunError) as refusal:
            recover(project)
        assert f"{project.schema}.{TABLE} (" in str(refusal.value), str(refusal.value)
        assert_same_state(torn, project.state(), f"{case}: a refused recovery changes nothing")
    else:
        said = recover(project)
        assert_same_state(before, project.state(), f"{case}: the recovered rollback vs before the run\n{said}")
        assert project.leftovers() == []
