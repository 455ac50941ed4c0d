{#-
  The journal on Spark: parquet has no UPDATE or DELETE, so every write is an append to a
  log table (`sagaz_runs_log`, `sagaz_steps_log`), and `sagaz_runs` / `sagaz_steps` are
  views giving the latest row per key (highest `version`, the warehouse clock in
  microseconds).  Every reader of the journal (the plain-dbt guard, recovery, `runs`)
  reads those views exactly as it reads the tables of the other engines.  Values are
  rendered as literals (spark_literal): dbt-spark pastes bindings in unescaped.

  An append is durable when its statement returns; there is no transaction to share with
  the change it describes, so the phase macros (phases.sql) write the journal BEFORE the
  change it protects.
-#}

{% macro spark_journal_log(database, schema, name) -%}
  {{- return(api.Relation.create(schema=schema, identifier=name ~ '_log', type='table')) -}}
{%- endmacro %}

{% macro spark_run_columns() -%}
  {{- return(['run_id', 'status', 'project_name', 'target_name', 'target_schema', 'command', 'started_at',
              'updated_at', 'message', 'owner_token', 'owner_host', 'owner_pid', 'lock_pid', 'heartbeat_epoch']) -}}
{%- endmacro %}

{% macro spark_step_columns() -%}
  {{- return(['run_id', 'seq', 'unique_id', 'resource_type', 'materialized', 'database_name', 'schema_name',
              'identifier', 'pre_type', 'kept_identifier', 'copy_identifier', 'index_ddl', 'status', 'detail']) -}}
{%- endmacro %}

{% macro spark_version() -%}
  {{- return("unix_micros(current_timestamp())") -}}
{%- endmacro %}


{% macro spark_journal_ensure(database, schema) -%}
  {%- set runs_log = sagaz_dbt.spark_journal_log(database, schema, 'sagaz_runs') -%}
  {%- set steps_log = sagaz_dbt.spark_journal_log(database, schema, 'sagaz_steps') -%}
  {%- set memo = {} -%}
  {%- if sagaz_dbt.find_relation(database, schema, 'sagaz_steps', memo) is not none
        and sagaz_dbt.find_relation(database, schema, 'sagaz_marks', memo) is not none -%}
    {{- return(none) -}}
  {%- endif -%}
  {%- do run_query('create schema if not exists ' ~ adapter.quote(schema)) -%}
  {%- do run_query('create table if not exists ' ~ runs_log ~ ' (run_id string, status string, project_name string,
        target_name string, target_schema string, command string, started_at timestamp, updated_at timestamp,
        message string, owner_token string, owner_host string, owner_pid int, lock_pid int,
        heartbeat_epoch double, version bigint) using parquet') -%}
  {%- do run_query('create table if not exists ' ~ steps_log ~ ' (run_id string, seq int, unique_id string,
        resource_type string, materialized string, database_name string, schema_name string, identifier string,
        pre_type string, kept_identifier string, copy_identifier string, index_ddl string, status string,
        detail string, version bigint) using parquet') -%}
  {%- do run_query('create table if not exists ' ~ sagaz_dbt.marks_relation(database, schema)
        ~ ' (run_id string, seq int, fingerprint string) using parquet') -%}
  {%- for name, keys, columns in [('sagaz_runs', 'run_id', sagaz_dbt.spark_run_columns()),
                                  ('sagaz_steps', 'run_id, seq', sagaz_dbt.spark_step_columns())] -%}
    {%- set view = api.Relation.create(schema=schema, identifier=name, type='view') -%}
    {%- do run_query('create or replace view ' ~ view ~ ' as select ' ~ columns | join(', ')
          ~ ' from (select *, row_number() over (partition by ' ~ keys ~ ' order by version desc) as sagaz_latest from '
          ~ sagaz_dbt.spark_journal_log(database, schema, name) ~ ') as sagaz_l where sagaz_latest = 1') -%}
  {%- endfor -%}
{%- endmacro %}


{% macro spark_append(relation, columns, rows) -%}
  {#- rows: lists of values, in `columns` order; one INSERT per 200 rows. -#}
  {%- for chunk in rows | batch(200) -%}
    {%- set values = [] -%}
    {%- for row in chunk -%}
      {%- set literals = [] -%}
      {%- for value in row -%}{%- do literals.append(sagaz_dbt.spark_literal(value)) -%}{%- endfor -%}
      {%- do values.append('(' ~ literals | join(', ') ~ ', ' ~ sagaz_dbt.spark_version() ~ ')') -%}
    {%- endfor -%}
    {%- do run_query('insert into ' ~ relation ~ ' (' ~ columns | join(', ') ~ ', version) values ' ~ values | join(', ')) -%}
  {%- endfor -%}
{%- endmacro %}


{% macro spark_update_run(database, schema, run_id, changes, where='') -%}
  {#- Append the run's latest row with `changes` ({column: SQL expression}) applied. -#}
  {%- set columns = sagaz_dbt.spark_run_columns() -%}
  {%- set exprs = [] -%}
  {%- for col in columns -%}{%- do exprs.append(changes.get(col, col)) -%}{%- endfor -%}
  {%- do run_query('insert into ' ~ sagaz_dbt.spark_journal_log(database, schema, 'sagaz_runs')
        ~ ' (' ~ columns | join(', ') ~ ', version) select ' ~ exprs | join(', ') ~ ', ' ~ sagaz_dbt.spark_version()
        ~ ' from ' ~ sagaz_dbt.journal_relation(database, schema, 'sagaz_runs')
        ~ ' where run_id = ' ~ sagaz_dbt.spark__sql_string(run_id) ~ where) -%}
{%- endmacro %}


{% macro spark_insert_run(database, schema, run) -%}
  {%- do sagaz_dbt.spark_append(sagaz_dbt.spark_journal_log(database, schema, 'sagaz_runs'),
        ['run_id', 'status', 'project_name', 'target_name', 'target_schema', 'command', 'message'],
        [[run.run_id, run.status, run.project_name, run.target_name, run.target_schema, run.command, run.message]]) -%}
  {%- do sagaz_dbt.spark_update_run(database, schema, run.run_id,
        {'started_at': 'current_timestamp()', 'updated_at': 'current_timestamp()'}) -%}
{%- endmacro %}


{% macro spark_set_run_status(database, schema, run_id, status, message=none) -%}
  {%- set changes = {'status': sagaz_dbt.spark__sql_string(status), 'updated_at': 'current_timestamp()'} -%}
  {%- if message is not none -%}{%- do changes.update({'message': sagaz_dbt.spark__sql_string(message)}) -%}{%- endif -%}
  {%- do sagaz_dbt.spark_update_run(database, schema, run_id, changes) -%}
{%- endmacro %}


{% macro spark_owner_changes(owner) -%}
  {{- return({'owner_token': sagaz_dbt.spark_literal(owner.token), 'owner_host': sagaz_dbt.spark_literal(owner.host),
              'owner_pid': sagaz_dbt.spark_literal(owner.pid), 'lock_pid': sagaz_dbt.spark_literal(owner.lock_pid),
              'heartbeat_epoch': sagaz_dbt.db_epoch()}) -}}
{%- endmacro %}


{% macro spark_insert_steps(database, schema, run_id, steps) -%}
  {%- set rows = [] -%}
  {%- for s in steps -%}
    {%- do rows.append([run_id, s.seq, s.unique_id, s.resource_type, s.materialized, s.database, s.schema,
                        s.identifier, s.pre_type, s.kept_identifier, s.copy_identifier, s.index_ddl, s.status, s.detail]) -%}
  {%- endfor -%}
  {%- do sagaz_dbt.spark_append(sagaz_dbt.spark_journal_log(database, schema, 'sagaz_steps'), sagaz_dbt.spark_step_columns(), rows) -%}
{%- endmacro %}


{% macro spark_set_all_steps_status(database, schema, run_id, status) -%}
  {%- set exprs = [] -%}
  {%- for col in sagaz_dbt.spark_step_columns() -%}
    {%- do exprs.append(sagaz_dbt.spark__sql_string(status) if col == 'status' else col) -%}
  {%- endfor -%}
  {%- do run_query('insert into ' ~ sagaz_dbt.spark_journal_log(database, schema, 'sagaz_steps')
        ~ ' (' ~ sagaz_dbt.spark_step_columns() | join(', ') ~ ', version) select ' ~ exprs | join(', ') ~ ', '
        ~ sagaz_dbt.spark_version() ~ ' from ' ~ sagaz_dbt.journal_relation(database, schema, 'sagaz_steps')
        ~ ' where run_id = ' ~ sagaz_dbt.spark__sql_string(run_id)) -%}
{%- endmacro %}


{#- The phase macros Python calls by name (Warehouse.call prefers spark__<name>). -#}

{% macro spark__journal_runs(database, schema, statuses=none, migrate=true) -%}
  {%- if not sagaz_dbt.journal_exists(database, schema) -%}
    {{- return(none) -}}
  {%- endif -%}
  {%- if migrate -%}
    {%- do sagaz_dbt.spark_journal_ensure(database, schema) -%}
  {%- endif -%}
  {{- return(sagaz_dbt.journal_read_runs(database, schema, statuses, migrated=true)) -}}
{%- endmacro %}


{% macro spark__journal_finish_arming(database, schema, run_id, steps, status, owner=none) -%}
  {%- do sagaz_dbt.spark_insert_steps(database, schema, run_id, steps) -%}
  {%- set changes = {'status': sagaz_dbt.spark__sql_string(status), 'updated_at': 'current_timestamp()'} -%}
  {%- if owner is not none -%}{%- do changes.update(sagaz_dbt.spark_owner_changes(owner)) -%}{%- endif -%}
  {%- do sagaz_dbt.spark_update_run(database, schema, run_id, changes) -%}
{%- endmacro %}


{% macro spark__journal_claim_run(database, schema, run_id, expected, token, owner) -%}
  {#- No row locks: the run's lock admits one run per journal (session mode: Derby admits
      one process; thrift: the lease on the journal schema, engines/spark.py), so the
      check and the append cannot interleave with another run's. -#}
  {%- set changes = sagaz_dbt.spark_owner_changes(owner) -%}
  {%- do changes.update({'updated_at': 'current_timestamp()'}) -%}
  {%- set where = ' and status = ' ~ sagaz_dbt.spark__sql_string(expected) ~ ' and '
        ~ ('owner_token is null' if token is none else 'owner_token = ' ~ sagaz_dbt.spark__sql_string(token)) -%}
  {%- do sagaz_dbt.spark_update_run(database, schema, run_id, changes, where) -%}
  {%- set check -%}
    select count(*) from {{ sagaz_dbt.journal_relation(database, schema, 'sagaz_runs') }}
    where run_id = {{ sagaz_dbt.spark__sql_string(run_id) }} and status = {{ sagaz_dbt.spark__sql_string(expected) }}
      and owner_token = {{ sagaz_dbt.spark__sql_string(owner.token) }}
  {%- endset -%}
  {{- return(run_query(check).columns[0].values()[0]) -}}
{%- endmacro %}


{% macro spark__fingerprint_sql(database, schema, identifier, is_view) -%}
  {#- No change detection on Spark yet (spark__changed_since_run): a mark written after the
      node's change, with no transaction joining them, cannot tell this run's change from a
      later one.  The plain-dbt guard still stops dbt on an unfinished run. -#}
  select '{"id": "unchecked"}'
{%- endmacro %}

{% macro spark__changed_since_run(database, schema, run_id, steps) -%}
  {{- return([]) -}}
{%- endmacro %}
