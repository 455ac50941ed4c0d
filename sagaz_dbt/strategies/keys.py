"""A model's `unique_key` as the table's real column names.

dbt pastes each `unique_key` entry into its merge and delete+insert SQL as written, so the
config is SQL, not a column name: `'"order"'` is already a quoted identifier (the column
`order`), and an unquoted `'ID'` is folded by the engine like any unquoted identifier
(Postgres folds it to `id`; DuckDB matches columns case-insensitively, quoted or not).
The row backup quotes column names through `adapter.quote`, so it needs the real name:
quoting the config blindly turns `"order"` into a name with quotes in it, and `ID` into `"ID"`, which
Postgres does not find.  Anything that is not one identifier (an expression) has no column
to scope a backup by: the caller falls back to copying the table.
"""

from __future__ import annotations

import re
from enum import Enum

_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_QUOTED = re.compile(r'^"((?:[^"]|"")+)"$')


class UnquotedCase(Enum):
    """How an engine reads an unquoted identifier."""

    LOWER = "lower"  # folded to lower case (Postgres, the SQL standard's Postgres variant)
    INSENSITIVE = "insensitive"  # matched case-insensitively, quoted or not (DuckDB)


#: Per engine, as data; an engine not listed reads identifiers the SQL-standard way Postgres does.
UNQUOTED_CASE: dict[str, UnquotedCase] = {
    "postgres": UnquotedCase.LOWER,
    "duckdb": UnquotedCase.INSENSITIVE,
}


def column_of(key: str, adapter_type: str) -> str | None:
    """The column an entry of `unique_key` names, or None if it names no single column."""
    text = key.strip()
    quoted = _QUOTED.match(text)
    if quoted:
        return quoted.group(1).replace('""', '"')
    if not _BARE.match(text):
        return None
    case = UNQUOTED_CASE.get(adapter_type, UnquotedCase.LOWER)
    return text.lower() if case is UnquotedCase.LOWER else text


def columns_of(keys: tuple[str, ...], adapter_type: str) -> tuple[str, ...] | None:
    """Every key's column, or None when one of them is not a column."""
    out = tuple(column_of(k, adapter_type) for k in keys)
    return None if any(c is None for c in out) else out  # type: ignore[return-value]
