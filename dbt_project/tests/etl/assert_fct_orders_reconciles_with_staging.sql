-- Load verification: the fact table holds exactly the staged orders.
select f.n as fact_rows, s.n as staged_rows
from (select count(*) as n from {{ ref('fct_orders') }}) as f
cross join (select count(*) as n from {{ ref('stg_orders') }}) as s
where f.n <> s.n
