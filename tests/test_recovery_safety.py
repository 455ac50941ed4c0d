"""Recovery that never mixes states (issue 12, "Trust").

A sagaz-dbt build is SIGKILLed mid-build (crash point `node-finished:3`).  Then:

- plain `dbt build` is stopped by the installed package's guard, and changes nothing;
- with the package deleted (as `dbt deps` would), plain dbt builds on top of the torn run;
  `sagaz-dbt recover` then refuses, naming the relations that changed, and changes
  nothing; a new `sagaz-dbt build` says the older run could not be recovered and that it
  never started; `recover --force` finishes the rollback anyway;
- the happy path: kill, recover, with SIGKILLs at every point of the recovery itself,
  ends exactly in the pre-run state with no stray sagaz relation.

Every check is on the warehouse's rows (checksums of every relation), not on exit codes.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest
from rich.console import Console

import sagaz_dbt.api
from sagaz_dbt.dbt import package
from sagaz_dbt.errors import ChangedSinceRunError
from sagaz_dbt.dbt.session import release_connections

from helpers.project import RUN_ID_ENV, Project, assert_same_state

KILL_BUILD_AT = "node-finished:3"


def _env(crash_at: str | None) -> dict[str, str]:
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1"}
    env.pop(RUN_ID_ENV, None)
    env.pop("SAGAZ_DBT_CRASH_AT", None)
    if crash_at:
        env["SAGAZ_DBT_CRASH_AT"] = crash_at
    return env


def sagaz_cli(project: Project, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    release_connections()
    exe = Path(sys.executable).parent / "sagaz-dbt"
    return subprocess.run(
        [str(exe), *args, *project.location_args],
        env=_env(crash_at),
        cwd=project.root,
        capture_output=True,
        text=True,
        timeout=300,
    )


def recover(project: Project, force: bool = False) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, no_color=True, highlight=False, soft_wrap=True)
    try:
        sagaz_dbt.api.recover(project.location_args, force=force, console=console)
    finally:
        release_connections()
    return buffer.getvalue()


def killed_build(project: Project) -> None:
    proc = sagaz_cli(project, "build", crash_at=KILL_BUILD_AT)
    assert proc.returncode == -9, f"the build was not killed at {KILL_BUILD_AT}:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"


def unfinished_runs(project: Project) -> list[tuple]:
    # this project's runs only: on Postgres the session database's journal is shared by tests
    return project.query(
        "select run_id, status from sagaz.sagaz_runs where status not in ('committed', 'rolled_back') "
        "and target_schema = '{schema}'"
    )


def _relation_changed(old: dict | None, new: dict) -> bool:
    """A view whose definition is the same has not changed, even if the rows it reads have."""
    if old is None or new["type"] != "view":
        return old != new
    return (old["type"], old["columns"], old.get("definition")) != (new["type"], new["columns"], new.get("definition"))


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_changes_after_a_crash_are_refused_not_mixed(engine: str, built: Callable[..., Project]) -> None:
    project = built(engine, name="crashy")
    project.use_seed_data("day2")
    before = project.state()
    killed_build(project)
    torn = project.state()
    assert torn != before, "the kill came before the run changed anything: the test proves nothing"
    [(run_id, _status)] = unfinished_runs(project)

    # Plain dbt with the package installed: stopped by the guard before any node runs.
    res = project.dbt()
    assert not res.success
    assert "sagaz-dbt recover" in str(res.exception), res.exception
    assert run_id in str(res.exception)
    assert_same_state(torn, project.state(), "plain dbt stopped by the guard")

    # `dbt deps` empties dbt_packages/: plain dbt builds on top of the torn run.
    shutil.rmtree(package.packages_install_path(project.root))
    assert project.dbt().success
    rebuilt = project.state()
    assert rebuilt != torn

    # recover refuses, names what changed, changes nothing.
    with pytest.raises(ChangedSinceRunError) as refused:
        recover(project)
    message = str(refused.value)
    assert run_id in message and "recover --force" in message
    differing = [key.split(".", 1)[1] for key in rebuilt if _relation_changed(torn.get(key), rebuilt[key])]
    assert differing
    for name in differing:
        assert f"{project.schema}.{name} (" in message, message
    assert_same_state(rebuilt, project.state(), "refused recovery")
    assert unfinished_runs(project) == [(run_id, "building")]

    # A new build first tries to recover the older run: it says so, and never starts.
    result = project.sagaz()
    assert result.exit_code == 2 and result.status == "not_started"
    said = project.last_output
    assert "NOT restored" not in said, said
    assert run_id in said and result.run_id in said and "did not start" in said, said
    assert "changed nothing" in said
    assert_same_state(rebuilt, project.state(), "build refused by the older run")
    assert project.journal_run(result.run_id) is None

    # The user decides: --force finishes the rollback over the changes.
    recover(project, force=True)
    assert unfinished_runs(project) == []
    assert project.leftovers() == []


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_kill_during_recover_then_recover_restores_exactly(engine: str, built: Callable[..., Project]) -> None:
    project = built(engine, name="crashy")
    project.use_seed_data("day2")
    before = project.state()
    killed_build(project)
    assert project.state() != before
    [(run_id, _)] = unfinished_runs(project)
    # Every window of the recovery path: after the change check, inside the rollback's
    # transaction, after it committed (then the run is done and nothing is left to do).
    for point in ("recover-checked", "compensate-step", "compensated"):
        proc = sagaz_cli(project, "recover", crash_at=point)
        assert proc.returncode == -9, f"recover was not killed at {point}:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
        status = dict(project.query("select run_id, status from sagaz.sagaz_runs"))[run_id]
        assert status == ("rolled_back" if point == "compensated" else "building"), point
    said = recover(project)
    assert "nothing to recover" in said, said
    assert_same_state(before, project.state(), "after recover")
    assert project.leftovers() == []
    assert [s for _, s in project.journal_steps(run_id)] == ["compensated"] * len(project.journal_steps(run_id))
    # With the journal present and nothing unfinished, the guard lets plain dbt through.
    assert project.dbt().success


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_guard_is_inert_without_a_journal(
    engine: str, project: Callable[..., Project], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plain dbt with the package installed on a warehouse without a journal: the guard
    looks once and creates nothing.  (The Postgres session database is shared with other
    tests that have a `sagaz` journal, so the guard looks for one of this test's own.)"""
    proj = project(engine, name="crashy")
    journal = f"sagaz_j_{proj.schema}"
    monkeypatch.setenv("SAGAZ_DBT_JOURNAL", journal)
    package.install(proj.root)
    assert proj.dbt().success
    assert (journal,) not in proj.query("select schema_name from information_schema.schemata")
    assert [o for o in proj.sagaz_objects() if not o.startswith("sagaz.")] == []
