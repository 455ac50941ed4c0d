{% macro count_rows(steps) -%}
  {#- Exact row counts of the steps' tables (views are not counted), for the CI summaries:
      {unique_id: rows}.  One call for the whole run. -#}
  {%- set out = {} -%}
  {%- set memo = sagaz_dbt.phase_memo() -%}
  {%- for s in steps -%}
    {%- set rel = sagaz_dbt.find_relation(s.database, s.schema, s.identifier, memo) -%}
    {%- if rel is not none and rel.is_table -%}
      {%- set counted = run_query('select count(*) from ' ~ rel) -%}
      {%- do out.update({s.unique_id: counted.columns[0].values()[0] | int}) -%}
    {%- endif -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}
