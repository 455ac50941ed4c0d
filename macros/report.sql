{% macro count_rows(steps) -%}
  {#- Exact row counts of the steps' tables (views are not counted), for the CI summaries:
      {unique_id: rows}.  One call for the whole run. -#}
  {%- set out = {} -%}
  {%- for s in steps -%}
    {%- set rel = adapter.get_relation(database=s.database, schema=s.schema, identifier=s.identifier) -%}
    {%- if rel is not none and rel.is_table -%}
      {%- set counted = run_query('select count(*) from ' ~ rel) -%}
      {%- do out.update({s.unique_id: counted.columns[0].values()[0] | int}) -%}
    {%- endif -%}
  {%- endfor -%}
  {{- return(out) -}}
{%- endmacro %}
