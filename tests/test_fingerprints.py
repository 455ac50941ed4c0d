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

import json
import signal
from pathlib import Path
from typing import Callable

import pytest
import yaml

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


# -- views, fingerprinted while arming --------------------------------------------------------

#: Views with names a catalog scan must match exactly (a quote, comment markers, markup,
#: multi-byte, upper case): arming fingerprints them all in one scan of
#: duckdb_views() (duckdb__fingerprints_sql), which must give each exactly what the one-view
#: fingerprint gives (duckdb__fingerprint_sql, which the marks use).
VIEWS = ["[bold]x[/bold]", "o'ü v -- x /* y", "Mixed Case"]

#: What duckdb__fingerprint_sql gives for one view, for the test to compare with.
ONE_VIEW = """
select '{"id": "view:' || md5(sql) || '"}' from duckdb_views()
where schema_name = ? and view_name = ?
"""


def _views_project(root: Path) -> Path:
    for folder in ("seeds", "models"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text("name: views\nversion: '1.0'\nconfig-version: 2\nprofile: views\n")
    (root / "seeds" / "raw.csv").write_text("id,amount\n1,10\n2,20\n")
    models = [{"name": "report_table", "config": {"materialized": "table", "alias": "report"}}]
    (root / "models" / "report_table.sql").write_text("select id, amount from {{ ref('raw') }}\n")
    for n, alias in enumerate(VIEWS):
        (root / "models" / f"v{n}.sql").write_text(f"select id, amount * {n + 2} as amount from {{{{ ref('raw') }}}}\n")
        models.append({"name": f"v{n}", "config": {"materialized": "view", "alias": alias}})
    (root / "models" / "schema.yml").write_text(yaml.safe_dump({"version": 2, "models": models}))
    return root


@pytest.mark.parametrize("changed", [False, True], ids=["unchanged", "a view replaced by hand"])
def test_views_armed_in_one_scan_are_fingerprinted_each_exactly(
    project: Callable[..., Project], tmp_path: Path, changed: bool
) -> None:
    proj = project("duckdb", name="views", template=_views_project(tmp_path / "template"))
    assert proj.dbt().success
    before = proj.state()
    assert {f"{{schema}}.{v}" for v in VIEWS} <= set(before), sorted(before)

    killed = sagaz_cli(proj, "build", crash_at="armed")
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:] + killed.stderr[-2000:]
    steps = proj.inspector.query(
        "select s.identifier, s.detail from sagaz.sagaz_steps s join sagaz.sagaz_runs r using (run_id) "
        "where r.status = 'building' and s.pre_type = 'view'"
    )
    armed = {identifier: json.loads(detail)["fingerprint"] for identifier, detail in steps}
    assert sorted(armed) == sorted(VIEWS), armed
    for view in VIEWS:
        [(expected,)] = proj.inspector.query(ONE_VIEW, [proj.schema, view])
        assert armed[view] == expected, view

    if changed:
        quoted = '"' + VIEWS[1].replace('"', '""') + '"'
        proj.execute(f"create or replace view {{schema}}.{quoted} as select 1 as id, 2 as amount")
        torn = proj.state()
        with pytest.raises(ChangedSinceRunError) as refusal:
            recover(proj)
        assert f"{proj.schema}.{VIEWS[1]} (" in str(refusal.value), str(refusal.value)
        assert [f"{proj.schema}.{v} (" in str(refusal.value) for v in VIEWS] == [False, True, False]
        assert_same_state(torn, proj.state(), "a refused recovery changes nothing")
    else:
        recover(proj)
        assert_same_state(before, proj.state(), "the recovered run vs before it")
        assert proj.leftovers() == []
