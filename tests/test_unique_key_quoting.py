"""`unique_key` is SQL, not a column name: a quoted key and an upper-case one.

dbt pastes each key into its merge and delete+insert SQL as written, so plain dbt builds
`unique_key='"order"'` (a reserved word as a column) and `unique_key='ID'` (a column `id`;
Postgres folds the unquoted name, DuckDB matches it case-insensitively).  The row backup
must scope by the same columns: a successful incremental run leaves what plain dbt leaves,
and a failing one restores the exact pre-run rows from a batch-only backup.
"""

from __future__ import annotations

from typing import Callable

import pytest

from helpers import ENGINES
from helpers.project import Project, assert_same_state

# Three runs: factor 1 creates the tables, factor 2 updates rows 2..3 through the key,
# factor 3 (the failing run) would update them again.
_BATCH = """\
select n as "order", n as id, n * {{ var('factor', 1) }} as amount
from (values (1), (2), (3)) as v(n)
{% if is_incremental() %} where n >= 2 {% endif %}
"""

MODELS = {
    "models/quoted_key.sql": "{{ config(materialized='incremental', unique_key='\"order\"',"
    " incremental_strategy='delete+insert') }}\n" + _BATCH,
    "models/upper_key.sql": "{{ config(materialized='incremental', unique_key='ID', incremental_strategy='merge') }}\n"
    + _BATCH,
    "models/composite_key.sql": "{{ config(materialized='incremental', unique_key=['ID', '\"order\"'],"
    " incremental_strategy='delete+insert') }}\n" + _BATCH,
    "tests/fail_switch.sql": "select 1 as failed where {{ var('fail') }}\n",
}
INCREMENTALS = ("quoted_key", "upper_key", "composite_key")


@pytest.mark.parametrize("engine", ENGINES)
def test_quoted_and_upper_case_keys_build_like_dbt_and_restore_exactly(
    engine: str, twins: Callable[..., tuple[Project, Project]]
) -> None:
    plain, sagaz = twins(engine, name="kinds")
    for proj in (plain, sagaz):
        for path, text in MODELS.items():
            proj.write(path, text)

    assert plain.dbt().success
    assert plain.dbt("--vars", "{factor: 2}").success
    assert sagaz.sagaz().status == "committed", sagaz.last_output
    second = sagaz.sagaz("--vars", "{factor: 2}")
    assert second.status == "committed", f"{second.error}\n{sagaz.last_output}"
    assert "copying the whole table" not in sagaz.last_output
    before = sagaz.state()
    assert_same_state(plain.state(), before, "sagaz-dbt's incremental run vs plain dbt's")
    assert sagaz.query('select "order", amount from {schema}.quoted_key order by 1') == [(1, 1), (2, 4), (3, 6)]

    result = sagaz.sagaz("--vars", "{factor: 3, fail: true}")

    assert result.status == "rolled_back", f"{result.error}\n{sagaz.last_output}"
    acts = {s.step.unique_id: s.action for s in result.saga.steps}
    for name in INCREMENTALS:
        assert acts[f"model.kinds.{name}"] == "rows restored (keys)", acts
    assert_same_state(before, sagaz.state(), "after the rollback vs before the run")
    assert sagaz.leftovers() == []


@pytest.mark.parametrize(
    "key, adapter_type, column",
    [
        ('"order"', "postgres", "order"),  # already quoted SQL: exactly that column
        ('"Order ID"', "duckdb", "Order ID"),
        ('"a""b"', "postgres", 'a"b'),  # a doubled quote inside a quoted identifier
        ("ID", "postgres", "id"),  # unquoted: Postgres folds to lower case
        ("ID", "duckdb", "ID"),  # DuckDB matches columns case-insensitively, quoted or not
        (" id ", "postgres", "id"),
        ("lower(email)", "postgres", None),  # an expression names no column: the table is copied
        ('"unclosed', "duckdb", None),
    ],
)
def test_a_key_is_read_as_dbt_pastes_it_into_sql(key: str, adapter_type: str, column: str | None) -> None:
    from sagaz_dbt.engines import for_adapter
    from sagaz_dbt.backups.keys import column_of

    assert column_of(key, for_adapter(adapter_type)) == column
