"""Kill-and-recover on Spark at every crash point: a run SIGKILLed at each `checkpoint()`
of sagaz_dbt/ (the inventory of tests/test_crash_recovery.py) leaves a state that
`sagaz-dbt recover`, in the next process, brings to the one outcome the point allows:
exactly the pre-run warehouse, or, killed once the release began (Spark journals `committing`
before its first drop), exactly a successful run's.
Row-level checksums of every relation (helpers/spark.py), and no sagaz relation left but
the journal.  Without transactional DDL, this is what the journal-first ordering and the
idempotent steps (macros/engines/spark/phases.sql) are for.

A SIGKILL ends the process and its JVM (in session mode Spark runs inside it), so every
kill costs a process with its own Spark session (JVM and Derby start).  The chain is as
short as that allows: each process recovers the previous kill, checks the state, and runs
the next killed build (one process per point, plus the first build and the last check);
a process runs on a warehouse folder of its own (Derby admits one process per metastore).
The references (the pre-run and the successful state) are built by plain dbt in this
tier's shared session, in parallel with the chain's first process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpers.project import Project, assert_same_state
from helpers.spark import new_schema, profile_output
from test_crash_recovery import NAMED, crash_points_in_source

from sagaz_dbt.engines import for_adapter

pytestmark = pytest.mark.spark

CHAIN = Path(__file__).resolve().parent / "chain.py"
JOURNAL = {"sagaz.sagaz_runs", "sagaz.sagaz_steps", "sagaz.sagaz_marks", "sagaz.sagaz_runs_log", "sagaz.sagaz_steps_log"}

#: The build every trial kills: batch 2 on a warehouse built with batch 1, day-2 customers
#: (a seed reloaded with other rows), so that every kind of relation changes and the two
#: outcomes differ.  FAILING: the same, whose last test fails (dbt exits 1, compensation).
DAY2_CUSTOMERS = "customer_id,name,country\n1,Ada,PT\n2,Bob,ES\n3,Cy,DE\n5,Eve,IT\n"
SUCCEEDING = ["--vars", "{batch: 2}"]
FAILING = ["--vars", "{batch: 2, fail_singular: true}"]


@dataclass(frozen=True)
class Kill:
    point: str  # `name[:n]`: the n-th time the process passes it
    build: list[str]
    #: The run killed here is then recovered by a `recover` that is itself killed at this point.
    recover_killed_at: str | None = None

    @property
    def successful(self) -> bool:
        """Killed once the run had decided to commit: it must finish as the successful run;
        before that, as the pre-run warehouse.  On Spark the release is not one transaction:
        spark__release_run journals `committing` before it drops the first backup, so a kill
        at `release-step` (after the drops) already ends in the successful state (on DuckDB
        and Postgres only `released` does: the release transaction rolls back)."""
        return self.point in ("release-step", "released")


#: Every crash point a Spark build passes, in chain order; the two that end in the
#: successful state last (each successful build moves the warehouse on: the next trial
#: starts from it, and its references are built one more time).
KILLS = [
    Kill("armed-run", FAILING),
    Kill("armed", SUCCEEDING),
    Kill("node-finished:4", FAILING, recover_killed_at="recover-checked"),
    Kill("built", SUCCEEDING),
    Kill("compensate-step", FAILING),
    Kill("compensated", FAILING),
    Kill("committing", SUCCEEDING),
    Kill("release-step", SUCCEEDING),
    Kill("released", SUCCEEDING),
]


def test_every_crash_point_a_spark_build_passes_is_killed_here() -> None:
    """The inventory: every checkpoint in the source but isolation's (not on Spark) and
    `repointed` (views that follow a table's OID: Postgres only)."""
    killed = {k.point.split(":")[0] for k in KILLS} | {k.recover_killed_at for k in KILLS if k.recover_killed_at}
    engine = for_adapter("spark")
    expected = {p for p in crash_points_in_source() if not p.startswith("isolation-")}
    if not engine.binds_views_to_oids:
        expected.discard("repointed")
    assert killed == expected, f"not killed on Spark: {expected - killed}; stale: {killed - expected}"
    assert set(NAMED) >= killed


def _chain_project(tmp_path: Path) -> tuple[Path, str]:
    """A copy of spark_shop in `tmp_path`, on a warehouse folder of its own (Derby admits one
    process), in a new schema: where the chain's processes run."""
    import shutil

    from helpers.project import PROJECTS_DIR

    root = tmp_path / "spark_shop"
    shutil.copytree(PROJECTS_DIR / "spark_shop", root)
    schema = new_schema()
    profile = {"spark_shop": {"target": "dev", "outputs": {"dev": profile_output(schema, tmp_path / "warehouse")}}}
    (root / "profiles.yml").write_text(yaml.safe_dump(profile))
    return root, schema


def _start(root: Path, schema: str, actions: list[list[str]]) -> subprocess.Popen:
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "PYTHONUNBUFFERED": "1"}
    env.pop("SAGAZ_DBT_RUN_ID", None)
    env.pop("SAGAZ_DBT_CRASH_AT", None)  # chain.py sets it only before the action to kill
    return subprocess.Popen(
        [sys.executable, str(CHAIN), str(root), schema, json.dumps(actions)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=root,
    )


def _finish(proc: subprocess.Popen, log: Path, timeout: float = 1200) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    log.write_text(out)
    timings = [line for line in out.splitlines() if line.startswith("ACTION ") or line.startswith("EXIT ")]
    print(f"chain process ({log}): exit {proc.returncode}\n  " + "\n  ".join(timings))
    return proc.returncode, out


def _dump(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def _as_dumped(state: dict[str, Any]) -> dict[str, Any]:
    """A state as the chain's JSON dumps hold it (tuples become lists)."""
    return json.loads(json.dumps(state, default=str))


@pytest.mark.timeout(5400)  # eleven processes, each starting Spark: 3-8 min each at load 15-25 on 2 cores
def test_kill_at_every_phase_then_recover(spark_project: Any, tmp_path: Path) -> None:
    root, schema = _chain_project(tmp_path)
    started = time.monotonic()

    # The first process: the pre-run warehouse (plain dbt, batch 1), then the first kill.
    first = KILLS[0]
    proc = _start(root, schema, [["dbt"], ["dump", str(tmp_path / "state_0.json")],
                                 ["write", "seeds/customers.csv", DAY2_CUSTOMERS],
                                 ["crash_at", first.point], ["sagaz", *first.build]])
    # Meanwhile, the references in this process's session: plain dbt, the same builds.
    # states[k]: the warehouse after the first build and k successful killed-build outcomes.
    reference = spark_project("reference")
    assert reference.dbt().success
    states = [_as_dumped(reference.state())]
    reference.write("seeds/customers.csv", DAY2_CUSTOMERS)
    for _ in [k for k in KILLS if k.successful]:
        assert reference.dbt(*SUCCEEDING).success
        states.append(_as_dumped(reference.state()))
        assert states[-1] != states[-2], "the build must change the warehouse, or the outcomes cannot be told apart"
    pre_run = states[0]
    code, out = _finish(proc, tmp_path / "chain_0.log")
    assert code == -signal.SIGKILL, f"not killed at {first.point} (exit {code}):\n{out[-3000:]}"
    chain_start = _dump(tmp_path / "state_0.json")
    assert_same_state(pre_run, chain_start["state"], "the chain's first build vs the reference's")

    killed = [first.point]
    successes = 0  # successful outcomes so far: the chain's warehouse is states[successes]
    for number, (previous, kill) in enumerate(zip(KILLS, [*KILLS[1:], None]), start=1):
        dump = tmp_path / f"state_{number}.json"
        actions: list[list[str]] = []
        if previous.recover_killed_at:  # recovery killed too, in a process of its own
            proc = _start(root, schema, [["crash_at", previous.recover_killed_at], ["recover"]])
            code, out = _finish(proc, tmp_path / f"chain_{number}_recover.log")
            assert code == -signal.SIGKILL, f"recover not killed at {previous.recover_killed_at} (exit {code}):\n{out[-3000:]}"
            killed.append(previous.recover_killed_at)
        if number == 1:  # the plain-dbt guard: dbt never builds over an unfinished run
            actions.append(["dbt_refused"])
        actions += [["recover"], ["dump", str(dump)]]
        if kill is not None:
            actions += [["crash_at", kill.point], ["sagaz", *kill.build]]
        code, out = _finish(_start(root, schema, actions), tmp_path / f"chain_{number}.log")
        if kill is not None:
            assert code == -signal.SIGKILL, f"not killed at {kill.point} (exit {code}):\n{out[-3000:]}"
            killed.append(kill.point)
        else:
            assert code == 0, out[-3000:]
        if number == 1:
            assert "PLAIN DBT refused" in out, [line for line in out.splitlines() if "PLAIN DBT" in line]
        recovered = _dump(dump)
        if previous.successful:
            successes += 1
        outcome = "successful" if previous.successful else "pre-run"
        expected = states[successes]
        assert_same_state(expected, recovered["state"], f"after recovering a run killed at {previous.point}: the {outcome} state")
        assert [o for o in recovered["sagaz"] if o not in JOURNAL] == [], f"left after a kill at {previous.point}"
    print(f"killed at {killed}: {time.monotonic() - started:.0f} s")


@pytest.mark.timeout(1800)  # two processes, each starting Spark
def test_a_copy_half_made_while_arming_is_never_swapped_in(tmp_path: Path) -> None:
    """Killed while arming copied an incremental table (`create table ... like`, then the
    insert: no transaction), the copy may be empty or partial while the table itself was
    never touched (dbt had not started).  Recovery must keep the table and drop the copy,
    never swap the copy in.  Reproduced by a kill at `armed-run` (copies made, step rows
    still `arming`) and the copies emptied by hand before `recover`."""
    root, schema = _chain_project(tmp_path)
    started = time.monotonic()
    code, out = _finish(_start(root, schema, [["dbt"], ["dump", str(tmp_path / "before.json")],
                                              ["crash_at", "armed-run"], ["sagaz", *SUCCEEDING]]), tmp_path / "killed.log")
    assert code == -signal.SIGKILL, f"not killed at armed-run (exit {code}):\n{out[-3000:]}"
    code, out = _finish(_start(root, schema, [["truncate_copies"], ["recover"], ["dump", str(tmp_path / "after.json")]]),
                        tmp_path / "recovered.log")
    assert code == 0, out[-3000:]
    assert "TRUNCATED" in out, "the build armed no whole-table copy: this test proves nothing"
    assert_same_state(_dump(tmp_path / "before.json")["state"], _dump(tmp_path / "after.json")["state"],
                      "after recovering a run killed while arming")
    assert [o for o in _dump(tmp_path / "after.json")["sagaz"] if o not in JOURNAL] == []
    print(f"half-made copy: {time.monotonic() - started:.0f} s")
