{#-
  The guard for plain dbt: this package's `on-run-start` hook (see sagaz_dbt/package.py).

  While a target has an unfinished sagaz-dbt run (killed, or still running), a plain
  `dbt build/run/seed/snapshot/retry` would build on top of a half-done run, and the later
  `sagaz-dbt recover` could only mix states.  So the hook stops those commands before any
  node runs, naming the run and saying what to do.  It only reads: without a journal it
  does nothing and creates nothing, and inside a sagaz-dbt run (SAGAZ_DBT_RUN_ID set) it is
  inert.  Commands that run no hooks (ls, parse, compile, docs, run-operation) never reach
  it, and neither does `dbt test`, which writes no model.

  Its cost for plain dbt: one catalog lookup of the journal schema (the relation cache
  does not hold it) and, when a journal exists, one small query.  A journal kept in a
  schema other than `sagaz` is found through SAGAZ_DBT_JOURNAL, when it is set.
-#}

{#- `target.database` is undefined on dbt-spark (no database above the schema). -#}
{% macro guard_sql() -%}
  {%- if execute and not sagaz_dbt.is_armed() and flags.WHICH in sagaz_dbt.guarded_commands() -%}
    {%- do sagaz_dbt.refuse_if_unfinished(target.database or none, env_var('SAGAZ_DBT_JOURNAL', 'sagaz')) -%}
  {%- endif -%}
  {{- return('') -}}
{%- endmacro %}


{% macro guarded_commands() -%}
  {{- return(['build', 'run', 'seed', 'snapshot', 'retry']) -}}
{%- endmacro %}


{% macro refuse_if_unfinished(database, schema) -%}
  {%- if adapter.get_relation(database=database, schema=schema, identifier='sagaz_runs') is none -%}
    {{- return(none) -}}
  {%- endif -%}
  {%- set runs = sagaz_dbt.journal_relation(database, schema, 'sagaz_runs') -%}
  {%- set sql -%}
    select run_id, status, started_at from {{ runs }}
    where status in ('arming', 'building', 'committing', 'compensating')
      and project_name = {{ sagaz_dbt.sql_string(project_name) }}
      and target_name = {{ sagaz_dbt.sql_string(target.name) }}
      and target_schema = {{ sagaz_dbt.sql_string(target.schema) }}
    order by started_at, run_id
  {%- endset -%}
  {%- set rows = run_query(sql).rows -%}
  {%- if rows | length > 0 -%}
    {%- set run = rows[-1] -%}
    {%- do exceptions.raise_compiler_error(
          "sagaz-dbt: run " ~ run[0] ~ " on this target (started " ~ run[2] ~ ") is unfinished: it is '"
          ~ run[1] ~ "' in the journal, so it was interrupted or is still running. "
          ~ "Nothing was built. Run `sagaz-dbt recover` first (same --project-dir/--profiles-dir/--target); "
          ~ "it restores that run's pre-run state, then build again.") -%}
  {%- endif -%}
{%- endmacro %}
