select customer_id, revenue from {{ ref('customer_ltv') }}
order by revenue desc, customer_id
limit 100
