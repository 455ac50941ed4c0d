"""`--isolation publish` (issue 16): readers see the whole new run or the old warehouse.

The `iso` project's marts all sum the same seed, so one invariant spans four relations
(two tables, a view, an incremental model): sum(mart_by_region.total) = sum(mart_by_id.amount)
= mart_total.total = sum(events.amount), and that sum names the version a reader sees.
A reader in a second connection checks it during the whole build, both in a thread that
polls and synchronously each time dbt finishes a node (the moments at which a plain build
exposes a half-built warehouse).  Without the flag the same reader sees the mix, so the
test can fail.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from rich.console import Console

import sagaz_dbt
import sagaz_dbt.dbt.session
from sagaz_dbt.runtime.waits import background_statement
from sagaz_dbt.dbt.session import release_connections

from helpers import ENGINES
from helpers.project import Project, assert_same_state

DAY1 = "id,region,amount\n1,north,10\n2,south,20\n3,north,30\n"  # version 60
DAY2 = DAY1 + "4,south,40\n"  # version 100
BAD = DAY2 + "5,north,-1\n"  # version 99: fails the error-severity test no_negative_amounts
OLD, NEW, FAILING = 60, 100, 99

INVARIANT = """
select (select sum(total) from {s}.mart_by_region),
       (select sum(amount) from {s}.mart_by_id),
       (select total from {s}.mart_total),
       (select sum(amount) from {s}.events)
"""


@dataclass
class Reader:
    """A second connection that checks the invariant, in a polling thread and at each
    NodeFinished of the build (patched in through runner.checkpoint)."""

    project: Project
    seen: list[tuple[Any, ...]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _conn: Any = None

    def open(self) -> None:
        if self.project.engine == "duckdb":
            import duckdb

            # Same process as dbt (which holds the file): DuckDB shares its database instance.
            self._conn = duckdb.connect(str(self.project.warehouse_path))
        else:
            assert self.project.pg is not None
            self._conn = self.project.pg.connect()
            self._conn.autocommit = True

    def observe(self) -> None:
        sql = INVARIANT.format(s=self.project.schema)
        with self._lock:
            try:
                if self.project.engine == "duckdb":
                    cur = self._conn.cursor()
                    row = cur.execute(sql).fetchone()
                    cur.close()
                else:
                    # A thread of sagaz-dbt's process: it takes the wait-callback switch, as
                    # sagaz-dbt's own background threads do (runtime/waits.py).
                    with background_statement(), self._conn.cursor() as cur:
                        cur.execute(sql)
                        row = cur.fetchone()
                self.seen.append(tuple(int(v) if v is not None else None for v in row))
            except Exception as exc:  # a relation missing mid-build is an observation too
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def poll(self) -> None:
        while not self._stop.is_set():
            self.observe()
            time.sleep(0.002)

    def during(self, run: Callable[[], Any], monkeypatch: pytest.MonkeyPatch) -> Any:
        original = sagaz_dbt.dbt.session.checkpoint

        def at_point(point: str) -> None:
            if point == "node-finished":
                self.observe()
            original(point)

        monkeypatch.setattr(sagaz_dbt.dbt.session, "checkpoint", at_point)
        self.open()
        thread = threading.Thread(target=self.poll, daemon=True)
        thread.start()
        try:
            return run()
        finally:
            self._stop.set()
            thread.join(timeout=30)
            self.observe()  # after the run
            self._conn.close()
            monkeypatch.setattr(sagaz_dbt.dbt.session, "checkpoint", original)

    @property
    def mixed(self) -> list[tuple[Any, ...]]:
        return [row for row in self.seen if len(set(row)) != 1]

    @property
    def versions(self) -> list[Any]:
        """The version of each consistent observation, repeats collapsed."""
        out: list[Any] = []
        for row in self.seen:
            if len(set(row)) == 1 and (not out or out[-1] != row[0]):
                out.append(row[0])
        return out


def _built(engine: str, built_project: Callable[..., Project], label: str = "main") -> Project:
    project = built_project(engine, name="iso", label=label)
    return project


@pytest.mark.parametrize("engine", ENGINES)
def test_reader_sees_old_then_new_never_a_mix(engine, built, monkeypatch):
    project = _built(engine, built)
    project.write("seeds/orders.csv", DAY2)
    reader = Reader(project)

    result = reader.during(lambda: project.sagaz("--isolation", "publish"), monkeypatch)

    assert result.exit_code == 0, f"{result.status}: {result.error}\n{project.last_output}"
    assert result.status == "committed"
    assert len(reader.seen) > 20, "the reader must have watched the build"
    assert reader.errors == []
    assert reader.mixed == [], f"a reader saw a half-published warehouse: {reader.mixed[:5]}"
    assert reader.versions == [OLD, NEW], "one switch, from the old warehouse to the new one"
    assert project.leftovers() == []
    assert "6 relation(s) published in one transaction" in project.last_output
    assert result.report.timings["publish_transaction"] < 5


@pytest.mark.parametrize("engine", ENGINES)
def test_without_isolation_the_same_reader_sees_the_mix(engine, built, monkeypatch):
    """The control: the reader above can see a mix, and plain sagaz-dbt shows it one."""
    project = _built(engine, built)
    project.write("seeds/orders.csv", DAY2)
    reader = Reader(project)

    result = reader.during(lambda: project.sagaz(), monkeypatch)

    assert result.exit_code == 0, project.last_output
    assert reader.mixed, f"expected a half-built warehouse during a default build: {reader.seen[:10]}"
    assert reader.versions[-1] == NEW


@pytest.mark.parametrize("engine", ENGINES)
def test_failing_run_publishes_nothing(engine, built, monkeypatch):
    project = _built(engine, built)
    before = project.state()
    project.write("seeds/orders.csv", BAD)
    reader = Reader(project)

    result = reader.during(lambda: project.sagaz("--isolation", "publish"), monkeypatch)

    assert result.exit_code == 1, project.last_output
    assert result.status == "rolled_back"
    assert reader.errors == []
    assert reader.mixed == []
    assert set(reader.versions) == {OLD}, "a reader never sees the failing run's data"
    assert_same_state(before, project.state(), "production after a failed isolated run")
    assert project.leftovers() == [], "the shadows are dropped"
    assert project.journal_run(result.run_id)[0] == "rolled_back"
    assert "nothing was published" in project.last_output
    # The report names the production relations, all untouched.
    assert {s["action"] for s in result.report.steps} == {"untouched"}
    assert not any("__sagaz_" in s["relation"]["identifier"] for s in result.report.steps)


@pytest.mark.parametrize("engine", ENGINES)
def test_failing_run_without_isolation_shows_its_data(engine, built, monkeypatch):
    project = _built(engine, built)
    project.write("seeds/orders.csv", BAD)
    reader = Reader(project)

    result = reader.during(lambda: project.sagaz(), monkeypatch)

    assert result.status == "rolled_back"
    assert any(FAILING in row for row in reader.seen), "the control: a default run exposes its data"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("prebuilt", [False, True], ids=["first_build", "second_day"])
def test_success_equals_plain_dbt(engine, prebuilt, project, built):
    factory = built if prebuilt else project
    plain, sagaz = factory(engine, name="iso", label="plain"), factory(engine, name="iso", label="sagaz")
    for p in (plain, sagaz):
        p.write("seeds/orders.csv", DAY2 if prebuilt else DAY1)
    if engine == "postgres":  # a view someone made by hand on a published table keeps working
        for p in (plain, sagaz):
            if prebuilt:
                p.execute("create view {schema}.by_hand as select region, total from {schema}.mart_by_region")
    assert plain.dbt().success
    result = sagaz.sagaz("--isolation", "publish")

    assert result.exit_code == 0, f"{result.status}: {result.error}\n{sagaz.last_output}"
    expected = plain.state()
    if engine == "postgres" and prebuilt:
        # plain dbt's DROP ... CASCADE of its backup took the hand-made view with it
        assert "{schema}.by_hand" not in expected
        assert sagaz.query("select sum(total) from {schema}.by_hand") == [(NEW,)]
        sagaz.execute("drop view {schema}.by_hand")
    assert_same_state(expected, sagaz.state(), "isolated sagaz-dbt's warehouse vs plain dbt's")
    assert sagaz.leftovers() == []
    assert sagaz.journal_run(result.run_id)[0] == "committed"
    # dbt's artifacts name the production relations, not the shadows.
    for name in ("run_results.json", "manifest.json"):
        text = (sagaz.root / "target" / name).read_text()
        relation_names = [line for line in text.split('"relation_name"')[1:] if "__sagaz_shadow" in line.split(",")[0]]
        assert relation_names == [], f"{name} names a shadow relation"


def test_run_command_publishes_its_models(built):
    """`run` (no tests): the models are published once they all built; seeds are not run."""
    project = _built("duckdb", built)
    project.write("models/mart_by_region.sql", "{{ config(materialized='table') }}\nselect 'all' as region, 1 as total\n")

    result = project.sagaz("--isolation", "publish", command="run")

    assert result.exit_code == 0, project.last_output
    assert project.query("select region, total from {schema}.mart_by_region") == [("all", 1)]
    assert {s["unique_id"] for s in result.report.steps} == {
        "model.iso.stg_orders", "model.iso.mart_by_region", "model.iso.mart_by_id", "model.iso.mart_total", "model.iso.events"
    }
    assert project.leftovers() == []


@pytest.mark.parametrize(
    "args, command, says",
    [
        (["--isolation", "publish"], "seed", "supports `build` and `run` only"),
        (["--isolation", "sideways"], "build", "--isolation takes none or publish"),
    ],
    ids=["command", "mode"],
)
def test_refused_before_anything_changes(args, command, says, built):
    project = _built("duckdb", built)
    before = project.state()
    project.write("seeds/orders.csv", DAY2)

    result = project.sagaz(*args, command=command)

    assert result.exit_code == 2
    assert says in project.last_output
    assert_same_state(before, project.state())
    assert project.leftovers() == []


@pytest.mark.parametrize("engine", ENGINES)
def test_keep_backups_then_rollback_restores_the_pre_run_warehouse(engine, built):
    """--keep-backups: the publish keeps each replaced relation under its kept name instead
    of dropping it, and the journal says so: `sagaz-dbt rollback` swaps them back."""
    project = _built(engine, built)
    before = project.state()
    project.write("seeds/orders.csv", DAY2)

    result = project.sagaz("--isolation", "publish", "--keep-backups", "1")

    assert result.exit_code == 0, project.last_output
    assert project.query("select total from {schema}.mart_total") == [(NEW,)]
    assert len(project.leftovers()) == 6, "the six pre-run relations, kept"
    assert {s for _, s in project.journal_steps(result.run_id)} == {"retained"}
    buffer = io.StringIO()
    try:
        sagaz_dbt.api.rollback(result.run_id, project.location_args, console=Console(file=buffer, width=200))
    finally:
        release_connections()
    assert_same_state(before, project.state(), "after rolling back an isolated run")
    assert project.leftovers() == []


def test_refuses_node_kinds_it_does_not_isolate(built):
    project = _built("duckdb", built)
    project.write("models/exported.sql", "{{ config(materialized='external') }}\nselect 1 as x\n")
    before = project.state()

    result = project.sagaz("--isolation", "publish")

    assert result.exit_code == 2, project.last_output
    assert "model.iso.exported (external)" in project.last_output
    assert_same_state(before, project.state())
    assert not (project.root / "exported.parquet").exists()


SNAPSHOT = """
snapshots:
  - name: orders_history
    relation: ref('orders_dated')
    config:
      unique_key: id
      strategy: timestamp
      updated_at: updated_at
"""
DATED = (
    "{{ config(materialized='view') }}\n"
    "select id, region, amount, "
    "cast('2026-01-01' as timestamp) + id * interval '1 day' + amount * interval '1 minute' as updated_at "
    "from {{ ref('orders') }}\n"
)


@pytest.mark.parametrize("engine", ENGINES)
def test_snapshot_continues_from_its_clone_like_plain_dbt(engine, twins):
    plain, sagaz = twins(engine, name="iso")
    for p in (plain, sagaz):
        p.write("snapshots/history.yml", SNAPSHOT)
        p.write("models/orders_dated.sql", DATED)
        assert p.dbt().success
        p.write("seeds/orders.csv", DAY2.replace("1,north,10", "1,north,15"))  # order 1 changed, order 4 new
    assert plain.dbt().success

    result = sagaz.sagaz("--isolation", "publish")

    assert result.exit_code == 0, sagaz.last_output
    assert "copying" in sagaz.last_output and "orders_history into its shadow (snapshot" in sagaz.last_output
    assert_same_state(plain.state(), sagaz.state(), "isolated snapshot vs plain dbt's")
    # order 1's old version closed, its new one and order 4 added: history kept from the clone
    assert sagaz.query("select count(*) from {schema}.orders_history") == [(5,)]
    assert sagaz.leftovers() == []


def test_postgres_outside_views_follow_the_publish_or_go_as_plain_dbt_drops_them(project):
    """Views bind to OIDs: a hand-made view on a published table is re-created on the new
    table; one that cannot follow (it reads a column the new version lacks) is dropped, as
    plain dbt's DROP ... CASCADE drops it, with a warning, and the publish goes on."""
    p = project("postgres", name="iso")
    p.write("models/wide.sql", "{{ config(materialized='table') }}\nselect 1 as a, 2 as b\n")
    assert p.dbt().success
    p.execute("create view {schema}.reads_a as select a from {schema}.wide")
    p.execute("create view {schema}.reads_b as select b from {schema}.wide")
    p.write("models/wide.sql", "{{ config(materialized='table') }}\nselect 7 as a\n")

    result = p.sagaz("--isolation", "publish")

    assert result.exit_code == 0, p.last_output
    assert p.query("select a from {schema}.reads_a") == [(7,)]
    assert p.query("select count(*) from pg_views where schemaname = '{schema}' and viewname = 'reads_b'") == [(0,)]
    assert any("reads_b" in w and "cannot follow" in w for w in result.report.warnings), result.report.warnings
    assert p.leftovers() == []


def test_postgres_long_aliases_sharing_a_prefix(project):
    """Shadow names leave room for dbt's `__dbt_tmp`/`__dbt_backup` suffixes within 63 bytes,
    so two long aliases that share a prefix never share a dbt intermediate name."""
    p = project("postgres", name="iso")
    prefix = "a_rather_long_model_name_that_shares_a_prefix_"
    for tail in ("daily", "weekly", "monthly"):
        p.write(f"models/{prefix}{tail}.sql", f"{{{{ config(materialized='table') }}}}\nselect '{tail}' as grain\n")
    assert p.dbt().success

    result = p.sagaz("--isolation", "publish", "--threads", "4")

    assert result.exit_code == 0, p.last_output
    for tail in ("daily", "weekly", "monthly"):
        assert p.query(f"select grain from {{schema}}.{prefix}{tail}") == [(tail,)]
    assert p.leftovers() == []


def test_view_select_renamed_changes_only_the_shadow_identifiers():
    """DuckDB's printed view SQL, token by token: names renamed, the rest byte for byte (so
    DuckDB stores the text it stores for dbt's own view), string literals untouched."""
    from sagaz_dbt.saga.sqltext import view_select_renamed

    printed = (
        "CREATE VIEW __sagaz_shadow_ab__v(m, a) AS SELECT date_trunc('month', d)::DATE AS m, "
        '"__sagaz_shadow_ab__t".a FROM main.__sagaz_shadow_ab__t WHERE s = \'__sagaz_shadow_ab__t\';'
    )
    renamed = view_select_renamed(printed, {"__sagaz_shadow_ab__t": "orders"}, "duckdb")
    assert renamed == (
        "SELECT date_trunc('month', d)::DATE AS m, \"orders\".a FROM main.\"orders\" "
        "WHERE s = '__sagaz_shadow_ab__t'"
    )


# -- kills: the old or the new warehouse, and `recover` ends it ------------------------------


def _killed_at(project: Project, point: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "sagaz-dbt"
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1", "SAGAZ_DBT_CRASH_AT": point}
    env.pop("SAGAZ_DBT_RUN_ID", None)
    release_connections()
    return subprocess.run(
        [str(exe), "build", "--isolation", "publish", *project.location_args],
        capture_output=True, text=True, env=env, timeout=300, cwd=project.root,
    )


def _recover(project: Project) -> str:
    buffer = io.StringIO()
    try:
        sagaz_dbt.api.recover(project.location_args, console=Console(file=buffer, width=200, no_color=True))
    finally:
        release_connections()
    return buffer.getvalue()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    "point, published",
    [
        ("isolation-armed", False),  # shadows journaled, none exists yet
        ("isolation-cloned", False),  # the incremental model's shadow holds its copy
        ("node-finished:3", False),  # dbt half way through the shadows
        ("built", False),  # every shadow built and tested, nothing published
        ("isolation-publishing", False),  # inside the publish transaction, before its commit
        ("isolation-published", True),  # the publish committed
    ],
)
def test_kill_at_every_phase_leaves_old_or_new(engine, point, published, twins):
    plain, project = twins(engine, name="iso", prebuilt=True)
    for p in (plain, project):
        p.write("seeds/orders.csv", DAY2)
    assert plain.dbt().success
    before = project.state()

    proc = _killed_at(project, point)
    assert proc.returncode == -9, proc.stdout + proc.stderr
    said = _recover(project)

    after = project.state()
    assert_same_state(plain.state() if published else before, after, f"killed at {point}\n{said}")
    assert project.leftovers() == [], f"shadows outlived the run killed at {point}"
