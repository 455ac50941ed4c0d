{#-
  Compensation: put one step's relation back to its pre-run state.  The state is read from
  the warehouse, not from memory, so the same macro finishes an interrupted run after a
  crash.  The caller runs every step of a run in one transaction, in reverse DAG order.
-#}

{% macro find_relation(database, schema, identifier) -%}
  {%- if identifier is none -%}
    {{- return(none) -}}
  {%- endif -%}
  {{- return(adapter.get_relation(database=database, schema=schema, identifier=identifier)) -}}
{%- endmacro %}


{% macro drop_now(relation) -%}
  {{- return(adapter.dispatch('drop_relation', 'dbt')(relation)) -}}
{%- endmacro %}


{% macro restore_step(step) -%}
  {%- set detail = fromjson(step.detail) if step.detail else {} -%}
  {%- set current = sagaz_dbt.find_relation(step.database_name, step.schema_name, step.identifier) -%}
  {%- if step.pre_type is none -%}
    {%- if current is not none -%}
      {%- do sagaz_dbt.drop_now(current) -%}
      {{- return('dropped') -}}
    {%- endif -%}
    {{- return('untouched') -}}
  {%- endif -%}

  {%- set kept = sagaz_dbt.find_relation(step.database_name, step.schema_name, step.kept_identifier) -%}
  {%- set copy = sagaz_dbt.find_relation(step.database_name, step.schema_name, step.copy_identifier) -%}
  {%- if kept is not none -%}
    {{- return(sagaz_dbt.swap_back(current, kept, step)) -}}
  {%- elif copy is not none and detail.get('mode') in ('keys', 'current') and current is not none -%}
    {{- return(sagaz_dbt.restore_rows(current, copy, step, detail)) -}}
  {%- elif copy is not none -%}
    {{- return(sagaz_dbt.restore_from_copy(current, copy, step)) -}}
  {%- elif current is none -%}
    {#- It existed before the run, and neither it nor a backup exists: never guess. -#}
    {{- return('missing') -}}
  {%- endif -%}
  {{- return('untouched') -}}
{%- endmacro %}


{% macro swap_back(current, kept, step) -%}
  {#- The pre-run relation is intact under its sagaz name: an atomic rename restores it
      with its rows, columns, view definition and (Postgres) its OID, grants and indexes. -#}
  {%- if current is not none -%}
    {%- do sagaz_dbt.drop_now(current) -%}
  {%- endif -%}
  {%- do adapter.dispatch('rename_relation', 'dbt')(kept, kept.incorporate(path={'identifier': step.identifier})) -%}
  {%- for ddl in (fromjson(step.index_ddl) if step.index_ddl else []) -%}
    {%- call statement('sagaz_restore_index', auto_begin=True) -%}{{ ddl }}{%- endcall -%}
  {%- endfor -%}
  {%- do sagaz_dbt.release_step(step) -%}
  {{- return('swapped back') -}}
{%- endmacro %}


{% macro restore_from_copy(current, copy, step) -%}
  {#- In place when the columns still match, so the table keeps its identity (indexes,
      grants, and on Postgres the views bound to its OID); otherwise the copy replaces it. -#}
  {%- if current is not none and current.is_table and sagaz_dbt.same_columns(current, copy) -%}
    {%- set cols = [] -%}
    {%- for col in adapter.get_columns_in_relation(copy) -%}
      {%- do cols.append(adapter.quote(col.name)) -%}
    {%- endfor -%}
    {%- call statement('sagaz_restore_rows', auto_begin=True) -%}
      delete from {{ current }};
      insert into {{ current }} ({{ cols | join(', ') }}) select {{ cols | join(', ') }} from {{ copy }}
    {%- endcall -%}
    {%- do sagaz_dbt.drop_now(copy) -%}
    {{- return('rows restored') -}}
  {%- endif -%}
  {%- if current is not none -%}
    {%- do sagaz_dbt.drop_now(current) -%}
  {%- endif -%}
  {%- do adapter.dispatch('rename_relation', 'dbt')(copy, copy.incorporate(path={'identifier': step.identifier})) -%}
  {%- for ddl in (fromjson(step.index_ddl) if step.index_ddl else []) -%}
    {%- call statement('sagaz_restore_index', auto_begin=True) -%}{{ ddl }}{%- endcall -%}
  {%- endfor -%}
  {{- return('copy swapped in') -}}
{%- endmacro %}


{% macro same_columns(left, right) -%}
  {%- set a = [] -%}
  {%- set b = [] -%}
  {%- for col in adapter.get_columns_in_relation(left) -%}{%- do a.append(col.name ~ ' ' ~ col.data_type) -%}{%- endfor -%}
  {%- for col in adapter.get_columns_in_relation(right) -%}{%- do b.append(col.name ~ ' ' ~ col.data_type) -%}{%- endfor -%}
  {{- return(a == b) -}}
{%- endmacro %}
