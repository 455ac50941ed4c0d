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
    {{ sagaz_dbt.create_journal_schema(runs.without_identifier()) }}
  {%- endcall -%}
  {%- call statement('sagaz_journal_runs', auto_begin=True) -%}
    {{ sagaz_dbt.journal_table_sql(runs, [
         ('run_id', 'varchar(64)', true),
         ('status', 'varchar(32)', true),
         ('project_name', 'varchar(256)', false),
         ('target_name', 'varchar(256)', false),
         ('target_schema', 'varchar(256)', false),
         ('command', 'text', false),
         ('started_at', 'timestamp', false),
         ('updated_at', 'timestamp', false),
         ('message', 'text', false)]) }}
  {%- endcall -%}
  {%- call statement('sagaz_journal_steps', auto_begin=True) -%}
    {{ sagaz_dbt.journal_table_sql(steps, [
         ('run_id', 'varchar(64)', true),
         ('seq', 'integer', true),
         ('unique_id', 'text', true),
         ('resource_type', 'varchar(32)', false),
         ('materialized', 'varchar(64)', false),
         ('database_name', 'text', false),
         ('schema_name', 'text', false),
         ('identifier', 'text', false),
         ('pre_type', 'varchar(32)', false),
         ('kept_identifier', 'text', false),
         ('copy_identifier', 'text', false),
         ('index_ddl', 'text', false),
         ('status', 'varchar(32)', true),
         ('detail', 'text', false)]) }}
  {%- endcall -%}
  {#- Journals written by earlier versions gain the columns added since. -#}
  {%- call statement('sagaz_journal_migrate', auto_begin=True) -%}
    {{ sagaz_dbt.journal_add_column_sql(runs, 'target_schema', 'varchar(256)') }}
  {%- endcall -%}
  {%- call statement('sagaz_journal_migrate_steps', auto_begin=True) -%}
    {{ sagaz_dbt.journal_add_column_sql(steps, 'detail', 'text') }}
  {%- endcall -%}
  {%- do sagaz_dbt.journal_ensure_owner(runs) -%}
{%- endmacro %}


{#-
  The journal's DDL, dispatched per engine.  Column types are written as Postgres and DuckDB
  spell them (varchar(n), text, integer, double precision, timestamp); an engine whose SQL
  differs maps them in its own implementation.  Never called on a read path: read-only
  commands (`sagaz-dbt runs`, the lock-holder message, the plain-dbt guard) write nothing.
-#}

{% macro create_journal_schema(schema_relation) -%}
  {{- return(adapter.dispatch('create_journal_schema', 'sagaz_dbt')(schema_relation)) -}}
{%- endmacro %}

{% macro default__create_journal_schema(schema_relation) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: create_journal_schema is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro journal_table_sql(relation, columns) -%}
  {#- CREATE TABLE IF NOT EXISTS for one journal table; `columns`: [(name, type, not null)]. -#}
  {{- return(adapter.dispatch('journal_table_sql', 'sagaz_dbt')(relation, columns)) -}}
{%- endmacro %}

{% macro default__journal_table_sql(relation, columns) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: journal_table_sql is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}

{% macro standard_journal_table_sql(relation, columns) -%}
  {#- Engine-neutral (standard SQL that Postgres and DuckDB both accept as written): shared
      by their implementations above, deliberately not a default__. -#}
  {%- set parts = [] -%}
  {%- for name, type, required in columns -%}
    {%- do parts.append(name ~ ' ' ~ type ~ (' not null' if required else '')) -%}
  {%- endfor -%}
  {{- return('create table if not exists ' ~ relation ~ ' (' ~ parts | join(', ') ~ ')') -}}
{%- endmacro %}


{% macro journal_add_column_sql(relation, name, type, if_not_exists=true) -%}
  {#- Adds a column that a later sagaz-dbt introduced to an existing journal table. -#}
  {{- return(adapter.dispatch('journal_add_column_sql', 'sagaz_dbt')(relation, name, type, if_not_exists)) -}}
{%- endmacro %}

{% macro default__journal_add_column_sql(relation, name, type, if_not_exists) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: journal_add_column_sql is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}

{% macro standard_add_column_sql(relation, name, type, if_not_exists) -%}
  {#- Engine-neutral (Postgres and DuckDB both accept it as written): shared, not a default__. -#}
  {{- return('alter table ' ~ relation ~ ' add column ' ~ ('if not exists ' if if_not_exists else '') ~ name ~ ' ' ~ type) -}}
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


{% macro journal_runs_with_step_status(database, schema, status) -%}
  {#- The ids of the runs that have a step in `status`, in one query (none without a
      journal): a build drops older runs' retained backups without reading every old
      run's steps. -#}
  {%- if not sagaz_dbt.journal_exists(database, schema) -%}
    {{- return([]) -}}
  {%- endif -%}
  {%- set sql -%}
    select distinct run_id from {{ sagaz_dbt.journal_relation(database, schema, 'sagaz_steps') }}
    where status = {{ sagaz_dbt.sql_string(status) }}
  {%- endset -%}
  {%- set ids = [] -%}
  {%- for row in run_query(sql).rows -%}
    {%- do ids.append(row[0]) -%}
  {%- endfor -%}
  {{- return(ids) -}}
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
