{{ config(materialized='ephemeral') }}
select c.customer_id, c.segment, c.country_code, k.region, k.currency
from {{ ref('stg_customers') }} as c
left join {{ ref('stg_countries') }} as k on k.country_code = c.country_code
