select session_date, count(*) as sessions, sum(case when converted then 1 else 0 end) as converted
from {{ ref('fct_sessions') }}
group by session_date
