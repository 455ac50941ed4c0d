select customer_id, orders, revenue, cost, revenue - cost as margin,
       {{ ratio('revenue', 'orders', 2) }} as revenue_per_order
from {{ ref('int_customer_orders') }}
