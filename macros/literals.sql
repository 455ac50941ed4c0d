{#-
  String literals for the few values sagaz-dbt must write into SQL text rather than bind
  (catalog lookups inside `run_query`, which takes no bindings).  The value may be any user
  text: a model alias with a quote, a backslash or a comment marker in it.

  - Quotes are doubled, the SQL standard's only escape.
  - Postgres: a plain '...' literal treats a backslash as an escape when the session has
    `standard_conforming_strings = off` (a server or role setting sagaz-dbt does not control),
    and then `\'` would end the string early.  An E'...' literal means the same on every
    setting: backslashes are doubled and quotes doubled.
  - DuckDB: '...' never treats a backslash specially.
  - A NUL byte cannot be in Postgres text, and psycopg2 / DuckDB cut or refuse it: such a
    value is refused with a clear error instead of being compared truncated.
-#}

{% macro sql_string(value) -%}
  {#- A SQL string literal of any text (see literals.sql). -#}
  {{- return(adapter.dispatch('sql_string', 'sagaz_dbt')(value)) -}}
{%- endmacro %}

{% macro default__sql_string(value) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: sql_string is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}

{% macro sql_string_text(value) -%}
  {#- The text of `value`; refuses a NUL byte.  The engines' bodies test for NUL themselves
      and call this only to raise: a macro call per literal costs ~0.1 ms, and arming
      writes a few literals per relation. -#}
  {%- set text = value | string -%}
  {%- if "\x00" in text -%}
    {%- do exceptions.raise_compiler_error("sagaz-dbt: a name or value contains a NUL byte, which SQL text cannot hold: " ~ (text | replace("\x00", "\\0"))) -%}
  {%- endif -%}
  {{- return(text) -}}
{%- endmacro %}
