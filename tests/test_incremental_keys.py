"""Row-level backups of incremental models: keys with NULLs and composite keys.

The backup copies only the rows whose key is in the run's batch.  It matches keys with plain
equality (so Postgres can use a hash join or an index) and handles NULL keys in a separate
branch; these tests make the batch carry NULL keys and a composite key, change the rows under
them, fail the run, and require the exact pre-run rows back.
"""

from __future__ import annotations

from typing import Callable

import pytest

from helpers import ENGINES
from helpers.project import Project, assert_same_state

NULL_KEYED = """\
{{ config(materialized='incremental', unique_key='account_id', incremental_strategy='delete+insert') }}
select account_id, sum(amount) * {{ var('factor', 1) }} as total from {{ ref('stg_events') }} group by 1
union all
select cast(null as integer) as account_id, 100 * {{ var('factor', 1) }} as total
"""

COMPOSITE_KEYED = """\
{{ config(materialized='incremental', unique_key=['account_id', 'parity'], incremental_strategy='delete+insert') }}
select account_id, cast(event_id % 2 as integer) as parity, sum(amount) * {{ var('factor', 1) }} as total
from {{ ref('stg_events') }} group by 1, 2
union all
select 1 as account_id, cast(null as integer) as parity, 7 * {{ var('factor', 1) }} as total
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_null_and_composite_keys_are_restored_exactly(engine: str, project: Callable[..., Project]) -> None:
    proj = project(engine, name="crashy")
    proj.write("models/null_keyed.sql", NULL_KEYED)
    proj.write("models/composite_keyed.sql", COMPOSITE_KEYED)
    assert proj.sagaz().status == "committed", proj.last_output
    assert proj.sagaz("--vars", "{factor: 2}").status == "committed", proj.last_output
    before = proj.state()
    null_rows = proj.query("select count(*) from {schema}.null_keyed where account_id is null")
    assert null_rows[0][0] == 2, "delete+insert never matches a NULL key: each run adds a NULL row"

    proj.use_seed_data("day2")
    result = proj.sagaz("--vars", "{factor: 3, fail_singular: true}")

    assert result.status == "rolled_back", proj.last_output
    acts = {s.step.unique_id: s.action for s in result.saga.steps}
    assert acts["model.crashy.null_keyed"] == "rows restored (keys)", acts
    assert acts["model.crashy.composite_keyed"] == "rows restored (keys)", acts
    assert_same_state(before, proj.state(), "after rollback vs before the run")
    assert proj.leftovers() == []
