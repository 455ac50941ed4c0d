{#-
  Compensation: put one step's relation back to its pre-run state.  The state is read from
  the warehouse, not from memory, so the same macro finishes an interrupted run after a
  crash.  The caller runs every step of a run in one transaction, in reverse DAG order.
-#}

{% macro restore_step(step, script) -%}
  {#- Put one step back; renames and drops go to `script` (see script.sql), in order. -#}
  {%- set detail = fromjson(step.detail) if step.detail else {} -%}
  {%- set current = sagaz_dbt.find_relation(step.database_name, step.schema_name, step.identifier, step.get('memo')) -%}
  {%- if step.pre_type is none -%}
    {%- if current is not none -%}
      {%- do sagaz_dbt.queue_drop(script, current) -%}
      {{- return('dropped') -}}
    {%- endif -%}
    {{- return('untouched') -}}
  {%- endif -%}

  {%- set kept = sagaz_dbt.step_backup(step, 'kept') -%}
  {%- set copy = sagaz_dbt.step_backup(step, 'copy') -%}
  {%- if kept is not none -%}
    {{- return(sagaz_dbt.swap_back(current, kept, step, script)) -}}
  {%- elif copy is not none and detail.get('mode') in ('keys', 'current', 'window') and current is not none -%}
    {%- do sagaz_dbt.flush(script) -%}
    {{- return(sagaz_dbt.restore_rows(current, copy, step, detail, script)) -}}
  {%- elif copy is not none -%}
    {%- do sagaz_dbt.flush(script) -%}
    {{- return(sagaz_dbt.restore_from_copy(current, copy, step, script)) -}}
  {%- elif detail.get('view_sql') -%}
    {#- A view recorded by its DDL (isolate_backups on DuckDB). -#}
    {%- if current is not none -%}
      {%- do sagaz_dbt.queue_drop(script, current) -%}
    {%- endif -%}
    {%- do script.append(detail.view_sql) -%}
    {%- do adapter.cache_added(sagaz_dbt.step_home(step, 'view')) -%}
    {{- return('recreated') -}}
  {%- elif current is none -%}
    {#- It existed before the run, and neither it nor a backup exists: never guess. -#}
    {{- return('missing') -}}
  {%- elif detail.get('view_indexes') is not none and current.is_materialized_view -%}
    {%- do sagaz_dbt.flush(script) -%}
    {{- return(sagaz_dbt.restore_materialized_view_indexes(current, detail.view_indexes, script)) -}}
  {%- endif -%}
  {{- return('untouched') -}}
{%- endmacro %}


{% macro swap_back(current, kept, step, script) -%}
  {#- The pre-run relation is intact under its sagaz name: an atomic rename (and, from the
      backup schema, a move) restores it with its rows, columns, view definition and
      (Postgres) its OID, grants and indexes. -#}
  {%- if current is not none -%}
    {%- do sagaz_dbt.queue_drop(script, current) -%}
  {%- endif -%}
  {%- do sagaz_dbt.queue_move(script, kept, sagaz_dbt.step_home(step, kept.type)) -%}
  {%- do sagaz_dbt.recreate_indexes(step, script) -%}
  {#- The kept relation now has the original name again: only the other backups go. -#}
  {%- do sagaz_dbt.release_step(step, script, include_kept=false) -%}
  {{- return('swapped back') -}}
{%- endmacro %}


{% macro step_home(step, type) -%}
  {#- Where a step's relation belongs (its own schema and name). -#}
  {{- return(api.Relation.create(database=step.database_name, schema=step.schema_name,
                                 identifier=step.identifier, type=type)) -}}
{%- endmacro %}


{% macro restore_from_copy(current, copy, step, script) -%}
  {#- In place when the columns still match, so the table keeps its identity (indexes,
      grants, and on Postgres the views bound to its OID); otherwise the copy replaces it.
      Reads first (the caller flushed the queue), then only queued writes. -#}
  {%- if current is not none and current.is_table and sagaz_dbt.same_columns(current, copy, step.get('memo')) -%}
    {%- set cols = [] -%}
    {%- for col in sagaz_dbt.relation_columns(copy, step.get('memo')) -%}
      {%- do cols.append(adapter.quote(col.name)) -%}
    {%- endfor -%}
    {%- do script.append('delete from ' ~ current) -%}
    {%- do script.append('insert into ' ~ current ~ ' (' ~ cols | join(', ') ~ ') select ' ~ cols | join(', ') ~ ' from ' ~ copy) -%}
    {%- do sagaz_dbt.queue_drop(script, copy) -%}
    {{- return('rows restored') -}}
  {%- endif -%}
  {%- if current is not none -%}
    {%- do sagaz_dbt.queue_drop(script, current) -%}
  {%- endif -%}
  {%- do sagaz_dbt.queue_move(script, copy, sagaz_dbt.step_home(step, 'table')) -%}
  {%- do sagaz_dbt.recreate_indexes(step, script) -%}
  {{- return('copy swapped in') -}}
{%- endmacro %}


{% macro recreate_indexes(step, script) -%}
  {#- The step's pre-run secondary indexes (DuckDB), recorded qualified while arming. -#}
  {%- for ddl in (fromjson(step.index_ddl) if step.index_ddl else []) -%}
    {%- do script.append(ddl) -%}
  {%- endfor -%}
{%- endmacro %}


{% macro same_columns(left, right, memo=none) -%}
  {%- set a = [] -%}
  {%- set b = [] -%}
  {%- for col in sagaz_dbt.relation_columns(left, memo) -%}{%- do a.append(col.name ~ ' ' ~ col.data_type) -%}{%- endfor -%}
  {%- for col in sagaz_dbt.relation_columns(right, memo) -%}{%- do b.append(col.name ~ ' ' ~ col.data_type) -%}{%- endfor -%}
  {{- return(a == b) -}}
{%- endmacro %}


{% macro compensate_run(database, schema, run_id, steps, restore_seqs, repoints, message, accept_missing=false) -%}
  {#- The whole rollback of a run in one call, in the caller's transaction.  `steps` come in
      reverse DAG order; `restore_seqs` are the steps dbt may have changed (the others only
      lose their backups); `repoints` maps a step to the outside views that must follow its
      backup before the current relation is dropped (Postgres). -#}
  {%- set actions = {} -%}
  {%- set script = [] -%}
  {%- do sagaz_dbt.step_memo(steps) -%}
  {#- Tables DuckDB rebuilds in place (they have foreign keys) leave first and come back
      last: while the table a foreign key of theirs references is swapped back, neither
      the new nor the restored rows could stay (DuckDB checks keys at once, and refuses to
      drop a referenced table).  A table dbt-duckdb rebuilt while rebuilding what it
      references lost its constraints even if its own node never ran: always recreated. -#}
  {%- set recreated = sagaz_dbt.in_place_steps(steps) -%}
  {%- do sagaz_dbt.want_restore_columns(steps, restore_seqs, recreated) -%}
  {%- for step in recreated -%}
    {%- set current = sagaz_dbt.find_relation(step.database_name, step.schema_name, step.identifier, step.get('memo')) -%}
    {%- if current is not none -%}
      {%- do sagaz_dbt.queue_drop(script, current) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- for step in steps if step not in recreated -%}
    {%- for view in repoints.get(step.seq, []) -%}
      {%- do sagaz_dbt.flush(script) -%}
      {%- do sagaz_dbt.replace_view(step.database_name, view.schema, view.name, view.select_sql, view.kind) -%}
    {%- endfor -%}
    {%- if step.seq in restore_seqs -%}
      {%- set action = sagaz_dbt.restore_step(step, script) -%}
    {%- else -%}
      {%- do sagaz_dbt.release_step(step, script) -%}
      {%- set action = 'untouched' -%}
    {%- endif -%}
    {%- set action = sagaz_dbt.accept_or_refuse_missing(action, step, run_id, accept_missing) -%}
    {%- do actions.update({step.seq: action}) -%}
  {%- endfor -%}
  {%- for step in recreated | reverse -%}
    {%- do actions.update({step.seq: sagaz_dbt.recreate_in_place(step, script)}) -%}
  {%- endfor -%}
  {%- do sagaz_dbt.flush(script) -%}
  {%- do sagaz_dbt.drop_new_temporaries(steps, script) -%}
  {%- do sagaz_dbt.flush(script) -%}
  {%- do sagaz_dbt.journal_set_all_steps_status(database, schema, run_id, 'compensated') -%}
  {%- do sagaz_dbt.journal_set_run_status(database, schema, run_id, 'rolled_back', message) -%}
  {{- return(actions) -}}
{%- endmacro %}


{% macro want_restore_columns(steps, restore_seqs, recreated) -%}
  {#- The columns every restore from a copy reads (restore_rows, restore_from_copy: the
      table and its copy), in one query before anything is queued (lookup.sql want_columns).
      Steps with a kept relation are swapped back by name and read no columns. -#}
  {%- set relations = [] -%}
  {%- for step in steps if step.copy_identifier and step.pre_type is not none
                          and step.seq in restore_seqs and step not in recreated -%}
    {%- set copy = sagaz_dbt.step_backup(step, 'copy') -%}
    {%- if copy is not none and sagaz_dbt.step_backup(step, 'kept') is none -%}
      {%- do relations.append(copy) -%}
      {%- do relations.append(sagaz_dbt.find_relation(step.database_name, step.schema_name, step.identifier, step.get('memo'))) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if relations -%}
    {%- do sagaz_dbt.want_columns(steps[0].memo, relations) -%}
  {%- endif -%}
{%- endmacro %}


{% macro accept_or_refuse_missing(action, step, run_id, accept_missing) -%}
  {#- The one decision on a step whose restore found it 'missing' (it existed before the
      run, and neither it nor its backup exists now), for every engine's compensation:
      reported as accepted under `recover --accept-missing`, otherwise the rollback stops. -#}
  {%- if action == 'missing' and accept_missing -%}
    {{- return('missing (accepted)') -}}
  {%- elif action == 'missing' -%}
    {%- do sagaz_dbt.refuse_missing(step, run_id) -%}
  {%- endif -%}
  {{- return(action) -}}
{%- endmacro %}

{% macro refuse_missing(step, run_id) -%}
  {%- do exceptions.raise_compiler_error(
        "sagaz-dbt: " ~ step.schema_name ~ "." ~ step.identifier ~ " existed before run " ~ run_id
        ~ ", but neither it nor its backup " ~ step.schema_name ~ "." ~ (step.kept_identifier or step.copy_identifier)
        ~ " exists now; refusing to guess. Put it back by hand if you can (or accept its loss), then run"
        ~ " `sagaz-dbt recover --accept-missing " ~ run_id ~ "` with the same flags: the other relations"
        ~ " are restored and this one is reported as missing") -%}
{%- endmacro %}


{% macro in_place_steps(steps) -%}
  {#- The steps whose pre-run table is kept as a copy plus its DDL (DuckDB foreign keys). -#}
  {%- set out = [] -%}
  {%- for step in steps -%}
    {%- set detail = fromjson(step.detail) if step.detail else {} -%}
    {%- if detail.get('create_sql') and step.copy_identifier -%}{%- do out.append(step) -%}{%- endif -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}


{% macro recreate_in_place(step, script) -%}
  {#- The pre-run table again: its own DDL (columns, keys, constraints), its rows from the
      copy, its indexes.  The caller has queued the drop of the run's version. -#}
  {%- set copy = sagaz_dbt.step_backup(step, 'copy') -%}
  {%- if copy is none -%}
    {%- do exceptions.raise_compiler_error(
          "sagaz-dbt: the copy of " ~ step.schema_name ~ "." ~ step.identifier ~ " is gone; refusing to guess") -%}
  {%- endif -%}
  {%- set table = api.Relation.create(database=step.database_name, schema=step.schema_name,
                                      identifier=step.identifier, type='table') -%}
  {%- do sagaz_dbt.flush(script) -%}
  {%- set cols = [] -%}
  {%- for col in adapter.get_columns_in_relation(copy) -%}{%- do cols.append(adapter.quote(col.name)) -%}{%- endfor -%}
  {%- do script.append(fromjson(step.detail).create_sql) -%}
  {%- do adapter.cache_added(table) -%}
  {%- do script.append('insert into ' ~ table ~ ' (' ~ cols | join(', ') ~ ') select ' ~ cols | join(', ') ~ ' from ' ~ copy) -%}
  {%- do sagaz_dbt.recreate_indexes(step, script) -%}
  {%- do sagaz_dbt.release_step(step, script) -%}
  {{- return('recreated') -}}
{%- endmacro %}


{% macro drop_created_schemas(steps) -%}
  {#- Schemas that did not exist before the run and hold nothing after the rollback.  Called
      in a transaction of its own after the rollback committed: an empty schema left behind
      is a nuisance, a rollback aborted by a failing DROP SCHEMA (DuckDB refuses
      `drop schema "x"."x"` when the database and the schema share a name) is a torn run. -#}
  {%- set created = [] -%}
  {%- for step in steps if (fromjson(step.detail) if step.detail else {}).get('new_schema') -%}
    {%- do created.append((step.database_name, step.schema_name)) -%}
  {%- endfor -%}
  {%- do sagaz_dbt.drop_schemas_if_empty(created, sagaz_dbt.phase_memo()) -%}
{%- endmacro %}

{% macro drop_schemas_if_empty(schemas, memo) -%}
  {#- Drop those of `schemas` [(database, schema)] that exist and hold nothing, each
      catalog schema once: two steps may name one schema differently (`Sales` and `sales`,
      unquoted; a database in another case), and a second DROP would abort the clean-up.
      `memo` (lookup.sql) wants them all, so an engine that can lists them in one query.
      One statement per drop: Spark's session runs one statement per call (no script). -#}
  {%- do sagaz_dbt.want_schemas(memo, schemas) -%}
  {%- set seen = [] -%}
  {%- for database, schema in schemas -%}
    {%- set key = (database | lower, sagaz_dbt.name_key(sagaz_dbt.catalog_identifier(schema, 'schema', memo), memo)) -%}
    {%- set first = key not in seen -%}
    {%- if first -%}{%- do seen.append(key) -%}{%- endif -%}
    {%- if first and (sagaz_dbt.list_schema_relations(database, schema, memo) | length) == 0
          and sagaz_dbt.schema_exists(database, schema, memo) -%}
      {%- set schema_relation = api.Relation.create(database=database, schema=schema).without_identifier() -%}
      {%- call statement('sagaz_drop_empty_schema', auto_begin=True) -%}
        {{ sagaz_dbt.drop_empty_schema(schema_relation) }}
      {%- endcall -%}
    {%- endif -%}
  {%- endfor -%}
{%- endmacro %}

{% macro drop_empty_schema(schema_relation) -%}
  {{- return(adapter.dispatch('drop_empty_schema', 'sagaz_dbt')(schema_relation)) -}}
{%- endmacro %}

{% macro default__drop_empty_schema(schema_relation) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: drop_empty_schema is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}
