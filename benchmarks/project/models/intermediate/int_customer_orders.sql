select customer_id,
       count(*) as orders,
       sum(case when status = 'completed' then 1 else 0 end) as completed_orders,
       sum(revenue) as revenue,
       sum(cost) as cost,
       min(order_date) as first_order_date,
       max(order_date) as last_order_date
from {{ ref('int_orders_enriched') }}
group by customer_id
