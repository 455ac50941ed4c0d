{#- Lives in the custom schema <target schema>_reporting. -#}
select
    order_date,
    count(*) as orders,
    sum(amount_paid) as revenue
from {{ ref('fct_orders') }}
where status <> 'returned'
group by order_date
