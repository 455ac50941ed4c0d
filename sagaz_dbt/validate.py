"""Checks on the user text sagaz-dbt itself puts into SQL: the journal schema and run ids.

Every other name reaches SQL through the adapter (`api.Relation`, `adapter.quote`) or as a
bound value.  These two are also interpolated by dbt's own catalog macros, which write a
schema name inside a string literal without escaping it (dbt-duckdb's
`list_relations_without_caching`: `where lower(table_schema) = '{{ schema }}'`), so quoting on
our side is not enough: a name with a quote in it would be SQL.  They are therefore checked
against a strict shape before anything is parsed, connected or written, and refused with a
usage error (exit 2) otherwise.
"""

from __future__ import annotations

import re

from sagaz_dbt.errors import UsageError

#: Postgres keeps identifiers up to NAMEDATALEN-1 = 63 bytes (and silently truncates longer
#: ones); DuckDB has no practical limit.  The stricter engine's limit applies to both, so a
#: journal schema that works on one target works on every target of the project.
MAX_SCHEMA_BYTES = 63

#: Lower-case ASCII letters, digits and underscores, not starting with a digit.  Lower case
#: because Postgres folds unquoted names to lower case while DuckDB compares names without
#: case: `Sagaz` would be the journal `sagaz` on DuckDB and a second journal on Postgres.
#: Reserved words (`select`, `table`) are allowed: sagaz-dbt always quotes the name.
_SCHEMA = re.compile(r"[a-z_][a-z0-9_]*")

#: A run id is `uuid4().hex`: 32 lower-case hex digits (`sagaz-dbt runs` lists them).
_RUN_ID = re.compile(r"[0-9a-f]{32}")


def journal_schema(value: str) -> str:
    """`value` if it can be the journal's schema on every engine; else a UsageError."""
    if not value:
        raise UsageError("--journal-schema cannot be empty")
    if len(value.encode("utf-8")) > MAX_SCHEMA_BYTES:
        raise UsageError(
            f"--journal-schema {value!r} is {len(value.encode('utf-8'))} bytes long; "
            f"a schema name has at most {MAX_SCHEMA_BYTES} (Postgres truncates longer names)"
        )
    if not _SCHEMA.fullmatch(value):
        raise UsageError(
            f"--journal-schema {value!r} is not a plain schema name: use lower-case letters, digits "
            "and underscores, not starting with a digit (e.g. `sagaz` or `sagaz_ci`)"
        )
    return value


def run_id(value: str) -> str:
    """`value` if it has the shape of a sagaz-dbt run id; else a UsageError."""
    if not _RUN_ID.fullmatch(value):
        raise UsageError(
            f"{value!r} is not a sagaz-dbt run id (32 lower-case hex digits, as `sagaz-dbt runs` lists them)"
        )
    return value
