select p.payment_id, p.order_id, p.method,
       cast(p.amount * (1 + c.tag * 0.001) as decimal(14, 2)) as amount,
       p.paid_date
from {{ source('raw', 'raw_payments') }} as p
cross join {{ ref('stg_run_control') }} as c
