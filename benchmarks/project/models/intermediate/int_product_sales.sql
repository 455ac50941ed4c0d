select product_id, count(*) as lines, sum(quantity) as units, sum(revenue) as revenue, sum(cost) as cost,
       count(distinct order_id) as orders
from {{ ref('int_order_items_enriched') }}
group by product_id
