"""Fault injection around the run lock and lock waits, on the real Postgres server.

Each test runs `sagaz-dbt build` in a subprocess, stops it at an exact point
(SAGAZ_DBT_PAUSE_AT, see sagaz_dbt/runtime/faults.py), breaks something from outside (kills its lock
connection or its dbt connection, holds a reader's lock, restarts the server, signals it),
lets it go on, and then checks the warehouse row by row: it must be in the pre-run state or
the successful run's state, with no stray sagaz relation, or the run refused with a clear
message and nothing changed, and `sagaz-dbt recover` finishes what is left.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from rich.console import Console

import sagaz_dbt.api
from sagaz_dbt.engines.postgres import lock_key
from sagaz_dbt.runtime.lock import HEARTBEAT_SECONDS
from sagaz_dbt.dbt.session import release_connections

from helpers.postgres import PgDatabase
from helpers.project import RUN_ID_ENV, Project, assert_same_state

pytestmark = pytest.mark.postgres

FAIL_VARS = ["--vars", "{fail_singular: true}"]


# -- a paused run -------------------------------------------------------------------------------


class PausedRun:
    """`sagaz-dbt build ARGS` in a subprocess that stops at `point` until `resume()`."""

    def __init__(self, project: Project, point: str, *args: str, extra_env: dict[str, str] | None = None) -> None:
        self.project = project
        self.gate = project.root / "pause.gate"
        exe = Path(sys.executable).parent / "sagaz-dbt"
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1"}
        env.pop(RUN_ID_ENV, None)
        env = {**env, **(extra_env or {}), "SAGAZ_DBT_PAUSE_AT": point, "SAGAZ_DBT_PAUSE_FILE": str(self.gate)}
        release_connections()
        self.proc = subprocess.Popen(
            [str(exe), "build", *args, *project.location_args],
            env=env,
            cwd=project.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output = ""

    def wait_paused(self, timeout: float = 240) -> None:
        reached = Path(f"{self.gate}.reached")
        deadline = time.monotonic() + timeout
        while not reached.exists():
            if self.proc.poll() is not None:
                pytest.fail(f"the run ended before its pause point:\n{self.proc.communicate()[0]}")
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail("the run never reached its pause point")
            time.sleep(0.05)

    def resume(self) -> None:
        self.gate.write_text("go")

    def finish(self, timeout: float = 240) -> int:
        """Wait for the exit; a run that does not end in `timeout` hangs (a failure)."""
        try:
            self.output, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.output = self.proc.communicate()[0]
            pytest.fail(f"sagaz-dbt did not end within {timeout} s (a hang):\n{self.output}")
        print(self.output)
        return self.proc.returncode


def latest_run(project: Project) -> dict[str, Any]:
    rows = project.query(
        "select run_id, status from sagaz.sagaz_runs where target_schema = '{schema}' order by started_at desc limit 1"
    )
    assert rows, "the run wrote no journal row"
    return {"run_id": rows[0][0], "status": rows[0][1], "lock_pid": lock_holder(project)}


def lock_holder(project: Project) -> int | None:
    """The server process holding the target's advisory lock (from pg_locks, not the journal)."""
    assert project.pg is not None
    key = lock_key(project.pg.dbname, project.schema)
    rows = project.pg.execute(
        "select pid from pg_locks where locktype = 'advisory' and granted and classid = %s::bigint::oid "
        "and objid = %s::bigint::oid and objsubid = 1",
        ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
    )
    return int(rows[0][0]) if rows else None


def kept_backup(project: Project, run_id: str, identifier: str) -> tuple[str, str]:
    """(schema, identifier) of a step's kept backup: on Postgres it lives in the run's backup
    schema (the journal step's `kept_schema`), else beside its relation."""
    assert project.pg is not None
    rows = project.pg.execute(
        "select kept_identifier, detail from sagaz.sagaz_steps where run_id = %s and identifier = %s",
        (run_id, identifier),
    )
    assert rows and rows[0][0], f"no kept backup of {identifier} in the journal"
    detail = rows[0][1] if isinstance(rows[0][1], dict) else json.loads(rows[0][1] or "{}")
    return str(detail.get("kept_schema") or project.schema), str(rows[0][0])


def dbt_backends(project: Project) -> list[int]:
    assert project.pg is not None
    return [
        int(r[0])
        for r in project.pg.execute(
            "select pid from pg_stat_activity where datname = current_database() and application_name = 'dbt'"
        )
    ]


def recover(project: Project) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, no_color=True)
    try:
        sagaz_dbt.api.recover(project.location_args, console=console)
    finally:
        release_connections()
    print(buffer.getvalue())
    return buffer.getvalue()


def success_state(built: Callable[..., Project]) -> dict[str, Any]:
    """What a successful day-2 run leaves (a warehouse of its own)."""
    expected = built("postgres", name="crashy", label="expected")
    expected.use_seed_data("day2")
    ok = expected.sagaz()
    assert ok.exit_code == 0, expected.last_output
    return expected.state()


@pytest.fixture
def day2(built: Callable[..., Project]) -> tuple[Project, dict[str, Any]]:
    """A crashy warehouse built once (day 1), with day 2's seeds waiting: (project, pre-run state)."""
    project = built("postgres", name="crashy", label="main")
    project.use_seed_data("day2")
    return project, project.state()


class Reader:
    """A BI session holding a read lock on one relation in an open transaction."""

    def __init__(self, pg: PgDatabase, relation: tuple[str, str]) -> None:
        schema, identifier = relation
        self.conn = pg.connect(application_name="bi-dashboard")
        self.conn.autocommit = False
        with self.conn.cursor() as cur:
            cur.execute(f'select count(*) from "{schema}"."{identifier}"')
        self.pid = self.conn.get_backend_pid()

    def close(self) -> None:
        self.conn.rollback()
        self.conn.close()


def wait_for_lock_wait(pg: PgDatabase, blocker: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pg.execute("select 1 from pg_stat_activity where %s = any(pg_blocking_pids(pid))", (blocker,)):
            return
        time.sleep(0.1)
    pytest.fail("sagaz-dbt never waited for the reader's lock")


# -- the lock connection lost ---------------------------------------------------------------------


def test_lost_lock_second_run_refuses_and_first_takes_it_back(built, day2) -> None:
    """The lock connection is killed mid-build; a second run takes the lock, finds the first
    alive and refuses, changing nothing; the first takes its lock back and commits."""
    succeeded = success_state(built)
    project, before = day2
    first = PausedRun(project, "node-finished:2", "--threads", "1")  # one worker: paused means still
    first.wait_paused()
    run = latest_run(project)
    assert run["status"] == "building" and run["lock_pid"]
    assert project.pg is not None
    project.pg.execute("select pg_terminate_backend(%s)", (run["lock_pid"],))
    mid = project.state()

    second = project.sagaz()
    assert second.exit_code == 2
    assert f"run {run['run_id']} is unfinished" in project.last_output
    assert "still running" in project.last_output and "Nothing was changed" in project.last_output
    assert_same_state(mid, project.state(), "warehouse after the refused second run")
    assert project.journal_run(run["run_id"])[0] == "building"

    first.resume()
    assert first.finish() == 0, first.output
    assert "taken back" in first.output
    assert_same_state(succeeded, project.state(), "warehouse after the first run committed")
    assert project.leftovers() == []
    assert project.journal_run(run["run_id"])[0] == "committed"


def test_lost_lock_second_run_with_wait_queues_behind_the_first(built, day2) -> None:
    """With --wait, the second run does not refuse: it lets the lock go, waits for the first
    (which takes its lock back and commits), then runs on the committed state.  Its lock,
    taken again after the wait, keeps its heartbeat: the journal row is stamped while the
    run holds the target (other hosts tell a live owner from a dead one by it)."""
    succeeded = success_state(built)
    project, _ = day2
    first = PausedRun(project, "node-finished:2", "--threads", "1")
    first.wait_paused()
    run = latest_run(project)
    assert project.pg is not None
    project.pg.execute("select pg_terminate_backend(%s)", (run["lock_pid"],))
    log = project.root / "second.log"
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1"}
    env.pop(RUN_ID_ENV, None)
    gate = project.root / "second.gate"
    env.update({"SAGAZ_DBT_PAUSE_AT": "node-finished:2", "SAGAZ_DBT_PAUSE_FILE": str(gate)})
    with log.open("w") as sink:
        second = subprocess.Popen(
            [str(Path(sys.executable).parent / "sagaz-dbt"), "build", "--wait", *project.location_args],
            env=env, cwd=project.root, stdout=sink, stderr=subprocess.STDOUT, text=True,
        )
        deadline = time.monotonic() + 120
        while f"waiting for run {run['run_id']}" not in log.read_text():
            assert second.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the second run never started waiting"
            time.sleep(0.1)
        first.resume()
        assert first.finish() == 0, first.output
        while not Path(f"{gate}.reached").exists():
            assert second.poll() is None, log.read_text()
            assert time.monotonic() < deadline + 240, "the second run never reached its pause point"
            time.sleep(0.1)
        second_run = latest_run(project)
        assert second_run["run_id"] != run["run_id"]
        beat = "select heartbeat_epoch from sagaz.sagaz_runs where run_id = '{}'".format(second_run["run_id"])
        assert second_run["run_id"].isalnum()  # hex: safe to inline
        beats = [project.query(beat)[0][0]]
        time.sleep(3 * HEARTBEAT_SECONDS)
        beats.append(project.query(beat)[0][0])
        assert beats[1] > beats[0], f"the second run's lock has no heartbeat after its wait: {beats}"
        gate.write_text("go")
        assert second.wait(timeout=240) == 0, log.read_text()
    assert project.journal_run(run["run_id"])[0] == "committed"
    assert_same_state(succeeded, project.state(), "warehouse after both runs")
    assert project.leftovers() == []


def test_idle_session_timeout_does_not_end_the_lock(built, day2) -> None:
    """`idle_session_timeout` (here 1.5 s, for every session of the run, through libpq's
    PGOPTIONS) used to end the idle lock connection mid-build, silently: the lock must
    survive a build longer than the timeout."""
    succeeded = success_state(built)
    project, _ = day2
    run_ = PausedRun(
        project, "node-finished:2", "--threads", "1", extra_env={"PGOPTIONS": "-c idle_session_timeout=1500"}
    )
    run_.wait_paused()
    holder = lock_holder(project)
    assert holder is not None
    time.sleep(4)  # the lock connection idles far past the timeout
    assert lock_holder(project) == holder, "the server ended the run's lock connection"
    run_.resume()
    assert run_.finish() == 0, run_.output
    assert "taken back" not in run_.output
    assert_same_state(succeeded, project.state(), "warehouse after the run")
    assert project.leftovers() == []


def test_lost_lock_taken_by_another_session_never_commits(built, day2) -> None:
    """The lock connection is killed and another session keeps the lock: the run stops
    before its release, commits nothing, compensates nothing, and says so; recovery, once
    the other session is gone, restores the pre-run state."""
    project, before = day2
    run_ = PausedRun(project, "built")  # the default --lock-timeout: 10 s to take the lock back
    run_.wait_paused()
    run = latest_run(project)
    assert project.pg is not None
    project.pg.execute("select pg_terminate_backend(%s)", (run["lock_pid"],))
    other = project.pg.connect(application_name="other-run")
    with other.cursor() as cur:
        cur.execute("select pg_advisory_lock(%s)", (lock_key(project.pg.dbname, project.schema),))
    built_state = project.state()
    run_.resume()
    assert run_.finish() == 2, run_.output
    assert "neither committed nor rolled back" in run_.output
    assert "another session holds the lock now" in run_.output and "other-run" in run_.output
    assert_same_state(built_state, project.state(), "warehouse after the run that lost its lock")
    assert project.journal_run(run["run_id"])[0] == "building"
    other.close()

    text = recover(project)
    assert f"run {run['run_id']} is now rolled back" in text
    assert_same_state(before, project.state(), "warehouse after recover")
    assert project.leftovers() == []


def test_a_run_acted_on_by_another_process_never_commits(day2) -> None:
    """The liveness check is wrong once (here: the journal's owner pid is replaced by a dead
    one, as a reused pid or a misjudged heartbeat would do): another process recovers the
    run while it is paused.  The run then takes its free lock back, but its release claims
    the journal row in its own transaction, finds the run rolled back, and stops: two
    processes never both finish one run."""
    project, before = day2
    run_ = PausedRun(project, "built")
    run_.wait_paused()
    run = latest_run(project)
    assert project.pg is not None
    project.pg.execute("select pg_terminate_backend(%s)", (run["lock_pid"],))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    project.pg.execute("update sagaz.sagaz_runs set owner_pid = %s where run_id = %s", (gone.pid, run["run_id"]))

    text = recover(project)
    assert f"run {run['run_id']} is now rolled back" in text
    assert_same_state(before, project.state(), "warehouse after the other process's recovery")

    run_.resume()
    assert run_.finish() == 2, run_.output
    assert "another process acted on it" in run_.output and "changed nothing more" in run_.output
    assert_same_state(before, project.state(), "warehouse after the taken-over run stopped")
    assert project.journal_run(run["run_id"])[0] == "rolled_back"
    assert project.leftovers() == []


# -- a reader's lock during release and rollback ------------------------------------------------------


@pytest.mark.parametrize("failing", [False, True], ids=["release", "rollback"])
def test_reader_lock_bounded_wait_names_blocker_then_recover(day2, failing: bool) -> None:
    project, before = day2
    run_ = PausedRun(project, "built", "--lock-timeout", "1", *(FAIL_VARS if failing else []))
    run_.wait_paused()
    run = latest_run(project)
    assert project.pg is not None
    reader = Reader(project.pg, kept_backup(project, run["run_id"], "account_totals"))
    mid = project.state()
    run_.resume()
    try:
        assert run_.finish() == 2, run_.output
        assert "waited for a lock 3 time(s), 1 s each" in run_.output
        assert f"pid {reader.pid}, user" in run_.output and "bi-dashboard" in run_.output
        assert "select count(*)" in run_.output
        assert_same_state(mid, project.state(), "warehouse after the timed-out phase (nothing half applied)")
        assert project.journal_run(run["run_id"])[0] == "building"
    finally:
        reader.close()
    text = recover(project)
    assert f"run {run['run_id']} is now rolled back" in text
    assert_same_state(before, project.state(), "warehouse after recover")
    assert project.leftovers() == []


@pytest.mark.parametrize(
    "failing, sig", [(True, signal.SIGTERM), (False, signal.SIGINT)], ids=["rollback-SIGTERM", "release-SIGINT"]
)
def test_signal_interrupts_a_lock_wait(day2, failing: bool, sig: int) -> None:
    """A wait far longer than the test allows (60 s, three tries) ends at the first signal."""
    project, before = day2
    run_ = PausedRun(project, "built", "--lock-timeout", "60", *(FAIL_VARS if failing else []))
    run_.wait_paused()
    run = latest_run(project)
    assert project.pg is not None
    reader = Reader(project.pg, kept_backup(project, run["run_id"], "account_totals"))
    mid = project.state()
    try:
        run_.resume()
        wait_for_lock_wait(project.pg, reader.pid)
        run_.proc.send_signal(sig)
        assert run_.finish(timeout=40) == 2, run_.output
        assert "sagaz-dbt recover" in run_.output
        assert_same_state(mid, project.state(), "warehouse after the interrupted phase (nothing half applied)")
        assert project.journal_run(run["run_id"])[0] == "building"
    finally:
        reader.close()
    recover(project)
    assert_same_state(before, project.state(), "warehouse after recover")
    assert project.leftovers() == []


# -- dbt's connection killed in each phase ------------------------------------------------------------


@pytest.mark.parametrize(
    "point, failing",
    [("armed-run", False), ("release-step", False), ("compensate-step", True)],
    ids=["arm", "release", "compensate"],
)
def test_backend_killed_during_a_phase(built, day2, point: str, failing: bool) -> None:
    project, before = day2
    run_ = PausedRun(project, point, *(FAIL_VARS if failing else []))
    run_.wait_paused()
    victims = dbt_backends(project)
    assert victims, "no dbt connection to kill"
    assert project.pg is not None
    for pid in victims:
        project.pg.execute("select pg_terminate_backend(%s)", (pid,))
    run_.resume()
    code = run_.finish()
    assert code != 0, "a run whose connection died cannot report success"
    if point == "armed-run":
        assert "No relation was changed" in run_.output
        assert_same_state(before, project.state(), "warehouse after a failed arming")
    recover(project)
    assert_same_state(before, project.state(), "warehouse after recover")
    assert project.leftovers() == []
    assert unfinished_runs(project) == 0


def test_backend_killed_during_build(day2) -> None:
    """A model's backend dies mid-statement: dbt reports the node as an error, the run rolls
    back (the model it was creating is dropped), and nothing is left unfinished."""
    project, before = day2
    project.write("models/slow_model.sql", "{{ config(materialized='table') }}\nselect 1 as x from pg_sleep(60)\n")
    run_ = PausedRun(project, "never")
    assert project.pg is not None
    deadline = time.monotonic() + 120
    victims: list = []
    while not victims and time.monotonic() < deadline and run_.proc.poll() is None:
        victims = project.pg.execute(
            "select pid from pg_stat_activity where datname = current_database() and state = 'active' "
            "and query like '%%pg_sleep(60)%%' and pid <> pg_backend_pid()"
        )
        time.sleep(0.1)
    assert victims, "the slow model never started"
    project.pg.execute("select pg_terminate_backend(%s)", (victims[0][0],))
    assert run_.finish() == 1, run_.output
    assert "rolled back" in run_.output
    assert_same_state(before, project.state(), "warehouse after the rolled-back run")
    assert project.leftovers() == []
    assert unfinished_runs(project) == 0


def unfinished_runs(project: Project) -> int:
    if not project.query("select 1 from information_schema.tables where table_schema = 'sagaz' and table_name = 'sagaz_runs'"):
        return 0  # arming rolled back the journal's creation with everything else
    return int(
        project.query(
            "select count(*) from sagaz.sagaz_runs where target_schema = '{schema}' "
            "and status not in ('committed', 'rolled_back')"
        )[0][0]
    )


# -- a server restart mid-run (a private cluster: never the shared server) --------------------------


PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def private_pg() -> Iterator[tuple[PgDatabase, Callable[[], None]]]:
    if not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None or os.geteuid() != 0:
        pytest.skip("needs PostgreSQL 15's initdb and root (runuser) to start a private cluster")
    home = Path(tempfile.mkdtemp(prefix="sagaz_pg_"))
    os.chmod(home, 0o777)
    data = home / "data"
    port = _free_port()

    def as_postgres(*cmd: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True, capture_output=True, timeout=120)

    as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    opts = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off"
    log = str(home / "log")
    as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", log, "-w", "start")

    def restart() -> None:
        as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", log, "-m", "fast", "-w", "restart")

    try:
        yield PgDatabase("127.0.0.1", port, "postgres", "", "postgres"), restart
    finally:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(home, ignore_errors=True)


def test_server_restart_mid_run(private_pg, tmp_path: Path) -> None:
    """The server restarts between the build and the release: every connection, the lock's
    too, is gone.  The lock is free when the server is back, and the journal shows nobody
    acted on the run, so the run takes its lock back and commits."""
    pg, restart = private_pg
    project = Project("crashy", "postgres", tmp_path / "restart", "t_restart", pg=pg)
    assert project.dbt().success
    project.use_seed_data("day2")
    before = project.state()
    twin = Project("crashy", "postgres", tmp_path / "twin", "t_twin", pg=pg)
    assert twin.dbt().success
    twin.use_seed_data("day2")
    assert twin.sagaz().exit_code == 0, twin.last_output
    succeeded = twin.state()

    run_ = PausedRun(project, "built")
    run_.wait_paused()
    run = latest_run(project)
    restart()
    run_.resume()
    assert run_.finish() == 0, run_.output
    assert "taken back" in run_.output
    assert_same_state(succeeded, project.state(), "warehouse after the run committed across the restart")
    assert project.journal_run(run["run_id"])[0] == "committed"
    assert project.leftovers() == []
    assert before != succeeded
