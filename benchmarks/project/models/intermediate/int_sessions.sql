select session_id,
       min(customer_id) as customer_id,
       min(event_date) as session_date,
       min(event_ts) as started_at,
       max(event_ts) as ended_at,
       count(*) as events,
       sum(case when event_type = 'add_to_cart' then 1 else 0 end) as add_to_carts,
       sum(case when event_type = 'checkout' then 1 else 0 end) as checkouts,
       sum(event_value) as session_value
from {{ ref('int_events_enriched') }}
group by session_id
