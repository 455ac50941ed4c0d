{#- Portable helpers: the project runs unchanged on DuckDB and PostgreSQL. -#}

{% macro ratio(numerator, denominator, scale=4) -%}
  {#- Exact: a decimal quotient, never a floating point sum. -#}
  case when {{ denominator }} = 0 then null
       else round(cast({{ numerator }} as decimal(38, 6)) / {{ denominator }}, {{ scale }}) end
{%- endmacro %}

{% macro week_of(col) -%}
  cast(date_trunc('week', {{ col }}) as date)
{%- endmacro %}

{% macro month_of(col) -%}
  cast(date_trunc('month', {{ col }}) as date)
{%- endmacro %}

{% macro grain_key(cols) -%}
  {%- set parts = [] -%}
  {%- for c in cols -%}{%- do parts.append("coalesce(cast(" ~ c ~ " as varchar), '')") -%}{%- endfor -%}
  {{ parts | join(" || '|' || ") }}
{%- endmacro %}

{% macro last_day_filter(col) -%}
  {#- Incremental batches: the last day present in the table is rebuilt on every run
      (late data), so a run replaces exactly one day and repeated runs are idempotent. -#}
  {%- if is_incremental() -%}
  where {{ col }} >= (select max({{ col }}) from {{ this }})
  {%- endif -%}
{%- endmacro %}
