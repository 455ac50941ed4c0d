{{ config(materialized='table') }}
select a.account_id, a.name, coalesce(sum(e.amount), 0) as total
from {{ ref('accounts') }} a left join {{ ref('stg_events') }} e on e.account_id = a.account_id
group by 1, 2
