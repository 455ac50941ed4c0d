select
    order_id,
    count(*) as payment_count,
    sum(amount) as amount_paid
from {{ ref('stg_payments') }}
group by order_id
