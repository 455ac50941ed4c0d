{#-
  Release after a successful run: the kept backups and copies are no longer needed.  On
  Postgres, views that read a kept backup (bound to its OID when dbt renamed the table)
  are first re-pointed at the new relation by the Python side, so dropping the backup
  does not take them with it, as plain dbt's DROP ... CASCADE does.
-#}

{% macro release_step(step, include_kept=true) -%}
  {#- Drop whatever backups of this step still exist (kept relation, copy, batch keys). -#}
  {%- set detail = fromjson(step.detail) if step.detail else {} -%}
  {%- set dropped = [] -%}
  {%- set identifiers = [step.copy_identifier, detail.get('keys_identifier')] -%}
  {%- if include_kept -%}{%- do identifiers.insert(0, step.kept_identifier) -%}{%- endif -%}
  {%- for identifier in identifiers -%}
    {%- set rel = sagaz_dbt.find_relation(step.database_name, step.schema_name, identifier) -%}
    {%- if rel is not none -%}
      {%- do sagaz_dbt.drop_now(rel) -%}
      {%- do dropped.append(rel.identifier) -%}
    {%- endif -%}
  {%- endfor -%}
  {{- return(dropped) -}}
{%- endmacro %}


{% macro dependent_views(database, schema, identifier, unless_missing=none) -%}
  {#- Views that read `identifier`; none when `unless_missing` names a relation that does not
      exist (there is nothing to re-point them to). -#}
  {{- return(adapter.dispatch('dependent_views', 'sagaz_dbt')(database, schema, identifier, unless_missing)) -}}
{%- endmacro %}

{% macro default__dependent_views(database, schema, identifier, unless_missing=none) -%}
  {#- Engines that bind views by name (DuckDB) need no re-pointing. -#}
  {{- return([]) -}}
{%- endmacro %}

{% macro postgres__dependent_views(database, schema, identifier, unless_missing=none) -%}
  {%- set rel = sagaz_dbt.find_relation(database, schema, identifier) -%}
  {%- if rel is none or (unless_missing and sagaz_dbt.find_relation(database, schema, unless_missing) is none) -%}
    {{- return([]) -}}
  {%- endif -%}
  {%- set sql -%}
    select distinct dep_ns.nspname as view_schema, dep.relname as view_name, dep.relkind::text as kind,
           pg_get_viewdef(dep.oid) as definition
    from pg_depend d
    join pg_rewrite r on r.oid = d.objid
    join pg_class dep on dep.oid = r.ev_class
    join pg_namespace dep_ns on dep_ns.oid = dep.relnamespace
    where d.classid = 'pg_rewrite'::regclass
      and d.refobjid = {{ sagaz_dbt.sql_string(rel.render()) }}::regclass
      and dep.oid <> d.refobjid
    order by 1, 2
  {%- endset -%}
  {%- set out = [] -%}
  {%- for row in run_query(sql).rows -%}
    {%- do out.append({'schema': row[0], 'name': row[1], 'kind': row[2], 'definition': row[3]}) -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}


{% macro replace_view(database, schema, identifier, select_sql) -%}
  {%- set view = api.Relation.create(database=database, schema=schema, identifier=identifier, type='view') -%}
  {%- call statement('sagaz_replace_view', auto_begin=True) -%}
    create or replace view {{ view }} as {{ select_sql }}
  {%- endcall -%}
{%- endmacro %}


{% macro release_run(database, schema, run_id, steps, keep) -%}
  {#- Commit a successful run in one call: drop (or retain) every backup, mark it committed. -#}
  {%- set actions = {} -%}
  {%- for step in steps -%}
    {%- if keep -%}
      {%- do actions.update({step.seq: 'retained'}) -%}
    {%- else -%}
      {%- set dropped = sagaz_dbt.release_step(step) -%}
      {%- do actions.update({step.seq: 'released' if dropped else 'no backup'}) -%}
    {%- endif -%}
  {%- endfor -%}
  {%- do sagaz_dbt.journal_set_all_steps_status(database, schema, run_id, 'retained' if keep else 'released') -%}
  {%- do sagaz_dbt.journal_set_run_status(database, schema, run_id, 'committed') -%}
  {{- return(actions) -}}
{%- endmacro %}


{% macro drop_retained_run(database, schema, run_id, steps) -%}
  {%- for step in steps -%}
    {%- do sagaz_dbt.release_step(step) -%}
  {%- endfor -%}
  {%- do sagaz_dbt.journal_set_all_steps_status(database, schema, run_id, 'released') -%}
{%- endmacro %}


{% macro dependent_views_of(database, pairs) -%}
  {#- For each {seq, schema, identifier, target}: the views reading `identifier` when
      `target` exists (one call for a whole run; empty on engines that bind by name). -#}
  {%- set out = [] -%}
  {%- for p in pairs -%}
    {%- for view in sagaz_dbt.dependent_views(database, p.schema, p.identifier, unless_missing=p.target) -%}
      {%- do view.update({'seq': p.seq}) -%}
      {%- do out.append(view) -%}
    {%- endfor -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}
