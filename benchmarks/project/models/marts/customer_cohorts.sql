select f.cohort_month, {{ month_of('o.order_date') }} as order_month,
       count(distinct o.customer_id) as customers, sum(o.revenue) as revenue
from {{ ref('int_orders_enriched') }} as o
join {{ ref('int_customer_first_order') }} as f on f.customer_id = o.customer_id
group by 1, 2
