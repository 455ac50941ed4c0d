{#-
  Quality-gate tests whose result is a ratio, in basis points (1% = 100), so that dbt's
  own `warn_if` / `error_if` thresholds apply to it:

      - sagaz_example.null_ratio:
          config: {warn_if: ">100", error_if: ">500"}    # warn above 1%, fail above 5%

  dbt prints the ratio as the test's number of "results".
-#}

{% test null_ratio(model, column_name) %}
{{ config(fail_calc='coalesce(max(null_ratio_bp), 0)') }}
select
    cast(round(10000.0 * sum(case when {{ column_name }} is null then 1 else 0 end)
               / nullif(count(*), 0)) as integer) as null_ratio_bp
from {{ model }}
{% endtest %}


{% test duplicate_ratio(model, column_name) %}
{{ config(fail_calc='coalesce(max(duplicate_ratio_bp), 0)') }}
select
    cast(round(10000.0 * (count({{ column_name }}) - count(distinct {{ column_name }}))
               / nullif(count(*), 0)) as integer) as duplicate_ratio_bp
from {{ model }}
{% endtest %}


{% test expression_is_true(model, expression, column_name=none) %}
{#- Business rule: every row satisfies `expression`; the rows that do not are the failures. -#}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}


{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as copies
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
