"""Postgres binds a view to its table's OID.  Plain dbt renames a rebuilt table to a backup and
drops the backup with CASCADE, silently dropping views that someone built by hand on it.
sagaz-dbt keeps such views working, on rollback (old rows) and on success (new rows)."""

from __future__ import annotations

import pytest

from helpers.project import assert_same_state

pytestmark = pytest.mark.postgres

#: hand-made view -> its select, over a table model, a mixed-case table, an incremental, a seed
#: and a view model.
HAND_MADE = {
    "hand_fct_orders": "select order_id, status, amount_paid from {schema}.fct_orders",
    "hand_ltv": 'select customer_id, lifetime_value from {schema}."CustomerLTV"',
    "hand_payments_log": "select payment_id, amount from {schema}.payments_log",
    "hand_orders": "select order_id, status from {schema}.orders",
    "hand_stg_customers": "select customer_id, email from {schema}.stg_customers",
}


def _rows(project, sql: str) -> list[tuple]:
    return sorted(project.query(sql))


@pytest.mark.parametrize("flags", [[], ["--full-refresh"]], ids=["incremental", "full_refresh"])
def test_hand_made_views_survive_rollback_and_success(flags, built):
    """With --full-refresh dbt also drops and recreates the seeds (DROP ... CASCADE)."""
    project = built("postgres")
    for name, select in HAND_MADE.items():
        project.execute(f"create view {{schema}}.{name} as {select}")
    before = project.state()
    old_rows = {name: _rows(project, f"select * from {{schema}}.{name}") for name in HAND_MADE}
    project.use_seed_data("day2")

    failed = project.sagaz(*flags, "--vars", "{fail_singular: true}")

    assert failed.exit_code == 1 and failed.status == "rolled_back", failed.error
    assert_same_state(before, project.state(), "after rollback vs before (hand-made views included)")
    for name in HAND_MADE:
        assert _rows(project, f"select * from {{schema}}.{name}") == old_rows[name], name

    ok = project.sagaz(*flags)

    assert ok.exit_code == 0 and ok.status == "committed", ok.error
    assert ok.report.warnings == []
    state = project.state()
    for name, select in HAND_MADE.items():
        assert f"{{schema}}.{name}" in state, f"{name} was dropped"
        current = _rows(project, f"select * from {{schema}}.{name}")
        assert current == _rows(project, select), f"{name} does not read the new rows"
        assert current != old_rows[name], name
        assert "sagaz" not in state[f"{{schema}}.{name}"]["definition"]
    assert project.leftovers() == []

    if not flags:
        # Plain dbt, by contrast, drops the view on the rebuilt table (DROP ... CASCADE of its backup).
        assert project.dbt("--select", "customer_ltv", command="run").success
        assert "{schema}.hand_ltv" not in project.state()
