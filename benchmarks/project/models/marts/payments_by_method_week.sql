with g as (
    select method_key,
           {{ week_of('paid_date') }} as week_start,
           sum(payments) as payments,
           sum(amount) as amount
    from {{ ref('payments_by_method_day') }}
    group by 1, 2
)
select g.*, {{ grain_key(['method_key', 'week_start']) }} as grain_key
from g
