{{ config(alias='CustomerLTV') }}
{#- Aliased to a mixed-case name: quoted on both engines. -#}
select
    c.customer_id,
    c.full_name,
    c.country,
    count(f.order_id) as order_count,
    coalesce(sum(f.amount_paid), 0) as lifetime_value
from {{ ref('stg_customers') }} as c
left join {{ ref('fct_orders') }} as f
    on f.customer_id = c.customer_id and f.status <> 'returned'
group by c.customer_id, c.full_name, c.country
