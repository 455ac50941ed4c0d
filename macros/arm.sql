{#-
  Arming a step: before dbt touches a node's relation, record what exists and take the
  snapshot its strategy needs.  Table and view replacements need nothing here: the
  rename_relation override keeps dbt's own backup.  Relations that dbt changes in place
  (incremental merges, seed reloads, dbt snapshots, DuckDB tables rebuilt in place because
  of foreign keys) get a copy.
-#}

{% macro arm_step(step, indexes) -%}
  {%- set out = {'pre_type': none, 'identifier': step.identifier, 'kept_identifier': none,
                 'copy_identifier': none, 'keys_identifier': none, 'index_ddl': [], 'copied': false} -%}
  {%- set existing = adapter.get_relation(database=step.database, schema=step.schema, identifier=step.identifier) -%}
  {%- if existing is none -%}
    {#- A schema the run creates for it is dropped again by a rollback, when left empty. -#}
    {%- do out.update({'new_schema': not adapter.check_schema_exists(step.database, step.schema)}) -%}
    {{- return(out) -}}
  {%- endif -%}
  {%- do out.update({'pre_type': existing.type | string, 'identifier': existing.identifier}) -%}

  {%- set kept = sagaz_dbt.kept_relation(make_backup_relation(existing, existing.type)) -%}
  {%- if adapter.get_relation(database=kept.database, schema=kept.schema, identifier=kept.identifier) is not none -%}
    {%- do exceptions.raise_compiler_error("sagaz-dbt: " ~ kept ~ " already exists; another run with the same id left it behind") -%}
  {%- endif -%}
  {%- do out.update({'kept_identifier': kept.identifier}) -%}

  {%- if existing.is_table -%}
    {%- do out.update({'index_ddl': indexes.get(sagaz_dbt.table_key(existing), [])}) -%}
    {%- set in_place = adapter.dispatch('rebuilt_in_place', 'sagaz_dbt')(existing) -%}
    {%- if step.kind in ('keys', 'current') and not in_place -%}
      {#- The node's pre-hook takes these, inside its own transaction. -#}
      {%- do out.update({
            'copy_identifier': sagaz_dbt.copy_relation(existing).identifier,
            'keys_identifier': sagaz_dbt.sagaz_identifier(existing.identifier, 'ky', sagaz_dbt.run_token())}) -%}
    {%- elif step.kind != 'swap' or in_place -%}
      {#- A microbatch run writes only inside its event-time window: copy just that. -#}
      {%- set window = step.kind == 'window' and not in_place -%}
      {%- set copy = sagaz_dbt.copy_relation(existing) -%}
      {%- call statement('sagaz_copy', auto_begin=True) -%}
        create table {{ copy }} as select * from {{ existing }} as sagaz_t
        {%- if window %} where {{ sagaz_dbt.window_filter('sagaz_t', step.window) }}{% endif %}
      {%- endcall -%}
      {%- do adapter.cache_added(copy) -%}
      {%- do out.update({'copy_identifier': copy.identifier, 'copied': true, 'window_copy': window}) -%}
    {%- endif -%}
    {%- if in_place -%}
      {#- Restored by re-creating it from this DDL (see recreate_in_place). -#}
      {%- do out.update({'create_sql': adapter.dispatch('table_ddl', 'sagaz_dbt')(existing)}) -%}
    {%- endif -%}
  {%- endif -%}
  {{- return(out) -}}
{%- endmacro %}


{% macro table_key(relation) -%}
  {{- return((relation.database ~ '.' ~ relation.schema ~ '.' ~ relation.identifier) | lower) -}}
{%- endmacro %}


{% macro default__index_ddl_by_table(steps) -%}
  {#- Postgres indexes stay attached to a renamed table, so a swap back keeps them. -#}
  {{- return({}) -}}
{%- endmacro %}

{% macro duckdb__index_ddl_by_table(steps) -%}
  {#- dbt-duckdb drops a table's indexes before renaming it (DuckDB refuses to rename an
      indexed table), so the kept backup has none: remember them to rebuild on restore.
      One catalog query for the whole run, keyed by table_key. -#}
  {%- if not steps -%}
    {{- return({}) -}}
  {%- endif -%}
  {%- set databases = steps | map(attribute='database') | unique | list -%}
  {%- set schemas = steps | map(attribute='schema') | unique | list -%}
  {%- set sql -%}
    select lower(database_name || '.' || schema_name || '.' || table_name) as table_key, sql
    from duckdb_indexes()
    where database_name in ({% for d in databases %}{{ sagaz_dbt.sql_string(d) }}{{ ', ' if not loop.last }}{% endfor %})
      and schema_name in ({% for s in schemas %}{{ sagaz_dbt.sql_string(s) }}{{ ', ' if not loop.last }}{% endfor %})
      and sql is not null
    order by table_key, index_name
  {%- endset -%}
  {%- set out = {} -%}
  {%- for row in run_query(sql).rows -%}
    {%- do out.setdefault(row[0], []).append(row[1]) -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}


{% macro default__table_ddl(relation) -%}
  {{- return(none) -}}
{%- endmacro %}

{% macro duckdb__table_ddl(relation) -%}
  {%- set sql -%}
    select sql from duckdb_tables()
    where database_name = {{ sagaz_dbt.sql_string(relation.database) }}
      and schema_name = {{ sagaz_dbt.sql_string(relation.schema) }}
      and table_name = {{ sagaz_dbt.sql_string(relation.identifier) }}
  {%- endset -%}
  {{- return(run_query(sql).columns[0].values()[0]) -}}
{%- endmacro %}


{% macro default__rebuilt_in_place(relation) -%}
  {{- return(false) -}}
{%- endmacro %}

{% macro duckdb__rebuilt_in_place(relation) -%}
  {#- dbt-duckdb drops and recreates a table with foreign keys instead of swapping it. -#}
  {{- return('foreign_key' in adapter.existing_key_constraint_types(relation)) -}}
{%- endmacro %}


{% macro arm_run(database, schema, run, steps) -%}
  {#- One call arms a whole run (a macro call costs tens of milliseconds of context
      building, so per-step calls would grow with the project): the journal's run row and
      every step's snapshot, in the caller's transaction. -#}
  {%- do sagaz_dbt.journal_ensure(database, schema) -%}
  {%- do sagaz_dbt.journal_insert_run(database, schema, run) -%}
  {%- do sagaz_dbt.marks_ensure(database, schema) -%}
  {%- set indexes = adapter.dispatch('index_ddl_by_table', 'sagaz_dbt')(steps) -%}
  {%- set armed = [] -%}
  {%- for step in steps -%}
    {%- do armed.append(sagaz_dbt.arm_step(step, indexes)) -%}
  {%- endfor -%}
  {#- What recovery compares each pre-run relation with (fingerprint.sql). -#}
  {%- do sagaz_dbt.add_fingerprints(steps, armed) -%}
  {{- return(armed) -}}
{%- endmacro %}
