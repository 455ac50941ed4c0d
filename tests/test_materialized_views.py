"""Postgres materialized views: an MV model, and a hand-made MV on a model's table.

Plain dbt, when a table model is rebuilt, drops its backup with CASCADE: a materialized
view model reading it is dropped too and created again on the new table, and a hand-made
materialized view is lost.  sagaz-dbt must leave what plain dbt leaves for the model (built
on the new table, never on a backup it kept), keep the hand-made one working (re-created on
the new table, with its index), and restore both exactly on a failing run, normal or
--full-refresh (the MV model with its pre-run rows, even though they were stale).
"""

from __future__ import annotations

from typing import Callable

import pytest

from helpers.project import Project, assert_same_state

pytestmark = pytest.mark.postgres

MODELS = {
    "models/base.sql": "{{ config(materialized='table') }}\n"
    "select n as id, n * {{ var('factor', 1) }} as amount from generate_series(1, 3) as n\n",
    "models/totals_mv.sql": "{{ config(materialized='materialized_view', indexes=[{'columns': ['id']}]) }}\n"
    "select id, amount from {{ ref('base') }}\n",
    "tests/fail_switch.sql": "select 1 as failed where {{ var('fail') }}\n",
}
HAND_MADE = "create materialized view {schema}.hand_mv as select sum(amount) as total from {schema}.base"
HAND_INDEX = "create index hand_mv_total on {schema}.hand_mv (total)"


def _indexes(proj: Project, table: str) -> list[str]:
    return [r[0] for r in proj.query(f"select indexname from pg_indexes where schemaname = '{{schema}}' and tablename = '{table}'")]


def test_materialized_views_follow_the_new_tables_and_restore_exactly(
    twins: Callable[..., tuple[Project, Project]]
) -> None:
    plain, sagaz = twins("postgres", name="kinds")
    for proj in (plain, sagaz):
        for path, text in MODELS.items():
            proj.write(path, text)
    assert plain.dbt().success
    assert sagaz.sagaz().status == "committed", sagaz.last_output
    sagaz.execute(HAND_MADE)
    sagaz.execute(HAND_INDEX)
    sagaz.execute("create view {schema}.hand_on_mv as select total * 2 as doubled from {schema}.hand_mv")
    sagaz.execute("grant select on {schema}.hand_mv, {schema}.hand_on_mv to public")
    sagaz.execute("comment on materialized view {schema}.hand_mv is 'made by hand'")

    # Success: the MV model is built on the new table, as plain dbt builds it.
    assert plain.dbt("--vars", "{factor: 2}").success
    result = sagaz.sagaz("--vars", "{factor: 2}")
    assert result.status == "committed", f"{result.error}\n{sagaz.last_output}"
    after = sagaz.state()
    hand = after.pop("{schema}.hand_mv")
    after.pop("{schema}.hand_on_mv")
    assert_same_state(plain.state(), after, "sagaz-dbt's build vs plain dbt's")
    assert sagaz.query("select total from {schema}.hand_mv") == [(12,)], "the hand-made MV reads the new table"
    assert sagaz.query("select doubled from {schema}.hand_on_mv") == [(24,)], "and the view on it is back"
    assert sagaz.query(
        "select c.relname, c.relacl::text like '%%=r/%%', obj_description(c.oid, 'pg_class') from pg_class c"
        " where c.relnamespace = '{schema}'::regnamespace and c.relname in ('hand_mv', 'hand_on_mv') order by 1"
    ) == [("hand_mv", True, "made by hand"), ("hand_on_mv", True, None)], "grants and comment carried over"
    assert hand["type"] == "materialized view"
    assert _indexes(sagaz, "hand_mv") == ["hand_mv_total"]
    assert len(_indexes(sagaz, "totals_mv")) == 1
    assert sagaz.leftovers() == []

    # Make the MV model stale: its pre-run rows (factor 2) differ from its base (factor 5).
    sagaz.execute("update {schema}.base set amount = id * 5")
    before = sagaz.state()
    assert sagaz.query("select sum(amount) from {schema}.totals_mv") == [(12,)]

    for flags in ([], ["--full-refresh"]):
        failed = sagaz.sagaz("--vars", "{factor: 3, fail: true}", *flags)

        assert failed.status == "rolled_back", f"{flags}: {failed.error}\n{sagaz.last_output}"
        acts = {s.step.unique_id: s.action for s in failed.saga.steps}
        assert acts["model.kinds.totals_mv"] == "swapped back", (flags, acts)
        assert_same_state(before, sagaz.state(), f"after the rollback of {flags or 'a normal run'} vs before it")
        assert sagaz.query("select sum(amount) from {schema}.totals_mv") == [(12,)], "the stale rows are back"
        assert _indexes(sagaz, "hand_mv") == ["hand_mv_total"]
        assert len(_indexes(sagaz, "totals_mv")) == 1
        assert sagaz.leftovers() == []

    # A successful --full-refresh also leaves what plain dbt leaves.
    assert plain.dbt("--vars", "{factor: 4}", "--full-refresh").success
    assert sagaz.sagaz("--vars", "{factor: 4}", "--full-refresh").status == "committed", sagaz.last_output
    after = sagaz.state()
    after.pop("{schema}.hand_mv")
    after.pop("{schema}.hand_on_mv")
    assert_same_state(plain.state(), after, "sagaz-dbt's --full-refresh vs plain dbt's")
    assert sagaz.query("select total from {schema}.hand_mv") == [(24,)]
    assert sagaz.leftovers() == []


def test_type_change_and_index_change_of_a_materialized_view_model(project: Callable[..., Project]) -> None:
    """A table model that becomes a materialized view (dbt replaces it with renames inside
    one statement) is restored exactly by a failing run; an index change, which dbt applies
    in place without a refresh, gets the pre-run indexes back; a hand-made view follows."""
    proj = project("postgres", name="kinds")
    proj.write("models/base.sql", MODELS["models/base.sql"])
    proj.write("models/totals_mv.sql", "{{ config(materialized='table') }}\nselect id, amount from {{ ref('base') }}\n")
    proj.write("tests/fail_switch.sql", MODELS["tests/fail_switch.sql"])
    assert proj.sagaz().status == "committed", proj.last_output
    proj.execute("create view {schema}.hand_view as select count(*) as n from {schema}.totals_mv")
    before = proj.state()

    proj.write("models/totals_mv.sql", MODELS["models/totals_mv.sql"])
    failed = proj.sagaz("--vars", "{factor: 3, fail: true}")
    assert failed.status == "rolled_back", f"{failed.error}\n{proj.last_output}"
    assert_same_state(before, proj.state(), "after the rollback of a table -> materialized view change")
    assert proj.leftovers() == []

    assert proj.sagaz().status == "committed", proj.last_output
    assert proj.state()["{schema}.totals_mv"]["type"] == "materialized view"
    assert proj.query("select n from {schema}.hand_view") == [(3,)]
    # A refresh (nothing upstream rebuilt) keeps the view's grants, as plain dbt's in-place refresh does.
    proj.execute("grant select on {schema}.totals_mv to public")
    assert proj.sagaz("--select", "totals_mv").status == "committed", proj.last_output
    acl = "select relacl::text like '%%=r/%%' from pg_class where oid = '{schema}.totals_mv'::regclass"
    assert proj.query(acl) == [(True,)]
    before, indexes = proj.state(), _indexes(proj, "totals_mv")
    proj.write("models/totals_mv.sql", MODELS["models/totals_mv.sql"].replace("['id']", "['id', 'amount']"))
    # dbt applies an index change in place, without refreshing the view (its rows stay).
    failed = proj.sagaz("--vars", "{factor: 4, fail: true}")
    assert failed.status == "rolled_back", f"{failed.error}\n{proj.last_output}"
    acts = {s.step.unique_id: s.action for s in failed.saga.steps}
    assert acts["model.kinds.totals_mv"] == "indexes restored", acts
    assert_same_state(before, proj.state(), "after the rollback of an index change")
    assert _indexes(proj, "totals_mv") == indexes
    assert proj.leftovers() == []
    assert proj.sagaz("--vars", "{factor: 4}").status == "committed", proj.last_output
    assert len(_indexes(proj, "totals_mv")) == 1 and _indexes(proj, "totals_mv") != indexes
    assert proj.query("select n from {schema}.hand_view") == [(3,)], "the view on the re-created MV is back"
    assert proj.leftovers() == []


def test_retry_of_a_materialized_view_model_is_refused_and_changes_nothing(
    project: Callable[..., Project],
) -> None:
    """`dbt retry` parses the project again, without the pre-hook that keeps a materialized
    view's pre-run rows: sagaz-dbt retry must refuse such a node, not run it unprotected."""
    proj = project("postgres", name="kinds")
    for path, text in MODELS.items():
        proj.write(path, text)
    proj.write("models/needs_base.sql", "select id from {{ ref('base') }} where {{ 'no_such_col' if var('fail') else 'true' }}\n")
    assert proj.sagaz().status == "committed", proj.last_output
    failed = proj.sagaz("--vars", "{factor: 2, fail: true}")
    assert failed.status == "rolled_back", proj.last_output
    before = proj.state()

    retried = proj.sagaz("--vars", "{factor: 2, fail: true}", command="retry")

    assert retried.exit_code == 2 and retried.status == "not_started", (retried.error, proj.last_output)
    assert "materialized view" in str(retried.error) and "model.kinds.totals_mv" in str(retried.error), retried.error
    assert_same_state(before, proj.state(), "after the refused retry vs before it")
    assert proj.leftovers() == []
