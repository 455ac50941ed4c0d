{{ config(materialized='incremental', unique_key='order_date', incremental_strategy='delete+insert') }}
select item_id, order_id, order_date, product_id, category_id, quantity, unit_price, discount, revenue, cost
from {{ ref('int_order_items_enriched') }}
{{ last_day_filter('order_date') }}
