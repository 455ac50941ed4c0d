-- Staging: one row per customer, cleaned and typed (1:1 with the raw extract).
select
    customer_id,
    trim(first_name) as first_name,
    trim(last_name) as last_name,
    lower(trim(email)) as email,
    upper(country) as country_code,
    signup_date
from {{ ref('raw_customers') }}
