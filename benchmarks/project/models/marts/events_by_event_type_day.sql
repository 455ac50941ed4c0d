select event_type as event_type_key, event_date,
       count(*) as events, count(distinct session_id) as sessions, sum(event_value) as event_value
from {{ ref('int_events_enriched') }}
group by 1, 2
