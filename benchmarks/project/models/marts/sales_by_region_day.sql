select region as region_key, order_date,
       count(*) as orders, sum(units) as units, sum(revenue) as revenue, sum(cost) as cost
from {{ ref('int_orders_enriched') }}
group by 1, 2
