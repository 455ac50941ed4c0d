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

{% macro duckdb__dependent_views_of(database, pairs) -%}
  {#- DuckDB binds views by name: none follows a renamed table, none needs re-pointing. -#}
  {{- return([]) -}}
{%- endmacro %}

{% macro postgres__dependent_views_of(database, pairs) -%}
  {%- set rows = [] -%}
  {%- set memo = {} -%}
  {%- for p in pairs -%}
    {%- set rel = sagaz_dbt.find_relation(database, p.schema, p.identifier, memo) -%}
    {%- if rel is not none and sagaz_dbt.find_relation(database, p.get('target_schema') or p.schema, p.target, memo) is not none -%}
      {%- do rows.append('(' ~ p.seq ~ ', ' ~ sagaz_dbt.sql_string(rel.render()) ~ '::regclass::oid)') -%}
    {%- endif -%}
  {%- endfor -%}
  {%- if not rows -%}
    {{- return([]) -}}
  {%- endif -%}
  {%- set sql -%}
    with sagaz_pairs(seq, relid) as (values {{ rows | join(', ') }})
    select distinct p.seq, dep_ns.nspname as view_schema, dep.relname as view_name, dep.relkind::text as kind,
           pg_get_viewdef(dep.oid) as definition
    from sagaz_pairs p
    join pg_depend d on d.refobjid = p.relid and d.classid = 'pg_rewrite'::regclass
    join pg_rewrite r on r.oid = d.objid
    join pg_class dep on dep.oid = r.ev_class
    join pg_namespace dep_ns on dep_ns.oid = dep.relnamespace
    where dep.oid <> d.refobjid
    order by 1, 2, 3
  {%- endset -%}
  {%- set out = [] -%}
  {%- for row in run_query(sql).rows -%}
    {%- do out.append({'seq': row[0], 'schema': row[1], 'name': row[2], 'kind': row[3], 'definition': row[4]}) -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}


{% macro drop_empty_backup_schemas(steps) -%}
  {#- The run's backup schemas (naming.sql) that hold nothing any more.  Called in a
      transaction of its own after the phase committed (a failing DROP SCHEMA must never
      abort a rollback or a release); one that still holds something (retained backups,
      or anything put there by hand) stays. -#}
  {%- set seen = [] -%}
  {%- for step in steps -%}
    {%- set detail = fromjson(step.detail) if step.detail else {} -%}
    {%- for schema in [detail.get('kept_schema'), detail.get('backup_schema')] if schema -%}
      {%- set key = (step.database_name | lower, schema) -%}
      {%- if key not in seen -%}
        {%- do seen.append(key) -%}
        {%- do sagaz_dbt.drop_schema_if_empty(step.database_name, schema) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endfor -%}
{%- endmacro %}
