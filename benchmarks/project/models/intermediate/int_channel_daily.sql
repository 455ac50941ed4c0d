{{ config(materialized='view') }}
select channel, order_date, count(*) as orders, sum(revenue) as revenue
from {{ ref('int_orders_enriched') }}
group by channel, order_date
