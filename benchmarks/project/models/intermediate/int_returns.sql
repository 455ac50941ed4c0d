{{ config(materialized='ephemeral') }}
select order_id, order_date, store_id, channel, revenue
from {{ ref('int_orders_enriched') }}
where status = 'returned'
