{{ config(materialized='view') }}
select
    customer_id,
    full_name,
    lifetime_value,
    rank() over (order by lifetime_value desc, customer_id) as ltv_rank
from {{ ref('customer_ltv') }}
