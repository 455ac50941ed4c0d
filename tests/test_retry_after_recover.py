"""`sagaz-dbt retry` after a rollback that `recover` finished (issue 13).

A failed build whose own rollback was cut short by a crash is rolled back by `recover`;
nothing of its dbt invocation landed, so `retry` must re-run all of it, exactly as after a
rollback the build finished itself (not only the nodes dbt recorded as failed: the seeds it
loaded were rolled back too).
"""

from __future__ import annotations

import json

from helpers.project import assert_same_state
from test_crash_recovery import Build, Trial, recover, run_killed


def test_retry_after_a_recovered_rollback_reruns_the_whole_invocation(built):
    plain = built("duckdb", label="plain")
    p = built("duckdb", label="sagaz")
    for proj in (plain, p):
        proj.use_seed_data("day2")
    assert plain.dbt().success
    before = p.state()

    run_killed(p, Trial(Build.FAILING, "compensate-step"))
    invocation = json.loads((p.root / "target" / "run_results.json").read_text())["metadata"]["invocation_id"]
    said = recover(p)
    assert_same_state(before, p.state(), f"after recover\n{said}")
    remembered = json.loads((p.root / "target" / "sagaz" / "rolled_back_invocation.json").read_text())
    assert remembered["invocation_id"] == invocation

    result = p.sagaz("--vars", "{fail_singular: false}", command="retry")

    assert result.exit_code == 0, f"{result.status}: {result.error}\n{p.last_output}"
    assert_same_state(plain.state(), p.state(), "retry after a recovered rollback vs plain dbt's build")


def test_a_crash_during_retry_is_recovered(built):
    """A `sagaz-dbt retry` killed after dbt ran: `recover` rolls it back like any run."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from helpers.project import RUN_ID_ENV

    p = built("duckdb")
    before = p.state()
    p.use_seed_data("day2")
    failed = p.sagaz("--vars", "{fail_singular: true}")
    assert failed.status == "rolled_back"
    assert_same_state(before, p.state(), "after the build's own rollback")

    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "NO_COLOR": "1", "SAGAZ_DBT_CRASH_AT": "built"}
    env.pop(RUN_ID_ENV, None)
    exe = Path(sys.executable).parent / "sagaz-dbt"
    killed = subprocess.run(
        [str(exe), "retry", "--vars", "{fail_singular: false}", *p.location_args],
        env=env, cwd=p.root, capture_output=True, text=True, timeout=300,
    )
    assert killed.returncode < 0 or killed.returncode == 137, killed.stdout[-3000:]
    said = recover(p)

    assert "rolled back" in said, said
    assert_same_state(before, p.state(), f"after recovering the killed retry\n{said}")
    assert p.leftovers() == []
