"""A failing `sagaz-dbt build` puts every relation back exactly as it was before the run.

The failures every engine must restore exactly (a failing singular test, a failing test on
a seed, a model error mid-DAG, a failing --select subset and full refresh, relations the run
created, a failed first build) are in the engine conformance spec, tests/conformance/."""

from __future__ import annotations

import pytest

from helpers import ENGINES
from helpers.outcomes import actions, assert_rolled_back

SINGULAR_TEST = "test.shop.assert_revenue_reconciles"


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
