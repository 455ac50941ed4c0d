select s.store_id, s.region, sum(d.orders) as orders, sum(d.revenue) as revenue, sum(d.cost) as cost,
       count(*) as trading_days
from {{ ref('dim_stores') }} as s
join {{ ref('int_store_daily') }} as d on d.store_id = s.store_id
group by 1, 2
