with g as (
    select category_key,
           {{ week_of('event_date') }} as week_start,
           sum(events) as events,
           sum(event_value) as event_value
    from {{ ref('events_by_category_day') }}
    group by 1, 2
)
select g.*, {{ grain_key(['category_key', 'week_start']) }} as grain_key
from g
