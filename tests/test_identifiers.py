"""Odd identifiers: a model aliased to the reserved word `order` and one aliased to the
mixed-case `CustomerLTV` are kept, restored and released like any other."""

from __future__ import annotations

import pytest

from helpers import ENGINES
from helpers.project import assert_same_state

ODD = {"model.shop.order_lines": "{schema}.order", "model.shop.customer_ltv": "{schema}.CustomerLTV"}


@pytest.mark.parametrize("engine", ENGINES)
def test_reserved_word_and_mixed_case_aliases(engine, built):
    project = built(engine)
    before = project.state()
    for key in ODD.values():
        assert key in before, sorted(before)
    ltv_before = project.query('select customer_id, lifetime_value from {schema}."CustomerLTV" order by 1')
    project.use_seed_data("day2")

    # A run that rebuilds both (the failing test runs after them) and is rolled back.
    failed = project.sagaz("--vars", "{fail_singular: true}")

    assert failed.exit_code == 1 and failed.status == "rolled_back", failed.error
    steps = {s.step.unique_id: s for s in failed.saga.steps}
    for uid in ODD:
        assert steps[uid].action == "swapped back", (uid, steps[uid].action)
    assert {steps[uid].step.identifier for uid in ODD} == {"order", "CustomerLTV"}
    assert_same_state(before, project.state(), "after rollback vs before")
    assert project.query('select customer_id, lifetime_value from {schema}."CustomerLTV" order by 1') == ltv_before
    assert project.leftovers() == []

    # The same run without the failure commits; the new rows are in place under the odd names.
    ok = project.sagaz()

    assert ok.exit_code == 0 and ok.status == "committed", ok.error
    after = project.state()
    assert after["{schema}.CustomerLTV"]["rows"] == 9
    assert after["{schema}.order"]["rows"] == 14
    assert project.query('select count(*) from {schema}."order" where status = \'completed\'') == [(8,)]
    assert project.leftovers() == []
