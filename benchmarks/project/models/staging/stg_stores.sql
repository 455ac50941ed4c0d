select store_id, store_name, country_code, opened_date
from {{ source('raw', 'raw_stores') }}
