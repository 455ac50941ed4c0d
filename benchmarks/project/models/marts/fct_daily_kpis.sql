select d.date_day,
       coalesce(s.orders, 0) as orders, coalesce(s.revenue, 0) as revenue,
       coalesce(f.views, 0) as views, coalesce(f.checkouts, 0) as checkouts
from {{ ref('dim_dates') }} as d
left join (select order_date, sum(orders) as orders, sum(revenue) as revenue
           from {{ ref('sales_by_store_day') }} group by order_date) as s on s.order_date = d.date_day
left join {{ ref('int_daily_funnel') }} as f on f.event_date = d.date_day
