-- Runs after fct_events_daily; fails only when the control row says so (the rollback case).
-- It reads the day the run replaced, as a partition check would.
select f.event_date, count(*) as events
from {{ ref('fct_events_daily') }} as f
cross join {{ source('raw', 'bench_control') }} as c
where c.fail_test = 'assert_partition_ok'
  and f.event_date = (select max(event_date) from {{ ref('fct_events_daily') }})
group by f.event_date
