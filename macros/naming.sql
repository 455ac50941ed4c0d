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


{% macro sagaz_identifier(base, kind, token) -%}
  {#- Postgres truncates identifiers at 63 characters; stay below it with a hash of the
      full base so two long names never collide. -#}
  {%- set suffix = '__sagaz_' ~ kind ~ '_' ~ token -%}
  {%- set max_len = 63 -%}
  {%- if (base | length) + (suffix | length) <= max_len -%}
    {{- return(base ~ suffix) -}}
  {%- endif -%}
  {%- set keep = max_len - (suffix | length) - 9 -%}
  {{- return(base[:keep] ~ '_' ~ local_md5(base)[:8] ~ suffix) -}}
{%- endmacro %}


{% macro kept_relation(backup_relation) -%}
  {#- The sagaz name for the relation dbt would have called `backup_relation`. -#}
  {%- set base = backup_relation.identifier -%}
  {%- if base.endswith('__dbt_backup') -%}
    {%- set base = base[:-12] -%}
  {%- endif -%}
  {%- set identifier = sagaz_dbt.sagaz_identifier(base, 'bk', sagaz_dbt.run_token()) -%}
  {{- return(backup_relation.incorporate(path={'identifier': identifier})) -}}
{%- endmacro %}


{% macro copy_relation(relation) -%}
  {%- set identifier = sagaz_dbt.sagaz_identifier(relation.identifier, 'cp', sagaz_dbt.run_token()) -%}
  {{- return(relation.incorporate(path={'identifier': identifier}, type='table')) -}}
{%- endmacro %}


{% macro sql_string(value) -%}
  {#- A SQL string literal of any text (see literals.sql). -#}
  {{- return(adapter.dispatch('sql_string', 'sagaz_dbt')(value)) -}}
{%- endmacro %}
