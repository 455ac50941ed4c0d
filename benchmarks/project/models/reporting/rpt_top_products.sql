select product_id, revenue from {{ ref('dim_products') }}
order by revenue desc, product_id
limit 100
