{{ config(materialized='table') }}
-- The calendar the orders span, one row per day.
select distinct order_date as date_day,
       {{ week_of('order_date') }} as week_start,
       {{ month_of('order_date') }} as month_start,
       cast(extract(dow from order_date) as integer) as day_of_week
from {{ ref('stg_orders') }}
