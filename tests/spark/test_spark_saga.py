"""sagaz-dbt on Spark (dbt-spark, session mode, parquet): what only Spark has, on the
spark_shop project (seeds, tables, views, incremental append and insert_overwrite).  Every
assertion on the warehouse compares row-level checksums of every relation (helpers/spark.py).

The engine-neutral scenarios (success equals plain dbt, a second incremental run, a failing
test, a model error mid-DAG, a `--select` subset, refused node kinds) run once, in the
conformance suite (test_spark_conformance.py); this module keeps what is Spark's own: the
journal's values as literals, the metastore as the lock, the plain-dbt guard reading the
append-only journal, and no message promising a transaction.  It shares one project built by
plain dbt (`built`): each test must leave it exactly as before.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from helpers.project import Project, assert_same_state

from helpers.spark import new_schema

#: A module's first test also pays the Spark session and the plain builds (pytest-timeout
#: counts setup): minutes on a busy 2-core machine.
pytestmark = [pytest.mark.spark, pytest.mark.timeout(1800)]

#: Day-2 seed data: a failing run also reloads the seeds (changed rows), so a restore that
#: missed a seed would show.
DAY2_CUSTOMERS = "customer_id,name,country\n1,Ada,PT\n2,Bob,ES\n3,Cy,DE\n5,Eve,IT\n"


def run_status(project: Project, run_id: str) -> str | None:
    assert run_id.isalnum()  # a run id is hex: safe to inline (pyspark takes no bindings)
    rows = project.query(f"select status from sagaz.sagaz_runs where run_id = '{run_id}'")
    return rows[0][0] if rows else None


#: The two builds both warehouses get: a first build, then incremental runs writing batch 2.
BUILDS = ([], ["--vars", "{batch: 2}"])


@pytest.fixture(scope="module")
def built(spark_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Project, list[dict]]]:
    """A warehouse built by plain dbt (BUILDS), with its state after each build: the
    reference of the success test, then the starting point of every failure test."""
    project = Project("spark_shop", "spark", tmp_path_factory.mktemp("built") / "spark_shop", new_schema())
    states = []
    for args in BUILDS:
        assert project.dbt(*args).success
        states.append(project.state())
    yield project, states


@pytest.fixture(scope="module")
def second_process(built: tuple[Project, list[dict]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[subprocess.Popen]:
    """`sagaz-dbt build` in another process on the built warehouse's folder (a copy of the
    project: its own target/), started as soon as the warehouse is built: it waits about a
    minute for Derby to give up, meanwhile this module's other tests run."""
    project = built[0]
    root = tmp_path_factory.mktemp("second") / "spark_shop"
    shutil.copytree(project.root, root, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1"}
    env.pop("SAGAZ_DBT_RUN_ID", None)
    location = ["--project-dir", str(root), "--profiles-dir", str(root)]
    proc = subprocess.Popen([str(Path(sys.executable).parent / "sagaz-dbt"), "build", *location], cwd=root, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc.started = time.monotonic()  # type: ignore[attr-defined]
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


@pytest.fixture(autouse=True)
def _start_second_process_early(request: pytest.FixtureRequest) -> None:
    """Every test of the module starts it (once): it overlaps with the first test."""
    request.getfixturevalue("second_process")


def _fails_and_restores(project: Project, *args: str) -> str:
    before = project.state()
    assert before, "nothing built"
    started = time.monotonic()
    result = project.sagaz(*args)
    print(f"sagaz-dbt {' '.join(args)}: {time.monotonic() - started:.1f} s")
    assert result.exit_code == 1, f"{result.status}: {result.error}\n{project.last_output}"
    assert result.status == "rolled_back"
    assert_same_state(before, project.state(), "warehouse after the rollback")
    assert project.leftovers() == []
    assert run_status(project, result.run_id) == "rolled_back"
    assert "one transaction" not in project.last_output
    return result.run_id


def test_journal_values_are_literals_and_a_subset_restores(built: tuple[Project, list[dict]]) -> None:
    """The journal's values are literals, not dbt-spark's unescaped bindings: a command
    holding a quote, a backslash and a `%s` is recorded exactly; the run (a `--select`
    subset with seeds reloaded with other rows, both incrementals written, the last test
    failing) restores every kind of relation."""
    project = built[0]
    seed = project.root / "seeds" / "customers.csv"
    original = seed.read_text()
    seed.write_text(DAY2_CUSTOMERS)
    vars_ = "{fail_singular: true, batch: 3, note: \"it's a \\\\ %s\"}"
    try:
        run_id = _fails_and_restores(project, "--select", "customers+", "customer_totals+", "orders_log", "orders_by_batch", "--vars", vars_)
    finally:
        seed.write_text(original)
    (command,) = project.query(f"select command from sagaz.sagaz_runs where run_id = '{run_id}'")[0]
    assert vars_ in command, command


def test_a_second_process_is_told_another_run_holds_the_target(
    built: tuple[Project, list[dict]], second_process: subprocess.Popen
) -> None:
    """This process's Spark session holds the Derby metastore; a `sagaz-dbt build` in another
    process on the same folder (started by the `second_process` fixture) cannot start its
    session (Derby XSDB6, after about a minute) and must say so, changing nothing."""
    project, states = built
    output, _ = second_process.communicate(timeout=400)
    print(f"second process refused after {time.monotonic() - second_process.started:.1f} s")  # type: ignore[attr-defined]
    assert second_process.returncode == 2, output[-3000:]
    assert "another run holds this target" in output and "Derby" in output, output[-3000:]
    assert_same_state(states[-1], project.state())


def test_plain_dbt_passes_the_guard_when_no_run_is_unfinished(built: tuple[Project, list[dict]]) -> None:
    """The package's on-run-start guard reads the journal (views over the append-only logs)
    and lets plain dbt through when every run is finished (target.database is undefined on
    dbt-spark: the guard must not trip on it)."""
    project = built[0]
    before = project.state()
    result = project.dbt("--select", "customers")
    assert result.success, result.exception
    assert_same_state(before, project.state())
