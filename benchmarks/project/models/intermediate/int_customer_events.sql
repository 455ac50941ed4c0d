select customer_id, count(*) as events, count(distinct session_id) as sessions,
       min(event_date) as first_seen, max(event_date) as last_seen
from {{ ref('int_events_enriched') }}
group by customer_id
