"""A failing `sagaz-dbt build` puts every relation back exactly as it was before the run."""

from __future__ import annotations

import pytest

from helpers import ENGINES
from helpers.project import Project, assert_same_state
from sagaz_dbt.vocabulary import is_restoring

SINGULAR_TEST = "test.shop.assert_revenue_reconciles"

#: name -> (extra args, unique id prefix of the node that fails)
FAILURES = {
    "failing_singular_test": (["--vars", "{fail_singular: true}"], SINGULAR_TEST),
    "failing_generic_test_on_seed": (["--vars", "{min_payment_amount: 1000}"], "test.shop.at_least_payments_amount"),
    "model_error_mid_dag": (["--vars", "{break_model: true}"], "model.shop.fct_orders"),
    "select_subset_with_failure": (["--select", "stg_orders+", "--vars", "{fail_singular: true}"], SINGULAR_TEST),
    # Full refresh: seeds are dropped and recreated, incremental models rebuilt through a swap.
    "full_refresh_with_failure": (["--full-refresh", "--vars", "{fail_singular: true}"], SINGULAR_TEST),
}



def actions(result) -> dict[str, str]:
    return {s.step.unique_id: s.action for s in result.saga.steps}


def assert_rolled_back(project: Project, result, before: dict, failing: str) -> None:
    assert result.exit_code == 1, f"{result.status}: {result.error}\n{project.last_output}"
    assert result.status == "rolled_back", result.error
    assert result.error is None
    failed = [f.unique_id for f in result.dbt.failed_nodes]
    assert any(uid.startswith(failing) for uid in failed), failed
    assert project.journal_run(result.run_id)[0] == "rolled_back"
    assert {status for _, status in project.journal_steps(result.run_id)} <= {"compensated"}
    assert_same_state(before, project.state(), "after rollback vs before the run")
    assert project.leftovers() == [], "a rolled-back run must not leave sagaz relations behind"
    assert "rolled back" in project.last_output


@pytest.mark.parametrize("engine", ENGINES)
def test_failed_second_build_restores_everything(engine, built, subtests):
    """On a warehouse built once, each way of failing leaves it exactly as it was.  The cases
    run one after the other on the same warehouse: each starts from the state the previous
    rollback restored, which is the state before all of them."""
    project = built(engine)
    before = project.state()
    # New data, so that a run that kept its changes would leave a different warehouse.
    project.use_seed_data("day2")

    for failure, (args, failing) in FAILURES.items():
        with subtests.test(failure=failure):
            result = project.sagaz(*args)

            assert_rolled_back(project, result, before, failing)
            # The run did change relations before it failed: the rollback had real work to do.
            restored = {uid: a for uid, a in actions(result).items() if is_restoring(a)}
            assert restored, actions(result)
            if failure == "failing_generic_test_on_seed":
                # The seed was reloaded before its test failed; downstream nodes were skipped.
                assert restored.get("seed.shop.payments", "").startswith("rows restored"), actions(result)
            if failure == "model_error_mid_dag":
                # Independent branches kept running after fct_orders failed; they are restored too.
                assert {"model.shop.payments_log", "snapshot.shop.customers_snapshot"} <= set(restored), actions(result)
            if failure == "select_subset_with_failure":
                # Relations outside the selection are not part of the run at all.
                assert "seed.shop.payments" not in actions(result)


@pytest.mark.parametrize("engine", ENGINES)
def test_failed_run_drops_relations_it_created(engine, built):
    project = built(engine)
    before = project.state()
    project.use_seed_data("day2")
    project.write(
        "models/loyalty/loyalty_tiers.sql",
        "{{ config(materialized='table', schema='loyalty') }}\n"
        "select customer_id, case when country in ('PT', 'FR') then 'gold' else 'silver' end as tier\n"
        "from {{ ref('stg_customers') }}\n",
    )
    project.write(
        "models/loyalty/loyalty_emails.sql",
        "{{ config(materialized='view') }}\nselect customer_id, email from {{ ref('stg_customers') }}\n",
    )

    result = project.sagaz("--vars", "{break_model: true}")

    assert_rolled_back(project, result, before, "model.shop.fct_orders")
    acts = actions(result)
    assert acts["model.shop.loyalty_tiers"] == "dropped", acts
    assert acts["model.shop.loyalty_emails"] == "dropped", acts


@pytest.mark.parametrize("engine", ENGINES)
def test_failed_run_drops_schemas_it_created(engine, built):
    project = built(engine)
    schemas_before = project.schemas()
    project.write(
        "models/loyalty/loyalty_tiers.sql",
        "{{ config(materialized='table', schema='loyalty') }}\nselect customer_id from {{ ref('stg_customers') }}\n",
    )

    result = project.sagaz("--vars", "{break_model: true}")

    assert result.status == "rolled_back", result.error
    assert project.schemas() == schemas_before


@pytest.mark.parametrize("engine", ENGINES)
def test_failed_first_build_leaves_an_empty_warehouse(engine, project):
    proj = project(engine)

    result = proj.sagaz("--vars", "{fail_singular: true}")

    assert_rolled_back(proj, result, {}, SINGULAR_TEST)
    assert set(actions(result).values()) == {"dropped"}, actions(result)


@pytest.mark.parametrize("engine", ENGINES)
def test_failed_run_restores_relations_whose_materialization_changed(engine, built):
    """A change that turns a view into a table and a table into a view, in a run that fails:
    each relation comes back as the type it was, with its rows and definition."""
    project = built(engine)
    before = project.state()
    assert before["{schema}.stg_orders"]["type"] == "view"
    assert before["{schema}_reporting.daily_revenue"]["type"] == "table"
    project.use_seed_data("day2")
    for path, config in (
        ("models/staging/stg_orders.sql", "{{ config(materialized='table') }}\n"),
        ("models/reporting/daily_revenue.sql", "{{ config(materialized='view') }}\n"),
    ):
        sql = (project.root / path).read_text()
        project.write(path, config + sql)

    result = project.sagaz("--vars", "{fail_singular: true}")

    assert_rolled_back(project, result, before, SINGULAR_TEST)
    acts = actions(result)
    assert acts["model.shop.stg_orders"] == "swapped back", acts
    assert acts["model.shop.daily_revenue"] == "swapped back", acts
