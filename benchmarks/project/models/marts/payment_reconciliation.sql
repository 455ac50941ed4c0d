select order_date, sum(revenue) as revenue, sum(paid) as paid,
       sum(case when paid < revenue then 1 else 0 end) as underpaid_orders
from {{ ref('int_orders_enriched') }}
group by order_date
