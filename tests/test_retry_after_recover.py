"""`sagaz-dbt retry` after a rollback that `recover` finished (issue 13).

A failed build whose own rollback was cut short by a crash is rolled back by `recover`;
nothing of its dbt invocation landed, so `retry` must re-run all of it, exactly as after a
rollback the build finished itself (not only the nodes dbt recorded as failed: the seeds it
loaded were rolled back too).
"""

from __future__ import annotations

import json

from helpers.project import assert_same_state
from test_crash_recovery import Trial, recover, run_killed


def test_retry_after_a_recovered_rollback_reruns_the_whole_invocation(built):
    plain = built("duckdb", label="plain")
    p = built("duckdb", label="sagaz")
    for proj in (plain, p):
        proj.use_seed_data("day2")
    assert plain.dbt().success
    before = p.state()

    run_killed(p, Trial(failing=True, point="compensate-step"))
    invocation = json.loads((p.root / "target" / "run_results.json").read_text())["metadata"]["invocation_id"]
    said = recover(p)
    assert_same_state(before, p.state(), f"after recover\n{said}")
    remembered = json.loads((p.root / "target" / "sagaz" / "rolled_back_invocation.json").read_text())
    assert remembered["invocation_id"] == invocation

    result = p.sagaz("--vars", "{fail_singular: false}", command="retry")

    assert result.exit_code == 0, f"{result.status}: {result.error}\n{p.last_output}"
    assert_same_state(plain.state(), p.state(), "retry after a recovered rollback vs plain dbt's build")
