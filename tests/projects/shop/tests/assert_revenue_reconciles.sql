{#- Runs after the leaves of the DAG (the `order` and `CustomerLTV` tables, the ranking view).
    Fails when run with --vars '{fail_singular: true}'. -#}
with lines as (
    select sum(amount_paid) as paid from {{ ref('order_lines') }} where status <> 'returned'
),
ltv as (
    select sum(lifetime_value) as paid from {{ ref('customer_ltv') }}
),
ranked as (
    select count(*) as n from {{ ref('customer_ranking') }}
)
select lines.paid as lines_paid, ltv.paid as ltv_paid, ranked.n
from lines cross join ltv cross join ranked
where lines.paid <> ltv.paid
{% if var('fail_singular') %}
   or true
{% endif %}
