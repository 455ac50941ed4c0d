{#-
  Release after a successful run: the kept backups and copies are no longer needed.  On
  Postgres, views that read a kept backup (bound to its OID when dbt renamed the table)
  are first re-pointed at the new relation by the Python side, so dropping the backup
  does not take them with it, as plain dbt's DROP ... CASCADE does.
-#}

{% macro release_step(step, script, include_kept=true) -%}
  {#- Queue the drop of whatever backups of this step still exist (kept relation, copy,
      batch keys); returns their names. -#}
  {%- set detail = fromjson(step.detail) if step.detail else {} -%}
  {%- set dropped = [] -%}
  {%- set which = ['copy', 'keys'] -%}
  {%- if include_kept -%}{%- do which.insert(0, 'kept') -%}{%- endif -%}
  {%- for kind in which -%}
    {%- set rel = sagaz_dbt.step_backup(step, kind) -%}
    {%- if rel is not none -%}
      {%- do sagaz_dbt.queue_drop(script, rel) -%}
      {%- do dropped.append(rel.identifier) -%}
    {%- endif -%}
  {%- endfor -%}
  {{- return(dropped) -}}
{%- endmacro %}


{% macro replace_view(database, schema, identifier, select_sql, kind='v') -%}
  {#- kind is pg_class.relkind: a materialized view cannot be replaced, only re-created
      (see matviews.sql). -#}
  {%- if kind == 'm' -%}
    {{- return(sagaz_dbt.recreate_materialized_view(database, schema, identifier, select_sql)) -}}
  {%- endif -%}
  {%- set view = api.Relation.create(database=database, schema=schema, identifier=identifier, type='view') -%}
  {%- call statement('sagaz_replace_view', auto_begin=True) -%}
    create or replace view {{ view }} as {{ select_sql }}
  {%- endcall -%}
{%- endmacro %}


{% macro release_run(database, schema, run_id, steps, keep) -%}
  {#- Commit a successful run in one call: drop (or retain) every backup, mark it committed. -#}
  {%- set actions = {} -%}
  {%- set script = [] -%}
  {%- do sagaz_dbt.step_memo(steps) -%}
  {%- for step in steps -%}
    {%- if keep -%}
      {%- do actions.update({step.seq: 'retained'}) -%}
    {%- else -%}
      {%- set dropped = sagaz_dbt.release_step(step, script) -%}
      {%- do actions.update({step.seq: 'released' if dropped else 'no backup'}) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- do sagaz_dbt.flush(script) -%}
  {%- do sagaz_dbt.journal_set_all_steps_status(database, schema, run_id, 'retained' if keep else 'released') -%}
  {%- do sagaz_dbt.journal_set_run_status(database, schema, run_id, 'committed') -%}
  {{- return(actions) -}}
{%- endmacro %}


{% macro drop_retained_run(database, schema, run_id, steps) -%}
  {%- set script = [] -%}
  {%- do sagaz_dbt.step_memo(steps) -%}
  {%- for step in steps -%}
    {%- do sagaz_dbt.release_step(step, script) -%}
  {%- endfor -%}
  {%- do sagaz_dbt.flush(script) -%}
  {%- do sagaz_dbt.journal_set_all_steps_status(database, schema, run_id, 'released') -%}
{%- endmacro %}


{% macro dependent_views_of(database, pairs) -%}
  {#- For each {seq, schema, identifier, target_schema, target}: the views reading
      `schema.identifier` when `target_schema.target` exists (there is nothing to re-point them to otherwise).  One catalog query
      for a whole run; empty on engines that bind views by name. -#}
  {{- return(adapter.dispatch('dependent_views_of', 'sagaz_dbt')(database, pairs)) -}}
{%- endmacro %}

{% macro default__dependent_views_of(database, pairs) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: dependent_views_of is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro drop_empty_backup_schemas(steps) -%}
  {#- The run's backup schemas (naming.sql) that hold nothing any more.  Called in a
      transaction of its own after the phase committed (a failing DROP SCHEMA must never
      abort a rollback or a release); one that still holds something (retained backups,
      or anything put there by hand) stays. -#}
  {%- set backups = [] -%}
  {%- for step in steps -%}
    {%- set detail = fromjson(step.detail) if step.detail else {} -%}
    {%- for schema in [detail.get('kept_schema'), detail.get('backup_schema')] if schema -%}
      {%- do backups.append((step.database_name, schema)) -%}
    {%- endfor -%}
  {%- endfor -%}
  {%- do sagaz_dbt.drop_schemas_if_empty(backups, sagaz_dbt.phase_memo()) -%}
{%- endmacro %}
