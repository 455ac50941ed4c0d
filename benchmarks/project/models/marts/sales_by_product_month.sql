{{ config(materialized='view') }}

with g as (
    select product_key,
           {{ month_of('order_date') }} as month_start,
           sum(orders) as orders,
           sum(units) as units,
           sum(revenue) as revenue,
           sum(cost) as cost
    from {{ ref('sales_by_product_day') }}
    group by 1, 2
)
select g.*, {{ grain_key(['product_key', 'month_start']) }} as grain_key
from g
