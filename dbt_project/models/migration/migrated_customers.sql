-- The legacy customers in the new warehouse's schema: renamed, typed, normalised.
select
    cust_no as customer_id,
    trim({{ dbt.split_part('cust_name', "','", 2) }}) as first_name,
    upper(substr(trim({{ dbt.split_part('cust_name', "','", 1) }}), 1, 1))
        || lower(substr(trim({{ dbt.split_part('cust_name', "','", 1) }}), 2)) as last_name,
    lower(email_addr) as email,
    ctry_cd as country_code,
    cast(created_dt as date) as created_on,
    status_flg = 'A' as is_active
from {{ ref('legacy_customers') }}
