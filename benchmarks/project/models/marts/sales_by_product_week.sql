with g as (
    select product_key,
           {{ week_of('order_date') }} as week_start,
           sum(orders) as orders,
           sum(units) as units,
           sum(revenue) as revenue,
           sum(cost) as cost
    from {{ ref('sales_by_product_day') }}
    group by 1, 2
)
select g.*, {{ grain_key(['product_key', 'week_start']) }} as grain_key
from g
