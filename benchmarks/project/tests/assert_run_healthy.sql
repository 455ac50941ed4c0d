-- The last node of every build: it reads rpt_run_summary, which reads every mart.
-- It fails only when the control row says so (the benchmark's rollback case).
select s.*
from {{ ref('rpt_run_summary') }} as s
cross join {{ source('raw', 'bench_control') }} as c
where c.fail_test = 'assert_run_healthy'
