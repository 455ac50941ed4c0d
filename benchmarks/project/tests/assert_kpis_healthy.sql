-- The last node of `--select +fct_daily_kpis` (the quick mode's build): fails only when
-- the control row says so.
select k.*
from {{ ref('fct_daily_kpis') }} as k
cross join {{ source('raw', 'bench_control') }} as c
where c.fail_test = 'assert_kpis_healthy'
