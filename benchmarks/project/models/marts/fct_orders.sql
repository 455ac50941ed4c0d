{{ config(materialized='incremental', unique_key='order_id', incremental_strategy='delete+insert') }}
select order_id, customer_id, store_id, channel, status, order_date, items, units, revenue, cost, paid
from {{ ref('int_orders_enriched') }}
{{ last_day_filter('order_date') }}
