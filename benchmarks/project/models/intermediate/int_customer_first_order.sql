{{ config(materialized='ephemeral') }}
select customer_id, first_order_date, {{ month_of('first_order_date') }} as cohort_month
from {{ ref('int_customer_orders') }}
