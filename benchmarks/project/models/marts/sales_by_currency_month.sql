{{ config(materialized='view') }}

with g as (
    select currency_key,
           {{ month_of('order_date') }} as month_start,
           sum(orders) as orders,
           sum(units) as units,
           sum(revenue) as revenue,
           sum(cost) as cost
    from {{ ref('sales_by_currency_day') }}
    group by 1, 2
)
select g.*, {{ grain_key(['currency_key', 'month_start']) }} as grain_key
from g
