"""`sagaz_dbt.sql_string` round-trips any text through the real engines.

Each payload is written as a literal by the macro, selected back by the engine, and compared
with the original, on DuckDB, and on Postgres with `standard_conforming_strings` on (the
default) and off (a server or role setting, under which a backslash in '...' escapes the next
quote: the old literal `'a\\''b'` then ended early).  A NUL byte, which no SQL text can hold,
is refused with a clear error.
"""

from __future__ import annotations

import json

import pytest

from sagaz_dbt.dbt import package
from sagaz_dbt.dbt.session import release_connections

PAYLOADS = [
    "plain",
    "a'b",
    "a''b",
    "a\\'b",
    "trailing\\",
    "\\\\'; select 1; --",
    "x'; drop table t; --",
    "/* open comment",
    "-- line comment",
    '"double" quotes',
    "$$dollar$$ $tag$",
    "üñï €",
    "line\nbreak\ttab",
]

ROUNDTRIP_MACRO = """
{% macro roundtrip(values) %}
  {% for v in values %}
    {% set got = run_query('select ' ~ sagaz_dbt.sql_string(v) ~ ' as v').columns[0].values()[0] %}
    {% if got != v %}
      {{ exceptions.raise_compiler_error('sql_string mismatch: ' ~ (v | tojson) ~ ' came back as ' ~ (got | tojson)) }}
    {% endif %}
  {% endfor %}
  {{ log('sagaz roundtrip ok: ' ~ (values | length), info=True) }}
{% endmacro %}
"""


def _roundtrip(project, values: list[str]) -> tuple[bool, str]:
    """(success, every message dbt logged) of `dbt run-operation roundtrip`."""
    from dbt.cli.main import dbtRunner

    messages: list[str] = []
    args = ["run-operation", "roundtrip", "--args", json.dumps({"values": values}), *project.location_args]
    try:
        res = dbtRunner(callbacks=[lambda ev: messages.append(ev.info.msg)]).invoke(args)
    finally:
        release_connections()
    return res.success, "\n".join(str(m) for m in messages)


@pytest.mark.parametrize(
    "engine, conforming",
    [
        ("duckdb", None),
        pytest.param("postgres", "on", marks=pytest.mark.postgres),
        pytest.param("postgres", "off", marks=pytest.mark.postgres),
    ],
)
def test_sql_string_round_trips_hostile_text(engine, conforming, project, monkeypatch):
    if conforming is not None:
        monkeypatch.setenv("PGOPTIONS", f"-c standard_conforming_strings={conforming}")
    proj = project(engine)
    proj.write("macros/roundtrip.sql", ROUNDTRIP_MACRO)
    package.install(proj.root)

    ok, log = _roundtrip(proj, PAYLOADS)
    assert ok, log[-3000:]
    assert f"sagaz roundtrip ok: {len(PAYLOADS)}" in log

    nul, log = _roundtrip(proj, ["before\x00after"])
    assert not nul
    assert "contains a NUL byte" in log, log[-3000:]
