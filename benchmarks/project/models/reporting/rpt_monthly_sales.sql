select month_start, sum(revenue) as revenue, sum(orders) as orders
from {{ ref('sales_by_store_month') }}
group by month_start
