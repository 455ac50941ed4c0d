"""The long version of the kill test: hundreds of SIGKILLs, on demand.

    SAGAZ_STRESS_KILLS=300 ./scripts/test.sh tests/stress -s

runs every named crash point and that many random kills per engine (seeded by
SAGAZ_STRESS_SEED, default 1), and prints how many ended in the pre-run state and how many
in the successful state.  Each trial must end in an outcome its kill allows (any torn
warehouse fails), and both outcomes must have happened.  Skipped unless SAGAZ_STRESS_KILLS
is set.
"""

from __future__ import annotations

import os
from typing import Callable

import pytest

from helpers.project import Project
from test_crash_recovery import NAMED, kill_and_recover

KILLS = int(os.environ.get("SAGAZ_STRESS_KILLS", "0") or 0)


@pytest.mark.skipif(KILLS <= 0, reason="on demand: set SAGAZ_STRESS_KILLS=N to run N kills per engine")
@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_stress_kill(engine: str, built: Callable[..., Project]) -> None:
    seed = int(os.environ.get("SAGAZ_STRESS_SEED", "1"))
    summary = kill_and_recover(engine, built, random_trials=KILLS, seed=seed)
    print(f"\n{engine}: {KILLS} random kills + the named points, seed {seed}: {summary.seen}, torn: 0")
    assert summary.trials >= KILLS + len(NAMED) - 1  # every named point (repointed: Postgres only)
