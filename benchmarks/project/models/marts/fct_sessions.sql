select session_id, customer_id, session_date, events, add_to_carts, checkouts, session_value,
       checkouts > 0 as converted
from {{ ref('int_sessions') }}
