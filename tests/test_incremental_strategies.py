"""Incremental models of every strategy come back exactly after a failed run, from a backup of
only the rows the run could touch ("rows restored (keys)"), never from a whole-table copy.

One project holds one model per case, all reading one seed, the day's delivery:
  merged     - incremental_strategy='merge' with a unique_key
  appended   - append, scoped by `meta: {sagaz: {partition_by: day}}`; a user pre-hook deletes
               the days the batch re-delivers (insert-overwrite done by hand)
  predicated - delete+insert whose incremental_predicates keep old rows of earlier days, so a
               re-delivered key of day 1 ends up twice
  widened    - on_schema_change='append_new_columns'; the failing run adds a column
The second (committed) run updates existing rows in every model, the third fails, once on a
singular test and once on a model error downstream, and each must leave the exact state the
second run left.
"""

from __future__ import annotations

from typing import Callable

import pytest

from helpers import ENGINES
from helpers.project import Project, assert_same_state

MODELS = {
    "models/merged.sql": """\
{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge') }}
select id, day, name, amount from {{ ref('delivery') }}
""",
    "models/appended.sql": """\
{{ config(
    materialized='incremental', incremental_strategy='append',
    meta={'sagaz': {'partition_by': 'day'}},
    pre_hook="{% if is_incremental() %}delete from {{ this }} where day in (select day from {{ ref('delivery') }}){% endif %}",
) }}
select day, id, amount from {{ ref('delivery') }}
""",
    "models/predicated.sql": """\
{{ config(
    materialized='incremental', unique_key='id', incremental_strategy='delete+insert',
    incremental_predicates=['day >= 2'],
) }}
select id, day, amount from {{ ref('delivery') }}
""",
    "models/widened.sql": """\
{{ config(
    materialized='incremental', unique_key='id', incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
) }}
select id, day, amount{% if var('wide', false) %}, amount * 2 as doubled{% endif %} from {{ ref('delivery') }}
""",
    "models/downstream.sql": """\
{{ config(materialized='view') }}
select p.id, p.amount, m.name from {{ ref('predicated') }} p join {{ ref('merged') }} m on m.id = p.id
{% if var('break', false) %}where no_such_column > 0{% endif %}
""",
    "tests/fail_switch.sql": "select * from {{ ref('merged') }} where {{ var('fail') }}\n",
    # Passes when the failing run's changes did land before the rollback undid them.
    "tests/landed.sql": """\
{{ config(enabled=var('wide', false)) }}
select 'merged' as model from {{ ref('merged') }} where id = 3 and amount <> 32
union all select 'appended' from {{ ref('appended') }} where day = 2 and id = 4
union all select 'predicated' from {{ ref('predicated') }} where id = 3 and amount <> 32
union all select 'widened' where (select count(*) from {{ ref('widened') }} where doubled = 120) <> 1
""",
    # Passes when each model's backup (taken by sagaz-dbt's pre-hook, named by its macros)
    # holds only the pre-run rows under the batch's keys, not the table: ids 3 and 5 of the
    # batch {3, 5, 6} existed; `appended` is scoped by day, and days 2 and 3 held 3 rows.
    "tests/backups_hold_the_batch_only.sql": """\
{{ config(enabled=var('wide', false)) }}
{% set expected = {'merged': 2, 'appended': 3, 'predicated': 2, 'widened': 2} %}
{% for name, rows in expected.items() %}
select '{{ name }}' as model where (select count(*) from {{ sagaz_dbt.copy_relation(ref(name)) }}) <> {{ rows }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
""",
}

#: (id, day, name, amount): run 1 delivers days 1 and 2; run 2 re-delivers day 1 with id 2
#: corrected, corrects day 2 (id 3) and delivers day 3; run 3 (failing) corrects days 2 and
#: 3, drops id 4 from day 2 and delivers a new id.
RUN1 = [(1, 1, "ann", 10), (2, 1, "bob", 20), (3, 2, "cyd", 30), (4, 2, "dee", 40)]
RUN2 = [(1, 1, "ann", 10), (2, 1, "bob", 21), (3, 2, "cyd", 31), (4, 2, "dee", 40), (5, 3, "eve", 50)]
RUN3 = [(3, 2, "cyd", 32), (5, 3, "eve", 55), (6, 3, "fay", 60)]

INCREMENTALS = ("merged", "appended", "predicated", "widened")


def write_delivery(proj: Project, rows: list[tuple]) -> None:
    lines = ["id,day,name,amount", *(",".join(str(v) for v in row) for row in rows)]
    proj.write("seeds/delivery.csv", "\n".join(lines) + "\n")


def actions(result) -> dict[str, str]:
    return {s.step.unique_id: s.action for s in result.saga.steps}


@pytest.mark.parametrize("engine", ENGINES)
def test_incremental_strategies_restore_only_touched_rows(engine: str, project: Callable[..., Project]) -> None:
    proj = project(engine, name="kinds")
    for path, text in MODELS.items():
        proj.write(path, text)
    write_delivery(proj, RUN1)
    assert proj.sagaz().status == "committed", proj.last_output
    write_delivery(proj, RUN2)
    assert proj.sagaz().status == "committed", proj.last_output

    # The second run changed existing rows, as each strategy does.
    q = "select id, day, amount from {schema}.%s order by id, amount"
    assert proj.query("select id, name, amount from {schema}.merged order by id") == [
        (1, "ann", 10), (2, "bob", 21), (3, "cyd", 31), (4, "dee", 40), (5, "eve", 50)
    ]
    assert proj.query(q % "appended") == [(1, 1, 10), (2, 1, 21), (3, 2, 31), (4, 2, 40), (5, 3, 50)]
    # The predicate kept day 1's rows out of the delete: its re-delivered keys are there twice.
    assert proj.query(q % "predicated") == [
        (1, 1, 10), (1, 1, 10), (2, 1, 20), (2, 1, 21), (3, 2, 31), (4, 2, 40), (5, 3, 50)
    ]
    before = proj.state()
    assert [c for c, _ in before["{schema}.widened"]["columns"]] == ["id", "day", "amount"]

    write_delivery(proj, RUN3)
    for switch, failing in (("fail", "test.kinds.fail_switch"), ("break", "model.kinds.downstream")):
        result = proj.sagaz("--vars", f"{{{switch}: true, wide: true}}")

        assert result.exit_code == 1 and result.status == "rolled_back", f"{result.error}\n{proj.last_output}"
        assert failing in [f.unique_id for f in result.dbt.failed_nodes]
        statuses = {r.node.unique_id: str(r.status) for r in result.dbt.results}
        assert statuses["test.kinds.landed"] == "pass", statuses
        assert statuses["test.kinds.backups_hold_the_batch_only"] == "pass", statuses
        acts = actions(result)
        for name in INCREMENTALS:
            assert acts[f"model.kinds.{name}"] == "rows restored (keys)", (switch, acts)
        assert_same_state(before, proj.state(), f"after the rollback of a failing {switch} vs before the run")
        assert proj.leftovers() == []
        assert "copying the whole table" not in proj.last_output


@pytest.mark.parametrize("engine", ENGINES)
def test_merge_scoped_by_partition_keeps_rows_whose_key_moved(engine: str, project: Callable[..., Project]) -> None:
    """A merge writes by unique_key: a row whose key moved to another partition is outside
    the batch's partitions, so a unique_key scopes the backup even when
    `meta.sagaz.partition_by` is set."""
    proj = project(engine, name="kinds")
    proj.write(
        "models/merged.sql",
        "{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge',"
        " meta={'sagaz': {'partition_by': 'day'}}) }}\n"
        "select id, day, name, amount from {{ ref('delivery') }}\n",
    )
    proj.write("tests/fail_switch.sql", MODELS["tests/fail_switch.sql"])
    write_delivery(proj, RUN1)
    assert proj.sagaz().status == "committed", proj.last_output
    write_delivery(proj, RUN2)  # updates ids 2 and 3
    assert proj.sagaz().status == "committed", proj.last_output
    before = proj.state()

    write_delivery(proj, [(2, 3, "bob", 22)])  # id 2 moves from day 1 to day 3
    result = proj.sagaz("--vars", "{fail: true}")

    assert result.status == "rolled_back", f"{result.error}\n{proj.last_output}"
    assert actions(result)["model.kinds.merged"] == "rows restored (keys)"
    assert_same_state(before, proj.state(), "after the rollback vs before the run")
