{#- Mid-DAG: with --vars '{break_model: true}' it reads a relation that does not exist. -#}
select
    o.order_id,
    o.customer_id,
    o.order_date,
    o.status,
    o.amount,
    coalesce(p.payment_count, 0) as payment_count,
    coalesce(p.amount_paid, 0) as amount_paid
from {{ ref('stg_orders') }} as o
left join {{ ref('int_order_payments') }} as p on p.order_id = o.order_id
{% if var('break_model') %}
cross join {{ target.schema }}.this_relation_does_not_exist
{% endif %}
