"""A DuckDB rollback on a full disk: the message says what failed, which run, and what to do;
after space is freed, `sagaz-dbt recover` restores the pre-run state exactly.

The disk is real: the warehouse file lives on a small tmpfs mounted for the test (root only;
skipped otherwise).  A Python model of the project fills that filesystem to the last byte
and then errors, as another process filling the disk during a build would: dbt stops, and the
rollback's commit cannot write DuckDB's WAL (ENOSPC from the kernel, no mock).  The old code
reported only "Runtime Error" (dbt's banner line).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sagaz_dbt import diagnosis

from helpers.inspect import DuckDBInspector
from helpers.project import assert_same_state
from sagaz_dbt.dbt.session import release_connections

FILL_ENV = "SAGAZ_TEST_FILL_DISK"

FILLER_MODEL = f'''import os


def model(dbt, session):
    dbt.config(materialized="table")
    dbt.ref("orders")
    target = os.environ.get("{FILL_ENV}")
    if target:
        with open(target, "wb") as fh:  # fill the filesystem to its last byte, and keep it full
            for size in (1 << 16, 1):
                try:
                    while True:
                        fh.write(b"x" * size)
                        fh.flush()
                except OSError:
                    pass
        raise RuntimeError("another process filled the disk")
    return session.sql("select 1 as x")
'''


def _mount_tmpfs(where: Path, size: str) -> str | None:
    """Mount a tmpfs of `size` at `where`; the reason it cannot be, or None."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return "needs root to mount a small tmpfs for the warehouse"
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True, text=True)
    return None if proc.returncode == 0 else f"cannot mount a tmpfs here: {proc.stderr.strip()}"


def _console_script(project, *args: str, **env_extra: str) -> subprocess.CompletedProcess:
    release_connections()
    exe = Path(sys.executable).parent / "sagaz-dbt"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SAGAZ_DBT_", "DBT_"))}
    env.update(DBT_SEND_ANONYMOUS_USAGE_STATS="false", NO_COLOR="1", COLUMNS="300", **env_extra)
    return subprocess.run(
        [str(exe), *args, *project.location_args], capture_output=True, text=True, env=env, timeout=300, cwd=project.root
    )


@pytest.fixture
def small_disk(tmp_path: Path):
    disk = tmp_path / "disk"
    reason = _mount_tmpfs(disk, "24m")
    if reason is not None:
        pytest.skip(reason)
    try:
        yield disk
    finally:
        release_connections()
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_rollback_on_a_full_disk_says_so_and_recover_finishes(built, small_disk):
    project = built("duckdb")
    warehouse = small_disk / "warehouse.duckdb"
    shutil.copyfile(project.warehouse_path, warehouse)
    project.write_profile(path=str(warehouse))
    project.inspector = DuckDBInspector(warehouse, project.schema)
    project.write("models/filler.py", FILLER_MODEL.replace('dbt.ref("orders")', 'dbt.ref("stg_orders")'))
    first = project.sagaz()  # builds the filler once, so the failing run replaces it
    assert first.exit_code == 0, project.last_output
    before = project.state()
    project.use_seed_data("day2")
    filler = small_disk / "filler"

    proc = _console_script(project, "build", **{FILL_ENV: str(filler)})

    out = re.sub(r"\s+", " ", proc.stdout)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    run_id = re.search(r"rolling back run ([0-9a-f]{32})", out).group(1)
    assert f"run {run_id} could not be rolled back:" in out, out  # which run
    verdict = out.split(f"run {run_id} could not be rolled back:", 1)[1]
    assert "No space left on device" in verdict[:300], verdict  # what failed: the engine's words
    assert "disk holding the warehouse" in verdict and "is full" in verdict, verdict  # the cause, in words
    assert "sagaz-dbt recover" in verdict, verdict  # what to do

    filler.unlink()  # the user frees space
    recovered = _console_script(project, "recover")

    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert f"run {run_id} is now rolled back" in re.sub(r"\s+", " ", recovered.stdout), recovered.stdout
    assert_same_state(before, project.state(), "after recovering the disk-full rollback vs before")
    assert project.journal_run(run_id)[0] == "rolled_back"
    assert project.leftovers() == []


#: (engine text as dbt raised it, the cause sagaz-dbt must name).  The DuckDB texts are the
#: ones the test above produced; the Postgres one is its ENOSPC report (SQLSTATE 53100).
DIAGNOSES = [
    (
        'Runtime Error\n  TransactionContext Error: Failed to commit: Could not write file '
        '"/data/warehouse.duckdb.wal": No space left on device',
        diagnosis.Cause.DISK_FULL,
    ),
    (
        'Runtime Error\n  IO Error: Async write failed: {"exception_type":"IO","errno":"28"}',
        diagnosis.Cause.DISK_FULL,
    ),
    (
        'Database Error\n  could not extend file "base/16384/16385": No space left on device',
        diagnosis.Cause.DISK_FULL,
    ),
    ("Database Error\n  permission denied for schema sagaz", diagnosis.Cause.PERMISSION),
    ("Database Error\n  cannot execute CREATE TABLE in a read-only transaction", diagnosis.Cause.READ_ONLY),
    ("Runtime Error\n  Catalog Error: Table with name x does not exist!", None),
]


@pytest.mark.parametrize("text, cause", DIAGNOSES)
def test_diagnosis_names_the_cause_and_keeps_the_engines_words(text, cause):
    try:
        raise RuntimeError("wrapped") from RuntimeError(text)
    except RuntimeError as exc:
        wrapped = exc
    assert diagnosis.cause(wrapped) is cause  # found through the exception chain
    described = diagnosis.describe(RuntimeError(text))
    assert not described.startswith(("Runtime Error", "Database Error")), described
    assert described == text.splitlines()[1].strip()
