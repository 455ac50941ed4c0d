select store_id, order_date, count(*) as orders, sum(revenue) as revenue, sum(cost) as cost
from {{ ref('int_orders_enriched') }}
group by store_id, order_date
