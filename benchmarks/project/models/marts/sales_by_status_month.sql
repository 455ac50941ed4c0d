{{ config(materialized='view') }}

with g as (
    select status_key,
           {{ month_of('order_date') }} as month_start,
           sum(orders) as orders,
           sum(units) as units,
           sum(revenue) as revenue,
           sum(cost) as cost
    from {{ ref('sales_by_status_day') }}
    group by 1, 2
)
select g.*, {{ grain_key(['status_key', 'month_start']) }} as grain_key
from g
