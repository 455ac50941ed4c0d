{{ config(materialized='view') }}

with g as (
    select category_key,
           {{ month_of('event_date') }} as month_start,
           sum(events) as events,
           sum(event_value) as event_value
    from {{ ref('events_by_category_day') }}
    group by 1, 2
)
select g.*, {{ grain_key(['category_key', 'month_start']) }} as grain_key
from g
