"""dbt-duckdb's `external` materialization writes a file and a view that reads it.

The view is kept by the rename like any view, but a kept view that reads a path reads
whatever file is there: without the file's own backup a rollback "restored" the view to
read the failed run's data.  The file (or partitioned folder) is copied while arming and
put back by the rollback, so the view reads the pre-run rows again.
"""

from __future__ import annotations

import signal
from typing import Callable

from helpers.project import Project, assert_same_state
from test_recovery_safety import recover, sagaz_cli

EXTERNAL = """\
{{ config(materialized='external', location=var('root') ~ '/orders_out.parquet') }}
select range as id, range * {{ var('factor', 1) }} as amount from range(5)
"""

PARTITIONED = """\
{{ config(materialized='external', location=var('root') ~ '/by_day', options={'partition_by': 'day', 'overwrite': true}) }}
select range as id, range % 2 as day, range * {{ var('factor', 1) }} as amount from range(6)
"""


def test_external_files_are_restored_with_their_views(project: Callable[..., Project]) -> None:
    proj = project("duckdb", name="kinds")
    root = proj.root / "files"
    root.mkdir()
    proj.write("models/orders_out.sql", EXTERNAL)
    proj.write("models/by_day.sql", PARTITIONED)
    proj.write("tests/assert_ok.sql", "select * from {{ ref('orders_out') }} where {{ 'true' if var('fail') else 'false' }}\n")
    root_var = "root: '" + str(root) + "'"
    assert proj.sagaz("--vars", "{" + root_var + "}").status == "committed", proj.last_output
    before = proj.state()

    result = proj.sagaz("--vars", "{" + root_var + ", factor: 10, fail: true}")

    assert result.status == "rolled_back", proj.last_output
    assert_same_state(before, proj.state(), "after rollback vs before")
    assert sorted(p.name for p in root.iterdir()) == ["by_day", "orders_out.parquet"], "no backup file may remain"
    again = proj.sagaz("--vars", "{" + root_var + ", factor: 3}")
    assert again.status == "committed", proj.last_output
    assert proj.query("select max(amount) from {schema}.orders_out")[0][0] == 12


def test_an_external_model_new_in_a_killed_run_is_recovered(project: Callable[..., Project]) -> None:
    """The post-hook mark of an external model fingerprints a view (what dbt-duckdb builds),
    so recovery, which fingerprints the view it finds, recognises what the killed run left and
    rolls it back, instead of refusing it as changed by someone else."""
    proj = project("duckdb", name="kinds")
    root = proj.root / "files"
    root.mkdir()
    root_var = "{root: '" + str(root) + "'}"
    assert proj.sagaz("--vars", root_var).status == "committed", proj.last_output
    before = proj.state()
    proj.write("models/orders_out.sql", EXTERNAL)

    killed = sagaz_cli(proj, "build", "--vars", root_var, crash_at="built")
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:] + killed.stderr[-2000:]
    assert proj.query("select count(*) from {schema}.orders_out") == [(5,)]  # the killed run built it

    said = recover(proj)

    assert_same_state(before, proj.state(), f"recovered vs before the killed run\n{said}")
    assert proj.leftovers() == []
