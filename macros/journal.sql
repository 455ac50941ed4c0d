{#-
  The journal: one row per run and one per step, in the warehouse itself, so that it is
  written in the same transaction as the changes it describes and survives the process.
  sagaz-dbt's Python side opens the transactions; these macros never commit.
-#}

{% macro journal_relation(database, schema, name) -%}
  {{- return(api.Relation.create(database=database, schema=schema, identifier=name, type='table')) -}}
{%- endmacro %}


{% macro journal_ensure(database, schema) -%}
  {%- set runs = sagaz_dbt.journal_relation(database, schema, 'sagaz_runs') -%}
  {%- set steps = sagaz_dbt.journal_relation(database, schema, 'sagaz_steps') -%}
  {#- Not adapter.create_schema: it commits the caller's transaction. -#}
  {%- call statement('sagaz_journal_schema', auto_begin=True) -%}
    {{ adapter.dispatch('create_journal_schema', 'sagaz_dbt')(runs.without_identifier()) }}
  {%- endcall -%}
  {%- call statement('sagaz_journal_runs', auto_begin=True) -%}
    create table if not exists {{ runs }} (
      run_id varchar(64) not null,
      status varchar(32) not null,
      project_name varchar(256),
      target_name varchar(256),
      target_schema varchar(256),
      command text,
      started_at timestamp,
      updated_at timestamp,
      message text
    )
  {%- endcall -%}
  {%- call statement('sagaz_journal_steps', auto_begin=True) -%}
    create table if not exists {{ steps }} (
      run_id varchar(64) not null,
      seq integer not null,
      unique_id text not null,
      resource_type varchar(32),
      materialized varchar(64),
      database_name text,
      schema_name text,
      identifier text,
      pre_type varchar(32),
      kept_identifier text,
      copy_identifier text,
      index_ddl text,
      status varchar(32) not null,
      detail text
    )
  {%- endcall -%}
  {#- Journals written by earlier versions gain the columns added since. -#}
  {%- call statement('sagaz_journal_migrate', auto_begin=True) -%}
    alter table {{ runs }} add column if not exists target_schema varchar(256)
  {%- endcall -%}
  {%- call statement('sagaz_journal_migrate_steps', auto_begin=True) -%}
    alter table {{ steps }} add column if not exists detail text
  {%- endcall -%}
  {%- do sagaz_dbt.journal_ensure_owner(runs) -%}
{%- endmacro %}


{% macro default__create_journal_schema(schema_relation) -%}
  create schema if not exists {{ schema_relation.include(database=False) }}
{%- endmacro %}

{% macro duckdb__create_journal_schema(schema_relation) -%}
  create schema if not exists {{ schema_relation }}
{%- endmacro %}


{% macro journal_insert_run(database, schema, run) -%}
  {%- set runs = sagaz_dbt.journal_relation(database, schema, 'sagaz_runs') -%}
  {%- set b = get_binding_char() -%}
  {%- set sql -%}
    insert into {{ runs }} (run_id, status, project_name, target_name, target_schema, command, started_at, updated_at, message)
    values ({{ b }}, {{ b }}, {{ b }}, {{ b }}, {{ b }}, {{ b }}, current_timestamp, current_timestamp, {{ b }})
  {%- endset -%}
  {%- do adapter.add_query(sql, bindings=[run.run_id, run.status, run.project_name, run.target_name, run.target_schema, run.command, run.message]) -%}
{%- endmacro %}


{% macro journal_set_run_status(database, schema, run_id, status, message=none) -%}
  {%- set runs = sagaz_dbt.journal_relation(database, schema, 'sagaz_runs') -%}
  {%- set b = get_binding_char() -%}
  {%- set sql -%}
    update {{ runs }} set status = {{ b }}, message = coalesce({{ b }}, message), updated_at = current_timestamp
    where run_id = {{ b }}
  {%- endset -%}
  {%- do adapter.add_query(sql, bindings=[status, message, run_id]) -%}
{%- endmacro %}


{% macro journal_insert_steps(database, schema, run_id, steps) -%}
  {#- One multi-row insert per 200 steps, not one statement per step: dbt's cost per
      statement would make arming grow by ~6 ms per model. -#}
  {%- set table = sagaz_dbt.journal_relation(database, schema, 'sagaz_steps') -%}
  {%- set b = get_binding_char() -%}
  {%- set row = '(' ~ ([b] * 14) | join(', ') ~ ')' -%}
  {%- for chunk in steps | batch(200) -%}
    {%- set bindings = [] -%}
    {%- for s in chunk -%}
      {%- do bindings.extend([run_id, s.seq, s.unique_id, s.resource_type, s.materialized,
                              s.database, s.schema, s.identifier, s.pre_type, s.kept_identifier,
                              s.copy_identifier, s.index_ddl, s.status, s.detail]) -%}
    {%- endfor -%}
    {%- set sql -%}
      insert into {{ table }} (run_id, seq, unique_id, resource_type, materialized, database_name, schema_name,
                               identifier, pre_type, kept_identifier, copy_identifier, index_ddl, status, detail)
      values {{ ([row] * (chunk | length)) | join(', ') }}
    {%- endset -%}
    {%- do adapter.add_query(sql, bindings=bindings) -%}
  {%- endfor -%}
{%- endmacro %}


{% macro journal_exists(database, schema) -%}
  {%- set found = sagaz_dbt.find_node_relation(database, schema, 'sagaz_runs') -%}
  {{- return(found is not none) -}}
{%- endmacro %}


{% macro journal_read_runs(database, schema, statuses=none, migrated=true) -%}
  {%- set runs = sagaz_dbt.journal_relation(database, schema, 'sagaz_runs') -%}
  {%- set columns = ['run_id', 'status', 'project_name', 'target_name', 'target_schema', 'command',
                     'started_at', 'updated_at', 'message',
                     'owner_token', 'owner_host', 'owner_pid', 'lock_pid', 'heartbeat_epoch'] -%}
  {%- set sql -%}
    select {{ sagaz_dbt.journal_select_list(runs, columns, migrated) }}, {{ sagaz_dbt.db_epoch() }} as read_epoch
    from {{ runs }}
    {%- if statuses %}
    where status in ({% for s in statuses %}{{ sagaz_dbt.sql_string(s) }}{{ ", " if not loop.last }}{% endfor %})
    {%- endif %}
    order by started_at, run_id
  {%- endset -%}
  {{- return(run_query(sql)) -}}
{%- endmacro %}


{% macro journal_read_steps(database, schema, run_id, migrated=true) -%}
  {%- set table = sagaz_dbt.journal_relation(database, schema, 'sagaz_steps') -%}
  {%- set columns = ['run_id', 'seq', 'unique_id', 'resource_type', 'materialized', 'database_name', 'schema_name',
                     'identifier', 'pre_type', 'kept_identifier', 'copy_identifier', 'index_ddl', 'status', 'detail'] -%}
  {%- set sql -%}
    select {{ sagaz_dbt.journal_select_list(table, columns, migrated) }}
    from {{ table }}
    where run_id = {{ sagaz_dbt.sql_string(run_id) }}
    order by seq
  {%- endset -%}
  {{- return(run_query(sql)) -}}
{%- endmacro %}


{% macro journal_finish_arming(database, schema, run_id, steps, status, owner=none) -%}
  {%- do sagaz_dbt.journal_insert_steps(database, schema, run_id, steps) -%}
  {%- do sagaz_dbt.journal_set_run_status(database, schema, run_id, status) -%}
  {%- if owner is not none -%}
    {%- do sagaz_dbt.journal_set_owner(database, schema, run_id, owner) -%}
  {%- endif -%}
{%- endmacro %}


{% macro journal_set_all_steps_status(database, schema, run_id, status) -%}
  {%- set table = sagaz_dbt.journal_relation(database, schema, 'sagaz_steps') -%}
  {%- set b = get_binding_char() -%}
  {%- do adapter.add_query('update ' ~ table ~ ' set status = ' ~ b ~ ' where run_id = ' ~ b, bindings=[status, run_id]) -%}
{%- endmacro %}


{% macro journal_runs(database, schema, statuses=none, migrate=true) -%}
  {#- The runs, or none when no run ever wrote a journal here (one call: exists, migrate, read).
      With migrate=false (`sagaz-dbt runs`, the lock-holder message) nothing is written: a
      read-only role can list runs, and a journal of an older sagaz-dbt is read as it is. -#}
  {%- if not sagaz_dbt.journal_exists(database, schema) -%}
    {{- return(none) -}}
  {%- endif -%}
  {%- if migrate -%}
    {%- do sagaz_dbt.journal_ensure(database, schema) -%}
  {%- endif -%}
  {{- return(sagaz_dbt.journal_read_runs(database, schema, statuses, migrated=migrate)) -}}
{%- endmacro %}


{% macro journal_select_list(relation, columns, migrated) -%}
  {#- The column list of a journal read.  A migrated journal has every column; an older one,
      read without migrating it, gives null for the columns added since. -#}
  {%- if migrated -%}
    {{- return(columns | join(', ')) -}}
  {%- endif -%}
  {%- set present = [] -%}
  {%- for col in adapter.get_columns_in_relation(relation) -%}
    {%- do present.append(col.name | lower) -%}
  {%- endfor -%}
  {%- set out = [] -%}
  {%- for name in columns -%}
    {%- do out.append(name if name in present else 'null as ' ~ name) -%}
  {%- endfor -%}
  {{- return(out | join(', ')) -}}
{%- endmacro %}
