"""Kill-and-recover on Spark: a run SIGKILLed at a phase leaves a state `sagaz-dbt recover`
(in the next process) brings back exactly to the pre-run warehouse, with no sagaz relation
left.  Without transactional DDL, this is what the journal-first ordering and the
idempotent steps (macros/engines/spark/phases.sql) are for.

Each process of the chain starts its own Spark session on a warehouse folder of its own
(Derby admits one process per metastore): about 40 s of JVM each, so the chain is short.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from helpers.project import assert_same_state
from helpers.spark import new_schema, profile_output

import yaml

pytestmark = pytest.mark.spark

CHAIN = Path(__file__).resolve().parent / "chain.py"
PROJECT = Path(__file__).resolve().parent.parent / "projects" / "spark_shop"
JOURNAL = {"sagaz.sagaz_runs", "sagaz.sagaz_steps", "sagaz.sagaz_marks", "sagaz.sagaz_runs_log", "sagaz.sagaz_steps_log"}


def _chain(root: Path, schema: str, actions: list[list[str]], env: dict[str, str] | None = None,
           kill_after_line: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run one process of the chain; with `kill_after_line`, SIGKILL it 2 s after it prints that."""
    full_env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("SAGAZ_DBT_RUN_ID", None)
    proc = subprocess.Popen(
        [sys.executable, str(CHAIN), str(root), schema, json.dumps(actions)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env, cwd=root,
    )
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if kill_after_line is not None and kill_after_line in line:
            time.sleep(2.0)
            proc.send_signal(signal.SIGKILL)
        if time.monotonic() > deadline:
            proc.kill()
    proc.wait()
    out = "".join(lines)
    log = root.parent / f"chain_{len(list(root.parent.glob('chain_*.log')))}.log"
    log.write_text(out)
    print(f"chain output: {log}\n" + out[-4000:])
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


def _dump(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


@pytest.mark.timeout(1800)  # four processes, each starting Spark: ~5 min idle, far more on a busy machine
def test_kill_at_phases_then_recover(tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "spark_shop"
    shutil.copytree(PROJECT, root)
    schema = new_schema()
    profile = {"spark_shop": {"target": "dev", "outputs": {"dev": profile_output(schema, tmp_path / "warehouse")}}}
    (root / "profiles.yml").write_text(yaml.safe_dump(profile))

    # 1: the pre-run warehouse (plain dbt), then a build killed right after arming (journal
    #    and copies written, dbt not started).
    first = _chain(root, schema, [["dbt"], ["dump", str(tmp_path / "before.json")], ["sagaz", "--vars", "{batch: 2}"]],
                   env={"SAGAZ_DBT_CRASH_AT": "armed-run"})
    assert first.returncode == -signal.SIGKILL, first.stdout[-3000:]
    before = _dump(tmp_path / "before.json")
    assert before["state"] and not [o for o in before["sagaz"] if o not in JOURNAL]

    # 2: recover it; then a failing build (seeds reloaded with other rows) killed 2 s into
    #    its rollback (some relations restored, others not).
    (root / "seeds" / "customers.csv").write_text("customer_id,name,country\n1,Ada,PT\n9,Zed,DE\n")
    second = _chain(root, schema, [["dbt_refused"], ["recover"], ["dump", str(tmp_path / "after_arming.json")],
                                   ["sagaz", "--vars", "{batch: 2, fail_singular: true}"]],
                    kill_after_line="rolling back run")
    assert second.returncode == -signal.SIGKILL, second.stdout[-3000:]
    assert "PLAIN DBT refused" in second.stdout, [l for l in second.stdout.splitlines() if "PLAIN DBT" in l]  # the guard: plain dbt never builds over an unfinished run
    recovered = _dump(tmp_path / "after_arming.json")
    assert_same_state(before["state"], recovered["state"], "after recovering a run killed after arming")
    assert [o for o in recovered["sagaz"] if o not in JOURNAL] == []

    # 3: recover the half-rolled-back run; then a build killed after dbt changed everything.
    third = _chain(root, schema, [["recover"], ["dump", str(tmp_path / "after_rollback.json")],
                                  ["sagaz", "--vars", "{batch: 2}"]],
                   env={"SAGAZ_DBT_CRASH_AT": "built"})
    assert third.returncode == -signal.SIGKILL, third.stdout[-3000:]
    recovered = _dump(tmp_path / "after_rollback.json")
    assert_same_state(before["state"], recovered["state"], "after recovering a run killed mid-rollback")
    assert [o for o in recovered["sagaz"] if o not in JOURNAL] == []

    # 4: recover the built-but-undecided run.
    fourth = _chain(root, schema, [["recover"], ["dump", str(tmp_path / "after_built.json")]])
    assert fourth.returncode == 0, fourth.stdout[-3000:]
    recovered = _dump(tmp_path / "after_built.json")
    assert_same_state(before["state"], recovered["state"], "after recovering a run killed after dbt built")
    assert [o for o in recovered["sagaz"] if o not in JOURNAL] == []
