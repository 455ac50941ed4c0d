{{ config(materialized='view') }}

with g as (
    select country_key,
           {{ month_of('paid_date') }} as month_start,
           sum(payments) as payments,
           sum(amount) as amount
    from {{ ref('payments_by_country_day') }}
    group by 1, 2
)
select g.*, {{ grain_key(['country_key', 'month_start']) }} as grain_key
from g
