select department as department_key, order_date,
       count(distinct order_id) as orders, sum(quantity) as units, sum(revenue) as revenue,
       sum(cost) as cost
from {{ ref('int_order_items_enriched') }}
group by 1, 2
