"""The suite's view of sagaz_dbt/testing/inspect.py (the one inspector, shared with the
examples and the benchmarks): inspectors bound to a test project's schema, with states as
`{label: entry}` dicts in which the project's schema reads `{schema}`."""

from __future__ import annotations

from pathlib import Path

from sagaz_dbt.testing import inspect as shared
from sagaz_dbt.testing.inspect import DEFAULT_JOURNAL_SCHEMA as JOURNAL_SCHEMA
from sagaz_dbt.testing.inspect import JOURNAL_TABLES, Scope
from sagaz_dbt.testing.inspect import differences as diff_states

from helpers.postgres import PgDatabase

__all__ = ["JOURNAL_SCHEMA", "JOURNAL_TABLES", "DuckDBInspector", "PostgresInspector", "diff_states"]


class DuckDBInspector(shared.DuckDBInspector):
    """Every schema of the DuckDB file (it is the test's own), labelled relative to `base_schema`."""

    def __init__(self, path: Path, base_schema: str) -> None:
        super().__init__(path, Scope(base=base_schema))


class PostgresInspector(shared.PostgresInspector):
    """`base_schema` and `base_schema_<suffix>` (the session database is shared by many tests)."""

    def __init__(self, db: PgDatabase, base_schema: str) -> None:
        super().__init__(db.connect, Scope(base=base_schema, prefixed=True))
        self.db = db
