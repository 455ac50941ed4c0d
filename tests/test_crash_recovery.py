"""Fault injection: SIGKILL `sagaz-dbt build` at every phase, then `recover`.

Each trial runs the real console script in a subprocess and kills it, either at a named
crash point (SAGAZ_DBT_CRASH_AT: between two durable writes of arming, the build, the
compensation or the release) or after a random delay.  Then `sagaz-dbt recover` runs with
the same flags, and the warehouse must equal the pre-run state or the successful run's state,
checksum for checksum, with no sagaz backup left behind.

The trials are seeded, so a failure reproduces.  benchmarks/stress_kill.py runs hundreds.
"""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest
from rich.console import Console

import sagaz_dbt.api
from sagaz_dbt.runner import release_connections

from helpers.project import RUN_ID_ENV, Project, assert_same_state

SEED = 20261123

#: Crash points, by phase.  `name:n` kills at the n-th pass.
POINTS_ANY = ["armed-run", "armed", "node-finished:1", "node-finished:4", "node-finished:9", "built"]
POINTS_FAILING = ["compensate-step", "compensated"]
POINTS_SUCCEEDING = ["committing", "release-step", "released"]

FAIL_VARS = ["--vars", "{fail_singular: true}"]


@dataclass
class Trial:
    failing: bool
    point: str | None  # None: kill after `delay` seconds instead
    delay: float = 0.0

    def describe(self) -> str:
        how = f"at {self.point}" if self.point else f"after {self.delay:.2f}s"
        return f"{'failing' if self.failing else 'succeeding'} build killed {how}"


def plan_trials(rng: random.Random, count: int, run_seconds: float) -> list[Trial]:
    """Every named point once where the count allows, the rest at random moments."""
    named = [Trial(True, p) for p in POINTS_ANY[:3] + POINTS_FAILING] + [
        Trial(False, p) for p in POINTS_ANY[3:] + POINTS_SUCCEEDING
    ]
    rng.shuffle(named)
    trials = named[: max(count - 3, 0)]
    while len(trials) < count:
        trials.append(Trial(rng.random() < 0.5, None, rng.uniform(0.3, run_seconds)))
    return trials


def run_killed(project: Project, trial: Trial, timeout: float = 240) -> subprocess.CompletedProcess | None:
    """Start `sagaz-dbt build`; kill it as the trial says.  Returns the finished process if it
    ran to completion before a random-delay kill could hit it."""
    exe = Path(sys.executable).parent / "sagaz-dbt"
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1"}
    env.pop(RUN_ID_ENV, None)
    if trial.point:
        env["SAGAZ_DBT_CRASH_AT"] = trial.point
    args = [str(exe), "build", *(FAIL_VARS if trial.failing else []), *project.location_args]
    proc = subprocess.Popen(args, env=env, cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if trial.point:
        out, _ = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(args, proc.returncode, out, "")
    deadline = time.monotonic() + trial.delay
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(args, proc.returncode, out, "") if proc.returncode >= 0 else None


def recover(project: Project) -> str:
    """`sagaz-dbt recover` with the build's flags, in-process (the killed build is gone, and
    with it DuckDB's file lock); returns what it printed."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, no_color=True)
    try:
        sagaz_dbt.api.recover(project.location_args, console=console)
    finally:
        release_connections()
    return buffer.getvalue()


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    try:
        assert_same_state(a, b)
    except AssertionError:
        return False
    return True


def kill_and_recover(
    engine: str, built: Callable[..., Project], trials: int, seed: int
) -> dict[str, int]:
    """Run `trials` kills on one warehouse; returns counts by outcome."""
    expected = built(engine, name="crashy", label="expected")
    expected.use_seed_data("day2")
    started = time.monotonic()
    ok = expected.sagaz()
    run_seconds = time.monotonic() - started + 2.5  # + the subprocess's interpreter start
    assert ok.exit_code == 0, expected.last_output
    succeeded_state = expected.state()

    project = built(engine, name="crashy", label="crash")
    project.use_seed_data("day2")
    rng = random.Random(seed)
    counts = {"pre-run": 0, "successful": 0}
    before = project.state()
    for number, trial in enumerate(plan_trials(rng, trials, run_seconds), start=1):
        finished = run_killed(project, trial)
        said = recover(project)
        after = project.state()
        where = f"trial {number} ({trial.describe()})"
        if same(before, after):
            counts["pre-run"] += 1
        elif not trial.failing and same(succeeded_state, after):
            counts["successful"] += 1
        else:
            detail = finished.stdout[-3000:] if finished else ""
            assert_same_state(before, after, f"{where}: torn warehouse after recover\n{detail}\n{said}")
        assert project.leftovers() == [], f"{where}: sagaz backups left behind: {project.leftovers()}"
        before = after
    return counts


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_sigkill_at_every_phase_then_recover(engine: str, built: Callable[..., Project]) -> None:
    counts = kill_and_recover(engine, built, trials=10, seed=SEED)
    print(f"{engine}: {counts}")
    assert sum(counts.values()) == 10
