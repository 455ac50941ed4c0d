"""dbt snapshots and seeds, which dbt changes in place, come back exactly after a failed run.

Snapshots: one seed (through a view) feeds five snapshots, one per way of detecting change
(check with a column list, check 'all' with dbt_valid_to_current, timestamp with hard_deletes
'invalidate' and 'new_record', and 'new_record' with renamed meta columns).  The second run
changes and deletes source rows; the third changes them again, adds a source column (which
dbt adds to each snapshot) and fails.  Only the snapshots' current rows are copied before it
("rows restored (current)"), which a test checks inside the failing run, while the copies
exist; the rollback drops the added column.

Seeds: a reload that changes existing rows, read by a view model and by a view made by hand.
"""

from __future__ import annotations

from typing import Callable

import pytest

from helpers import ENGINES
from helpers.project import Project, assert_same_state

SNAPSHOTS = """\
snapshots:
  - name: people_check_cols
    relation: ref('people_source')
    config: {unique_key: id, strategy: check, check_cols: [city]}
  - name: people_check_all
    relation: ref('people_source')
    config:
      unique_key: id
      strategy: check
      check_cols: all
      dbt_valid_to_current: "cast('9999-12-31' as timestamp)"
  - name: people_invalidate
    relation: ref('people_source')
    config: {unique_key: id, strategy: timestamp, updated_at: updated_at, hard_deletes: invalidate}
  - name: people_new_record
    relation: ref('people_source')
    config: {unique_key: id, strategy: timestamp, updated_at: updated_at, hard_deletes: new_record}
  - name: people_renamed_columns
    relation: ref('people_source')
    config:
      unique_key: id
      strategy: timestamp
      updated_at: updated_at
      hard_deletes: new_record
      snapshot_meta_column_names:
        {dbt_valid_from: valid_since, dbt_valid_to: valid_until, dbt_scd_id: scd, dbt_updated_at: changed_at, dbt_is_deleted: gone}
"""

#: The snapshots' source; the failing run gives it a new column, which dbt adds to every snapshot.
SOURCE = """\
{{ config(materialized='view') }}
select id, name, city, updated_at{% if var('wide', false) %}, upper(name) as shout{% endif %} from {{ ref('people') }}
"""

#: snapshot -> SQL condition of its current rows
CURRENT = {
    "people_check_cols": "dbt_valid_to is null",
    "people_check_all": "dbt_valid_to = cast('9999-12-31' as timestamp)",
    "people_invalidate": "dbt_valid_to is null",
    "people_new_record": "dbt_valid_to is null",
    "people_renamed_columns": "valid_until is null",
}

SEED_PROPERTIES = """\
seeds:
  - name: people
    config: {column_types: {updated_at: timestamp}}
"""

#: Passes when each snapshot's backup, taken by sagaz-dbt's pre-hook (and named by its
#: macros), holds exactly the current rows the snapshot had before the run, and no history.
COPIES_TEST = """\
{{ config(enabled=var('current', none) is not none) }}
{% for name, (rows, is_current) in var('current', {}).items() %}
{% set copy = sagaz_dbt.copy_relation(ref(name)) %}
select '{{ name }}' as snapshot
where (select count(*) from {{ copy }}) <> {{ rows }}
   or exists (select 1 from {{ copy }} where not ({{ is_current }}))
{% if not loop.last %}union all{% endif %}
{% endfor %}
"""

#: Passes when the failing run did add the source's new column to every snapshot.
WIDENED_TEST = """\
{{ config(enabled=var('current', none) is not none) }}
{% for name in var('current', {}) %}
select '{{ name }}' as snapshot where not exists (
  select 1 from information_schema.columns
  where table_schema = '{{ ref(name).schema }}' and table_name = '{{ ref(name).identifier }}' and column_name = 'shout')
{% if not loop.last %}union all{% endif %}
{% endfor %}
"""

#: (id, name, city, updated_at): run 2 moves bob, renames cyd (not a check_cols column),
#: deletes dee and adds eve; run 3 (failing) moves ann, deletes bob, brings dee back and
#: adds fay.
RUN1 = [(1, "ann", "lisbon", 1), (2, "bob", "porto", 1), (3, "cyd", "faro", 1), (4, "dee", "braga", 1)]
RUN2 = [(1, "ann", "lisbon", 1), (2, "bob", "madrid", 2), (3, "cyrus", "faro", 2), (5, "eve", "evora", 2)]
RUN3 = [
    (1, "ann", "rome", 3), (3, "cyrus", "faro", 2), (4, "dee", "braga", 3), (5, "eve", "evora", 2), (6, "fay", "beja", 3)
]


def write_people(proj: Project, rows: list[tuple]) -> None:
    lines = ["id,name,city,updated_at"]
    lines += [f"{i},{name},{city},2026-01-0{day} 00:00:00" for i, name, city, day in rows]
    proj.write("seeds/people.csv", "\n".join(lines) + "\n")


def actions(result) -> dict[str, str]:
    return {s.step.unique_id: s.action for s in result.saga.steps}


def statuses(result) -> dict[str, str]:
    return {r.node.unique_id: str(r.status) for r in result.dbt.results}


def assert_rolled_back(proj: Project, result, failing: str) -> None:
    assert result.exit_code == 1 and result.status == "rolled_back", f"{result.error}\n{proj.last_output}"
    assert failing in [f.unique_id for f in result.dbt.failed_nodes]


@pytest.mark.parametrize("engine", ENGINES)
def test_snapshots_restore_only_their_current_rows(engine: str, project: Callable[..., Project]) -> None:
    proj = project(engine, name="kinds")
    proj.write("snapshots/people.yml", SNAPSHOTS)
    proj.write("seeds/properties.yml", SEED_PROPERTIES)
    proj.write("tests/fail_switch.sql", "select * from {{ ref('people_new_record') }} where {{ var('fail') }}\n")
    proj.write("models/people_source.sql", SOURCE)
    proj.write("tests/copies_hold_current_rows_only.sql", COPIES_TEST)
    proj.write("tests/snapshots_widened.sql", WIDENED_TEST)
    write_people(proj, RUN1)
    assert proj.sagaz().status == "committed", proj.last_output
    write_people(proj, RUN2)
    assert proj.sagaz().status == "committed", proj.last_output

    # What dbt did with the second delivery: history closed, deletions handled per config.
    def versions(snapshot: str, person: int) -> int:
        return proj.query(f"select count(*) from {{schema}}.{snapshot} where id = {person}")[0][0]

    assert [versions("people_check_cols", p) for p in (2, 3, 4)] == [2, 1, 1], "only a city change is a change"
    assert [versions("people_check_all", p) for p in (2, 3, 4)] == [2, 2, 1]
    assert proj.query("select count(*) from {schema}.people_invalidate where id = 4 and dbt_valid_to is null") == [(0,)]
    deletion_records = (
        ("people_new_record", "dbt_valid_to", "dbt_is_deleted"),
        ("people_renamed_columns", "valid_until", "gone"),
    )
    for snapshot, valid_to, deleted in deletion_records:
        assert proj.query(
            f"select count(*) from {{schema}}.{snapshot} where id = 4 and {valid_to} is null and {deleted} = 'True'"
        ) == [(1,)], snapshot
    current = {
        name: proj.query(f"select count(*) from {{schema}}.{name} where {where}")[0][0]
        for name, where in CURRENT.items()
    }
    before = proj.state()
    for name, rows in current.items():
        assert 0 < rows < before[f"{{schema}}.{name}"]["rows"], f"{name} must hold history as well as current rows"

    write_people(proj, RUN3)
    expected_copies = {name: [rows, CURRENT[name]] for name, rows in current.items()}
    result = proj.sagaz("--vars", f"{{fail: true, wide: true, current: {expected_copies}}}")

    assert_rolled_back(proj, result, "test.kinds.fail_switch")
    assert statuses(result)["test.kinds.copies_hold_current_rows_only"] == "pass", statuses(result)
    assert statuses(result)["test.kinds.snapshots_widened"] == "pass", statuses(result)
    acts = actions(result)
    for name in CURRENT:
        assert statuses(result)[f"snapshot.kinds.{name}"] == "success"
        assert acts[f"snapshot.kinds.{name}"] == "rows restored (current)", acts
    assert acts["seed.kinds.people"] == "rows restored", acts
    assert_same_state(before, proj.state(), "after the rollback vs before the run")
    assert proj.leftovers() == []


HAND_VIEW = "select id, name, city from {schema}.people where city <> 'faro'"


@pytest.mark.parametrize("engine", ENGINES)
def test_reloaded_seed_is_restored_under_its_views(engine: str, project: Callable[..., Project]) -> None:
    """The view model and the hand-made view (bound to the seed's OID on Postgres) keep
    working and read the pre-run rows after a failed reload, incremental or fully refreshed."""
    proj = project(engine, name="kinds")
    proj.write("models/people_cities.sql", "{{ config(materialized='view') }}\nselect id, city from {{ ref('people') }}")
    proj.write("tests/fail_switch.sql", "select * from {{ ref('people_cities') }} where {{ var('fail') }}\n")
    write_people(proj, RUN1)
    assert proj.sagaz().status == "committed", proj.last_output
    write_people(proj, RUN2)  # changes existing rows' values
    assert proj.sagaz().status == "committed", proj.last_output
    assert proj.query("select city from {schema}.people_cities where id = 2") == [("madrid",)]
    proj.execute(f"create view {{schema}}.hand_people as {HAND_VIEW}")
    before = proj.state()
    old_rows = sorted(proj.query("select * from {schema}.hand_people"))
    assert len(old_rows) == 3

    write_people(proj, RUN3)
    for flags in ([], ["--full-refresh"]):
        result = proj.sagaz(*flags, "--vars", "{fail: true}")

        assert_rolled_back(proj, result, "test.kinds.fail_switch")
        assert statuses(result)["seed.kinds.people"] == "success"
        acts = actions(result)
        if flags and engine == "postgres":
            # dbt drops the seed before a full-refresh reload; sagaz-dbt kept it renamed instead.
            assert acts["seed.kinds.people"] == "swapped back", acts
        else:
            assert acts["seed.kinds.people"] == "rows restored", acts
        assert acts["model.kinds.people_cities"] == "swapped back", acts
        assert_same_state(before, proj.state(), f"after the rollback of {flags or 'a reload'} vs before")
        assert sorted(proj.query("select * from {schema}.hand_people")) == old_rows
        assert proj.leftovers() == []

    assert proj.sagaz().status == "committed", proj.last_output
    assert sorted(proj.query("select * from {schema}.hand_people")) == sorted(
        proj.query(HAND_VIEW.replace("{schema}", proj.schema))
    ), "the hand-made view must read the new rows after a successful reload"
