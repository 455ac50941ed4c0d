{#-
  Row-level snapshots, for relations dbt changes in place.  They run as a pre-hook that
  sagaz-dbt adds to the node for the duration of the run (it is never written to the
  project or to target/manifest.json), so they execute inside the node's own transaction:
  the backup and dbt's change commit together, or neither does.

  keys:    incremental models with a unique key or partition column.  The rows the run can
           touch are those whose key is in the new batch; only those are copied, together
           with the batch's keys (O(batch), not O(table)).
  current: dbt snapshots.  A snapshot run only closes current rows and inserts new current
           rows; closed history is never touched, so only the current rows are copied.
-#}

{% macro null_safe_match(left_alias, right_alias, columns) -%}
  {%- set parts = [] -%}
  {%- for col in columns -%}
    {%- do parts.append(left_alias ~ '.' ~ adapter.quote(col) ~ ' is not distinct from ' ~ right_alias ~ '.' ~ adapter.quote(col)) -%}
  {%- endfor -%}
  {{- return(parts | join(' and ')) -}}
{%- endmacro %}


{% macro backup_touched_rows(key_columns, copy_identifier, keys_identifier) -%}
  {%- if not sagaz_dbt.is_armed() or should_full_refresh() -%}
    {{- return('') -}}
  {%- endif -%}
  {%- set existing = load_relation(this) -%}
  {%- if existing is none or not existing.is_table -%}
    {{- return('') -}}
  {%- endif -%}
  {%- set keys = existing.incorporate(path={'identifier': keys_identifier}, type='table') -%}
  {%- set copy = existing.incorporate(path={'identifier': copy_identifier}, type='table') -%}
  {%- set quoted = [] -%}
  {%- for col in key_columns -%}{%- do quoted.append(adapter.quote(col)) -%}{%- endfor -%}
  {%- call statement('sagaz_backup_keys', auto_begin=True) -%}
    create table {{ keys }} as
    select distinct {{ quoted | join(', ') }} from (
      {{ model.compiled_code }}
    ) as sagaz_batch
  {%- endcall -%}
  {%- call statement('sagaz_backup_rows', auto_begin=True) -%}
    create table {{ copy }} as
    select * from {{ existing }} as sagaz_t
    where exists (select 1 from {{ keys }} as sagaz_k where {{ sagaz_dbt.null_safe_match('sagaz_t', 'sagaz_k', key_columns) }})
  {%- endcall -%}
  {{- return('') -}}
{%- endmacro %}


{% macro current_rows_filter(alias, valid_to, valid_to_current) -%}
  {%- set col = alias ~ '.' ~ adapter.quote(valid_to) -%}
  {%- if valid_to_current -%}
    {{- return('(' ~ col ~ ' is null or ' ~ col ~ ' = ' ~ valid_to_current ~ ')') -}}
  {%- endif -%}
  {{- return(col ~ ' is null') -}}
{%- endmacro %}


{% macro backup_current_rows(copy_identifier, valid_to, valid_to_current) -%}
  {%- if not sagaz_dbt.is_armed() -%}
    {{- return('') -}}
  {%- endif -%}
  {%- set existing = load_relation(this) -%}
  {%- if existing is none or not existing.is_table -%}
    {{- return('') -}}
  {%- endif -%}
  {%- set copy = existing.incorporate(path={'identifier': copy_identifier}, type='table') -%}
  {%- call statement('sagaz_backup_current', auto_begin=True) -%}
    create table {{ copy }} as
    select * from {{ existing }} as sagaz_t
    where {{ sagaz_dbt.current_rows_filter('sagaz_t', valid_to, valid_to_current) }}
  {%- endcall -%}
  {{- return('') -}}
{%- endmacro %}


{% macro restore_rows(current, copy, step, detail) -%}
  {#- Put back exactly the rows a row-level snapshot covers: delete what the run may have
      written there, re-insert the pre-run rows, and drop columns the run added. -#}
  {%- set copy_cols = [] -%}
  {%- for col in adapter.get_columns_in_relation(copy) -%}{%- do copy_cols.append(col.name) -%}{%- endfor -%}
  {%- for col in adapter.get_columns_in_relation(current) -%}
    {%- if col.name not in copy_cols -%}
      {%- call statement('sagaz_drop_added_column', auto_begin=True) -%}
        alter table {{ current }} drop column {{ adapter.quote(col.name) }}
      {%- endcall -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if detail.mode == 'keys' -%}
    {%- set keys = sagaz_dbt.find_relation(step.database_name, step.schema_name, detail.keys_identifier) -%}
    {%- set scope -%}
      exists (select 1 from {{ keys }} as sagaz_k where {{ sagaz_dbt.null_safe_match('sagaz_t', 'sagaz_k', detail.key_columns) }})
    {%- endset -%}
  {%- else -%}
    {%- set scd = adapter.quote(detail.scd_id) -%}
    {%- set scope -%}
      {{ sagaz_dbt.current_rows_filter('sagaz_t', detail.valid_to, detail.valid_to_current) }}
      or sagaz_t.{{ scd }} in (select {{ scd }} from {{ copy }})
    {%- endset -%}
  {%- endif -%}
  {%- set quoted = [] -%}
  {%- for col in copy_cols -%}{%- do quoted.append(adapter.quote(col)) -%}{%- endfor -%}
  {%- call statement('sagaz_restore_rows_delete', auto_begin=True) -%}
    delete from {{ current }} as sagaz_t where {{ scope }}
  {%- endcall -%}
  {%- call statement('sagaz_restore_rows_insert', auto_begin=True) -%}
    insert into {{ current }} ({{ quoted | join(', ') }}) select {{ quoted | join(', ') }} from {{ copy }}
  {%- endcall -%}
  {%- do sagaz_dbt.drop_now(copy) -%}
  {%- if detail.mode == 'keys' and keys is not none -%}
    {%- do sagaz_dbt.drop_now(keys) -%}
  {%- endif -%}
  {{- return('rows restored (' ~ detail.mode ~ ')') -}}
{%- endmacro %}
