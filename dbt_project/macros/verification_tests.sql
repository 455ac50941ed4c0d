{#-
  Migration verification: the target holds exactly the source's rows.

  `row_count_matches` compares counts; `checksum_matches` compares an order-independent
  checksum of canonical columns: `columns` are expressions over the model, `compare_columns`
  the matching expressions over the source (same order).  Each side's row is rendered as
  text, hashed, and the sorted hashes are hashed again, so any changed, missing or extra
  row changes the checksum.
-#}

{% test row_count_matches(model, compare_model) %}
with target_rows as (select count(*) as n from {{ model }}),
     source_rows as (select count(*) as n from {{ compare_model }})
select target_rows.n as target_rows, source_rows.n as source_rows
from target_rows cross join source_rows
where target_rows.n <> source_rows.n
{% endtest %}


{% test checksum_matches(model, compare_model, columns, compare_columns) %}
{%- if columns | length != compare_columns | length -%}
  {%- do exceptions.raise_compiler_error("checksum_matches: columns and compare_columns differ in length") -%}
{%- endif %}
with target_digests as (
    select {{ sagaz_example.row_digest(columns) }} as row_digest from {{ model }}
),
source_digests as (
    select {{ sagaz_example.row_digest(compare_columns) }} as row_digest from {{ compare_model }}
),
checksums as (
    select
        (select coalesce({{ dbt.hash(sagaz_example.sorted_concat('row_digest')) }}, '')
           from target_digests) as target_checksum,
        (select coalesce({{ dbt.hash(sagaz_example.sorted_concat('row_digest')) }}, '')
           from source_digests) as source_checksum
)
select target_checksum, source_checksum
from checksums
where target_checksum <> source_checksum
{% endtest %}


{% macro row_digest(expressions) -%}
  {%- set parts = [] -%}
  {%- for expr in expressions -%}
    {%- do parts.append("coalesce(cast((" ~ expr ~ ") as " ~ dbt.type_string() ~ "), '<null>')") -%}
    {%- if not loop.last -%}{%- do parts.append("'|'") -%}{%- endif -%}
  {%- endfor -%}
  {{- dbt.hash(dbt.concat(parts)) -}}
{%- endmacro %}


{% macro sorted_concat(column) -%}
  {#- Every value of `column`, sorted, joined without a separator. -#}
  {{- return(adapter.dispatch('sorted_concat', 'sagaz_example')(column)) -}}
{%- endmacro %}

{% macro default__sorted_concat(column) -%}
  {{- return(dbt.listagg(column, "''", 'order by ' ~ column)) -}}
{%- endmacro %}

{% macro spark__sorted_concat(column) -%}
  {#- dbt-spark's listagg ignores its order by (collect_list's order is the scan's). -#}
  {{- return('array_join(array_sort(collect_list(' ~ column ~ ")), '')") -}}
{%- endmacro %}
