select e.event_id, e.session_id, e.customer_id, e.product_id, e.event_type, e.event_date, e.event_ts,
       cast(e.event_value * (1 + c.tag * 0.001) as decimal(12, 2)) as event_value
from {{ source('raw', 'raw_events') }} as e
cross join {{ ref('stg_run_control') }} as c
