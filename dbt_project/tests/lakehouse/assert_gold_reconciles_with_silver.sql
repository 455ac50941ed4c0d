-- Gold counts every silver event exactly once, per batch.
with silver as (
    select batch_date, count(*) as events from {{ ref('silver_events') }} group by batch_date
),
gold as (
    select batch_date, events from {{ ref('gold_daily_summary') }}
)
select
    coalesce(s.batch_date, g.batch_date) as batch_date,
    s.events as silver_events,
    g.events as gold_events
from silver as s
full outer join gold as g on g.batch_date = s.batch_date
where s.events is null or g.events is null or s.events <> g.events
