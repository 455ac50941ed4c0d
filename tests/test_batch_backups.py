"""Incremental models whose row backup is taken from the batch dbt computed (`__dbt_tmp`).

The pre-hook backup evaluated the model's query a second time, before dbt did: a second
scan of the source, and, for a query whose result differs between evaluations, keys other
than the ones dbt then wrote, so a rollback would miss rows (saga/batch_backups.py).  Here
the batch is a random half of 49 keyed rows: two evaluations nearly never agree, and the
rollback must still put back exactly the pre-run rows.  If dbt's materialization ever
merged without the backup having run, the guard post-hook fails the node inside its
transaction and the run rolls back untouched.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Callable

import pytest

from helpers import ENGINES
from helpers.project import Project, assert_same_state
from sagaz_dbt.saga import batch_backups

SAMPLED = """\
{{ config(materialized='incremental', unique_key='pair_id', incremental_strategy='delete+insert') }}
select a.event_id * 1000 + b.event_id as pair_id, a.amount * {{ var('factor', 1) }} as amount
from {{ ref('stg_events') }} as a cross join {{ ref('stg_events') }} as b
{% if is_incremental() %}where random() < 0.5{% endif %}
"""


def _committed_twice(project: Callable[..., Project], engine: str, files: dict[str, str] | None = None) -> Project:
    """The crashy project with `files` (default: the sampled model), built twice, then
    given the next day's seeds."""
    proj = project(engine, name="crashy")
    for path, text in (files or {"models/sampled.sql": SAMPLED}).items():
        proj.write(path, text)
    assert proj.sagaz().status == "committed", proj.last_output
    assert proj.sagaz("--vars", "{factor: 2}").status == "committed", proj.last_output
    proj.use_seed_data("day2")
    return proj


def _fails_and_restores_from_the_batch(proj: Project, unique_id: str) -> None:
    """A run that fails on the singular test puts `unique_id` back from the backup of its
    touched rows, exactly, and that backup read its keys from dbt's `__dbt_tmp`."""
    before = proj.state()

    result = proj.sagaz("--vars", "{factor: 3, fail_singular: true}")

    assert result.status == "rolled_back", proj.last_output
    acts = {s.step.unique_id: s.action for s in result.saga.steps}
    assert acts[unique_id] == "rows restored (keys)", acts
    assert_same_state(before, proj.state(), "after rollback vs before the run")
    assert proj.leftovers() == []
    log = (proj.root / "logs" / "dbt.log").read_text()
    keys_from = [line for line in log.splitlines() if "select distinct" in line and "sagaz_batch" in line]
    assert keys_from and all("__dbt_tmp" in line for line in keys_from), keys_from


@pytest.mark.parametrize("engine", ENGINES)
def test_a_batch_that_differs_per_evaluation_is_restored_exactly(engine: str, project: Callable[..., Project]) -> None:
    _fails_and_restores_from_the_batch(_committed_twice(project, engine), "model.crashy.sampled")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_merge_without_its_backup_fails_the_node_and_the_run_rolls_back(
    engine: str, project: Callable[..., Project], monkeypatch: pytest.MonkeyPatch
) -> None:
    proj = _committed_twice(project, engine)
    before = proj.state()
    # dbt's materialization no longer reaching the wrapper: the batch backup never runs
    monkeypatch.setattr(batch_backups.BatchBackups, "installed", lambda self: nullcontext())

    result = proj.sagaz("--vars", "{factor: 3}")

    assert result.status == "rolled_back", proj.last_output
    assert result.exit_code == 1
    errors = {str(r.node.unique_id): str(r.message) for r in result.dbt.results if str(r.status) == "error"}
    assert set(errors) == {"model.crashy.sampled", "model.crashy.events_log"}, errors
    assert all("without the backup of its touched rows" in message for message in errors.values()), errors
    assert_same_state(before, proj.state(), "after the guard's rollback vs before the run")
    assert proj.leftovers() == []


UPSERT_STRATEGY = """\
{% macro get_incremental_upsert_sql(arg_dict) %}
  {{ return(adapter.get_incremental_strategy_macro(context, 'delete+insert')(arg_dict)) }}
{% endmacro %}
"""

UPSERTED = """\
{{ config(materialized='incremental', unique_key='event_id', incremental_strategy='upsert') }}
select event_id, amount * {{ var('factor', 1) }} as amount from {{ ref('stg_events') }}
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_a_custom_strategy_that_delegates_to_a_builtin_is_backed_up_once(
    engine: str, project: Callable[..., Project]
) -> None:
    """The project's strategy asks the adapter for dbt's delete+insert from inside its own
    call: both macros are wrapped, and the backup must run once (a second would find its
    keys table already there and fail a correct run)."""
    proj = _committed_twice(project, engine, {"macros/upsert.sql": UPSERT_STRATEGY, "models/upserted.sql": UPSERTED})
    _fails_and_restores_from_the_batch(proj, "model.crashy.upserted")
