select
    customer_id,
    first_name || ' ' || last_name as full_name,
    lower(email) as email,
    country,
    updated_at
from {{ ref('customers') }}
