select customer_id, customer_name, country_code, segment, signup_date, updated_at
from {{ source('raw', 'raw_customers') }}
