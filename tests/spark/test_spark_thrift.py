"""sagaz-dbt on a Spark cluster (`method: thrift`) against a real Spark Thrift server: the
saga over thrift, and the lease that keeps two runs apart (sagaz_dbt/engines/spark.py
`SparkLeaseLock`, sagaz_dbt/runtime/lease.py).

One Thrift server (one JVM) for the module, on a free port, with its own warehouse and
Derby metastore; the warehouse is read through a PyHive connection of the test's own, with
row-level checksums (helpers/spark_thrift.py).  The tests run in order on one project
built by sagaz-dbt (`built`): each leaves it exactly as it found it, which the next checks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from helpers.project import assert_same_state
from helpers.spark import new_schema, require_java
from helpers.spark_thrift import ThriftInspector, ThriftProject, ThriftServer

pytestmark = [pytest.mark.spark, pytest.mark.timeout(1200)]

#: Day-2 seed data: a run that loads it changes rows of a seed (a restore that missed one shows).
DAY2_CUSTOMERS = "customer_id,name,country\n1,Ada,PT\n2,Bob,ES\n3,Cy,DE\n5,Eve,IT\n"
BUSY = "another run holds this target"
#: The killed run's lease TTL: long enough for the next run to meet its claim alive.
KILLED_TTL = 30


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThriftServer]:
    require_java("a Spark Thrift server")
    pytest.importorskip("pyhive", reason="dbt-spark's PyHive extra (pyproject's test extra) is not installed")
    thrift = ThriftServer(tmp_path_factory.mktemp("thrift_server"))
    try:
        print(f"Spark Thrift server started in {thrift.start():.1f} s (port {thrift.port})")
        yield thrift
    finally:
        thrift.stop()


@pytest.fixture(scope="module")
def built(server: ThriftServer, tmp_path_factory: pytest.TempPathFactory) -> ThriftProject:
    project = ThriftProject("spark_shop", tmp_path_factory.mktemp("built") / "spark_shop", new_schema(), server)
    result = project.sagaz()
    assert result.exit_code == 0, f"{result.status}: {result.error}\n{project.last_output}"
    return project


def other_process_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1", **extra}
    env.pop("SAGAZ_DBT_RUN_ID", None)
    return env


def sagaz_process(project: ThriftProject, *args: str, **env: str) -> subprocess.Popen:
    exe = Path(sys.executable).parent / "sagaz-dbt"
    return subprocess.Popen(
        [str(exe), "build", *args, *project.location_args],
        cwd=project.root,
        env=other_process_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def twin(project: ThriftProject, tmp_path: Path, label: str) -> ThriftProject:
    """Another copy of the project on the same target (same schema): another user's checkout."""
    return ThriftProject(project.name, tmp_path / label / project.name, project.schema, project.server)


def inspector(project: ThriftProject) -> ThriftInspector:
    assert isinstance(project.inspector, ThriftInspector)
    return project.inspector


def test_success_equals_plain_dbt(built: ThriftProject, server: ThriftServer, tmp_path: Path) -> None:
    plain = ThriftProject("spark_shop", tmp_path / "plain" / "spark_shop", new_schema(), server)
    assert plain.dbt().success
    assert_same_state(plain.state(), built.state(), "sagaz-dbt's build (thrift) vs plain dbt's")
    assert built.leftovers() == [] and inspector(built).claims() == []


def test_a_failing_run_restores_exactly_while_it_holds_the_target(built: ThriftProject, tmp_path: Path) -> None:
    """A run paused once armed holds the lease: a second sagaz-dbt run is refused and
    changes nothing, plain dbt is stopped by the guard; then the first run's failing test
    rolls everything back to the row."""
    before = built.state()
    built.write("seeds/customers.csv", DAY2_CUSTOMERS)
    go = tmp_path / "go"
    first = sagaz_process(
        built, "--vars", "{batch: 2, fail_singular: true}", SAGAZ_DBT_PAUSE_AT="armed", SAGAZ_DBT_PAUSE_FILE=str(go)
    )
    try:
        while not Path(f"{go}.reached").exists():
            assert first.poll() is None, first.communicate()[0][-3000:]
            time.sleep(0.2)
        claims = inspector(built).claims()
        assert len(claims) == 1, claims

        second = twin(built, tmp_path, "second")
        second.write("seeds/customers.csv", DAY2_CUSTOMERS)
        result = second.sagaz("--vars", "{batch: 2}")  # would change the state, were it let in
        assert result.exit_code == 2 and BUSY in second.last_output, second.last_output[-3000:]

        dbt = second.dbt("--vars", "{batch: 2}")
        assert not dbt.success and "is unfinished" in str(dbt.exception), dbt.exception
        assert inspector(built).claims() == claims  # the refused runs withdrew their claims
    finally:
        go.write_text("")
        output = first.communicate(timeout=900)[0]
    assert first.returncode == 1 and "rolled back" in output, output[-3000:]
    assert_same_state(before, built.state(), "after a rolled-back run (thrift)")
    assert built.leftovers() == [] and inspector(built).claims() == []
    built.write("seeds/customers.csv", (Path(__file__).parents[1] / "projects/spark_shop/seeds/customers.csv").read_text())


def test_a_killed_run_holds_the_target_until_its_lease_expires_then_recover_restores(
    built: ThriftProject, tmp_path: Path
) -> None:
    before = built.state()
    built.write("seeds/customers.csv", DAY2_CUSTOMERS)
    # Killed mid-build: the seeds, a view and a table are rebuilt, the rest is not.
    killed = sagaz_process(
        built, "--vars", "{batch: 2}", SAGAZ_DBT_CRASH_AT="node-finished:4", SAGAZ_DBT_LEASE_TTL=str(KILLED_TTL)
    )
    output = killed.communicate(timeout=900)[0]
    assert killed.returncode == -9, output[-3000:]
    look = inspector(built)
    (claim,) = look.claims()
    age, ttl = look.claim_age_and_ttl(claim)
    assert ttl == KILLED_TTL

    # Its claim is alive (the process died less than a TTL ago): the next run is refused.
    nxt = twin(built, tmp_path, "next")
    result = nxt.sagaz()
    assert result.exit_code == 2 and BUSY in nxt.last_output, nxt.last_output[-3000:]
    dbt = nxt.dbt()
    assert not dbt.success and "is unfinished" in str(dbt.exception), dbt.exception

    # Once the claim is older than its TTL, it is dead: recover takes the lease, drops the
    # dead claim and restores the pre-run state.
    deadline = time.monotonic() + 300
    while look.claim_age_and_ttl(claim)[0] <= KILLED_TTL:
        assert time.monotonic() < deadline, "the killed run's claim never aged"
        time.sleep(1.0)
    from sagaz_dbt.api import recover

    outcomes = recover(nxt.location_args)
    assert len(outcomes) == 1, nxt.last_output
    assert_same_state(before, built.state(), "after recovering a killed run (thrift)")
    assert built.leftovers() == [] and look.claims() == []


def test_a_run_whose_lease_is_lost_stops_at_once_and_is_left_to_recover(built: ThriftProject, tmp_path: Path) -> None:
    """A lease lost while a run holds it (here its claim is dropped, as a run that judged it
    dead would) stops the run at once, not at its next phase: the heartbeat interrupts the
    run's main thread (paused once armed, where it would otherwise wait for minutes), the
    rollback finds the lease lost and leaves the run to `recover`, which restores the
    pre-run state."""
    before = built.state()
    go = tmp_path / "go"
    run = sagaz_process(
        built, "--vars", "{batch: 2}", SAGAZ_DBT_PAUSE_AT="armed", SAGAZ_DBT_PAUSE_FILE=str(go), SAGAZ_DBT_LEASE_TTL="8"
    )
    look = inspector(built)
    try:
        while not Path(f"{go}.reached").exists():
            assert run.poll() is None, run.communicate()[0][-3000:]
            time.sleep(0.2)
        (claim,) = look.claims()
        look.execute(f"drop table sagaz.{claim}")
        # The gate never opens: a run not stopped by its heartbeat would wait its pause out (300 s).
        output = run.communicate(timeout=150)[0]
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 2 and "lost its lease" in output, output[-3000:]
    from sagaz_dbt.api import recover

    assert len(recover(built.location_args)) == 1
    assert_same_state(before, built.state(), "after recovering a run that lost its lease (thrift)")
    assert built.leftovers() == [] and look.claims() == []


def test_a_holder_whose_claim_is_gone_knows_it_lost_the_lease(built: ThriftProject, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its claim dropped (as a run that judged it dead would), the holder's next heartbeat
    finds it missing: the lease is lost for good (ensure_held, checked before every phase,
    raises LockLostError), and another claimer takes the target at once."""
    from sagaz_dbt.commands.target import open_target
    from sagaz_dbt.dbt.options import SagazOptions
    from sagaz_dbt.dbt.session import release_connections
    from sagaz_dbt.engines.spark import SparkLeaseLock
    from sagaz_dbt.runtime.lock import LockLostError, TargetBusyError

    monkeypatch.setenv("SAGAZ_DBT_LEASE_TTL", "8")
    # The holder's command line lands in its claim as a literal, quotes and backslashes too.
    odd = "{note: 'it''s a \\ \"test\" %s'}"
    monkeypatch.setattr(sys, "argv", ["sagaz-dbt", "build", "--vars", odd])
    look = inspector(built)
    target = open_target("build", built.location_args, SagazOptions())
    holder, rival = SparkLeaseLock(target.warehouse), SparkLeaseLock(target.warehouse)
    try:
        holder.acquire(False, 0, lambda: "", None)
        with pytest.raises(TargetBusyError, match=BUSY) as busy:
            rival.acquire(False, 0, lambda: "", None)
        assert f"sagaz-dbt build --vars {odd}" in str(busy.value), busy.value
        (claim,) = look.claims()
        look.execute(f"drop table sagaz.{claim}")
        deadline = time.monotonic() + 120
        while True:
            try:
                holder.ensure_held()
            except LockLostError as exc:
                assert "no longer in the journal schema" in str(exc), exc
                break
            assert time.monotonic() < deadline, "the holder never noticed its claim was gone"
            time.sleep(0.5)
        rival.acquire(False, 0, lambda: "", None)
        with pytest.raises(LockLostError):  # a lost lease stays lost, though another run holds it now
            holder.ensure_held()
    finally:
        holder.release()
        rival.release()
        release_connections()
    assert look.claims() == []


def test_http_is_refused_with_the_reason(built: ThriftProject, tmp_path: Path) -> None:
    other = twin(built, tmp_path, "http")
    other.write_profile(method="http", host="https://example.invalid", token="x", cluster="c", port=443)
    result = other.sagaz()
    assert result.exit_code == 2 and "method: http" in other.last_output and "Nothing was changed" in other.last_output
    assert "Thrift" in other.last_output, other.last_output[-2000:]
