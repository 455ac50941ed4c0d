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

from sagaz_dbt.engines import Engine, UnquotedCase

_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_QUOTED = re.compile(r'^"((?:[^"]|"")+)"$')




def column_of(key: str, engine: Engine) -> str | None:
    """The column an entry of `unique_key` names, or None if it names no single column."""
    text = key.strip()
    quoted = _QUOTED.match(text)
    if quoted:
        return quoted.group(1).replace('""', '"')
    if not _BARE.match(text):
        return None
    return text.lower() if engine.unquoted_case is UnquotedCase.LOWER else text


def columns_of(keys: tuple[str, ...], engine: Engine) -> tuple[str, ...] | None:
    """Every key's column, or None when one of them is not a column."""
    out = tuple(column_of(k, engine) for k in keys)
    return None if any(c is None for c in out) else out  # type: ignore[return-value]
