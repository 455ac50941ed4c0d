"""The long version of the kill test: hundreds of SIGKILLs, on demand.

    SAGAZ_STRESS_KILLS=300 ./scripts/test.sh tests/stress -s

runs that many kills per engine (seeded by SAGAZ_STRESS_SEED, default 1) and prints how many
ended in the pre-run state and how many in the successful state; any torn warehouse fails.
Skipped unless SAGAZ_STRESS_KILLS is set.
"""

from __future__ import annotations

import os
from typing import Callable

import pytest

from helpers.project import Project
from test_crash_recovery import kill_and_recover

KILLS = int(os.environ.get("SAGAZ_STRESS_KILLS", "0") or 0)


@pytest.mark.skipif(KILLS <= 0, reason="on demand: set SAGAZ_STRESS_KILLS=N to run N kills per engine")
@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_stress_kill(engine: str, built: Callable[..., Project]) -> None:
    seed = int(os.environ.get("SAGAZ_STRESS_SEED", "1"))
    counts = kill_and_recover(engine, built, trials=KILLS, seed=seed)
    print(f"\n{engine}: {KILLS} kills, seed {seed}: {counts}, torn: 0")
    assert sum(counts.values()) == KILLS
