{#-
  dbt's own temporary relations that outlive a failed run.  dbt-duckdb runs a Python
  incremental model's batch into `<model>__dbt_tmp<timestamp>`, a real table in the
  database's default schema, and never drops it (its materialization thinks it is a
  temporary table); plain dbt leaves one per run.  A rollback must leave the warehouse as
  it was, so it drops those this run created; the ones that existed before the run (left
  by earlier plain dbt runs) are recorded while arming and never touched.  A successful
  run keeps them, as plain dbt does.
-#}

{% macro dbt_temporaries(steps) -%}
  {#- [database, schema, identifier] of every dbt temporary belonging to a step; none
      (not a list) on engines whose temporaries cannot outlive their session. -#}
  {{- return(adapter.dispatch('dbt_temporaries', 'sagaz_dbt')(steps)) -}}
{%- endmacro %}

{% macro default__dbt_temporaries(steps) -%}
  {%- do exceptions.raise_compiler_error("sagaz-dbt: dbt_temporaries is not implemented for " ~ adapter.type()) -%}
{%- endmacro %}


{% macro drop_new_temporaries(steps, script) -%}
  {#- Queue the drop of the dbt temporaries of `steps` (journal rows) that did not exist
      when the run was armed.  Only runs armed with the list ('pre_temporaries' in the
      step's detail) are cleaned: for older journals, what existed before is unknown. -#}
  {%- set known = [] -%}
  {%- set owners = [] -%}
  {%- for step in steps -%}
    {%- set detail = fromjson(step.detail) if step.detail else {} -%}
    {%- if detail.get('pre_temporaries') is not none -%}
      {%- do owners.append({'database': step.database_name, 'identifier': step.identifier}) -%}
      {%- for t in detail.pre_temporaries -%}{%- do known.append(t | join('.') | lower) -%}{%- endfor -%}
    {%- endif -%}
  {%- endfor -%}
  {%- set dropped = [] -%}
  {%- for t in sagaz_dbt.dbt_temporaries(owners) or [] -%}
    {%- if (t | join('.') | lower) not in known -%}
      {%- do sagaz_dbt.queue_drop(script, api.Relation.create(database=t[0], schema=t[1], identifier=t[2], type='table')) -%}
      {%- do dropped.append(t | join('.')) -%}
    {%- endif -%}
  {%- endfor -%}
  {{- return(dropped) -}}
{%- endmacro %}
