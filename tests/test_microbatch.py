"""Microbatch models: the backup covers the run's event-time window, not the table.

On DuckDB dbt-duckdb deletes and re-inserts each batch by its event-time window, so
sagaz-dbt copies the rows from the first batch's start on while arming, and a rollback
deletes that window and re-inserts them.  dbt-postgres runs microbatch as a merge on the
unique_key, which can reach rows outside the window, so there the table is copied.

The events are dated around today (the batches hang on the current date): ten days back
to two days ahead, so rows lie before, inside and after the default window of
`lookback=2` (the current day and the two before it).
"""

from __future__ import annotations

import datetime as dt
from typing import Callable

import pytest

from helpers import ENGINES
from helpers.project import Project, assert_same_state

MICROBATCH = """\
{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='event_ts',
          batch_size='day', begin=var('begin'), lookback=2,
          unique_key=('click_id' if target.type == 'postgres' else none)) }}
select click_id, account_id, amount * {{ var('factor', 1) }} as amount, event_ts from {{ ref('stg_clicks') }}
"""

STG = """\
{{ config(materialized='table', event_time='event_ts') }}
select click_id, account_id, amount, cast(event_ts as timestamp) as event_ts from {{ ref('clicks') }}
"""


def _today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def _add_clicks(proj: Project) -> Project:
    start = dt.datetime.combine(_today() - dt.timedelta(days=10), dt.time())
    lines = ["click_id,account_id,amount,event_ts"]
    for i in range(48):  # every 6 hours, 12 days
        lines.append(f"{i},{i % 4},{10 + i},{(start + dt.timedelta(hours=6 * i)).isoformat(sep=' ')}")
    proj.write("seeds/clicks.csv", "\n".join(lines) + "\n")
    proj.write("models/stg_clicks.sql", STG)
    proj.write("models/clicks_daily.sql", MICROBATCH)
    return proj


def _clicks_project(project: Callable[..., Project], engine: str) -> Project:
    return _add_clicks(project(engine, name="crashy"))


def _vars(**extra: object) -> str:
    begin = (_today() - dt.timedelta(days=10)).isoformat()
    pairs = [f"begin: '{begin}'", *(f"{k}: {v}" for k, v in extra.items())]
    return "{" + ", ".join(pairs) + "}"


def _step(result, unique_id: str):  # type: ignore[no-untyped-def]
    return next(s for s in result.saga.steps if s.step.unique_id == unique_id)


@pytest.mark.parametrize("engine", ENGINES)
def test_microbatch_rollback_restores_the_window_exactly(engine: str, project: Callable[..., Project]) -> None:
    proj = _clicks_project(project, engine)
    assert proj.sagaz("--vars", _vars()).status == "committed", proj.last_output
    assert proj.sagaz("--vars", _vars(factor=2)).status == "committed", proj.last_output
    before = proj.state()
    window_rows = proj.query("select count(*) from {schema}.clicks_daily where amount > 2 * 10 + 2 * 30")
    assert window_rows[0][0] > 0, "the second run rewrote the window's rows (factor 2)"

    result = proj.sagaz("--vars", _vars(factor=3, fail_singular="true"))

    assert result.status == "rolled_back", proj.last_output
    step = _step(result, "model.crashy.clicks_daily")
    if engine == "duckdb":
        assert step.action == "rows restored (window)", step
        start = dt.datetime.combine(_today() - dt.timedelta(days=2), dt.time(), dt.timezone.utc)
        assert step.step.detail.window_start == str(start), step.step.detail
        assert step.step.detail.window_end is None, "no --event-time-end: the window is open"
    else:
        assert step.action == "rows restored", step  # the whole-table copy, in place
    assert_same_state(before, proj.state(), "after rollback vs before the run")
    assert proj.leftovers() == []


def test_microbatch_backfill_window_is_closed_and_restored(project: Callable[..., Project]) -> None:
    """--event-time-start/--event-time-end (a backfill of older days) fix both bounds."""
    proj = _clicks_project(project, "duckdb")
    assert proj.sagaz("--vars", _vars()).status == "committed", proj.last_output
    before = proj.state()
    first = _today() - dt.timedelta(days=8)
    last = _today() - dt.timedelta(days=6)

    result = proj.sagaz(
        "--event-time-start", first.isoformat(),
        "--event-time-end", last.isoformat(),
        "--vars", _vars(factor=5, fail_singular="true"),
    )  # fmt: skip

    assert result.status == "rolled_back", proj.last_output
    step = _step(result, "model.crashy.clicks_daily")
    assert step.action == "rows restored (window)", step
    utc = dt.timezone.utc
    assert step.step.detail.window_start == str(dt.datetime.combine(first, dt.time(), utc))
    assert step.step.detail.window_end == str(dt.datetime.combine(last, dt.time(), utc))
    assert_same_state(before, proj.state(), "after rollback vs before the run")
    assert proj.leftovers() == []


def test_microbatch_success_matches_plain_dbt(twins: Callable[..., tuple[Project, Project]]) -> None:
    """The window backup changes nothing a successful run leaves (DuckDB)."""
    plain, sagaz = twins("duckdb", name="crashy")
    for proj in (plain, sagaz):
        _add_clicks(proj)
    for run_vars in (_vars(), _vars(factor=2)):
        assert plain.dbt("--vars", run_vars).success
        assert sagaz.sagaz("--vars", run_vars).status == "committed", sagaz.last_output
    assert_same_state(plain.state(), sagaz.state(), "sagaz-dbt vs plain dbt after two microbatch runs")
