select customer_id,
       ntile(5) over (order by last_order_date, customer_id) as recency_score,
       ntile(5) over (order by orders, customer_id) as frequency_score,
       ntile(5) over (order by revenue, customer_id) as monetary_score
from {{ ref('int_customer_orders') }}
