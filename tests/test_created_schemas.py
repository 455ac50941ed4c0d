"""A rollback drops the schemas its run created, and a failure to do so never tears it.

DuckDB refuses `drop schema "x"."x"` ("Ambiguous reference to catalog or schema") when the
database file and the schema share a name: the first rollback of a fresh warehouse used to
fail on that last, cosmetic statement, abort the whole rollback transaction, and leave a
torn run that blocked every later build.  The schema drop now runs after the rollback has
committed, and its failure is a warning.
"""

from __future__ import annotations

from typing import Callable

from helpers.inspect import DuckDBInspector
from helpers.project import Project


def test_rollback_of_a_fresh_warehouse_whose_database_and_schema_share_a_name(
    project: Callable[..., Project],
) -> None:
    proj = project("duckdb", name="kinds")
    path = proj.root / "shop.duckdb"  # database "shop", target schema "shop"
    proj.write_profile(path=str(path))
    proj.write("models/good.sql", "{{ config(materialized='table') }}\nselect 1 as id\n")
    proj.write("models/bad.sql", "{{ config(materialized='table') }}\nselect id, {{ 'no_such_column' if var('fail') else 'id' }} as x from {{ ref('good') }}\n")

    result = proj.sagaz("--vars", "{fail: true}")

    assert result.status == "rolled_back", proj.last_output
    inspector = DuckDBInspector(path, "shop")
    assert inspector.state() == {}, "the failed first build must leave no relation"
    assert [o for o in inspector.sagaz_objects() if not o.startswith("sagaz.")] == []
    again = proj.sagaz()
    assert again.status == "committed", proj.last_output
    assert {k.rsplit(".", 1)[-1] for k in inspector.state()} == {"good", "bad"}


def test_a_created_schema_named_twice_in_different_case_is_dropped_once(
    project: Callable[..., Project],
) -> None:
    """Postgres folds unquoted schema names: `schema='Sales'` and `schema='sales'` are one new
    schema.  The rollback's clean-up lists the created schemas together and drops each once:
    a second DROP of the same schema would abort the clean-up and leave it behind."""
    proj = project("postgres", name="kinds")
    proj.write_profile()
    proj.write("dbt_project.yml", (proj.root / "dbt_project.yml").read_text() + "quoting:\n  schema: false\n")
    proj.write("models/upper.sql", "{{ config(materialized='table', schema='Sales') }}\nselect 1 as id\n")
    proj.write("models/lower.sql", "{{ config(materialized='table', schema='sales') }}\nselect 2 as id\n")
    proj.write("models/bad.sql", "{{ config(materialized='table') }}\nselect id, {{ 'no_such_column' if var('fail') else 'id' }} as x from {{ ref('upper') }}\n")
    before = proj.schemas()

    result = proj.sagaz("--vars", "{fail: true}")

    assert result.status == "rolled_back", proj.last_output
    assert proj.schemas() == before, "the schema the failed run created must be dropped"
    assert not [w for w in result.report.warnings if "could not be dropped" in w], result.report.warnings
