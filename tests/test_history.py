"""Run history, manual rollback of a committed run, and gc of kept backups (DuckDB)."""

from __future__ import annotations

import io
import json
from typing import Callable

from rich.console import Console

import sagaz_dbt.api as api
from sagaz_dbt.dbt.session import release_connections

from helpers.project import Project, assert_same_state


def _quiet() -> Console:
    return Console(file=io.StringIO(), width=200, no_color=True)


def test_keep_backups_then_rollback_restores_the_pre_run_state(built: Callable[..., Project]) -> None:
    project = built("duckdb", name="crashy")
    before = project.state()
    project.use_seed_data("day2")

    committed = project.sagaz("--keep-backups", "1")
    assert committed.status == "committed", project.last_output
    after = project.state()
    assert after != before
    assert project.leftovers(), "--keep-backups 1 must keep the run's backups"

    try:
        history = api.runs(project.location_args)
    finally:
        release_connections()
    assert [(s.run.run_id, s.run.status) for s in history][-1] == (committed.run_id, "committed")
    assert history[-1].retained == history[-1].steps > 0

    try:
        api.rollback(committed.run_id, project.location_args, console=_quiet())
    finally:
        release_connections()
    assert_same_state(before, project.state(), "after `sagaz-dbt rollback`")
    assert project.leftovers() == []
    assert project.journal_run(committed.run_id)[0] == "rolled_back"


def test_gc_drops_kept_backups_and_nothing_else(built: Callable[..., Project]) -> None:
    project = built("duckdb", name="crashy")
    project.use_seed_data("day2")
    assert project.sagaz("--keep-backups", "2").status == "committed"
    after = project.state()
    assert project.leftovers()

    try:
        dropped = api.gc(project.location_args, keep=0, console=_quiet())
    finally:
        release_connections()
    assert dropped == 1
    assert project.leftovers() == []
    assert_same_state(after, project.state(), "after `sagaz-dbt gc`")


def test_gc_sweeps_the_empty_backup_schemas_a_crash_left(built: Callable[..., Project]) -> None:
    """A crash right after a run's last phase committed leaves its backup schemas (it drops
    them in a transaction of their own just after): `gc` drops the empty ones, keeps one that
    holds something, and changes no relation of the user's."""
    project = built("postgres", name="crashy")
    project.use_seed_data("day2")
    committed = project.sagaz()
    assert committed.status == "committed", project.last_output
    release_connections()
    details = project.inspector.query(
        f"select detail from sagaz.sagaz_steps where run_id = {project._param}", [committed.run_id]
    )
    recorded = sorted(
        {s for (detail,) in details for s in (json.loads(detail or "{}").get(k) for k in ("kept_schema", "backup_schema")) if s}
    )
    assert recorded, "the run recorded no backup schema: nothing to sweep"
    after = project.state()

    empty, holding = recorded[0], recorded[-1] if len(recorded) > 1 else None
    project.execute(f'create schema "{empty}"')  # as the crash left it
    if holding is not None:
        project.execute(f'create schema "{holding}"')
        project.execute(f'create table "{holding}".put_by_hand as select 1 as x')
    assert empty in _schemas(project)

    try:
        api.gc(project.location_args, keep=0, console=_quiet())
    finally:
        release_connections()
    present = _schemas(project)
    assert empty not in present
    if holding is not None:
        assert holding in present and project.query(f'select x from "{holding}".put_by_hand') == [(1,)]
        project.execute(f'drop schema "{holding}" cascade')
    assert_same_state(after, project.state(), "after `sagaz-dbt gc`")


def _schemas(project: Project) -> set[str]:
    return {name for (name,) in project.query("select schema_name from information_schema.schemata")}
