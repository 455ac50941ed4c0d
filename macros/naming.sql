{#-
  Names of the relations sagaz-dbt creates.  They live next to the relation they protect
  (a rename cannot move a relation to another schema) and always carry "sagaz", so users
  and checks can tell them from their own.  Python never re-implements these rules: it asks
  these macros, so the name chosen while arming a run is the name the override uses.
-#}

{% macro is_armed() -%}
  {{- return(env_var('SAGAZ_DBT_RUN_ID', '') != '') -}}
{%- endmacro %}


{% macro run_token() -%}
  {{- return(env_var('SAGAZ_DBT_RUN_ID', '')[:10]) -}}
{%- endmacro %}


{% macro identifier_byte_limit() -%}
  {#- The longest identifier the engine keeps, in bytes of UTF-8 (none: no practical
      limit).  Postgres silently cuts longer names at 63 bytes (NAMEDATALEN - 1), so a
      name that does not fit would be created under a name nobody recorded. -#}
  {{- return(adapter.dispatch('identifier_byte_limit', 'sagaz_dbt')()) -}}
{%- endmacro %}

{% macro default__identifier_byte_limit() -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: identifier_byte_limit is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}

{% macro postgres__identifier_byte_limit() -%}
  {{- return(63) -}}
{%- endmacro %}

{% macro duckdb__identifier_byte_limit() -%}
  {{- return(none) -}}
{%- endmacro %}


{% macro utf8_bytes(text) -%}
  {{- return(text.encode('utf-8') | length) -}}
{%- endmacro %}


{% macro utf8_prefix(text, max_bytes) -%}
  {#- The longest prefix of `text` that fits in `max_bytes` bytes, cut between characters
      (never inside a multi-byte one). -#}
  {%- set ns = namespace(out='', size=0, done=false) -%}
  {%- for ch in text -%}
    {%- set n = ch.encode('utf-8') | length -%}
    {%- if not ns.done and ns.size + n <= max_bytes -%}
      {%- set ns.out = ns.out ~ ch -%}
      {%- set ns.size = ns.size + n -%}
    {%- else -%}
      {%- set ns.done = true -%}
    {%- endif -%}
  {%- endfor -%}
  {{- return(ns.out) -}}
{%- endmacro %}


{% macro sagaz_identifier(base, kind, token, limit='engine') -%}
  {#- The one naming rule: `__sagaz_<kind>_<token>__<base>`, where `base` is the FULL
      identifier of the relation protected (never a name dbt already cut).  The sagaz part
      comes first so that a user's macro listing relations by prefix
      (dbt_utils.get_relations_by_prefix('orders_'), union_relations) never picks up a
      backup of `orders_2024` during a run.  When the name does not fit the engine's byte
      limit, the base is cut on a character boundary and followed by a hash of the full
      base, so two long names that share a prefix never collide.
      tests/unit/test_naming.py checks the rule by property through this macro. -#}
  {%- set max_bytes = sagaz_dbt.identifier_byte_limit() if limit == 'engine' else limit -%}
  {%- set head = '__sagaz_' ~ kind ~ '_' ~ token ~ '__' -%}
  {%- set whole = head ~ base -%}
  {%- if max_bytes is none or sagaz_dbt.utf8_bytes(whole) <= max_bytes -%}
    {{- return(whole) -}}
  {%- endif -%}
  {%- set tag = '_' ~ local_md5(base)[:8] -%}
  {%- set room = max_bytes - sagaz_dbt.utf8_bytes(head) - (tag | length) -%}
  {%- if room < 1 -%}
    {%- do exceptions.raise_compiler_error("sagaz-dbt: no room for a name within " ~ max_bytes ~ " bytes") -%}
  {%- endif -%}
  {{- return(head ~ sagaz_dbt.utf8_prefix(base, room) ~ tag) -}}
{%- endmacro %}


{% macro kept_relation(relation) -%}
  {#- Where the pre-run `relation` is kept (instead of dbt's `__dbt_backup`).  Derived
      from the relation's own identifier: dbt-postgres cuts its backup names to 51
      characters, so two long names sharing that prefix get the same backup name. -#}
  {%- set identifier = sagaz_dbt.sagaz_identifier(relation.identifier, 'bk', sagaz_dbt.run_token()) -%}
  {{- return(relation.incorporate(path={'identifier': identifier})) -}}
{%- endmacro %}


{% macro copy_relation(relation) -%}
  {%- set identifier = sagaz_dbt.sagaz_identifier(relation.identifier, 'cp', sagaz_dbt.run_token()) -%}
  {{- return(relation.incorporate(path={'identifier': identifier}, type='table')) -}}
{%- endmacro %}


{% macro names_for(identifiers, kinds, token, limit='engine') -%}
  {#- Every sagaz name of every identifier, for the property test (one macro call). -#}
  {%- set out = [] -%}
  {%- for identifier in identifiers -%}
    {%- for kind in kinds -%}
      {%- do out.append(sagaz_dbt.sagaz_identifier(identifier, kind, token, limit)) -%}
    {%- endfor -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}


{% macro sql_string(value) -%}
  {#- A SQL string literal of any text (see literals.sql). -#}
  {{- return(adapter.dispatch('sql_string', 'sagaz_dbt')(value)) -}}
{%- endmacro %}
