{{ config(materialized='incremental', unique_key='payment_id', incremental_strategy='delete+insert') }}
select payment_id, order_id, method, settlement, amount, paid_date, country_code
from {{ ref('int_payments_enriched') }}
{{ last_day_filter('paid_date') }}
